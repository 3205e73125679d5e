package lint

import (
	"context"

	"github.com/twilio-connector/twilio-connector/actions"
	"github.com/twilio-connector/twilio-connector/bpmn"
	"github.com/twilio-connector/twilio-connector/errs"
)

var callContents = []string{actions.FieldCallMessage, actions.FieldCallTwiml, actions.FieldCallTwimlURL}

func (l *linter) makeCall(el *bpmn.Element) {
	engine := l.headers(el)
	inputs := l.inputs(el, actions.MakeCall.Name, actions.MakeCall.Fields, func(field string, v any) {
		if field == actions.FieldCallMessage {
			l.template(el, field, v, engine)
			return
		}
		for _, msg := range l.makeCallTesting(field, v) {
			l.add(el, field, Error, "%s", msg)
		}
		if field == actions.FieldCallTesting && (v == true || v == "true") {
			l.add(el, field, Warning, "callTesting is true: this task places no call; remove it before going live")
		}
	}, func(el *bpmn.Element, field string, _ map[string]string) {
		if field == actions.FieldCallTo {
			l.add(el, field, Warning, "callTo is not mapped: the task works only if a process variable callTo holds the recipients or its connection has default_to; map it, e.g. =[guest.phone]")
		}
	})
	// A FEEL expression may be null at run time (=if urgent then twiml else null), so only fixed
	// values are sure to collide.
	mapped, fixed := 0, 0
	for _, f := range callContents {
		source, ok := inputs[f]
		if !ok {
			continue
		}
		mapped++
		if v, ok := literal(source); ok && v != nil && v != "" {
			fixed++
		}
	}
	switch {
	case mapped == 0:
		l.add(el, actions.FieldCallMessage, Warning, "none of callMessage, callTwiml, callTwimlUrl is mapped: the task works only if a process variable holds one; map one of them")
	case fixed > 1:
		l.add(el, actions.FieldCallMessage, Error, "%d of callMessage, callTwiml, callTwimlUrl have fixed values: every job fails with INVALID_INPUT; keep exactly one (or make the others expressions that are null when unused)", fixed)
	}
}

// makeCallTesting runs make_call in testing mode with v as field and valid stand-ins for the
// rest, and returns what the action says about field.
func (l *linter) makeCallTesting(field string, v any) []string {
	vars := map[string]any{actions.FieldCallFrom: "+15005550006", actions.FieldCallTo: "+14155550100", actions.FieldCallTesting: true}
	if field != actions.FieldCallTwiml && field != actions.FieldCallTwimlURL {
		vars[actions.FieldCallMessage] = "lint"
	}
	vars[field] = v
	vars[actions.FieldCallTesting] = true
	calls := actions.NewCalls(nil, nil, actions.CallOptions{DefaultRegion: l.opts.DefaultRegion})
	res, _ := calls.Invoke(context.Background(), actions.Invocation{Vars: vars})
	var out []string
	for _, e := range res.TwilioError {
		if e.Field == field || (e.Code == errs.InvalidToPhoneNumber && field == actions.FieldCallTo) {
			out = append(out, e.Message)
		}
	}
	return out
}
