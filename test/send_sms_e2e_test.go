package test

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twilio-connector/twilio-connector/bpmn/engine"
	"github.com/twilio-connector/twilio-connector/test/wait"
)

const (
	alice = "+14155550101"
	bob   = "+14155550102"
	carol = "+14155550103"
)

func TestSendSMSJobs(t *testing.T) {
	cases := []struct {
		name     string
		process  string
		setup    func(w *world)
		vars     map[string]any
		wantSent []string // recipients with a sid, in result order
		wantErrs []string // "to:code"
		wantEnd  string   // end event reached
	}{
		{
			name:     "good recipients",
			process:  "notify",
			vars:     map[string]any{"smsTo": []string{alice, bob}, "smsBody": "Order ${orderId} is ready", "orderId": "A-7"},
			wantSent: []string{alice, bob},
			wantEnd:  "end",
		},
		{
			name:     "bad recipients only",
			process:  "notify",
			setup:    func(w *world) { w.twilio.Fail(carol, 400, 21610, "unsubscribed") },
			vars:     map[string]any{"smsTo": []string{"12", carol}, "smsBody": "hi"},
			wantErrs: []string{"12:INVALID_TO_PHONE_NUMBER_ERROR", carol + ":SMS_RECIPIENT_OPTED_OUT"},
			wantEnd:  "end",
		},
		{
			name:     "mixed recipients",
			process:  "notify",
			setup:    func(w *world) { w.twilio.Fail(bob, 400, 21211, "invalid To") },
			vars:     map[string]any{"smsTo": alice + "," + bob + "," + carol, "smsBody": "hi"},
			wantSent: []string{alice, carol},
			wantErrs: []string{bob + ":INVALID_TO_PHONE_NUMBER_ERROR"},
			wantEnd:  "end",
		},
		{
			name:     "missing body completes with MISSING_INPUT",
			process:  "notify",
			vars:     map[string]any{"smsTo": []string{alice}},
			wantErrs: []string{"-:MISSING_INPUT"},
			wantEnd:  "end",
		},
		{
			name:     "bpmnError mode: a permanent failure takes the error boundary event",
			process:  "notifyStrict",
			setup:    func(w *world) { w.twilio.Fail(bob, 400, 21211, "invalid To") },
			vars:     map[string]any{"smsTo": []string{alice, bob}, "smsBody": "hi"},
			wantSent: []string{alice},
			wantErrs: []string{bob + ":INVALID_TO_PHONE_NUMBER_ERROR"},
			wantEnd:  "notSent",
		},
		{
			name:     "bpmnError mode: success takes the normal flow",
			process:  "notifyStrict",
			vars:     map[string]any{"smsTo": []string{alice}, "smsBody": "hi"},
			wantSent: []string{alice},
			wantEnd:  "sent",
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			w := newWorld(t)
			if c.setup != nil {
				c.setup(w)
			}
			w.startWorker(t, connectorOptions{})
			vars := w.runProcess(t, c.process, c.vars)
			res := resultOf(t, vars)
			var sent, errs []string
			for _, r := range res.TwilioResult {
				if r.SID != nil {
					sent = append(sent, r.To)
					if !strings.HasPrefix(*r.SID, "SM") {
						t.Errorf("sid %q", *r.SID)
					}
				}
			}
			for _, e := range res.TwilioError {
				to := "-"
				if e.To != nil {
					to = *e.To
				}
				errs = append(errs, to+":"+string(e.Code))
			}
			if !slices.Equal(sent, c.wantSent) || !slices.Equal(errs, c.wantErrs) {
				t.Fatalf("sent %v errors %v; want %v %v", sent, errs, c.wantSent, c.wantErrs)
			}
			for _, to := range c.wantSent {
				if n := w.twilio.CountSentTo(to); n != 1 {
					t.Errorf("%s got %d messages", to, n)
				}
			}
			inst, _ := w.eng.Instance(int64(vars["$instanceKey"].(int64)))
			if !slices.Contains(inst.CompletedElements, c.wantEnd) {
				t.Errorf("instance ended through %v, want %s", inst.CompletedElements, c.wantEnd)
			}
		})
	}
}

// A transient failure fails the job with a backoff; Zeebe hands it out again and the second
// run sends only to the recipient that was not yet accepted.
func TestTransientFailureRetriesJobWithoutResending(t *testing.T) {
	w := newWorld(t)
	w.twilio.FailTimes(bob, 3, 503, 0) // attempts 2 per run: run 1 fails twice, run 2 fails once then succeeds
	w.startWorker(t, connectorOptions{attempts: 2})
	vars := w.runProcess(t, "notify", map[string]any{"smsTo": []string{alice, bob}, "smsBody": "hi"})
	res := resultOf(t, vars)
	if res.TwilioError != nil || res.TwilioResult[0].SID == nil || res.TwilioResult[1].SID == nil {
		t.Fatalf("%+v", res)
	}
	if a, b := w.twilio.CountSentTo(alice), w.twilio.CountSentTo(bob); a != 1 || b != 1 {
		t.Fatalf("alice got %d, bob got %d messages; want 1 each", a, b)
	}
	stats := w.eng.JobStats()
	if stats.Failed != 1 || stats.Completed != 1 {
		t.Fatalf("job stats %+v: want one FailJob then one CompleteJob", stats)
	}
}

// When Zeebe's retries run out the job completes and the failure is in twilioError.
func TestTransientFailureSurfacesWhenRetriesRunOut(t *testing.T) {
	w := newWorld(t)
	w.twilio.Fail(bob, 500, 0, "")
	w.startWorker(t, connectorOptions{attempts: 1})
	vars := w.runProcess(t, "notify", map[string]any{"smsTo": []string{alice, bob}, "smsBody": "hi"})
	res := resultOf(t, vars)
	if len(res.TwilioError) != 1 || res.TwilioError[0].Code != "TWILIO_CONNECTION_ERROR" || res.TwilioResult[0].SID == nil {
		t.Fatalf("%+v", res)
	}
	if n := w.twilio.CountTo(bob); n != 3 {
		t.Errorf("bob: %d requests, want 3 (one per Zeebe retry)", n)
	}
	if n := w.twilio.CountSentTo(alice); n != 1 {
		t.Errorf("alice got %d messages over 3 job runs", n)
	}
}

// The auth token never reaches logs, job variables, error messages or incidents.
func TestAuthTokenNeverLeaks(t *testing.T) {
	w := newWorld(t)
	token := "deadbeefdeadbeefdeadbeefdeadbeef"
	w.startWorker(t, connectorOptions{authToken: token}) // the fake expects another token
	vars := w.runProcess(t, "notify", map[string]any{"smsTo": []string{alice}, "smsBody": "hi"})
	res := resultOf(t, vars)
	if len(res.TwilioError) != 1 || res.TwilioError[0].Code != "AUTHENTICATION_CONNECTION_ERROR" {
		t.Fatalf("%+v", res)
	}
	raw, _ := json.Marshal(vars)
	var jobs []engine.JobInfo = w.eng.Jobs()
	for where, text := range map[string]string{"variables": string(raw), "logs": w.logs.String(), "jobs": jsonOf(jobs), "incidents": jsonOf(w.eng.Incidents())} {
		if strings.Contains(text, token) {
			t.Errorf("the auth token appears in %s", where)
		}
	}
	for _, rq := range w.twilio.Requests() {
		if rq.User != w.twilio.AccountSID {
			t.Errorf("request without the account as basic-auth user: %+v", rq)
		}
	}
}

// Stop lets the in-flight job finish: the job completes, no message is lost or repeated.
func TestGracefulShutdownFinishesInFlightJobs(t *testing.T) {
	w := newWorld(t)
	w.twilio.SetLatency(500 * time.Millisecond)
	wk := w.startWorker(t, connectorOptions{})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd, _ := w.client.NewCreateInstanceCommand().BPMNProcessId("notify").LatestVersion().VariablesFromMap(map[string]any{"smsTo": []string{alice}, "smsBody": "hi"})
	inst, err := cmd.Send(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wait.Until(t, 5*time.Second, "the send to start", func() bool { return len(w.twilio.Requests()) == 1 })
	if err := wk.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	info, _ := w.eng.Instance(inst.GetProcessInstanceKey())
	if info.State != engine.StateCompleted {
		t.Fatalf("instance after Stop: %+v", info)
	}
	if n := w.twilio.CountSentTo(alice); n != 1 {
		t.Fatalf("alice got %d messages", n)
	}
}

// Jobs activated but still waiting for a slot when the worker stops go back to Zeebe at once,
// retries unchanged, instead of waiting out their 30 s timeout.
func TestShutdownHandsBackJobsNotStarted(t *testing.T) {
	w := newWorld(t)
	w.twilio.SetLatency(time.Second)
	wk := w.startWorker(t, connectorOptions{concurrency: 1, jobTimeout: 30 * time.Second})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := range 4 {
		cmd, _ := w.client.NewCreateInstanceCommand().BPMNProcessId("notify").LatestVersion().
			VariablesFromMap(map[string]any{"smsTo": []string{fmt.Sprintf("+1415555014%d", i)}, "smsBody": "hi"})
		if _, err := cmd.Send(ctx); err != nil {
			t.Fatal(err)
		}
	}
	// The other three have reached the worker (not only left the engine) and wait for the slot.
	wait.Until(t, 10*time.Second, "one send in progress and three jobs waiting for the slot", func() bool {
		return len(w.twilio.Requests()) == 1 && strings.Count(w.logs.String(), "job waiting for a free slot") == 3
	})
	if err := wk.Stop(ctx); err != nil {
		t.Fatal(err)
	}
	var back, done int
	for _, j := range w.eng.Jobs() {
		switch {
		case j.State == engine.JobActivatable && j.Retries == 3:
			back++
		case j.State == engine.JobActivated:
			t.Errorf("job %d is still activated after Stop: it would come back only after its timeout", j.Key)
		default:
			done++
		}
	}
	if back != 3 || len(w.twilio.Requests()) != 1 {
		t.Errorf("%d jobs handed back, %d other; %d Twilio requests", back, done, len(w.twilio.Requests()))
	}
}

func jsonOf(v any) string { b, _ := json.Marshal(v); return string(b) }
