package worker

import (
	"encoding/json"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/camunda/zeebe/clients/go/v8/pkg/entities"
	"github.com/camunda/zeebe/clients/go/v8/pkg/pb"

	"github.com/twilio-connector/twilio-connector/actions"
	"github.com/twilio-connector/twilio-connector/errs"
	"github.com/twilio-connector/twilio-connector/feel"
)

// headers parses task headers as the worker does, with a 10s default retry backoff.
func headers(t *testing.T, hs map[string]string) jobHeaders {
	t.Helper()
	w := New(nil, nil, Options{RetryBackoff: 10 * time.Second})
	job := entities.Job{ActivatedJob: &pb.ActivatedJob{Key: 1, Variables: `{}`}}
	_, h, err := w.invocation(job, hs)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func TestDecide(t *testing.T) {
	sid := "SM1"
	ok := actions.Result{TwilioResult: []actions.RecipientResult{{To: "+14155550101", SID: &sid, Status: "queued"}}}
	invalid := actions.RequestFailure(errs.Missing(actions.FieldSMSTo, "give one"))
	transient := &errs.Error{Code: errs.Connection, Message: "no answer"}
	limited := &errs.Error{Code: errs.RateLimited, Message: "slow down", RetryAfter: time.Minute}
	partial := actions.Result{TwilioError: []actions.RecipientError{{Code: errs.Connection, Message: "no answer"}}}
	to, code := "+14155550102", 21610
	optedOut := actions.Result{
		TwilioResult: []actions.RecipientResult{{To: to, Status: actions.StatusFailed}},
		TwilioError:  []actions.RecipientError{{To: &to, Code: errs.RecipientOptedOut, TwilioCode: &code, Message: "the recipient replied STOP"}},
	}
	const optedOutExpr = `=if error.twilioCode = 21610 then bpmnError("OPTED_OUT", error.message, {optedOut: error.code}) else null`
	bpmn := map[string]string{HeaderErrorMode: ErrorModeBPMN}
	cases := []struct {
		name        string
		res         actions.Result
		sendErr     error
		retries     int32
		headers     map[string]string
		want        verdict
		wantRetries int32
		wantBackoff time.Duration
		wantCode    string
		wantMessage string // a substring of the message
		wantVars    string // JSON of the command's variables; "" for none
	}{
		{name: "success completes with the result", res: ok, retries: 3, want: complete,
			wantVars: `{"twilioResult":[{"to":"+14155550101","sid":"SM1","status":"queued"}],"twilioError":null}`},
		{name: "success completes in bpmnError mode", res: ok, retries: 3, headers: bpmn, want: complete,
			wantVars: `{"twilioResult":[{"to":"+14155550101","sid":"SM1","status":"queued"}],"twilioError":null}`},
		{name: "a permanent failure completes with twilioError", res: invalid, retries: 3, want: complete,
			wantVars: `{"twilioResult":[],"twilioError":[{"to":null,"code":"MISSING_INPUT","twilioCode":null,"field":"smsTo","message":"smsTo is required: give one"}]}`},
		{name: "a permanent failure throws in bpmnError mode", res: invalid, retries: 3, headers: bpmn, want: throw,
			wantCode: "MISSING_INPUT", wantMessage: "MISSING_INPUT (smsTo): smsTo is required",
			wantVars: `{"twilioResult":[],"twilioError":[{"to":null,"code":"MISSING_INPUT","twilioCode":null,"field":"smsTo","message":"smsTo is required: give one"}]}`},
		{name: "a transient failure fails with the task's backoff", res: partial, sendErr: transient, retries: 3,
			want: fail, wantRetries: 2, wantBackoff: 10 * time.Second, wantMessage: "TWILIO_CONNECTION_ERROR: no answer"},
		{name: "the retries of zeebe:taskDefinition count down", res: partial, sendErr: transient, retries: 12,
			headers: map[string]string{HeaderRetryBackoff: "PT30S"}, want: fail, wantRetries: 11, wantBackoff: 30 * time.Second},
		{name: "a longer Retry-After wins", res: partial, sendErr: limited, retries: 2,
			want: fail, wantRetries: 1, wantBackoff: time.Minute},
		{name: "fail even in bpmnError mode while retries remain", res: partial, sendErr: transient, retries: 2, headers: bpmn,
			want: fail, wantRetries: 1, wantBackoff: 10 * time.Second},
		{name: "the last retry completes with what was sent", res: partial, sendErr: transient, retries: 1, want: complete,
			wantVars: `{"twilioResult":null,"twilioError":[{"to":null,"code":"TWILIO_CONNECTION_ERROR","twilioCode":null,"message":"no answer"}]}`},
		{name: "the last retry throws in bpmnError mode", res: partial, sendErr: transient, retries: 1, headers: bpmn,
			want: throw, wantCode: "TWILIO_CONNECTION_ERROR",
			wantVars: `{"twilioResult":null,"twilioError":[{"to":null,"code":"TWILIO_CONNECTION_ERROR","twilioCode":null,"message":"no answer"}]}`},

		{name: "resultVariable puts the result under one name", res: ok, retries: 3,
			headers: map[string]string{HeaderResultVariable: "sms"}, want: complete,
			wantVars: `{"sms":{"twilioResult":[{"to":"+14155550101","sid":"SM1","status":"queued"}],"twilioError":null}}`},
		{name: "resultExpression maps the result", res: ok, retries: 3,
			headers: map[string]string{HeaderResultExpression: `={smsSid: twilioResult[1].sid, sent: count(response.twilioResult[sid != null])}`}, want: complete,
			wantVars: `{"smsSid":"SM1","sent":1}`},
		{name: "resultVariable and resultExpression together", res: ok, retries: 3,
			headers: map[string]string{HeaderResultVariable: "sms", HeaderResultExpression: `={status: twilioResult[1].status}`}, want: complete,
			wantVars: `{"sms":{"twilioResult":[{"to":"+14155550101","sid":"SM1","status":"queued"}],"twilioError":null},"status":"queued"}`},
		{name: "a resultExpression that is not a context is an incident", res: ok, retries: 3,
			headers: map[string]string{HeaderResultExpression: `=twilioResult[1].sid`}, want: fail,
			wantMessage: `task header resultExpression "=twilioResult[1].sid" produced STRING: it must produce a context`},
		{name: "FEEL outside the subset is an incident naming the header", res: ok, retries: 3,
			headers: map[string]string{HeaderErrorExpression: `=if matches(error.message, "x") then bpmnError("X") else null`}, want: fail,
			wantMessage: "task header errorExpression: expression \"=if matches(error.message, \\\"x\\\") then bpmnError(\\\"X\\\") else null\" is outside the supported FEEL subset: FEEL function matches() is not supported"},

		{name: "errorExpression turns an opted-out recipient into a BPMN error", res: optedOut, retries: 3,
			headers: map[string]string{HeaderErrorExpression: optedOutExpr}, want: throw,
			wantCode: "OPTED_OUT", wantMessage: "the recipient replied STOP", wantVars: `{"optedOut":"SMS_RECIPIENT_OPTED_OUT"}`},
		{name: "errorExpression null keeps the default", res: invalid, retries: 3,
			headers: map[string]string{HeaderErrorExpression: optedOutExpr}, want: complete,
			wantVars: `{"twilioResult":[],"twilioError":[{"to":null,"code":"MISSING_INPUT","twilioCode":null,"field":"smsTo","message":"smsTo is required: give one"}]}`},
		{name: "errorExpression null keeps errorMode bpmnError", res: invalid, retries: 3,
			headers: map[string]string{HeaderErrorExpression: optedOutExpr, HeaderErrorMode: ErrorModeBPMN}, want: throw, wantCode: "MISSING_INPUT",
			wantVars: `{"twilioResult":[],"twilioError":[{"to":null,"code":"MISSING_INPUT","twilioCode":null,"field":"smsTo","message":"smsTo is required: give one"}]}`},
		{name: "errorExpression {} keeps the default", res: ok, retries: 3,
			headers: map[string]string{HeaderErrorExpression: `={}`, HeaderResultVariable: "r"}, want: complete,
			wantVars: `{"r":{"twilioResult":[{"to":"+14155550101","sid":"SM1","status":"queued"}],"twilioError":null}}`},
		{name: "errorExpression runs after success with the response", res: ok, retries: 3,
			headers: map[string]string{HeaderErrorExpression: `=if response.twilioResult[1].status = "queued" and not(is defined(error)) then bpmnError("QUEUED", "still queued") else null`},
			want:    throw, wantCode: "QUEUED", wantMessage: "still queued"},
		{name: "errorExpression sees the mapped output, not the raw result, under a resultExpression", res: ok, retries: 3,
			headers: map[string]string{HeaderResultExpression: `={smsSid: twilioResult[1].sid}`,
				HeaderErrorExpression: `=if smsSid = "SM1" and response.smsSid = "SM1" and response.twilioResult = null then bpmnError("MAPPED") else null`},
			want: throw, wantCode: "MAPPED"},
		{name: "errorExpression jobError fails with its retries, backoff and variables", res: partial, sendErr: transient, retries: 3,
			headers: map[string]string{HeaderErrorExpression: `=if error.code = "TWILIO_CONNECTION_ERROR" then jobError("Twilio down", {lastError: error.message}, job.retries - 1, @"PT2M") else null`},
			want:    fail, wantRetries: 2, wantBackoff: 2 * time.Minute, wantMessage: "Twilio down", wantVars: `{"lastError":"no answer"}`},
		{name: "errorExpression jobError defaults to no retries", res: invalid, retries: 3,
			headers: map[string]string{HeaderErrorExpression: `=jobError("give up")`}, want: fail, wantMessage: "give up", wantVars: `{}`},
		{name: "errorExpression in the older {code, message} form throws", res: invalid, retries: 3,
			headers: map[string]string{HeaderErrorExpression: `={code: error.code, message: "bad"}`}, want: throw, wantCode: "MISSING_INPUT", wantMessage: "bad"},
		{name: "errorExpression producing a string is an incident", res: invalid, retries: 3,
			headers: map[string]string{HeaderErrorExpression: `=error.code`}, want: fail,
			wantMessage: `task header errorExpression "=error.code" produced STRING: return bpmnError(code, message)`},
		{name: "errorExpression bpmnError without a code is an incident", res: invalid, retries: 3,
			headers: map[string]string{HeaderErrorExpression: `=bpmnError("")`}, want: fail, wantMessage: "produced a BPMN error without a code"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := decide(c.res, c.sendErr, c.retries, headers(t, c.headers))
			if d.verdict != c.want || d.retries != c.wantRetries || d.backoff != c.wantBackoff || d.code != c.wantCode {
				t.Fatalf("decision %+v, want verdict %d retries %d backoff %v code %q", d, c.want, c.wantRetries, c.wantBackoff, c.wantCode)
			}
			if !strings.Contains(d.message, c.wantMessage) {
				t.Errorf("message %q, want it to contain %q", d.message, c.wantMessage)
			}
			vars := ""
			if d.variables != nil {
				b, err := json.Marshal(d.variables)
				if err != nil {
					t.Fatal(err)
				}
				vars = string(b)
			}
			if c.wantVars != "" && !jsonEqual(t, vars, c.wantVars) || c.wantVars == "" && vars != "" {
				t.Errorf("variables %s, want %s", vars, c.wantVars)
			}
		})
	}
}

func jsonEqual(t *testing.T, a, b string) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal([]byte(a), &x); err != nil {
		return false
	}
	if err := json.Unmarshal([]byte(b), &y); err != nil {
		t.Fatalf("want %s: %v", b, err)
	}
	return reflect.DeepEqual(x, y)
}

// The task header connection chooses the connection; a process variable of that name does not.
func TestConnectionHeader(t *testing.T) {
	w := New(nil, nil, Options{})
	job := entities.Job{ActivatedJob: &pb.ActivatedJob{Key: 1, Variables: `{"connection": "fromAVariable"}`}}
	inv, _, err := w.invocation(job, map[string]string{HeaderConnection: " alerts "})
	if err != nil || inv.Connection != "alerts" {
		t.Fatalf("connection %q, err %v", inv.Connection, err)
	}
	if inv, _, _ := w.invocation(job, map[string]string{}); inv.Connection != "" {
		t.Fatalf("connection %q without the header", inv.Connection)
	}
}

// The expressions of the README's section on output mapping and errors parse as written.
func TestReadmeExpressionsParse(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := strings.Cut(string(readme), "\n## Output mapping, errors and retries\n")
	section, _, _ = strings.Cut(section, "\n## ")
	blocks := strings.Split(section, "```\n")
	var n int
	for i := 1; i < len(blocks); i += 2 {
		if strings.HasPrefix(blocks[i], "=") {
			n++
			if _, err := feel.Parse(blocks[i]); err != nil {
				t.Error(err)
			}
		}
	}
	if n < 2 {
		t.Fatalf("found %d FEEL blocks in the README's section, want 2", n)
	}
}
