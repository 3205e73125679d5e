package lint

import (
	"strings"

	"github.com/nyaruka/phonenumbers"

	"github.com/twilio-connector/twilio-connector/bpmn"
	elementtemplates "github.com/twilio-connector/twilio-connector/bpmn/element-templates"
	"github.com/twilio-connector/twilio-connector/errs"
	"github.com/twilio-connector/twilio-connector/triggers"
)

func (l *linter) trigger(el *bpmn.Element) {
	typ, _ := el.Property(triggers.PropertyType)
	templated := el.ModelerTemplate == elementtemplates.SMSReceivedStartID || el.ModelerTemplate == elementtemplates.SMSReceivedCatchID
	if typ != triggers.TypeSMSReceived {
		if templated {
			l.add(el, triggers.PropertyType, Error, "the SMS received template is applied but %s is %q, so the connector ignores this event: re-apply the template (%s must be %s)", triggers.PropertyType, typ, triggers.PropertyType, triggers.TypeSMSReceived)
		}
		return
	}

	if el.Event != bpmn.MessageEvent || (el.Type != bpmn.StartEvent && el.Type != bpmn.IntermediateCatchEvent) {
		l.add(el, triggers.PropertyType, Error, "SMS_RECEIVED triggers are read only from message start events and intermediate message catch events, and this is a %s: change the element type or remove the trigger properties", describe(el))
		return
	}
	l.compileTrigger(el)
	l.correlationKey(el)

	if to, _ := el.Property(triggers.PropertyTo); to != "" {
		if n, err := phonenumbers.Parse(strings.TrimPrefix(to, "whatsapp:"), l.opts.DefaultRegion); err != nil || !phonenumbers.IsValidNumber(n) {
			l.add(el, triggers.PropertyTo, Warning, "receiving number %q is not a phone number in E.164 form (+15005550006, or whatsapp:+15005550006 for WhatsApp only): unless it is a short code, no SMS will match this filter", to)
		}
	}
}

// correlationKey checks what the trigger cannot see: the subscription of a catch event.
func (l *linter) correlationKey(el *bpmn.Element) {
	if el.Type != bpmn.IntermediateCatchEvent || el.Message == nil {
		return
	}
	key := strings.TrimSpace(el.Message.CorrelationKey)
	what, how := "the phone number this process texted, e.g. =phoneNumber", "the connector correlates each SMS on its sender's number"
	if d, _ := triggers.ElementDefinition(el); strings.TrimSpace(d.CorrelationKeyExpression) != "" {
		what, how = "the value "+triggers.FieldCorrelationKey+" gives for the reply this process waits for", "the connector correlates each SMS on "+d.CorrelationKeyExpression
	}
	switch {
	case key == "":
		l.add(el, "correlationKey", Error, "no correlation key: Zeebe rejects a catch event without one; set it to %s (%s)", what, how)
	case !strings.HasPrefix(key, "="):
		l.add(el, "correlationKey", Warning, "correlation key %q is not a FEEL expression: write =variable for %s (%s)", key, what, how)
	}
}

// compileTrigger validates the element's trigger definition with the trigger loader's own
// Compile, and reports each problem on the property it came from.
func (l *linter) compileTrigger(el *bpmn.Element) {
	d, _ := triggers.ElementDefinition(el)
	t, err := triggers.Compile(d, 0)
	if err == nil {
		if field, err := t.CheckSample(); err != nil {
			l.add(el, triggerProperties[field], Error, "%v (on a sample message whose every group matched \"1\"): such a message fires nothing, logged as a warning; check the names against the pattern's groups and the variables (see the README)", err)
		}
		return
	}
	for _, p := range split(err) {
		e := errs.As(p)
		field := e.Field
		if prop, ok := triggerProperties[e.Field]; ok {
			field = prop
		}
		// The finding names file, element and field already.
		l.add(el, field, Error, "%s", strings.TrimPrefix(e.Message, d.Where()+": "+e.Field+": "))
	}
}

// triggerProperties maps the trigger's field names to the BPMN properties they come from.
var triggerProperties = map[string]string{
	triggers.FieldPattern:    triggers.PropertyPattern,
	triggers.FieldEcho:       triggers.PropertyEcho,
	triggers.FieldEchoError:  triggers.PropertyEchoError,
	triggers.FieldTo:         triggers.PropertyTo,
	triggers.FieldTTL:        triggers.PropertyMessageTTL,
	triggers.FieldConnection: triggers.PropertyConnection,

	triggers.FieldActivationCondition: triggers.PropertyActivationCondition,
	triggers.FieldCorrelationKey:      triggers.PropertyCorrelationKeyExpression,
	triggers.FieldResultExpression:    triggers.PropertyResultExpression,
	triggers.FieldMessageID:           triggers.PropertyMessageIDExpression,
}

func describe(el *bpmn.Element) string {
	if el.Event != bpmn.NoneEvent {
		return string(el.Event) + " " + string(el.Type)
	}
	return string(el.Type)
}
