package lint

import (
	"context"
	"slices"
	"strings"

	"github.com/twilio-connector/twilio-connector/actions"
	"github.com/twilio-connector/twilio-connector/bpmn"
	elementtemplates "github.com/twilio-connector/twilio-connector/bpmn/element-templates"
	"github.com/twilio-connector/twilio-connector/errs"
	"github.com/twilio-connector/twilio-connector/feel"
	"github.com/twilio-connector/twilio-connector/templates"
	"github.com/twilio-connector/twilio-connector/worker"
)

var workerHeaders = []string{worker.HeaderConnection, worker.HeaderErrorMode, worker.HeaderRetryBackoff, worker.HeaderTemplateEngine,
	worker.HeaderResultVariable, worker.HeaderResultExpression, worker.HeaderErrorExpression, elementtemplates.HeaderElementTemplateID, elementtemplates.HeaderElementTemplateVersion}

func (l *linter) sendSMS(el *bpmn.Element) {
	engine := l.headers(el)
	l.inputs(el, actions.SendSMS.Name, actions.SendSMS.Fields, func(field string, v any) {
		switch {
		case field == actions.FieldSMSBody || field == actions.FieldSMSSubject:
			l.template(el, field, v, engine)
		default:
			for _, msg := range l.sendSMSTesting(field, v) {
				l.add(el, field, Error, "%s", msg)
			}
		}
		if field == actions.FieldSMSTesting && (v == true || v == "true") {
			l.add(el, field, Warning, "smsTesting is true: this task renders the message but sends nothing; remove it before going live")
		}
	}, l.unmapped)
}

// inputs checks a task's input mappings against the fields its action reads: misspelt names,
// empty mappings, unmapped fields (reported by unmapped), and each literal value (judged by
// judge); expressions over process variables are left to the running job.
func (l *linter) inputs(el *bpmn.Element, action string, fields []string, judge func(field string, v any),
	unmapped func(el *bpmn.Element, field string, inputs map[string]string)) map[string]string {
	inputs := map[string]string{}
	for _, m := range el.Inputs {
		inputs[m.Target] = m.Source
		for _, f := range fields {
			if m.Target != f && strings.EqualFold(m.Target, f) {
				l.add(el, m.Target, Warning, "input %q is not read by %s; did you mean %q? Names are case-sensitive", m.Target, action, f)
			}
		}
	}
	for _, field := range fields {
		source, mapped := inputs[field]
		switch {
		case mapped && strings.TrimSpace(source) == "":
			l.add(el, field, Error, "%s is mapped to nothing: give a value or remove the mapping", field)
		case !mapped:
			unmapped(el, field, inputs)
		default:
			if v, ok := literal(source); ok {
				judge(field, v)
			}
		}
	}
	return inputs
}

func (l *linter) unmapped(el *bpmn.Element, field string, inputs map[string]string) {
	switch field {
	case actions.FieldSMSTo:
		l.add(el, field, Warning, "smsTo is not mapped: the task works only if a process variable smsTo holds the recipients or its connection has default_to; map it, e.g. =[customer.phone]")
	case actions.FieldSMSBody:
		_, media := inputs[actions.FieldSMSMediaURL]
		if _, content := inputs[actions.FieldSMSContentSID]; !media && !content {
			l.add(el, field, Warning, "smsBody is not mapped: the task works only if a process variable smsBody holds the text; map it, e.g. Order ${orderId} is ready (or smsContentSid for a content template)")
		}
	}
}

// template compiles a literal message template (smsBody, callMessage) as the action will.
func (l *linter) template(el *bpmn.Element, field string, v any, engine templates.Engine) {
	body, ok := v.(string)
	if !ok {
		l.add(el, field, Error, "%s is a %T literal: give the text as a string", field, v)
		return
	}
	if _, err := templates.Compile(field, body, engine); err != nil {
		l.add(el, field, Error, "%s", message(err))
	}
}

// sendSMSTesting runs send_sms in testing mode with v as field and valid stand-ins for the other
// inputs, and returns what the action says about field: a literal is judged by the code that
// will send it.
func (l *linter) sendSMSTesting(field string, v any) []string {
	vars := map[string]any{actions.FieldSMSTo: "+14155550100", actions.FieldSMSBody: "lint"}
	switch field {
	case actions.FieldSMSContentSID, actions.FieldSMSContentVariables:
		// A content template has no body.
		delete(vars, actions.FieldSMSBody)
		vars[actions.FieldSMSContentSID] = "HX00000000000000000000000000000000"
	}
	vars[field] = v
	var out []string
	req, err := actions.ParseSMSRequest(vars)
	if err != nil {
		if e := errs.As(err); e.Field == field {
			out = append(out, e.Message)
		}
		return out
	}
	if field != actions.FieldSMSFrom {
		req.From = "Lint"
	}
	req.Testing = true
	sms := actions.NewSMS(nil, nil, actions.SMSOptions{DefaultRegion: l.opts.DefaultRegion})
	res, _ := sms.Send(context.Background(), req)
	for _, e := range res.TwilioError {
		if e.Field == field {
			out = append(out, e.Message)
		}
	}
	return out
}

// headers checks the task headers as the worker reads them and returns the template engine
// smsBody is compiled with.
func (l *linter) headers(el *bpmn.Element) templates.Engine {
	engine := templates.Freemarker
	for _, h := range el.TaskHeaders {
		switch h.Key {
		case worker.HeaderErrorMode:
			if h.Value != "" && h.Value != worker.ErrorModeBPMN {
				l.add(el, h.Key, Error, "task header errorMode is %q: every job fails with INVALID_INPUT; remove the header (errors in twilioError) or set it to %q", h.Value, worker.ErrorModeBPMN)
			}
		case worker.HeaderTemplateEngine:
			e, err := templates.ParseEngine(h.Key, h.Value)
			if err != nil {
				l.add(el, h.Key, Error, "task header %s", message(err))
				continue
			}
			engine = e
		case worker.HeaderConnection:
			// Which connections exist is the deployment's to say (CONNECTOR_CONNECTIONS_FILE);
			// a job naming an unknown one fails with INVALID_INPUT naming connection.
		case worker.HeaderRetryBackoff:
			if _, err := bpmn.ParseDuration(h.Value); err != nil {
				l.add(el, h.Key, Error, "task header retryBackoff is %q: every job fails with INVALID_INPUT; write an ISO 8601 duration such as PT30S", h.Value)
			}
		case worker.HeaderResultExpression, worker.HeaderErrorExpression:
			l.feel(el, h.Key, h.Value, "every job of this task fails naming the header")
		case worker.HeaderResultVariable, elementtemplates.HeaderElementTemplateID, elementtemplates.HeaderElementTemplateVersion:
		default:
			hint := ""
			if i := slices.IndexFunc(workerHeaders, func(k string) bool { return strings.EqualFold(k, h.Key) }); i >= 0 {
				hint = "; did you mean " + workerHeaders[i] + "?"
			}
			l.add(el, h.Key, Warning, "task header %q is not read by the worker (it reads %s)%s", h.Key, strings.Join(workerHeaders, ", "), hint)
		}
	}
	headers := make(map[string]string, len(el.TaskHeaders))
	for _, h := range el.TaskHeaders {
		headers[h.Key] = h.Value
	}
	for _, e := range worker.CheckHeaders(headers) {
		l.add(el, e.Field, Error, "%s: a job with such a result fails with an incident naming the header", e.Message)
	}
	return engine
}

// feel parses a FEEL expression written in field as its user will (package feel); consequence
// says what happens at run time when it does not parse. An empty value is left alone.
func (l *linter) feel(el *bpmn.Element, field, src, consequence string) {
	if strings.TrimSpace(src) == "" {
		return
	}
	if _, err := feel.Parse(src); err != nil {
		l.add(el, field, Error, "%v: %s; write it in the supported FEEL subset (see the README)", err, consequence)
	}
}

// message is an error's text for a finding: the taxonomy message without code and field, which
// the finding already shows.
func message(err error) string {
	if e := errs.As(err); e != nil && e.Message != "" {
		return e.Message
	}
	return err.Error()
}
