package worker

import (
	"testing"
	"time"

	"github.com/camunda/zeebe/clients/go/v8/pkg/entities"
	"github.com/camunda/zeebe/clients/go/v8/pkg/pb"

	"github.com/twilio-connector/twilio-connector/actions"
	"github.com/twilio-connector/twilio-connector/errs"
)

func TestDecide(t *testing.T) {
	ok := actions.Result{TwilioResult: []actions.RecipientResult{{To: "+14155550101", Status: "queued"}}}
	invalid := actions.RequestFailure(errs.Missing(actions.FieldSMSTo, "give one"))
	transient := &errs.Error{Code: errs.Connection, Message: "no answer"}
	limited := &errs.Error{Code: errs.RateLimited, Message: "slow down", RetryAfter: time.Minute}
	paced := &errs.Error{Code: errs.RateLimited, Message: "next slot in 5m", RetryAfter: 5 * time.Minute, Paced: true}
	partial := actions.Result{TwilioError: []actions.RecipientError{{Code: errs.Connection, Message: "no answer"}}}
	cases := []struct {
		name        string
		res         actions.Result
		sendErr     error
		retries     int32
		errorMode   string
		want        verdict
		wantRetries int32
		wantBackoff time.Duration
		wantCode    errs.Code
	}{
		{name: "success completes", res: ok, retries: 3, want: complete},
		{name: "success completes in bpmnError mode", res: ok, retries: 3, errorMode: ErrorModeBPMN, want: complete},
		{name: "a permanent failure completes with twilioError", res: invalid, retries: 3, want: complete},
		{name: "a permanent failure throws in bpmnError mode", res: invalid, retries: 3, errorMode: ErrorModeBPMN, want: throw, wantCode: errs.MissingInput},
		{name: "a transient failure fails with the task's backoff", res: partial, sendErr: transient, retries: 3,
			want: fail, wantRetries: 2, wantBackoff: 10 * time.Second, wantCode: errs.Connection},
		{name: "a longer Retry-After wins", res: partial, sendErr: limited, retries: 2,
			want: fail, wantRetries: 1, wantBackoff: time.Minute, wantCode: errs.RateLimited},
		{name: "fail even in bpmnError mode while retries remain", res: partial, sendErr: transient, retries: 2, errorMode: ErrorModeBPMN,
			want: fail, wantRetries: 1, wantBackoff: 10 * time.Second, wantCode: errs.Connection},
		{name: "a send held back by its pace fails for after the wait and keeps the retries", res: partial, sendErr: paced, retries: 3,
			want: fail, wantRetries: 3, wantBackoff: 5 * time.Minute, wantCode: errs.RateLimited},
		{name: "a paced send on the last retry is failed again, not completed", res: partial, sendErr: paced, retries: 1,
			want: fail, wantRetries: 1, wantBackoff: 5 * time.Minute, wantCode: errs.RateLimited},
		{name: "the last retry completes with what was sent", res: partial, sendErr: transient, retries: 1, want: complete},
		{name: "the last retry throws in bpmnError mode", res: partial, sendErr: transient, retries: 1, errorMode: ErrorModeBPMN,
			want: throw, wantCode: errs.Connection},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := decide(c.res, c.sendErr, c.retries, c.errorMode, 10*time.Second)
			if d.verdict != c.want || d.retries != c.wantRetries || d.backoff != c.wantBackoff {
				t.Fatalf("decision %+v, want verdict %d retries %d backoff %v", d, c.want, c.wantRetries, c.wantBackoff)
			}
			if (d.err == nil) != (c.wantCode == "") || (d.err != nil && d.err.Code != c.wantCode) {
				t.Fatalf("err %v, want code %q", d.err, c.wantCode)
			}
		})
	}
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
