package engine

import (
	"encoding/json"
	"fmt"

	"github.com/twilio-connector/twilio-connector/bpmn"
	"github.com/twilio-connector/twilio-connector/feel"
)

// Instance states, as reported by InstanceInfo.
const (
	StateActive     = "ACTIVE"
	StateCompleted  = "COMPLETED"
	StateTerminated = "TERMINATED"
)

type instance struct {
	key   int64
	proc  *process
	state string
	vars  map[string]any // root scope
	// active holds the element instances that have started and not ended.
	active map[int64]*elementInstance
	// trail lists the ids of elements that completed, in order (for inspection and tests).
	trail []string
	done  chan struct{} // closed when the instance completes or is terminated

	// startCorrelationKey is set when a message with a correlation key started the instance: no
	// other instance of the process is started for that key while this one is active.
	startCorrelationKey string
}

type elementInstance struct {
	key    int64
	inst   *instance
	el     *bpmn.Element
	locals map[string]any
	job    *job
	sub    *subscription
	// incident is the open incident that blocks this element instance, if any.
	incident *incident
}

// newInstance creates an active instance with the given root variables. Callers hold e.mu.
func (e *Engine) newInstance(proc *process, vars map[string]any) *instance {
	if vars == nil {
		vars = map[string]any{}
	}
	inst := &instance{
		key:    e.nextKey(),
		proc:   proc,
		state:  StateActive,
		vars:   vars,
		active: map[int64]*elementInstance{},
		done:   make(chan struct{}),
	}
	e.instances[inst.key] = inst
	e.log.Debug("process instance created", "processInstanceKey", inst.key, "bpmnProcessId", proc.def.ID)
	return inst
}

// enter creates an element instance for el and activates it; completion variables are passed
// on for elements that complete at once (start events triggered by a message).
func (e *Engine) enter(inst *instance, el *bpmn.Element, vars map[string]any) {
	ei := &elementInstance{key: e.nextKey(), inst: inst, el: el, locals: map[string]any{}}
	inst.active[ei.key] = ei
	e.elements[ei.key] = ei
	e.activate(ei, vars)
}

// activate runs an element instance until it waits or completes. It is also what resolving an
// incident raised during activation retries.
func (e *Engine) activate(ei *elementInstance, vars map[string]any) {
	proc := ei.inst.proc
	ei.applyMappings(proc.inputs[ei.el.ID], ei.locals)
	switch ei.el.Type {
	case bpmn.ServiceTask, bpmn.SendTask:
		e.createJob(ei)
	case bpmn.ReceiveTask, bpmn.IntermediateCatchEvent:
		key, err := correlationKey(proc.correlationKeys[ei.el.ID], ei)
		if err != nil {
			e.raiseIncident(ei, nil, IncidentExtractValueError, err.Error(), func() { e.activate(ei, nil) })
			return
		}
		e.openSubscription(ei, key)
	case bpmn.ExclusiveGateway:
		flow, err := e.chooseFlow(ei)
		if err != nil {
			e.raiseIncident(ei, nil, IncidentConditionError, err.Error(), func() { e.activate(ei, nil) })
			return
		}
		e.complete(ei, nil, []string{flow})
	default:
		e.complete(ei, vars, ei.el.Outgoing)
	}
}

// complete ends an element instance: result variables are merged (as locals, read by output
// mappings, when the element has outputs; else propagated), outputs are applied to the root
// scope, and the given sequence flows are taken.
func (e *Engine) complete(ei *elementInstance, vars map[string]any, flows []string) {
	inst := ei.inst
	outputs := inst.proc.outputs[ei.el.ID]
	if len(outputs) > 0 {
		for k, v := range vars {
			ei.locals[k] = v
		}
		ei.applyMappings(outputs, inst.vars)
	} else {
		ei.propagate(vars)
	}
	inst.trail = append(inst.trail, ei.el.ID)
	// The element leaves the active set only after its successors entered it, so a token that
	// runs to an end event meanwhile does not see an instance without active elements.
	for _, id := range flows {
		f := inst.proc.def.Flow(id)
		e.enter(inst, inst.proc.def.Element(f.Target), nil)
		if inst.state != StateActive {
			return
		}
	}
	e.leave(ei)
	if len(inst.active) == 0 && inst.state == StateActive {
		e.endInstance(inst, StateCompleted)
	}
}

// leave removes an element instance and anything it waits on.
func (e *Engine) leave(ei *elementInstance) {
	if ei.job != nil {
		delete(e.jobs, ei.job.key)
		ei.job = nil
	}
	if ei.sub != nil {
		e.closeSubscription(ei.sub)
		ei.sub = nil
	}
	if ei.incident != nil {
		delete(e.incidents, ei.incident.key)
		ei.incident = nil
	}
	delete(ei.inst.active, ei.key)
	delete(e.elements, ei.key)
}

func (e *Engine) endInstance(inst *instance, state string) {
	for _, ei := range inst.active {
		e.leave(ei)
	}
	inst.state = state
	close(inst.done)
	e.log.Debug("process instance ended", "processInstanceKey", inst.key, "state", state)
	e.releaseStartLock(inst)
}

// chooseFlow picks an exclusive gateway's outgoing flow: the first (in document order) whose
// condition is true, else the default flow.
func (e *Engine) chooseFlow(ei *elementInstance) (string, error) {
	proc := ei.inst.proc
	for _, id := range ei.el.Outgoing {
		if id == ei.el.Default {
			continue
		}
		cond := proc.conditions[id]
		if cond == nil {
			if len(ei.el.Outgoing) == 1 {
				return id, nil
			}
			continue
		}
		switch v := cond.eval(ei.lookup).(type) {
		case bool:
			if v {
				return id, nil
			}
		default:
			return "", fmt.Errorf("Expected result of the expression '%s' to be 'BOOLEAN', but was '%s'.", cond, feel.TypeName(v))
		}
	}
	if ei.el.Default != "" {
		return ei.el.Default, nil
	}
	return "", fmt.Errorf("Expected at least one condition to evaluate to true, or to have a default flow")
}

func correlationKey(x *expression, ei *elementInstance) (string, error) {
	v := x.eval(ei.lookup)
	switch k := v.(type) {
	case string:
		return k, nil
	case json.Number:
		return k.String(), nil
	}
	return "", fmt.Errorf("Failed to extract the correlation key for '%s': The value must be either a string or a number, but was '%s'.", x, feel.TypeName(v))
}
