package test

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/twilio-connector/twilio-connector/test/twiliotest"
	"github.com/twilio-connector/twilio-connector/test/wait"
)

// devZbctl returns zbctl pointed at a dev run's gateway, with the models deployed by it.
func devZbctl(t *testing.T, d *devRun, models ...string) *zbWorld {
	t.Helper()
	z := &zbWorld{addr: d.gateway, bin: zbctl(t)}
	for _, m := range models {
		z.ok(t, "deploy", m)
	}
	return z
}

// A catch event deployed with zbctl, correlated on the reference quoted in the reply
// (inbound.correlationKeyExpression) and taking only a YES (inbound.activationCondition): a NO
// for the order is not published, a YES from any phone completes the instance waiting for it.
func TestZbctlCorrelationKeyExpressionAndActivationCondition(t *testing.T) {
	fake := twiliotest.New(t)
	d := startDev(t, twilioEnv(fake)...)
	z := devZbctl(t, d, "testdata/zbctl/inbound_confirm.bpmn")

	type result struct {
		out, errOut string
		err         error
	}
	done := make(chan result, 1)
	go func() {
		out, errOut, err := z.run(t, "create", "instance", "confirmByReference", "--variables", `{"orderRef":"A-7"}`,
			"--withResult", "--requestTimeout", "12s")
		done <- result{out, errOut, err}
	}()

	if _, body := d.inboundSMS(t, fake, "+14155550140", "NO A-7"); !strings.Contains(body, "<Response/>") {
		t.Fatalf("NO A-7 answered %s, want no reply: the activation condition is false", body)
	}
	if _, body := d.inboundSMS(t, fake, "+14155550141", "YES A-7"); !strings.Contains(body, "<Message>Order A-7 confirmed</Message>") {
		t.Fatalf("YES A-7 answered %s", body)
	}
	var r result
	select {
	case r = <-done:
	case <-time.After(20 * time.Second):
		t.Fatal("zbctl create instance --withResult did not return")
	}
	if r.err != nil {
		t.Fatalf("the instance did not complete: %v\n%s", r.err, r.errOut)
	}
	vars := instanceVariables(t, r.out)
	if vars["originalMessage"] != "YES A-7" || vars["from"] != "+14155550141" {
		t.Fatalf("the instance completed with %v, want the YES from +14155550141 (correlated on the reference A-7, not the sender)", vars)
	}
}

// A start event deployed with zbctl publishes what its inbound.resultExpression maps, under
// the id its inbound.messageIdExpression gives: the same order texted twice starts one
// instance (Zeebe drops the second message with that id).
func TestZbctlResultExpressionAndMessageIDExpression(t *testing.T) {
	fake := twiliotest.New(t)
	d := startDev(t, twilioEnv(fake)...)
	z := devZbctl(t, d, "testdata/zbctl/inbound_intake.bpmn")

	for _, from := range []string{"+14155550150", "+14155550151"} {
		if _, body := d.inboundSMS(t, fake, from, "Order C-9"); !strings.Contains(body, "<Message>Got order C-9</Message>") {
			t.Fatalf("Order C-9 from %s answered %s", from, body)
		}
	}
	activate := func() []any {
		out := z.ok(t, "activate", "jobs", "zb.inbound", "--maxJobsToActivate", "5", "--timeout", "1m", "--requestTimeout", "1s", "--worker", "inbound-e2e")
		jobs, _ := decode(t, out)["jobs"].([]any)
		return jobs
	}
	var jobs []any
	wait.Until(t, 10*time.Second, "the order intake job", func() bool {
		jobs = activate()
		return len(jobs) > 0
	})
	if more := activate(); len(jobs)+len(more) != 1 {
		t.Fatalf("%d instances started, want 1: the second Order C-9 has the same message id", len(jobs)+len(more))
	}
	var vars map[string]any
	if err := json.Unmarshal([]byte(jobs[0].(map[string]any)["variables"].(string)), &vars); err != nil {
		t.Fatal(err)
	}
	if want := map[string]any{"reference": "C-9", "phone": "+14155550150"}; !equalJSON(vars, want) {
		t.Fatalf("the instance has variables %v, want exactly %v (the result expression)", vars, want)
	}
}

func instanceVariables(t *testing.T, out string) map[string]any {
	t.Helper()
	var vars map[string]any
	if err := json.Unmarshal([]byte(decode(t, out)["variables"].(string)), &vars); err != nil {
		t.Fatalf("variables in %s: %v", out, err)
	}
	return vars
}

func equalJSON(a, b any) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}
