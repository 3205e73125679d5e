// Package bpmn reads BPMN 2.0 process models with Zeebe (Camunda 8) extensions into a plain data
// model. It records what a file says, including elements the connector does not support, and
// checks only structure (ids exist and are unique, references resolve). Deciding what is
// executable is the job of its users: the dev engine, the trigger loader and the lint command.
package bpmn

// ElementType is the BPMN local element name, e.g. "serviceTask". Elements the parser has no
// special knowledge of keep their XML name, so users can report them precisely.
type ElementType string

// Element types the connector's processes use.
const (
	StartEvent             ElementType = "startEvent"
	EndEvent               ElementType = "endEvent"
	ServiceTask            ElementType = "serviceTask"
	SendTask               ElementType = "sendTask"
	ReceiveTask            ElementType = "receiveTask"
	IntermediateCatchEvent ElementType = "intermediateCatchEvent"
	ExclusiveGateway       ElementType = "exclusiveGateway"
	BoundaryEvent          ElementType = "boundaryEvent"
)

// EventKind is the kind of an event's event definition, "" for a none event.
type EventKind string

// Event definition kinds. Other definitions (timer, signal, ...) are recorded by their XML name
// without the "EventDefinition" suffix, e.g. "timer".
const (
	NoneEvent    EventKind = ""
	MessageEvent EventKind = "message"
	ErrorEvent   EventKind = "error"
)

// Definitions is one parsed BPMN file.
type Definitions struct {
	// Name is the resource (file) name given to Parse; it prefixes every error message.
	Name      string
	Processes []*Process
	// Messages and Errors are the root-level bpmn:message and bpmn:error definitions by id.
	Messages map[string]*Message
	Errors   map[string]*Error
}

// Process is one bpmn:process.
type Process struct {
	ID         string
	Name       string
	Executable bool
	// Elements are the flow nodes in document order; sequence flows are in Flows.
	Elements []*Element
	Flows    []*SequenceFlow

	byID     map[string]*Element
	flowByID map[string]*SequenceFlow
}

// Element returns the flow node with the given id, or nil.
func (p *Process) Element(id string) *Element { return p.byID[id] }

// Flow returns the sequence flow with the given id, or nil.
func (p *Process) Flow(id string) *SequenceFlow { return p.flowByID[id] }

// BoundaryEvents returns the boundary events attached to the element with the given id, in
// document order.
func (p *Process) BoundaryEvents(attachedTo string) []*Element {
	var out []*Element
	for _, el := range p.Elements {
		if el.Type == BoundaryEvent && el.AttachedTo == attachedTo {
			out = append(out, el)
		}
	}
	return out
}

// Element is a flow node: event, task or gateway.
type Element struct {
	ID   string
	Name string
	Type ElementType

	// Incoming and Outgoing are the ids of the sequence flows ending and starting here, in
	// document order of the flows.
	Incoming []string
	Outgoing []string

	// Event is the kind of the event definition of an event element; Message or Error is set
	// when the definition references one. Receive tasks reference a message too.
	Event   EventKind
	Message *Message
	Error   *Error
	// ErrorCatchAll is true for an error event definition without errorRef (catches any code).
	ErrorCatchAll bool

	// AttachedTo is the id of the activity a boundary event is attached to; CancelActivity
	// is its cancelActivity attribute (true when absent, as in BPMN).
	AttachedTo     string
	CancelActivity bool

	// Default is the id of a gateway's default sequence flow.
	Default string

	// Zeebe extensions. ModelerTemplate is the zeebe:modelerTemplate attribute: the id of the
	// element template the modeler applied ("" if none), with its version ("" if absent).
	ModelerTemplate        string
	ModelerTemplateVersion string
	TaskDefinition         *TaskDefinition
	TaskHeaders            []Header
	Inputs                 []Mapping
	Outputs                []Mapping
	Properties             []Property
}

// Property returns the value of the zeebe:property with the given name and whether it exists.
func (e *Element) Property(name string) (string, bool) {
	for _, p := range e.Properties {
		if p.Name == name {
			return p.Value, true
		}
	}
	return "", false
}

// SequenceFlow connects two flow nodes.
type SequenceFlow struct {
	ID     string
	Name   string
	Source string
	Target string
	// Condition is the text of the conditionExpression, e.g. "=amount > 10"; "" for none.
	Condition string
}

// Message is a bpmn:message with its Zeebe subscription.
type Message struct {
	ID   string
	Name string
	// CorrelationKey is zeebe:subscription's correlationKey, usually a FEEL expression "=expr".
	CorrelationKey string
}

// Error is a bpmn:error.
type Error struct {
	ID        string
	Name      string
	ErrorCode string
}

// TaskDefinition is zeebe:taskDefinition. Both fields are kept as written; Retries is "" when
// the attribute is absent (Zeebe's default is 3).
type TaskDefinition struct {
	Type    string
	Retries string
}

// Header is one zeebe:header of zeebe:taskHeaders.
type Header struct {
	Key   string
	Value string
}

// Mapping is one zeebe:input or zeebe:output: Source is an expression ("=expr") or a static
// value, Target a variable name or dotted path.
type Mapping struct {
	Source string
	Target string
}

// Property is one zeebe:property of zeebe:properties.
type Property struct {
	Name  string
	Value string
}
