package engine

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/twilio-connector/twilio-connector/bpmn"
)

// process is a deployed, validated process definition with its expressions compiled.
type process struct {
	defs     *bpmn.Definitions // the resource the process was deployed from
	key      int64
	version  int32
	checksum string
	def      *bpmn.Process

	noneStart     *bpmn.Element
	messageStarts []*bpmn.Element

	conditions      map[string]*expression // by sequence flow id
	inputs, outputs map[string][]mapping   // by element id
	correlationKeys map[string]*expression // by element id (receive tasks, catch events)
	jobTypes        map[string]string      // by element id
	retries         map[string]int32       // by element id
	headers         map[string]string      // by element id: custom headers as a JSON object
}

type mapping struct {
	source *expression
	target []string // dotted path
}

// compile validates every executable process of defs and compiles it. Non-executable
// processes are skipped, as Zeebe skips them.
func compile(defs *bpmn.Definitions) ([]*process, error) {
	var out []*process
	var errs []error
	for _, p := range defs.Processes {
		if !p.Executable {
			continue
		}
		c := &compiler{file: defs.Name, proc: &process{
			defs:            defs,
			def:             p,
			conditions:      map[string]*expression{},
			inputs:          map[string][]mapping{},
			outputs:         map[string][]mapping{},
			correlationKeys: map[string]*expression{},
			jobTypes:        map[string]string{},
			retries:         map[string]int32{},
			headers:         map[string]string{},
		}}
		c.compileProcess()
		errs = append(errs, c.errs...)
		out = append(out, c.proc)
	}
	if len(out) == 0 && len(errs) == 0 {
		errs = append(errs, fmt.Errorf("%s: no executable process (isExecutable=\"true\")", defs.Name))
	}
	return out, errors.Join(errs...)
}

type compiler struct {
	file string
	proc *process
	errs []error
}

func (c *compiler) errorf(id, format string, args ...any) {
	c.errs = append(c.errs, fmt.Errorf("%s: element %q: %s", c.file, id, fmt.Sprintf(format, args...)))
}

func (c *compiler) compileProcess() {
	p := c.proc.def
	for _, el := range p.Elements {
		c.compileElement(el)
		c.proc.inputs[el.ID] = c.compileMappings(el, el.Inputs)
		c.proc.outputs[el.ID] = c.compileMappings(el, el.Outputs)
	}
	for _, f := range p.Flows {
		src := p.Element(f.Source)
		if f.Condition == "" || src == nil {
			continue
		}
		if src.Type != bpmn.ExclusiveGateway {
			c.errorf(f.ID, "conditional sequence flows are only supported out of exclusive gateways")
			continue
		}
		if src.Default == f.ID {
			continue // the default flow's condition is never evaluated
		}
		if !strings.HasPrefix(strings.TrimSpace(f.Condition), "=") {
			c.errorf(f.ID, "condition %q must be a FEEL expression starting with '='", f.Condition)
			continue
		}
		x, err := compileExpression(f.Condition)
		if err != nil {
			c.errorf(f.ID, "%v", err)
			continue
		}
		c.proc.conditions[f.ID] = x
	}
	if c.proc.noneStart == nil && len(c.proc.messageStarts) == 0 {
		c.errs = append(c.errs, fmt.Errorf("%s: process %q has no start event", c.file, p.ID))
	}
}

func (c *compiler) compileElement(el *bpmn.Element) {
	switch el.Type {
	case bpmn.StartEvent:
		switch el.Event {
		case bpmn.NoneEvent:
			if c.proc.noneStart != nil {
				c.errorf(el.ID, "a process can have only one none start event (%q is another)", c.proc.noneStart.ID)
			}
			c.proc.noneStart = el
		case bpmn.MessageEvent:
			c.checkMessageName(el)
			c.proc.messageStarts = append(c.proc.messageStarts, el)
		default:
			c.errorf(el.ID, "%s start events are not supported by the dev engine (none and message only)", el.Event)
		}
		if len(el.Incoming) > 0 {
			c.errorf(el.ID, "a start event cannot have incoming sequence flows")
		}
	case bpmn.EndEvent:
		if el.Event != bpmn.NoneEvent {
			c.errorf(el.ID, "%s end events are not supported by the dev engine (none only)", el.Event)
		}
	case bpmn.ServiceTask, bpmn.SendTask:
		c.compileTaskDefinition(el)
	case bpmn.ReceiveTask:
		c.compileSubscription(el)
	case bpmn.IntermediateCatchEvent:
		if el.Event != bpmn.MessageEvent {
			c.errorf(el.ID, "%s intermediate catch events are not supported by the dev engine (message only)", kindName(el.Event))
			return
		}
		c.compileSubscription(el)
	case bpmn.ExclusiveGateway:
		if len(el.Outgoing) == 0 {
			c.errorf(el.ID, "exclusive gateway without outgoing sequence flows")
		}
		for _, id := range el.Outgoing {
			if len(el.Outgoing) > 1 && id != el.Default && c.proc.def.Flow(id).Condition == "" {
				c.errorf(id, "a sequence flow out of exclusive gateway %q needs a condition unless it is the default flow", el.ID)
			}
		}
	case bpmn.BoundaryEvent:
		if el.Event != bpmn.ErrorEvent {
			c.errorf(el.ID, "%s boundary events are not supported by the dev engine (error only)", kindName(el.Event))
			return
		}
		if !el.CancelActivity {
			c.errorf(el.ID, "an error boundary event must be interrupting (cancelActivity=\"true\")")
		}
		if el.Error != nil && el.Error.ErrorCode == "" {
			c.errorf(el.ID, "bpmn:error %q has no errorCode", el.Error.ID)
		}
		target := c.proc.def.Element(el.AttachedTo)
		if target != nil && target.Type != bpmn.ServiceTask && target.Type != bpmn.SendTask && target.Type != bpmn.ReceiveTask {
			c.errorf(el.ID, "error boundary events are supported on service, send and receive tasks, not on %s %q", target.Type, target.ID)
		}
		if len(el.Incoming) > 0 {
			c.errorf(el.ID, "a boundary event cannot have incoming sequence flows")
		}
	default:
		c.errorf(el.ID, "%s is not supported by the dev engine", el.Type)
		return
	}
	if el.TaskDefinition != nil && el.Type != bpmn.ServiceTask && el.Type != bpmn.SendTask {
		c.errorf(el.ID, "zeebe:taskDefinition is only supported on service and send tasks")
	}
}

func kindName(k bpmn.EventKind) string {
	if k == bpmn.NoneEvent {
		return "none"
	}
	return string(k)
}

func (c *compiler) compileTaskDefinition(el *bpmn.Element) {
	td := el.TaskDefinition
	if td == nil || strings.TrimSpace(td.Type) == "" {
		c.errorf(el.ID, "missing zeebe:taskDefinition type")
		return
	}
	if strings.HasPrefix(strings.TrimSpace(td.Type), "=") {
		c.errorf(el.ID, "task type expression %q is not supported by the dev engine (use a static type)", td.Type)
		return
	}
	c.proc.jobTypes[el.ID] = td.Type
	retries := int64(DefaultJobRetries)
	if r := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(td.Retries), "=")); r != "" {
		n, err := strconv.ParseInt(r, 10, 32)
		if err != nil || n < 1 {
			c.errorf(el.ID, "retries %q is not supported by the dev engine (use a number of at least 1)", td.Retries)
			return
		}
		retries = n
	}
	c.proc.retries[el.ID] = int32(retries)
	headers := map[string]string{}
	for _, h := range el.TaskHeaders {
		headers[h.Key] = h.Value
	}
	c.proc.headers[el.ID] = mustJSON(headers)
}

func (c *compiler) checkMessageName(el *bpmn.Element) bool {
	if el.Message == nil {
		c.errorf(el.ID, "no message referenced")
		return false
	}
	if strings.TrimSpace(el.Message.Name) == "" {
		c.errorf(el.ID, "bpmn:message %q has no name", el.Message.ID)
		return false
	}
	if strings.HasPrefix(strings.TrimSpace(el.Message.Name), "=") {
		c.errorf(el.ID, "message name expression %q is not supported by the dev engine (use a static name)", el.Message.Name)
		return false
	}
	return true
}

func (c *compiler) compileSubscription(el *bpmn.Element) {
	if !c.checkMessageName(el) {
		return
	}
	if strings.TrimSpace(el.Message.CorrelationKey) == "" {
		c.errorf(el.ID, "bpmn:message %q has no zeebe:subscription correlationKey", el.Message.ID)
		return
	}
	x, err := compileExpression(el.Message.CorrelationKey)
	if err != nil {
		c.errorf(el.ID, "correlationKey: %v", err)
		return
	}
	c.proc.correlationKeys[el.ID] = x
}

func (c *compiler) compileMappings(el *bpmn.Element, ms []bpmn.Mapping) []mapping {
	var out []mapping
	for _, m := range ms {
		x, err := compileExpression(m.Source)
		if err != nil {
			c.errorf(el.ID, "mapping to %q: %v", m.Target, err)
			continue
		}
		path := strings.Split(m.Target, ".")
		for _, seg := range path {
			if !validName(seg) {
				c.errorf(el.ID, "mapping target %q is not a variable name or dotted path", m.Target)
				path = nil
				break
			}
		}
		if path != nil {
			out = append(out, mapping{source: x, target: path})
		}
	}
	return out
}

func validName(s string) bool {
	if s == "" {
		return false
	}
	for i, r := range s {
		letter := r == '_' || r == '$' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= 0x80
		if !letter && (i == 0 || r < '0' || r > '9') {
			return false
		}
	}
	return true
}
