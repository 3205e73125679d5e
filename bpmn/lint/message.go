package lint

import (
	"context"

	"github.com/twilio-connector/twilio-connector/actions"
	"github.com/twilio-connector/twilio-connector/bpmn"
)

// messageAction checks a cancel_message or get_message task: headers, and a fixed message SID
// as the action will (an expression is left to the running job).
func messageAction(spec actions.Spec, action actions.Action) actionCheck {
	return func(l *linter, el *bpmn.Element) {
		l.headers(el)
		l.inputs(el, spec.Name, spec.Fields, func(field string, v any) {
			// Without connections the action stops at the missing credentials, after checking
			// the SID.
			res, _ := action.Invoke(context.Background(), actions.Invocation{Vars: map[string]any{field: v}})
			for _, e := range res.TwilioError {
				if e.Field == field {
					l.add(el, field, Error, "%s", e.Message)
				}
			}
		}, func(el *bpmn.Element, field string, _ map[string]string) {
			l.add(el, field, Warning, "%s is not mapped: the task works only if a process variable %s holds the SID; map it, e.g. =twilioResult[1].sid", field, field)
		})
	}
}
