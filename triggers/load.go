package triggers

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/twilio-connector/twilio-connector/bpmn"
)

// FromDefinitions returns the SMS_RECEIVED triggers of one parsed BPMN file: message start
// events and intermediate message catch events whose zeebe:property PropertyType is
// TypeSMSReceived. Every bad trigger is reported (errors.Join), each naming the file, the
// process/element and the field. Processes that are not executable are skipped, as Zeebe does.
func FromDefinitions(defs *bpmn.Definitions, matchTimeout time.Duration) ([]*Trigger, error) {
	var out []*Trigger
	var problems []error
	for _, p := range defs.Processes {
		if !p.Executable {
			continue
		}
		for _, el := range p.Elements {
			if typ, _ := el.Property(PropertyType); typ != TypeSMSReceived {
				continue
			}
			d, ok := ElementDefinition(el)
			d.Source, d.Process = defs.Name, p.ID
			if !ok {
				kind := string(el.Type)
				if el.Event != bpmn.NoneEvent {
					kind = string(el.Event) + " " + kind
				}
				problems = append(problems, fmt.Errorf("%s: %s is %s but the element is a %s: SMS_RECEIVED triggers are read only from message start events and intermediate message catch events; change the element or remove the property",
					d.Where(), PropertyType, TypeSMSReceived, kind))
				continue
			}
			t, err := Compile(d, matchTimeout)
			if err != nil {
				problems = append(problems, err)
				continue
			}
			out = append(out, t)
		}
	}
	return out, errors.Join(problems...)
}

// ElementDefinition reads the trigger definition an element writes: its kind, message name and
// inbound.* properties, or Camunda's names of them (see camundaProperty; Source and Process are
// left empty). ok is false when the element is
// neither a message start event nor an intermediate message catch event.
func ElementDefinition(el *bpmn.Element) (d Definition, ok bool) {
	d.Element = el.ID
	switch {
	case el.Type == bpmn.StartEvent && el.Event == bpmn.MessageEvent:
		d.Kind = StartEvent
	case el.Type == bpmn.IntermediateCatchEvent && el.Event == bpmn.MessageEvent:
		d.Kind = CatchEvent
	default:
		return d, false
	}
	if el.Message != nil {
		d.MessageName = el.Message.Name
	}
	d.Pattern, _ = el.Property(PropertyPattern)
	d.Echo, _ = el.Property(PropertyEcho)
	d.EchoError, _ = el.Property(PropertyEchoError)
	d.To, _ = el.Property(PropertyTo)
	d.Connection, _ = el.Property(PropertyConnection)
	d.MessageTTL = d.camundaProperty(el, FieldTTL, PropertyMessageTTL)
	d.ActivationCondition = d.camundaProperty(el, FieldActivationCondition, PropertyActivationCondition)
	d.CorrelationKeyExpression = d.camundaProperty(el, FieldCorrelationKey, PropertyCorrelationKeyExpression)
	d.ResultExpression = d.camundaProperty(el, FieldResultExpression, PropertyResultExpression)
	d.MessageIDExpression = d.camundaProperty(el, FieldMessageID, PropertyMessageIDExpression)
	return d, true
}

// camundaProperty reads one of the properties Camunda's inbound connector runtime names
// without the inbound. prefix (field is that name: messageTtl, activationCondition, ...), as
// this connector's name or Camunda's, so an event modelled for Camunda's connectors keeps its
// meaning. Both with different values is a problem Compile reports.
func (d *Definition) camundaProperty(el *bpmn.Element, field, name string) string {
	v, ok := el.Property(name)
	w, camunda := el.Property(field)
	switch {
	case camunda && !ok:
		return w
	case camunda && strings.TrimSpace(v) != strings.TrimSpace(w):
		d.conflicts = append(d.conflicts, &DefinitionError{Field: field,
			Problem: fmt.Sprintf("both %s %q and %s %q are set: keep one (%s is Camunda's name, %s the connector template's)", name, v, field, w, field, name)})
	}
	return v
}

// LoadDir reads every *.bpmn file under dir (recursively) and returns their triggers, or every
// problem found.
func LoadDir(dir string, matchTimeout time.Duration) ([]*Trigger, error) {
	var out []*Trigger
	var problems []error
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || !strings.EqualFold(filepath.Ext(path), ".bpmn") {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		defs, err := bpmn.Parse(path, data)
		if err != nil {
			problems = append(problems, err)
			return nil
		}
		ts, err := FromDefinitions(defs, matchTimeout)
		if err != nil {
			problems = append(problems, err)
		}
		out = append(out, ts...)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("CONNECTOR_BPMN_DIR: %w", err)
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	return out, nil
}

// yamlFile is the triggers file; the format is documented on ParseYAML.
type yamlFile struct {
	Triggers []yamlTrigger `yaml:"triggers"`
}

type yamlTrigger struct {
	ID         string `yaml:"id"`
	Message    string `yaml:"message"`
	Kind       Kind   `yaml:"kind"`
	Pattern    string `yaml:"pattern"`
	Echo       string `yaml:"echo"`
	EchoError  string `yaml:"echoError"`
	To         string `yaml:"to"`
	Connection string `yaml:"connection"`
	TTL        string `yaml:"messageTtl"`

	ActivationCondition      string `yaml:"activationCondition"`
	CorrelationKeyExpression string `yaml:"correlationKeyExpression"`
	ResultExpression         string `yaml:"resultExpression"`
	MessageIDExpression      string `yaml:"messageIdExpression"`
}

// LoadFile reads the YAML triggers file at path (format: see ParseYAML).
func LoadFile(path string, matchTimeout time.Duration) ([]*Trigger, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("CONNECTOR_TRIGGERS_FILE: %w", err)
	}
	return ParseYAML(path, data, matchTimeout)
}

// ParseYAML reads a triggers file; name is used in errors. The format:
//
//	triggers:
//	  - id: order-received          # names the trigger in logs and errors (required, unique)
//	    message: order-received     # Zeebe message name (required)
//	    kind: start                 # start (default): empty correlation key;
//	                                # catch: correlation key = the sender's number
//	    pattern: 'Order Number (?<orderNumber>.+)'   # required
//	    echo: 'Your reference number is ${orderNumber}'
//	    echoError: 'We could not register your order yet.'
//	    to: '+15005550006'          # only SMS sent to this number (optional)
//	    connection: rapidpro        # only messages of this connection (optional;
//	                                # default: default, the TWILIO_* account)
//	    messageTtl: PT5M            # how long Zeebe keeps the message for a process not
//	                                # waiting yet (optional; default PT0S for catch,
//	                                # CONNECTOR_MESSAGE_TTL for start)
//	    # FEEL over the message's variables (matchGroups, originalMessage, from, to, ...), optional:
//	    activationCondition: '=matchGroups.answer = "YES"'   # fire only when true
//	    correlationKeyExpression: '=matchGroups.reference'    # default: =from for catch,
//	                                                          # none for start
//	    resultExpression: '={reference: matchGroups.reference, phone: from}'  # the published
//	                                # variables (default: matchGroups, originalMessage, from, ...)
//	    messageIdExpression: '=matchGroups.reference'   # Zeebe message id (default: from the
//	                                # MessageSid); Zeebe drops a repeat while one is buffered
//
// Unknown keys are errors (a misspelt echoError must not silently do nothing).
func ParseYAML(name string, data []byte, matchTimeout time.Duration) ([]*Trigger, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	var f yamlFile
	if err := dec.Decode(&f); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, nil // an empty file holds no triggers
		}
		return nil, fmt.Errorf("%s: %v (see the triggers file format in the README)", name, err)
	}
	var out []*Trigger
	var problems []error
	seen := map[string]bool{}
	for i, y := range f.Triggers {
		id := y.ID
		if id == "" {
			problems = append(problems, fmt.Errorf("%s: triggers[%d]: id is required: name the trigger, e.g. id: order-received", name, i))
			id = fmt.Sprintf("triggers[%d]", i)
		} else if seen[id] {
			problems = append(problems, fmt.Errorf("%s: %s: id is used twice: give each trigger its own id", name, id))
		}
		seen[id] = true
		t, err := Compile(Definition{Source: name, Element: id, Kind: y.Kind, MessageName: y.Message, Pattern: y.Pattern,
			Echo: y.Echo, EchoError: y.EchoError, To: y.To, Connection: y.Connection, MessageTTL: y.TTL,
			ActivationCondition: y.ActivationCondition, CorrelationKeyExpression: y.CorrelationKeyExpression,
			ResultExpression: y.ResultExpression, MessageIDExpression: y.MessageIDExpression}, matchTimeout)
		if err != nil {
			problems = append(problems, err)
			continue
		}
		out = append(out, t)
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	return out, nil
}
