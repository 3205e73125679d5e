package worker

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/twilio-connector/twilio-connector/actions"
	"github.com/twilio-connector/twilio-connector/errs"
	"github.com/twilio-connector/twilio-connector/feel"
)

// verdict is what the worker does with a handled job.
type verdict int

const (
	// complete the job with the output variables.
	complete verdict = iota
	// fail the job: Zeebe retries it after the backoff while retries remain, else raises an
	// incident.
	fail
	// throw a BPMN error.
	throw
)

// decision is the job command to send.
type decision struct {
	verdict verdict
	// retries and backoff are the job's remaining retries and Zeebe's wait, for fail.
	retries int32
	backoff time.Duration
	// code is the BPMN error code (throw); message the error message (throw, fail).
	code, message string
	// variables are the completion variables, the BPMN error's or the failed job's.
	variables map[string]any
}

// decide is the worker's decision for a job with retriesLeft retries (Zeebe's count, from
// zeebe:taskDefinition retries) whose action returned res and sendErr (transient), under the
// task headers h, as Camunda's connector runtime decides:
//
//  1. The output variables: the result's (twilioResult, twilioError), or with resultVariable
//     the result under that name, and with resultExpression the entries of the context it
//     maps the result to.
//  2. errorExpression, when set, is evaluated after every invocation with the result's and the
//     output variables, `response` (the output, as Camunda's runtime has it), `job` ({retries})
//     and, after a failure, `error` ({code, message, twilioCode}) in scope. bpmnError(...) throws that BPMN error, jobError(...) fails the
//     job with its message, variables, retries and backoff, ignoreError(...) completes it with
//     its variables; null or {} goes on.
//  3. The default: a transient failure fails the job for a later retry, with the longer of the
//     task's retry backoff and the provider's Retry-After, while retries remain; on the last
//     retry the job completes (or throws) with the result, which says who got nothing.
//     Permanent failures complete the job, or throw in errorMode bpmnError.
//
// A send held back by its sender's pace (errs.Error.Paced) was not attempted: the job is
// failed for after the wait keeping its retries, whatever the headers say, so that Zeebe holds
// a backlog of any length without it using up retries.
//
// A header whose FEEL is outside the subset, or that produces something the runtime cannot
// use, fails the job without retries (an incident) naming the header.
func decide(res actions.Result, sendErr error, retriesLeft int32, h jobHeaders) decision {
	if h.incident != nil {
		return incident(h.incident)
	}
	if e := errs.As(sendErr); e != nil && e.Paced {
		return decision{verdict: fail, retries: retriesLeft, backoff: max(h.retryBackoff, e.RetryAfter), message: e.Error()}
	}
	result := resultVariables(res)
	out, err := output(result, h)
	if err != nil {
		return incident(err)
	}
	var failure *errs.Error
	if sendErr != nil {
		failure = errs.As(sendErr)
	} else {
		failure = res.Failure()
	}
	if h.errorExpr != nil {
		d, ok, err := errorExpression(h.errorExpr, result, out, failure, retriesLeft)
		if err != nil {
			return incident(err)
		}
		if ok {
			return d
		}
	}
	if sendErr != nil && retriesLeft > 1 {
		return decision{verdict: fail, retries: retriesLeft - 1, backoff: max(h.retryBackoff, failure.RetryAfter),
			message: failure.Error()}
	}
	if f := res.Failure(); f != nil && h.errorMode == ErrorModeBPMN {
		return decision{verdict: throw, code: string(f.Code), message: f.Error(), variables: result}
	}
	return decision{verdict: complete, variables: out}
}

// CheckHeaders runs a task's resultExpression and errorExpression headers as a job would
// (resultVariable with them) on two sample results: one recipient sent, and one recipient
// opted out (SMS_RECIPIENT_OPTED_OUT, Twilio 21610). It returns what would fail such a job
// (an incident naming the header), the first problem of each header with the header as its
// Field; lint reports them.
// Headers that do not parse are left to feel.Parse.
func CheckHeaders(headers map[string]string) []*errs.Error {
	var h jobHeaders
	var err error
	h.resultVariable = strings.TrimSpace(headers[HeaderResultVariable])
	if h.resultExpr, err = feelHeader(headers, HeaderResultExpression); err != nil {
		return nil
	}
	if h.errorExpr, err = feelHeader(headers, HeaderErrorExpression); err != nil {
		return nil
	}
	to, sid, code := "+15005550006", "SM00000000000000000000000000000000", 21610
	samples := []struct {
		what string
		res  actions.Result
	}{
		{"a sample result where " + to + " was sent", actions.Result{TwilioResult: []actions.RecipientResult{{To: to, SID: &sid, Status: "queued"}}}},
		{"a sample result where " + to + " opted out", actions.Result{TwilioResult: []actions.RecipientResult{{To: to, Status: actions.StatusFailed}},
			TwilioError: []actions.RecipientError{{To: &to, Code: errs.RecipientOptedOut, TwilioCode: &code, Message: "Attempt to send to unsubscribed recipient"}}}},
	}
	var problems []*errs.Error
	reported := map[string]bool{}
	problem := func(header string, err error, what string) {
		if !reported[header] {
			reported[header] = true
			problems = append(problems, errs.Invalid(header, "%v (with %s)", err, what))
		}
	}
	for _, s := range samples {
		// As decide: the output first, then errorExpression over it.
		result := resultVariables(s.res)
		out, err := output(result, h)
		if err != nil {
			problem(HeaderResultExpression, err, s.what)
			continue
		}
		if h.errorExpr == nil {
			continue
		}
		if _, _, err := errorExpression(h.errorExpr, result, out, s.res.Failure(), 3); err != nil {
			problem(HeaderErrorExpression, err, s.what)
		}
	}
	return problems
}

// incident fails the job without retries.
func incident(err error) decision {
	return decision{verdict: fail, retries: 0, message: err.Error()}
}

// resultVariables is the result as process variables.
func resultVariables(res actions.Result) map[string]any {
	var out map[string]any
	b, _ := json.Marshal(res)
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	_ = dec.Decode(&out)
	return out
}

// output is the completion variables: the result's, or what resultVariable and
// resultExpression make of it.
func output(result map[string]any, h jobHeaders) (map[string]any, error) {
	if h.resultVariable == "" && h.resultExpr == nil {
		return result, nil
	}
	out := map[string]any{}
	if h.resultVariable != "" {
		out[h.resultVariable] = result
	}
	if h.resultExpr != nil {
		scope := make(map[string]any, len(result)+1)
		for k, v := range result {
			scope[k] = v
		}
		scope["response"] = result
		v, err := h.resultExpr.Eval(scope)
		if err != nil {
			return nil, fmt.Errorf("task header %s: %w", HeaderResultExpression, err)
		}
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("task header %s %q produced %s: it must produce a context of variables, such as ={smsSid: twilioResult[1].sid}",
				HeaderResultExpression, h.resultExpr, feel.TypeName(v))
		}
		for k, v := range m {
			out[k] = v
		}
	}
	return out, nil
}

// errorExpression evaluates the errorExpression header; ok is false when it asks for the
// default behaviour (null or an empty context).
func errorExpression(x *feel.Expr, result, out map[string]any, failure *errs.Error, retriesLeft int32) (decision, bool, error) {
	scope := make(map[string]any, len(result)+len(out)+3)
	for _, vars := range []map[string]any{result, out} {
		for k, v := range vars {
			scope[k] = v
		}
	}
	scope["response"] = out
	scope["job"] = map[string]any{"retries": json.Number(fmt.Sprint(retriesLeft))}
	if failure != nil {
		var twilioCode any
		if failure.TwilioCode != 0 {
			twilioCode = json.Number(fmt.Sprint(failure.TwilioCode))
		}
		scope["error"] = map[string]any{"code": string(failure.Code), "message": failure.Message, "twilioCode": twilioCode}
	}
	v, err := x.Eval(scope)
	if err != nil {
		return decision{}, false, fmt.Errorf("task header %s: %w", HeaderErrorExpression, err)
	}
	bad := func(format string, args ...any) (decision, bool, error) {
		return decision{}, false, fmt.Errorf("task header %s %q "+format+": return bpmnError(code, message), jobError(message, variables, retries, retryBackoff), ignoreError(variables) or null",
			append([]any{HeaderErrorExpression, x}, args...)...)
	}
	if v == nil {
		return decision{}, false, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return bad("produced %s", feel.TypeName(v))
	}
	if len(m) == 0 {
		return decision{}, false, nil
	}
	vars, ok := m["variables"].(map[string]any)
	if !ok && m["variables"] != nil {
		return bad("produced variables that are %s, not a context", feel.TypeName(m["variables"]))
	}
	switch m["errorType"] {
	case "bpmnError", nil:
		// {code, message} without errorType is the connector runtime's older form.
		codeKey, msgKey := "errorCode", "errorMessage"
		if m["errorType"] == nil {
			codeKey, msgKey = "code", "message"
		}
		code, _ := m[codeKey].(string)
		if code == "" {
			return bad("produced a BPMN error without a code")
		}
		msg, _ := m[msgKey].(string)
		return decision{verdict: throw, code: code, message: msg, variables: vars}, true, nil
	case "jobError":
		msg, _ := m["errorMessage"].(string)
		retries, _ := m["retries"].(json.Number)
		n, err := retries.Float64()
		if err != nil || n != math.Trunc(n) {
			return bad("produced a job error whose retries are %s, not a whole number", feel.TypeName(m["retries"]))
		}
		var backoff time.Duration
		switch b := m["retryBackoff"].(type) {
		case feel.Duration:
			backoff = time.Duration(b)
		case string:
			d, err := feel.ParseDuration(b)
			if err != nil {
				return bad("produced a job error with retryBackoff %v", err)
			}
			backoff = time.Duration(d)
		case nil:
		default:
			return bad("produced a job error whose retryBackoff is %s, not a duration", feel.TypeName(b))
		}
		return decision{verdict: fail, retries: int32(max(0, min(n, math.MaxInt32))), backoff: max(backoff, 0), message: msg, variables: vars}, true, nil
	case "ignoreError":
		return decision{verdict: complete, variables: orEmpty(vars)}, true, nil
	}
	return bad("produced a context with errorType %v", m["errorType"])
}
