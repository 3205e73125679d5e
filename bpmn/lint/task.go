package lint

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"

	"github.com/twilio-connector/twilio-connector/actions"
	"github.com/twilio-connector/twilio-connector/bpmn"
	elementtemplates "github.com/twilio-connector/twilio-connector/bpmn/element-templates"
)

// actionCheck checks the inputs and headers of a task served by one action.
type actionCheck func(l *linter, el *bpmn.Element)

// actionChecks are the job type suffixes the connector serves, with their checks. A new action
// (make_call) adds its entry here, or lint reports its tasks as unknown.
var actionChecks = map[string]actionCheck{
	actions.SendSMS.Name:       (*linter).sendSMS,
	actions.MakeCall.Name:      (*linter).makeCall,
	actions.CancelMessage.Name: messageAction(actions.CancelMessage, actions.NewCancelMessage(nil)),
	actions.GetMessage.Name:    messageAction(actions.GetMessage, actions.NewGetMessage(nil)),
}

func (l *linter) task(el *bpmn.Element) {
	typ := strings.TrimSpace(el.TaskDefinition.Type)
	action, ours := strings.CutPrefix(typ, l.opts.Prefix+".")
	if !ours {
		switch el.ModelerTemplate {
		case elementtemplates.SendSMSID, elementtemplates.MakeCallID, elementtemplates.CancelMessageID, elementtemplates.GetMessageID:
			l.add(el, "type", Warning, "a connector template is applied but the task type %q does not start with %q, so this connector does not serve it: fix the type, or lint with the prefix of the deployment that serves it (--prefix, CONNECTOR_JOB_TYPE_PREFIX)", typ, l.opts.Prefix+".")
		}
		return
	}
	check, known := actionChecks[action]
	if !known {
		l.add(el, "type", Error, "task type %q is not an action of this connector (it serves %s): no worker takes these jobs and the process waits forever; fix the type", typ, knownTypes(l.opts.Prefix))
		return
	}
	l.retries(el)
	check(l, el)
}

func knownTypes(prefix string) string {
	var types []string
	for a := range actionChecks {
		types = append(types, prefix+"."+a)
	}
	slices.Sort(types)
	return strings.Join(types, ", ")
}

func (l *linter) retries(el *bpmn.Element) {
	r := strings.TrimSpace(el.TaskDefinition.Retries)
	if r == "" || strings.HasPrefix(r, "=") {
		return
	}
	n, err := strconv.Atoi(r)
	switch {
	case err != nil || n < 0:
		l.add(el, "retries", Error, "retries %q is not a whole number: Zeebe rejects the deployment; write a number such as 3", r)
	case n == 0:
		l.add(el, "retries", Warning, "retries is 0: the first transient Twilio failure raises an incident instead of a retry; use 3 or more")
	}
}

// literal returns the value of a mapping source that needs no process variables: a static
// value (no leading "=") as a string, or a FEEL expression that is a JSON-compatible literal
// (="text", =["+14155550100"], =true). ok is false for any other expression.
func literal(source string) (v any, ok bool) {
	expr, isExpr := strings.CutPrefix(strings.TrimSpace(source), "=")
	if !isExpr {
		return source, true
	}
	dec := json.NewDecoder(strings.NewReader(expr))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil || dec.More() {
		return nil, false
	}
	return v, true
}
