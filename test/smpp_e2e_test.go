package test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twilio-connector/twilio-connector/test/smsctest"
	"github.com/twilio-connector/twilio-connector/test/syncbuf"
	"github.com/twilio-connector/twilio-connector/test/wait"
)

// smppRun is a `twilio-connector run` with the connection smsc to an SMSC (test/smsc/smsc.js,
// on the npm smpp package's server) and the models of testdata/smpp.bpmn, deployed and read
// for their triggers.
type smppRun struct {
	*connectorProcess
	w    *world
	smsc *smsctest.SMSC
}

// startSMPPRun starts the connector with the connection smsc (extra: more of its YAML
// fields, one "key: value" a line) and password as its password.
func startSMPPRun(t *testing.T, smsc *smsctest.SMSC, password string, extra []string, env ...string) *smppRun {
	t.Helper()
	w, _ := stoppableWorld(t)
	dir := t.TempDir()
	model, err := os.ReadFile("testdata/smpp.bpmn")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "smpp.bpmn"), model, 0o600); err != nil {
		t.Fatal(err)
	}
	w.deploy(t, filepath.Join(dir, "smpp.bpmn"))
	pwFile := filepath.Join(t.TempDir(), "smsc_password")
	if err := os.WriteFile(pwFile, []byte(password+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	doc := "connections:\n  smsc:\n    provider: smpp\n    address: " + smsc.Addr + "\n    system_id: " + smsc.SystemID +
		"\n    password_file: " + pwFile + "\n    default_from: \"+15005550006\"\n    enquire_link: 2s\n"
	for _, e := range extra {
		doc += "    " + e + "\n"
	}
	connections := filepath.Join(t.TempDir(), "connections.yaml")
	if err := os.WriteFile(connections, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	p := w.startRun(t, append([]string{"CONNECTOR_CONNECTIONS_FILE=" + connections, "CONNECTOR_BPMN_DIR=" + dir}, env...)...)
	return &smppRun{connectorProcess: p, w: w, smsc: smsc}
}

// create starts an instance of processID and returns its key.
func (r *smppRun) create(t *testing.T, processID string, vars map[string]any) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd, err := r.w.client.NewCreateInstanceCommand().BPMNProcessId(processID).LatestVersion().VariablesFromMap(vars)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := cmd.Send(ctx)
	if err != nil {
		t.Fatal(err)
	}
	return inst.GetProcessInstanceKey()
}

// instances returns the variables of every instance of processID.
func (r *smppRun) instances(processID string) []map[string]any {
	var out []map[string]any
	for _, inst := range r.w.eng.Instances() {
		if inst.BpmnProcessID == processID {
			out = append(out, inst.Variables)
		}
	}
	return out
}

// messagesTo are the messages the SMSC accepted for the number (digits, as SMPP carries them).
func messagesTo(smsc *smsctest.SMSC, dest string) []smsctest.Message {
	var out []smsctest.Message
	for _, m := range smsc.Messages() {
		if m.Dest == dest {
			out = append(out, m)
		}
	}
	return out
}

// The "done when", through the built binary and an SMSC that is not ours: a Send SMS
// task with connection smsc sends a long Unicode text in concatenated parts that the SMSC
// reassembles to the original, and its process gets the delivery receipt; an MO from the SMSC
// starts a process and gets its echo, a redelivered MO starts nothing more; a throttled
// submit is retried and delivered once.
func TestSMPPEndToEnd(t *testing.T) {
	smsc := smsctest.Start(t)
	r := startSMPPRun(t, smsc, smsc.Password, nil)
	r.waitReady(t)
	if _, body := httpGet("http://" + r.httpAddr + "/readyz"); !strings.Contains(body, "smpp smsc: up") {
		t.Fatalf("/readyz does not check the SMPP connection: %s", body)
	}

	// Long Unicode: UCS-2 (data_coding 8), more than one part of 67 characters.
	text := strings.Repeat("Zürich → Kraków: your bike 🚲 is ready. ", 4)
	key := r.create(t, "smscNotify", map[string]any{"smsTo": []string{"+14155550100"}, "smsBody": text})
	wait.Until(t, 20*time.Second, "the message at the SMSC", func() bool { return len(messagesTo(smsc, "14155550100")) == 1 })
	m := messagesTo(smsc, "14155550100")[0]
	if m.Text != text || m.DataCoding != 8 || m.Parts < 3 || m.Source != "15005550006" {
		t.Fatalf("the SMSC reassembled %d parts, coding %d, from %q: %q; want %q in UCS-2", m.Parts, m.DataCoding, m.Source, m.Text, text)
	}
	// The task's result: sid = the first part's id, parts = all of them. The process waits for
	// the receipt.
	var vars map[string]any
	wait.Until(t, 10*time.Second, "the send task's result", func() bool {
		inst, _ := r.w.eng.Instance(key)
		vars = inst.Variables
		return vars["twilioResult"] != nil
	})
	res := resultOf(t, vars)
	if res.TwilioError != nil || len(res.TwilioResult) != 1 || *res.TwilioResult[0].SID != m.MessageIDs[0] ||
		!slices.Equal(res.TwilioResult[0].Parts, m.MessageIDs) || res.TwilioResult[0].Status != "sent" {
		t.Fatalf("result %+v %+v, want sid %s and parts %v", res.TwilioResult, res.TwilioError, m.MessageIDs[0], m.MessageIDs)
	}
	// An intermediate state publishes nothing; the final one completes the process.
	for _, stat := range []string{"ENROUTE", "DELIVRD"} {
		tag := smsc.Receipt(m.MessageIDs[0], "14155550100", "15005550006", stat, "000", true)
		wait.Until(t, 10*time.Second, "the receipt's deliver_sm_resp", func() bool { return len(smsc.DeliverResps(tag)) == 1 })
		if got := smsc.DeliverResps(tag); got[0] != 0 {
			t.Fatalf("receipt %s answered with status %#x", stat, got[0])
		}
		if stat == "ENROUTE" {
			time.Sleep(300 * time.Millisecond)
			if inst, _ := r.w.eng.Instance(key); inst.State == "COMPLETED" {
				t.Fatal("an ENROUTE receipt completed the process")
			}
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	done, err := r.w.eng.WaitInstance(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if v := done.Variables; v["messageStatus"] != "delivered" || v["messageSid"] != m.MessageIDs[0] || v["connection"] != "smsc" || v["to"] != "+14155550100" {
		t.Errorf("status variables %v", v)
	}

	// An MO starts the process of the connection's trigger; its echo goes back as submit_sm.
	tag := smsc.MO("14155550142", "15005550006", "Order Number 42", 0, 1)
	wait.Until(t, 10*time.Second, "the MO's process", func() bool { return len(r.instances("smscOrders")) == 1 })
	if v := r.instances("smscOrders")[0]; v["channel"] != "smpp" || v["connection"] != "smsc" || v["from"] != "+14155550142" || v["to"] != "+15005550006" {
		t.Errorf("instance variables %v", v)
	}
	wait.Until(t, 10*time.Second, "the MO's deliver_sm_resp", func() bool { return len(smsc.DeliverResps(tag)) == 1 })
	if got := smsc.DeliverResps(tag); got[0] != 0 {
		t.Fatalf("deliver_sm_resp status %#x, want 0", got[0])
	}
	wait.Until(t, 10*time.Second, "the echo at the SMSC", func() bool { return len(messagesTo(smsc, "14155550142")) == 1 })
	if e := messagesTo(smsc, "14155550142")[0]; e.Text != "Got order 42 ✓" || e.Source != "15005550006" {
		t.Errorf("echo %+v", e)
	}
	// The SMSC delivers the same MO again (as after a lost deliver_sm_resp): acknowledged,
	// nothing started or sent again.
	tag = smsc.MO("14155550142", "15005550006", "Order Number 42", 0, 1)
	wait.Until(t, 10*time.Second, "the redelivery's deliver_sm_resp", func() bool { return len(smsc.DeliverResps(tag)) == 1 })
	time.Sleep(500 * time.Millisecond)
	if n, echoes := len(r.instances("smscOrders")), len(messagesTo(smsc, "14155550142")); n != 1 || echoes != 1 {
		t.Errorf("after the redelivery: %d instances, %d echoes; want 1 and 1", n, echoes)
	}

	// Throttled: ESME_RTHROTTLED twice, then accepted; the recipient gets one message.
	smsc.Throttle(2, smsctest.ESME_RTHROTTLED)
	key = r.create(t, "smscBatch", map[string]any{"smsTo": []string{"+14155550111"}, "smsBody": "Your code is 4711"})
	ctx, cancel = context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	done, err = r.w.eng.WaitInstance(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	throttled := 0
	for _, s := range smsc.Submits() {
		if s.Dest == "14155550111" && s.Status != nil && *s.Status == smsctest.ESME_RTHROTTLED {
			throttled++
		}
	}
	if got := messagesTo(smsc, "14155550111"); len(got) != 1 || got[0].Text != "Your code is 4711" || throttled != 2 {
		t.Errorf("after throttling: %d throttled submits, messages %+v; want 2 and one message", throttled, got)
	}
	if res := resultOf(t, done.Variables); res.TwilioError != nil {
		t.Errorf("throttled send failed: %+v", res.TwilioError)
	}
	if strings.Contains(r.stderr.String(), smsc.Password) {
		t.Error("the SMSC password appears in the logs")
	}
}

// A wrong password: the connector still starts (other connections work), logs one error
// naming the connection and what to check (never the password), /readyz names the
// connection, and a send through it fails with AUTHENTICATION_CONNECTION_ERROR.
func TestSMPPBindFailure(t *testing.T) {
	smsc := smsctest.Start(t)
	const wrong = "wrongpw"
	r := startSMPPRun(t, smsc, wrong, nil)
	wait.Until(t, 15*time.Second, "the bind error in the log", func() bool {
		return strings.Contains(r.stderr.String(), "SMPP connection is not bound")
	})
	code, body := httpGet("http://" + r.httpAddr + "/readyz")
	if code != 503 || !strings.Contains(body, "smpp smsc: down") || !strings.Contains(body, "password") || strings.Contains(body, wrong) {
		t.Fatalf("/readyz %d: %s", code, body)
	}
	key := r.create(t, "smscBatch", map[string]any{"smsTo": []string{"+14155550100"}, "smsBody": "hello"})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	done, err := r.w.eng.WaitInstance(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	if f := resultOf(t, done.Variables).Failure(); f == nil || f.Code != "AUTHENTICATION_CONNECTION_ERROR" || !strings.Contains(f.Message, "smsc") {
		t.Errorf("send with a wrong password: %+v", f)
	}
	logs := r.stderr.String()
	var errorLines []string
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, `"level":"ERROR"`) {
			errorLines = append(errorLines, line)
		}
	}
	if len(errorLines) != 1 || !strings.Contains(errorLines[0], `"connection":"smsc"`) || !strings.Contains(errorLines[0], "check system_id and password") {
		t.Errorf("want one error line naming connection smsc and what to check, got:\n%s\nlogs:\n%s", strings.Join(errorLines, "\n"), logs)
	}
	if strings.Contains(logs, wrong) {
		t.Error("the wrong password appears in the logs")
	}
	if len(smsc.Messages()) != 0 {
		t.Error("something was sent")
	}
}

// The SMSC stops answering in the middle of a batch of 30 recipients, then restarts (kill -9,
// back after 1s): no recipient gets two messages and none is lost. The submits written
// before the crash (the window's 5) never got a response: the SMSC cannot be asked about
// them, so they are not resent but reported DELIVERY_UNCERTAIN, and the SMSC did receive each
// of them once. Every other recipient waited for the new bind and got exactly one message,
// with the sid of its result.
func TestSMPPRestartMidBatch(t *testing.T) {
	smsc := smsctest.Start(t)
	const n, window = 30, 5
	r := startSMPPRun(t, smsc, smsc.Password, []string{"max_tps: 15", fmt.Sprintf("window: %d", window)}, "CONNECTOR_SEND_PARALLELISM=10")
	r.waitReady(t)
	var to []string
	for i := range n {
		to = append(to, fmt.Sprintf("+141555502%02d", i))
	}
	key := r.create(t, "smscBatch", map[string]any{"smsTo": to, "smsBody": "Batch message"})
	smsc.WaitSubmits(8, 20*time.Second)
	smsc.Silent(true)
	unanswered := func() map[string]bool {
		out := map[string]bool{}
		for _, s := range smsc.Submits() {
			if s.Status == nil {
				out["+"+s.Dest] = true
			}
		}
		return out
	}
	wait.Until(t, 20*time.Second, "a full window of unanswered submits", func() bool { return len(unanswered()) == window })
	smsc.Restart(time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	done, err := r.w.eng.WaitInstance(ctx, key)
	if err != nil {
		t.Fatal(err)
	}
	res := resultOf(t, done.Variables)
	uncertain := map[string]bool{}
	for _, e := range res.TwilioError {
		if e.Code != "DELIVERY_UNCERTAIN" || e.To == nil {
			t.Fatalf("unexpected failure %+v", e)
		}
		uncertain[*e.To] = true
	}
	if fmt.Sprint(uncertain) != fmt.Sprint(unanswered()) {
		t.Errorf("uncertain recipients %v, want those whose submit got no answer: %v", uncertain, unanswered())
	}
	received := map[string]int{}
	for _, s := range smsc.Submits() {
		received["+"+s.Dest]++ // every submit the SMSC read, answered or not
	}
	for _, rr := range res.TwilioResult {
		got := messagesTo(smsc, strings.TrimPrefix(rr.To, "+"))
		switch {
		case received[rr.To] != 1:
			t.Errorf("%s: %d submits at the SMSC, want 1", rr.To, received[rr.To])
		case uncertain[rr.To]:
			// Read by the SMSC once before the crash, never resent.
		case len(got) != 1 || rr.SID == nil || *rr.SID != got[0].MessageIDs[0]:
			t.Errorf("%s: result %+v, messages at the SMSC %+v: want exactly one, with the result's sid", rr.To, rr, got)
		}
	}
	if len(res.TwilioResult) != n {
		t.Errorf("%d results, want %d", len(res.TwilioResult), n)
	}
	if len(smsc.Binds()) < 2 {
		t.Errorf("%d binds: the connector did not bind again after the restart", len(smsc.Binds()))
	}
}

// `dev` with an smpp connection: a Send SMS task of a model deployed to it goes out through
// the SMSC and an MO gets its echo; with a wrong password `dev` still starts, logs one error
// naming the connection and /readyz names it.
func TestSMPPOnDev(t *testing.T) {
	smsc := smsctest.Start(t)
	connections := func(password string) string {
		file := filepath.Join(t.TempDir(), "connections.yaml")
		doc := "connections:\n  smsc:\n    provider: smpp\n    address: " + smsc.Addr + "\n    system_id: " + smsc.SystemID +
			"\n    password: " + password + "\n    default_from: \"+15005550006\"\n"
		if err := os.WriteFile(file, []byte(doc), 0o600); err != nil {
			t.Fatal(err)
		}
		return file
	}
	d := startDev(t, "CONNECTOR_CONNECTIONS_FILE="+connections(smsc.Password))
	model, err := os.ReadFile("testdata/smpp.bpmn")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := d.client.NewDeployResourceCommand().AddResource(model, "smpp.bpmn").Send(ctx); err != nil {
		t.Fatal(err)
	}
	cmd, err := d.client.NewCreateInstanceCommand().BPMNProcessId("smscBatch").LatestVersion().
		VariablesFromMap(map[string]any{"smsTo": []string{"+14155550123"}, "smsBody": "Hello from dev"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cmd.Send(ctx); err != nil {
		t.Fatal(err)
	}
	wait.Until(t, 20*time.Second, "the message at the SMSC", func() bool { return len(messagesTo(smsc, "14155550123")) == 1 })
	if m := messagesTo(smsc, "14155550123")[0]; m.Text != "Hello from dev" || m.DataCoding != 0 {
		t.Errorf("message %+v", m)
	}
	smsc.MO("14155550124", "15005550006", "Order Number 7", 0, 1)
	wait.Until(t, 20*time.Second, "the echo at the SMSC", func() bool { return len(messagesTo(smsc, "14155550124")) == 1 })
	if m := messagesTo(smsc, "14155550124")[0]; m.Text != "Got order 7 ✓" {
		t.Errorf("echo %+v", m)
	}

	// A wrong password: dev starts anyway (its engine and the Twilio sandbox work).
	stderr := &syncbuf.Buffer{}
	http := freeAddr(t)
	bad := exec.Command(binary, "dev", "--gateway-addr", freeAddr(t), "--http-addr", http)
	bad.Env = []string{"PATH=/usr/bin:/bin", "CONNECTOR_CONNECTIONS_FILE=" + connections("wrongpw")}
	bad.Stderr = stderr
	if err := bad.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { bad.Process.Kill(); bad.Wait() })
	wait.Until(t, 20*time.Second, "dev to log the bind error", func() bool { return strings.Contains(stderr.String(), "SMPP connection is not bound") })
	wait.Until(t, 10*time.Second, "/readyz to name the connection", func() bool {
		code, body := httpGet("http://" + http + "/readyz")
		return code == 503 && strings.Contains(body, "smpp smsc: down") && !strings.Contains(body, "wrongpw")
	})
	var errorLines []string
	for _, line := range strings.Split(stderr.String(), "\n") {
		if strings.Contains(line, "level=ERROR") {
			errorLines = append(errorLines, line)
		}
	}
	if len(errorLines) != 1 || !strings.Contains(errorLines[0], "connection=smsc") || !strings.Contains(errorLines[0], "check system_id and password") ||
		strings.Contains(stderr.String(), "wrongpw") {
		t.Errorf("want one error line naming connection smsc and what to check (never the password), got:\n%s", stderr.String())
	}
}
