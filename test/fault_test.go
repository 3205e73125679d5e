package test

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/twilio-connector/twilio-connector/bpmn/engine"
)

// connectorProcess is a `twilio-connector run` process against the world.
type connectorProcess struct {
	cmd    *exec.Cmd
	stderr *syncBuffer
	exited chan error
}

func (w *world) startRun(t *testing.T, env ...string) *connectorProcess {
	t.Helper()
	p := &connectorProcess{cmd: exec.Command(binary, "run"), stderr: &syncBuffer{}, exited: make(chan error, 1)}
	p.cmd.Env = append(w.connectorEnv(t, freeAddr(t)), env...)
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.exited <- p.cmd.Wait() }()
	t.Cleanup(func() { p.cmd.Process.Kill() })
	return p
}

// kill -9 of the connector in the middle of a batch of multi-recipient jobs, then a restart
// on the same state file: every recipient gets exactly one SMS and every job completes.
func TestKillDashNineMidBatch(t *testing.T) {
	w := newWorld(t)
	w.twilio.SetLatency(150 * time.Millisecond)
	w.twilio.SetAcceptFirst(true) // like Twilio: a request the client never hears back from still sends
	state := []string{
		"CONNECTOR_STATE_FILE=" + filepath.Join(t.TempDir(), "state.db"),
		"CONNECTOR_JOB_TIMEOUT=3s", // jobs held by the killed process come back quickly
		"CONNECTOR_CONCURRENCY=4", "CONNECTOR_SEND_PARALLELISM=2",
	}
	const jobs, perJob = 12, 3
	var keys []int64
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for j := 0; j < jobs; j++ {
		var to []string
		for r := 0; r < perJob; r++ {
			to = append(to, fmt.Sprintf("+1415555%02d%02d", j, r))
		}
		cmd, _ := w.client.NewCreateInstanceCommand().BPMNProcessId("notify").LatestVersion().
			VariablesFromMap(map[string]any{"smsTo": to, "smsBody": "batch ${n}", "n": j})
		inst, err := cmd.Send(ctx)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, inst.GetProcessInstanceKey())
	}

	first := w.startRun(t, state...)
	eventually(t, 20*time.Second, "the first sends", func() bool { return len(w.twilio.Sent()) >= 8 })
	first.cmd.Process.Signal(syscall.SIGKILL)
	<-first.exited
	killedAt := len(w.twilio.Sent())

	w.startRun(t, state...)
	eventually(t, 45*time.Second, "every instance to complete", func() bool {
		for _, k := range keys {
			if info, _ := w.eng.Instance(k); info.State != engine.StateCompleted {
				return false
			}
		}
		return true
	})
	if killedAt == jobs*perJob {
		t.Fatalf("the kill came after every send: the test proved nothing")
	}
	for j := 0; j < jobs; j++ {
		for r := 0; r < perJob; r++ {
			if n := w.twilio.CountSentTo(fmt.Sprintf("+1415555%02d%02d", j, r)); n != 1 {
				t.Errorf("job %d recipient %d got %d messages", j, r, n)
			}
		}
	}
	for _, k := range keys {
		info, _ := w.eng.Instance(k)
		res := resultOf(t, info.Variables)
		if res.TwilioError != nil || len(res.TwilioResult) != perJob {
			t.Errorf("instance %d: %s", k, jsonOf(res))
		}
		for _, r := range res.TwilioResult {
			if m, ok := w.twilio.Message(*r.SID); !ok || m.To != r.To {
				t.Errorf("instance %d reports sid %s for %s, which Twilio does not hold for that number", k, *r.SID, r.To)
			}
		}
	}
	t.Logf("%d of %d messages were out when the connector was killed", killedAt, jobs*perJob)
}
