package test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/camunda/zeebe/clients/go/v8/pkg/zbc"

	"github.com/twilio-connector/twilio-connector/bpmn/engine"
	"github.com/twilio-connector/twilio-connector/bpmn/examples"
	"github.com/twilio-connector/twilio-connector/store"
	"github.com/twilio-connector/twilio-connector/test/redistest"
	"github.com/twilio-connector/twilio-connector/test/syncbuf"
	"github.com/twilio-connector/twilio-connector/test/twiliotest"
	"github.com/twilio-connector/twilio-connector/test/wait"
	"github.com/twilio-connector/twilio-connector/triggers"
	"github.com/twilio-connector/twilio-connector/worker"
)

// connectorProcess is a `twilio-connector run` process against the world.
type connectorProcess struct {
	httpAddr string
	cmd      *exec.Cmd
	stderr   *syncbuf.Buffer
	exited   chan error
}

func (w *world) startRun(t *testing.T, env ...string) *connectorProcess {
	t.Helper()
	p := &connectorProcess{httpAddr: freeAddr(t), cmd: exec.Command(binary, "run"), stderr: &syncbuf.Buffer{}, exited: make(chan error, 1)}
	p.cmd.Env = append(w.connectorEnv(t, p.httpAddr), env...)
	p.cmd.Stderr = p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.exited <- p.cmd.Wait() }()
	t.Cleanup(func() { p.cmd.Process.Kill() })
	return p
}

// waitReady waits until the process answers /readyz with 200 (it reaches the engine).
func (p *connectorProcess) waitReady(t *testing.T) {
	t.Helper()
	wait.Until(t, 15*time.Second, "connector "+p.httpAddr+" to be ready", func() bool {
		code, _ := httpGet("http://" + p.httpAddr + "/readyz")
		return code == 200
	})
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
	wait.Until(t, 20*time.Second, "the first sends", func() bool { return len(w.twilio.Sent()) >= 8 })
	first.cmd.Process.Signal(syscall.SIGKILL)
	<-first.exited
	killedAt := len(w.twilio.Sent())

	w.startRun(t, state...)
	w.waitCompleted(t, 45*time.Second, keys)
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

// A Twilio slower than the job timeout: jobs time out and come back while their sends are in
// flight or done, and still no recipient gets two messages.
func TestSlowTwilioShorterJobTimeoutNoDuplicates(t *testing.T) {
	w := newWorld(t)
	w.twilio.SetLatency(1500 * time.Millisecond)
	w.twilio.SetAcceptFirst(true)
	w.startWorker(t, connectorOptions{jobTimeout: 2 * time.Second, timeout: 5 * time.Second, attempts: 2})
	var keys []int64
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for j := 0; j < 4; j++ {
		cmd, _ := w.client.NewCreateInstanceCommand().BPMNProcessId("notify").LatestVersion().
			VariablesFromMap(map[string]any{"smsTo": []string{fmt.Sprintf("+14155556%03d", j), fmt.Sprintf("+14155557%03d", j)}, "smsBody": "slow"})
		inst, err := cmd.Send(ctx)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, inst.GetProcessInstanceKey())
	}
	w.waitCompleted(t, 30*time.Second, keys)
	for j := 0; j < 4; j++ {
		for _, to := range []string{fmt.Sprintf("+14155556%03d", j), fmt.Sprintf("+14155557%03d", j)} {
			if n := w.twilio.CountSentTo(to); n != 1 {
				t.Errorf("%s got %d messages", to, n)
			}
		}
	}
	stats := w.eng.JobStats()
	t.Logf("job stats: %+v", stats)
	if stats.TimedOut+stats.Failed == 0 {
		t.Fatalf("no job timed out or failed: the test did not exercise a job shorter than the send")
	}
}

// The engine goes down while inbound SMS arrive: each sender gets echoError, nothing is lost,
// and when the engine is back every message is published exactly once, redeliveries included.
func TestEngineDownWhileInboundSMSArrive(t *testing.T) {
	eng := engine.New(engine.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, err := eng.Serve(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := srv.Addr()
	data, _ := examples.FS.ReadFile("order_status.bpmn")
	if _, _, err := eng.Deploy(engine.Resource{Name: "order_status.bpmn", Content: data}); err != nil {
		t.Fatal(err)
	}
	defs := eng.Definitions()
	var ts []*triggers.Trigger
	for _, d := range defs {
		more, err := triggers.FromDefinitions(d, 0)
		if err != nil {
			t.Fatal(err)
		}
		ts = append(ts, more...)
	}

	client, err := zbc.NewClient(&zbc.ClientConfig{GatewayAddress: addr, UsePlaintextConnection: true})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	st, err := store.OpenBolt(filepath.Join(t.TempDir(), "state.db"), 0)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	const token = "0123456789abcdef0123456789abcdef"
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	pub := worker.NewPublisher(client)
	outbox := triggers.NewOutbox(st, pub, triggers.OutboxOptions{Interval: 50 * time.Millisecond, MinBackoff: 50 * time.Millisecond,
		MaxBackoff: 200 * time.Millisecond, PublishTimeout: time.Second, Logger: quiet})
	webhook := httptest.NewServer(triggers.NewSMSReceived(triggers.Options{
		Triggers: triggers.NewRegistry(ts...), Publisher: pub, Store: st, Outbox: outbox,
		Verifier: triggers.Verifier{AuthToken: token}, MessageTTL: time.Minute, PublishTimeout: time.Second, Logger: quiet,
	}))
	defer webhook.Close()
	go outbox.Run(ctx)

	post := func(form url.Values) string {
		res, err := twiliotest.PostForm(ctx, webhook.URL+"/twilio/sms", token, form)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		if res.StatusCode != 200 {
			t.Fatalf("webhook answered %d %s", res.StatusCode, b)
		}
		return string(b)
	}

	srv.Close() // the engine goes down
	var forms []url.Values
	for i := 0; i < 6; i++ {
		f := twiliotest.InboundForm("AC0123456789abcdef0123456789abcdef", fmt.Sprintf("+1415555%04d", i), "+15005550006", fmt.Sprintf("status A-%d", i))
		forms = append(forms, f)
		if reply := post(f); !strings.Contains(reply, "Sorry, we cannot look up orders right now") {
			t.Fatalf("with the engine down the sender got %q, want the echoError", reply)
		}
	}
	if n := len(eng.PublishedMessages()); n != 0 {
		t.Fatalf("%d messages reached a stopped engine", n)
	}

	srv, err = eng.Serve(ctx, addr) // and comes back on the same address
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	wait.Until(t, 20*time.Second, "the outbox to publish everything", func() bool { return len(eng.PublishedMessages()) == len(forms) })
	for _, f := range forms { // Twilio redelivers each one
		post(f)
	}
	if pending, _ := outbox.Pending(ctx); pending != 0 {
		t.Fatalf("%d events still in the outbox", pending)
	}
	seen := map[string]int{}
	for _, m := range eng.PublishedMessages() {
		seen[m.MessageID]++
	}
	if len(seen) != len(forms) || len(eng.Instances()) != len(forms) {
		t.Fatalf("published %v, %d instances; want %d distinct messages and instances", seen, len(eng.Instances()), len(forms))
	}
}

// Twilio delivers the same inbound SMS to two connector replicas that share Redis (behind one
// load balancer, so one public URL): one publish, one process, one reply SMS.
func TestTwoReplicasSharingRedisPublishOnce(t *testing.T) {
	w := newWorld(t)
	w.deploy(t, "../bpmn/examples/order_status.bpmn")
	redis := redistest.Start(t)
	const public = "https://connector.example.com"
	var addrs []string
	for i := 0; i < 2; i++ {
		p := w.startRun(t, "CONNECTOR_STATE_STORE=redis", "CONNECTOR_REDIS_URL="+redis.URL,
			"CONNECTOR_BPMN_DIR=../bpmn/examples", "CONNECTOR_PUBLIC_URL="+public)
		p.waitReady(t)
		addrs = append(addrs, p.httpAddr)
	}
	form := twiliotest.InboundForm(w.twilio.AccountSID, "+14155550177", "+15005550006", "status B-12")
	sig := twiliotest.Sign(w.twilio.AuthToken, public+"/twilio/sms", form)
	var wg sync.WaitGroup
	replies := make([]string, len(addrs))
	for i, a := range addrs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("POST", "http://"+a+"/twilio/sms", strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("X-Twilio-Signature", sig)
			res, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Error(err)
				return
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			if res.StatusCode != 200 {
				t.Errorf("replica %s answered %d %s", a, res.StatusCode, b)
			}
			replies[i] = string(b)
		}()
	}
	wg.Wait()
	if !strings.Contains(replies[0]+replies[1], "Looking up order B-12") {
		t.Fatalf("no replica echoed: %q", replies)
	}
	wait.Until(t, 15*time.Second, "the status reply", func() bool { return w.twilio.CountSentTo("+14155550177") >= 1 })
	if n := len(w.eng.PublishedMessages()); n != 1 {
		t.Fatalf("%d messages published, want 1", n)
	}
	if n := len(w.eng.Instances()); n != 1 {
		t.Fatalf("%d process instances, want 1", n)
	}
	if n := w.twilio.CountSentTo("+14155550177"); n != 1 {
		t.Fatalf("the sender got %d replies", n)
	}
	// Zeebe's messageId would hide a second publish; the replicas' own counts must show one.
	published := 0
	for _, a := range addrs {
		_, m := httpGet("http://" + a + "/metrics")
		if strings.Contains(m, `twilio_connector_webhook_requests_total{outcome="published"} 1`) {
			published++
		}
	}
	if published != 1 {
		t.Fatalf("%d replicas published the SMS, want exactly 1", published)
	}
}

// Twilio answers 500, 429 (with Retry-After) and timeouts for a while: every message is
// eventually sent exactly once, no job is left behind, and a permanent error is reported
// after one request, not retried.
func TestTwilioFlakyForAWhile(t *testing.T) {
	w := newWorld(t)
	const n = 8
	var recipients []string
	for i := 0; i < n; i++ {
		to := fmt.Sprintf("+14155558%03d", i)
		recipients = append(recipients, to)
		switch i % 4 {
		case 0:
			w.twilio.FailTimes(to, 3, 500, 0)
		case 1:
			w.twilio.FailWith(to, 2, twiliotest.Failure{Status: 429, RetryAfter: "1"})
		case 2:
			w.twilio.AcceptThenDrop(to, 1) // Twilio took it; the answer was lost
		}
	}
	bad := "+14155558999"
	w.twilio.Fail(bad, 400, 21211, "The 'To' number is not a valid phone number.")
	w.startWorker(t, connectorOptions{attempts: 2, timeout: time.Second})

	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	var keys []int64
	for i := 0; i < n; i += 2 {
		cmd, _ := w.client.NewCreateInstanceCommand().BPMNProcessId("notify").LatestVersion().
			VariablesFromMap(map[string]any{"smsTo": []string{recipients[i], recipients[i+1], bad}, "smsBody": "flaky"})
		inst, err := cmd.Send(ctx)
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, inst.GetProcessInstanceKey())
	}
	w.waitCompleted(t, 40*time.Second, keys)
	for _, to := range recipients {
		if c := w.twilio.CountSentTo(to); c != 1 {
			t.Errorf("%s got %d messages", to, c)
		}
	}
	for _, k := range keys {
		info, _ := w.eng.Instance(k)
		res := resultOf(t, info.Variables)
		if len(res.TwilioError) != 1 || *res.TwilioError[0].To != bad || res.TwilioError[0].Code != "INVALID_TO_PHONE_NUMBER_ERROR" {
			t.Errorf("instance %d: %s", k, jsonOf(res.TwilioError))
		}
	}
	// The invalid number was asked once per job run, never retried within a run.
	stats := w.eng.JobStats()
	if got := w.twilio.CountTo(bad); got != int(stats.Activated) {
		t.Errorf("invalid number: %d requests over %d job activations", got, stats.Activated)
	}
	if len(w.eng.Incidents()) != 0 {
		t.Errorf("incidents: %+v", w.eng.Incidents())
	}
}
