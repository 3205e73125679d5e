package triggers

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/twilio-connector/twilio-connector/bpmn"
	"github.com/twilio-connector/twilio-connector/errs"
	"github.com/twilio-connector/twilio-connector/feel"
	"github.com/twilio-connector/twilio-connector/templates"
)

// zeebe:property names the SMS received element templates write (bpmn/element-templates), in
// the style of Camunda's inbound connector templates (inbound.type, inbound.…).
const (
	PropertyType      = "inbound.type"      // must be TypeSMSReceived
	PropertyPattern   = "inbound.pattern"   // required: Java regular expression
	PropertyEcho      = "inbound.echo"      // optional: reply template when published
	PropertyEchoError = "inbound.echoError" // optional: reply template when publishing failed
	PropertyTo        = "inbound.to"        // optional: receiving number filter (E.164)
	// PropertyConnection is optional: the connection whose inbound messages the trigger takes
	// (absent: DefaultConnection, the Twilio account of TWILIO_*).
	PropertyConnection = "inbound.connection"
	// PropertyMessageTTL is optional: the published message's time to live, an ISO 8601
	// duration (see Trigger.TTL for the default).
	PropertyMessageTTL = "inbound.messageTtl"
	// The FEEL properties of Camunda's inbound connectors, all optional, evaluated over the
	// trigger's variables (see Trigger.Vars) for each message the pattern matched:
	// PropertyActivationCondition must be true for the trigger to fire;
	// PropertyCorrelationKeyExpression gives the correlation key (default: from for catch
	// events, empty for start events); PropertyResultExpression gives the published variables
	// (a context; default: the trigger's variables as listed in message);
	// PropertyMessageIDExpression gives the message id (default: derived from the provider's
	// message id, the MessageSid).
	PropertyActivationCondition      = "inbound.activationCondition"
	PropertyCorrelationKeyExpression = "inbound.correlationKeyExpression"
	PropertyResultExpression         = "inbound.resultExpression"
	PropertyMessageIDExpression      = "inbound.messageIdExpression"

	// TypeSMSReceived is the value of PropertyType that marks an SMS_RECEIVED trigger.
	TypeSMSReceived = "SMS_RECEIVED"
)

// Template field names, as errors and logs name them.
const (
	FieldPattern    = "pattern"
	FieldEcho       = "echo"
	FieldEchoError  = "echoError"
	FieldTo         = "to"
	FieldMessage    = "message"
	FieldTTL        = "messageTtl"
	FieldConnection = "connection"
	// The FEEL properties, named as in Camunda's inbound connectors (and the YAML file).
	FieldActivationCondition = "activationCondition"
	FieldCorrelationKey      = "correlationKeyExpression"
	FieldResultExpression    = "resultExpression"
	FieldMessageID           = "messageIdExpression"
)

// Kind says how the published message is correlated.
type Kind string

const (
	// StartEvent triggers start a process: the message is published with an empty correlation key.
	StartEvent Kind = "start"
	// CatchEvent triggers continue a waiting process: the correlation key is the sender's number
	// (From) unless the trigger's correlationKeyExpression says otherwise, so a process waits
	// for the reply of the number it texted.
	CatchEvent Kind = "catch"
)

// Definition is one SMS_RECEIVED trigger as written, from a BPMN element or the YAML file.
type Definition struct {
	// Source is the file it came from; Element the BPMN element id (or YAML trigger id);
	// Process the BPMN process id ("" for YAML). They name the trigger in errors and logs.
	Source  string
	Process string
	Element string

	Kind Kind
	// MessageName is the name of the Zeebe message published for each matching SMS.
	MessageName string
	Pattern     string
	Echo        string
	EchoError   string
	// To, when set, restricts the trigger to SMS sent to this number: a plain number also
	// matches WhatsApp messages to it, a whatsapp:+… number only those.
	To string
	// Connection is the connection whose inbound messages the trigger takes; "" means
	// DefaultConnection, so a trigger written before connections existed keeps receiving
	// only the Twilio account's messages.
	Connection string
	// MessageTTL is the time to live of the published messages as written (ISO 8601, PT30M);
	// "" means the default of the kind (see Trigger.TTL).
	MessageTTL string
	// FEEL expressions as written, "" when absent (see PropertyActivationCondition and the
	// properties after it).
	ActivationCondition      string
	CorrelationKeyExpression string
	ResultExpression         string
	MessageIDExpression      string

	// conflicts are properties given under both names (see camundaProperty).
	conflicts []*DefinitionError
}

// Where names the definition for an error message: "file: process/element".
func (d Definition) Where() string {
	s := d.Source
	el := d.Element
	if d.Process != "" {
		el = d.Process + "/" + el
	}
	if el != "" {
		if s != "" {
			s += ": "
		}
		s += el
	}
	return s
}

// DefinitionError is one problem of a trigger definition. It reads
// "file: process/element: field: problem" and unwraps to an INVALID_INPUT *errs.Error.
type DefinitionError struct {
	Where   string
	Field   string
	Problem string
}

func (e *DefinitionError) Error() string {
	if e.Where == "" {
		return e.Field + ": " + e.Problem
	}
	return e.Where + ": " + e.Field + ": " + e.Problem
}

func (e *DefinitionError) Unwrap() error {
	return &errs.Error{Code: errs.InvalidInput, Field: e.Field, Message: e.Problem}
}

// Trigger is a validated definition with its pattern and templates compiled.
type Trigger struct {
	Definition
	pattern   *Pattern
	echo      *templates.Template
	echoError *templates.Template
	ttl       *time.Duration // nil: the default of the kind
	// The parsed FEEL properties; nil when absent.
	activation, correlationKey, result, messageID *feel.Expr
}

// reserved variables of the echo templates; a named group may not shadow them.
var reserved = map[string]bool{"matchGroups": true, "originalMessage": true, "from": true, "to": true, "messageSid": true, "receivedAt": true, "channel": true, "connection": true}

// Compile validates d and compiles its pattern (with the given match timeout, 0 for
// DefaultMatchTimeout) and templates. Every problem is reported, each naming the trigger and
// the field.
func Compile(d Definition, matchTimeout time.Duration) (*Trigger, error) {
	d.MessageName = strings.TrimSpace(d.MessageName)
	d.To = strings.TrimSpace(d.To)
	d.Connection = strings.TrimSpace(d.Connection)
	d.MessageTTL = strings.TrimSpace(d.MessageTTL)
	if d.Kind == "" {
		d.Kind = StartEvent
	}
	t := &Trigger{Definition: d}
	var problems []error
	bad := func(field, format string, args ...any) {
		problems = append(problems, &DefinitionError{Where: d.Where(), Field: field, Problem: fmt.Sprintf(format, args...)})
	}
	for _, c := range d.conflicts {
		bad(c.Field, "%s", c.Problem)
	}
	switch {
	case d.MessageName == "":
		bad(FieldMessage, "the trigger has no message name: give the event a message with a name (the connector publishes each matching SMS under it)")
	case strings.HasPrefix(d.MessageName, "="):
		bad(FieldMessage, "message name %q is an expression: write a fixed name", d.MessageName)
	}
	if strings.HasPrefix(d.Connection, "=") || strings.ContainsAny(d.Connection, "/ ") {
		bad(FieldConnection, "connection is %q: write the name of a connection (default, or one of CONNECTOR_CONNECTIONS_FILE)", d.Connection)
	}
	if d.Kind != StartEvent && d.Kind != CatchEvent {
		bad("kind", "kind is %q: use %q (start a process) or %q (continue a process waiting for a reply)", d.Kind, StartEvent, CatchEvent)
	}
	if p, err := CompilePattern(d.Pattern, matchTimeout); err != nil {
		bad(FieldPattern, "%v", err)
	} else {
		t.pattern = p
		for _, g := range p.Groups {
			if reserved[g] {
				bad(FieldPattern, "the group name %q is also a reply variable: rename the group", g)
			}
		}
	}
	if d.MessageTTL != "" {
		ttl, err := bpmn.ParseDuration(d.MessageTTL)
		if err != nil || ttl < 0 {
			bad(FieldTTL, "messageTtl is %q: write a fixed ISO 8601 duration such as PT0S (only a process waiting at that moment gets the message) or PT1H (Zeebe keeps the message an hour for a process not waiting yet)", d.MessageTTL)
		} else {
			t.ttl = &ttl
		}
	}
	for _, f := range []struct {
		field, src, example string
		dst                 **feel.Expr
	}{
		{FieldActivationCondition, d.ActivationCondition, `=matchGroups.answer = "YES"`, &t.activation},
		{FieldCorrelationKey, d.CorrelationKeyExpression, "=matchGroups.reference", &t.correlationKey},
		{FieldResultExpression, d.ResultExpression, "={orderNumber: matchGroups.orderNumber, phone: from}", &t.result},
		{FieldMessageID, d.MessageIDExpression, "=messageSid", &t.messageID},
	} {
		src := strings.TrimSpace(f.src)
		if src == "" {
			continue
		}
		x, err := feel.Parse(src)
		if err != nil {
			bad(f.field, "%v: write a FEEL expression such as %s", err, f.example)
			continue
		}
		*f.dst = x
	}
	for _, f := range []struct {
		field, src string
		dst        **templates.Template
	}{{FieldEcho, d.Echo, &t.echo}, {FieldEchoError, d.EchoError, &t.echoError}} {
		if strings.TrimSpace(f.src) == "" {
			continue
		}
		tpl, err := templates.Compile(f.field, f.src, templates.Freemarker)
		if err != nil {
			bad(f.field, "%s", errs.As(err).Message)
			continue
		}
		*f.dst = tpl
	}
	if len(problems) > 0 {
		return nil, errors.Join(problems...)
	}
	return t, nil
}

// Pattern returns the compiled pattern.
func (t *Trigger) Pattern() *Pattern { return t.pattern }

// TTL is how long Zeebe keeps the trigger's messages while nothing takes them: its messageTtl,
// else 0 for a catch event (only a process waiting when the SMS arrives gets it: a stray reply
// must not answer a question asked later) and startDefault for a start event.
func (t *Trigger) TTL(startDefault time.Duration) time.Duration {
	switch {
	case t.ttl != nil:
		return *t.ttl
	case t.Kind == CatchEvent:
		return 0
	}
	return startDefault
}

// listensOn reports whether the trigger takes the inbound messages of connection.
func (t *Trigger) listensOn(connection string) bool {
	if t.Connection == "" {
		return connection == DefaultConnection
	}
	return t.Connection == connection
}

// accepts reports whether the trigger listens on the receiving number to. A plain number also
// accepts WhatsApp messages to it (whatsapp:+1…); a whatsapp: number accepts only those.
func (t *Trigger) accepts(to string) bool {
	if t.To == "" {
		return true
	}
	want, got := normalizeNumber(t.To), normalizeNumber(to)
	if !strings.HasPrefix(want, whatsappPrefix) {
		got = strings.TrimPrefix(got, whatsappPrefix)
	}
	return want == got
}

const whatsappPrefix = "whatsapp:"

func normalizeNumber(s string) string {
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '-', '(', ')', '.':
			return -1
		}
		return r
	}, strings.TrimSpace(s))
}

// replyVars are the variables of the echo templates: the named groups at top level, then
// matchGroups, originalMessage, from, to, messageSid, channel, connection.
func replyVars(groups map[string]any, in Inbound) map[string]any {
	vars := make(map[string]any, len(groups)+7)
	for k, v := range groups {
		vars[k] = v
	}
	vars["matchGroups"] = groups
	vars["originalMessage"] = in.Text
	vars["from"] = in.From
	vars["to"] = in.To
	vars["messageSid"] = in.ID
	vars["channel"] = in.Channel
	vars["connection"] = in.Connection
	return vars
}

// feelVars are the variables the FEEL properties see: the reply templates' variables and
// receivedAt, the same names the message publishes by default.
func feelVars(groups map[string]any, in Inbound) map[string]any {
	vars := replyVars(groups, in)
	vars["receivedAt"] = in.ReceivedAt.Format(time.RFC3339Nano)
	return vars
}

// activated evaluates the activation condition: only true fires the trigger (null, from a
// missing variable, does not), as in Camunda's inbound connectors.
func (t *Trigger) activated(vars map[string]any) (bool, error) {
	if t.activation == nil {
		return true, nil
	}
	v, err := t.activation.Eval(vars)
	if err != nil {
		return false, fmt.Errorf("%s: %w", FieldActivationCondition, err)
	}
	switch v.(type) {
	case bool, nil:
		return v == true, nil
	}
	return false, fmt.Errorf("%s %q gave %s, not a boolean: write a condition such as =matchGroups.answer = \"YES\"", FieldActivationCondition, t.activation, feel.TypeName(v))
}

// key evaluates a correlation key or message id expression: a string, or a number written
// as a string (as Zeebe takes correlation keys).
func key(field string, x *feel.Expr, vars map[string]any) (string, error) {
	v, err := x.Eval(vars)
	if err != nil {
		return "", fmt.Errorf("%s: %w", field, err)
	}
	switch v := v.(type) {
	case string:
		return v, nil
	case json.Number:
		return v.String(), nil
	}
	return "", fmt.Errorf("%s %q gave %s: it must give a string or a number (is a variable missing?)", field, x, feel.TypeName(v))
}

// Render renders the echo (or, with failed, the echoError) template of t for a match. An
// absent template renders "".
func (t *Trigger) Render(failed bool, groups map[string]any, in Inbound) (string, error) {
	tpl := t.echo
	if failed {
		tpl = t.echoError
	}
	if tpl == nil {
		return "", nil
	}
	return tpl.Render(replyVars(groups, in))
}
