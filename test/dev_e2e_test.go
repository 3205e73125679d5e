package test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/camunda/zeebe/clients/go/v8/pkg/zbc"

	"github.com/twilio-connector/twilio-connector/test/devproc"
	"github.com/twilio-connector/twilio-connector/test/syncbuf"
	"github.com/twilio-connector/twilio-connector/test/twiliotest"
	"github.com/twilio-connector/twilio-connector/test/wait"
)

// devRun is a `twilio-connector dev` process.
type devRun struct {
	gateway, http  string
	stdout, stderr *syncbuf.Buffer
	client         zbc.Client
}

// startDev runs `twilio-connector dev` on free ports with env added to a clean environment,
// waits until it is ready and stops it (SIGTERM) at the end of the test.
func startDev(t *testing.T, env ...string) *devRun {
	t.Helper()
	return startDevWith(t, nil, env...)
}

// startDevWith is startDev with more flags for dev.
func startDevWith(t *testing.T, flags []string, env ...string) *devRun {
	t.Helper()
	dev := devproc.Start(t, binary, flags, env...)
	client, err := zbc.NewClient(&zbc.ClientConfig{GatewayAddress: dev.Gateway, UsePlaintextConnection: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close() })
	return &devRun{gateway: dev.Gateway, http: dev.HTTP, stdout: dev.Stdout, stderr: dev.Stderr, client: client}
}

func twilioEnv(fake *twiliotest.Server) []string {
	return []string{"TWILIO_ACCOUNT=" + fake.AccountSID, "TWILIO_TOKEN=" + fake.AuthToken, "TWILIO_API_BASE_URL=" + fake.URL()}
}

// printedCommand returns the shell command printed after the comment line containing marker,
// continuation lines included.
func printedCommand(t *testing.T, out, marker string) string {
	t.Helper()
	i := strings.Index(out, marker)
	if i < 0 {
		t.Fatalf("dev did not print %q:\n%s", marker, out)
	}
	rest := out[i:]
	rest = rest[strings.Index(rest, "\n")+1:]
	var cmd []string
	for _, line := range strings.Split(rest, "\n") {
		cmd = append(cmd, line)
		if !strings.HasSuffix(line, "\\") {
			break
		}
	}
	return strings.Join(cmd, "\n")
}

// runShell runs a printed command as a user pastes it into a shell, with zbctl on the PATH.
func runShell(t *testing.T, command string, env ...string) string {
	t.Helper()
	out, err := shell(t, command, env...)
	if err != nil {
		t.Fatalf("%s\nfailed: %v\n%s", command, err, out)
	}
	return out
}

// shell runs command in bash with zbctl on the PATH and env added, and returns its combined
// output and exit error.
func shell(t *testing.T, command string, env ...string) (string, error) {
	t.Helper()
	zbctlDir := filepath.Dir(zbctl(t))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", command)
	cmd.Env = append([]string{"PATH=" + zbctlDir + ":/usr/bin:/bin", "HOME=" + t.TempDir()}, env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// The README's main job: `dev` starts everything, and the two lines it prints work as printed.
func TestDevPrintedCommandsWork(t *testing.T) {
	fake := twiliotest.New(t)
	d := startDev(t, twilioEnv(fake)...)
	out := d.stdout.String()

	zb := runShell(t, printedCommand(t, out, "# a process that texts a customer"))
	var created struct{ Variables string }
	if err := json.Unmarshal([]byte(zb), &created); err != nil {
		t.Fatalf("zbctl output: %v\n%s", err, zb)
	}
	if !strings.Contains(created.Variables, `"twilioError":null`) || !regexp.MustCompile(`"sid":"SM[0-9a-f]{32}"`).MatchString(created.Variables) {
		t.Fatalf("order ready example: %s", created.Variables)
	}
	if m := fake.Sent(); len(m) != 1 || m[0].To != "+14155550100" || m[0].Body != "Hi Ana, your order A-1042 is ready for pickup at Main Street." {
		t.Fatalf("sent %+v", m)
	}

	reply := runShell(t, printedCommand(t, out, "# an inbound SMS"))
	if !strings.Contains(reply, "<Message>Looking up order A-1042...</Message>") {
		t.Fatalf("webhook answered %q", reply)
	}
	wait.Until(t, 10*time.Second, "the status reply", func() bool { return fake.CountSentTo("+14155550100") == 2 })
	last := fake.Sent()[1]
	if last.Body != "Order A-1042 is being prepared. We will text you when it is ready." || last.From != "+15005550006" {
		t.Fatalf("status reply %+v", last)
	}
	// Twilio redelivering the same SMS publishes nothing new: no second status reply.
	if again := runShell(t, printedCommand(t, out, "# an inbound SMS")); again != reply {
		t.Fatalf("a redelivery got another answer: %q", again)
	}
	_, metrics := httpGet("http://" + d.http + "/metrics")
	for _, want := range []string{`twilio_connector_webhook_requests_total{outcome="duplicate"} 1`, `twilio_connector_webhook_requests_total{outcome="published"} 1`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	if n := fake.CountSentTo("+14155550100"); n != 2 {
		t.Fatalf("a redelivered SMS started another process: %d messages", n)
	}

	// The printed sms line, in a shell without the account's token: the webhook refuses the
	// signature, and the command says so and how to fix it.
	sms := printedCommand(t, out, "# an inbound SMS to your own models")
	refused, err := shell(t, sms)
	if err == nil || !strings.Contains(refused, "403 Forbidden") || !strings.Contains(refused, "TWILIO_TOKEN") {
		t.Fatalf("sms signed with the wrong token: %v\n%s", err, refused)
	}
	if strings.Contains(refused, fake.AuthToken) {
		t.Fatalf("sms printed the auth token: %s", refused)
	}
	// With TWILIO_ACCOUNT and TWILIO_TOKEN set as for the connector, it is signed right and starts a
	// process.
	if out, err := shell(t, sms, "TWILIO_TOKEN="+fake.AuthToken); err == nil || !strings.Contains(out, "TWILIO_ACCOUNT is not") {
		t.Fatalf("sms with a token but no account: %v\n%s", err, out)
	}
	reply = runShell(t, sms, "TWILIO_ACCOUNT="+fake.AccountSID, "TWILIO_TOKEN="+fake.AuthToken)
	if !strings.Contains(reply, "<Message>Looking up order A-1042...</Message>") {
		t.Fatalf("sms: webhook answered %q", reply)
	}
	wait.Until(t, 10*time.Second, "the status reply to the sms command's message", func() bool { return fake.CountSentTo("+14155550100") == 3 })
}

// The sms line dev prints reaches the user's own model: deployed like any model, its SMS
// received start event starts a process on the text the user gives, signed with the local
// sandbox's token (no TWILIO_TOKEN needed); text its pattern does not match starts nothing.
func TestDevSMSCommandReachesYourModel(t *testing.T) {
	d := startDev(t)
	model, err := os.ReadFile("../triggers/testdata/bpmn/sms_order.bpmn")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := d.client.NewDeployResourceCommand().AddResource(model, "sms_order.bpmn").Send(ctx); err != nil {
		t.Fatal(err)
	}
	sms := printedCommand(t, d.stdout.String(), "# an inbound SMS to your own models")
	if !strings.HasSuffix(sms, " 'status A-1042'") {
		t.Fatalf("the printed sms line does not end with the message text: %s", sms)
	}
	text := func(s string) string { return strings.TrimSuffix(sms, "'status A-1042'") + s }

	if reply := runShell(t, text("'Order Number 4711'")); !strings.Contains(reply, "<Message>Your reference number is 4711</Message>") {
		t.Fatalf("webhook answered %q", reply)
	}
	if reply := runShell(t, text("'Hello there'")); !strings.Contains(reply, "<Response/>") {
		t.Fatalf("unmatched text answered %q", reply)
	}

	// The README's line, as a reader copies it (with the test dev's webhook and binary).
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var fromReadme string
	for _, l := range strings.Split(string(readme), "\n") {
		if rest, ok := strings.CutPrefix(l, "go run ./cmd/twilio-connector sms "); ok {
			fromReadme = binary + " sms --url http://" + d.http + "/twilio/sms " + rest
		}
	}
	if fromReadme == "" {
		t.Fatal("README.md has no 'go run ./cmd/twilio-connector sms' line")
	}
	if reply := runShell(t, fromReadme); !strings.Contains(reply, "<Message>Your reference number is 4711</Message>") {
		t.Fatalf("the README's line: webhook answered %q", reply)
	}
	_, metrics := httpGet("http://" + d.http + "/metrics")
	for _, want := range []string{`twilio_connector_webhook_requests_total{outcome="published"} 2`, `twilio_connector_webhook_requests_total{outcome="no_match"} 1`} {
		if !strings.Contains(metrics, want) {
			t.Errorf("/metrics lacks %s: %s", want, grepLines(metrics, "twilio_connector_webhook_requests_total"))
		}
	}
}

// The appointment reminder waits for the patient's own reply and branches on it; a reminder
// that cannot be sent takes the error boundary event.
func TestAppointmentReminderExample(t *testing.T) {
	fake := twiliotest.New(t)
	fake.Fail("+14155550199", 400, 21610, "Attempt to send to unsubscribed recipient")
	d := startDev(t, twilioEnv(fake)...)

	cases := []struct {
		phone, reply, wantGroup string
	}{
		{"+14155550124", "Yes", "confirmed"},
		{"+14155550125", " no ", "cancelled"},
		{"+14155550199", "", ""}, // opted out: no reminder, no wait
	}
	results := make(chan map[string]any, len(cases))
	for _, c := range cases {
		go func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			cmd, _ := d.client.NewCreateInstanceCommand().BPMNProcessId("appointmentReminder").LatestVersion().
				VariablesFromMap(map[string]any{"patientName": "Sam", "patientPhone": c.phone, "appointmentTime": "Monday 9:30"})
			res, err := cmd.WithResult().Send(ctx)
			vars := map[string]any{"$phone": c.phone}
			if err == nil {
				err = json.Unmarshal([]byte(res.GetVariables()), &vars)
			}
			if err != nil {
				vars["$err"] = err.Error()
			}
			results <- vars
		}()
	}
	// Replies reach only an instance waiting at the catch event (its messages have TTL 0): wait
	// for both reminder jobs to be completed, which moves the instances there.
	waitSendSMSCompleted(t, d, 2)
	for _, c := range cases[:2] {
		if body := lastBodyTo(fake, c.phone); !strings.Contains(body, "Hi Sam, this is a reminder of your appointment on Monday 9:30.") {
			t.Fatalf("reminder %q", body)
		}
		if code, body := d.inboundSMS(t, fake, c.phone, c.reply); !strings.Contains(body, "Thank you, we have your answer.") {
			t.Fatalf("reply to %s answered %d %s", c.phone, code, body)
		}
	}
	got := map[string]map[string]any{}
	for range cases {
		select {
		case v := <-results:
			got[v["$phone"].(string)] = v
		case <-time.After(30 * time.Second):
			t.Fatal("instances did not finish")
		}
	}
	for _, c := range cases[:2] {
		v := got[c.phone]
		groups, _ := v["matchGroups"].(map[string]any)
		if v["$err"] != nil || groups[c.wantGroup] == nil || v["from"] != c.phone {
			t.Errorf("%s: %v", c.phone, v)
		}
	}
	opted := got["+14155550199"]
	if !strings.Contains(jsonOf(opted["twilioError"]), "SMS_RECIPIENT_OPTED_OUT") || opted["matchGroups"] != nil {
		t.Errorf("opted-out patient: %v", opted)
	}
}

// A "yes" sent while no reminder waits for it must not confirm the next reminder to that number
// (it did while replies were published with a 1-hour TTL); the reply to the reminder does.
func TestAppointmentReminderIgnoresStrayReply(t *testing.T) {
	fake := twiliotest.New(t)
	d := startDev(t, twilioEnv(fake)...)
	const phone = "+14155550126"
	if code, _ := d.inboundSMS(t, fake, phone, "yes"); code != 200 {
		t.Fatalf("the stray reply answered %d", code)
	}

	result := make(chan map[string]any, 1)
	go func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd, _ := d.client.NewCreateInstanceCommand().BPMNProcessId("appointmentReminder").LatestVersion().
			VariablesFromMap(map[string]any{"patientName": "Sam", "patientPhone": phone, "appointmentTime": "Friday 8:00"})
		vars := map[string]any{}
		res, err := cmd.WithResult().Send(ctx)
		if err == nil {
			err = json.Unmarshal([]byte(res.GetVariables()), &vars)
		}
		if err != nil {
			vars["$err"] = err.Error()
		}
		result <- vars
	}()
	waitSendSMSCompleted(t, d, 1) // the instance waits at "Patient replied" now
	if code, body := d.inboundSMS(t, fake, phone, "No"); !strings.Contains(body, "Thank you, we have your answer.") {
		t.Fatalf("the reply answered %d %s", code, body)
	}
	select {
	case v := <-result:
		groups, _ := v["matchGroups"].(map[string]any)
		if v["$err"] != nil || v["originalMessage"] != "No" || groups["cancelled"] == nil {
			t.Fatalf("the instance ended with %v, want it cancelled by the reply \"No\" (not confirmed by the stray \"yes\")", v)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("the instance did not finish after the reply")
	}
}

// inboundSMS posts an SMS from `from` to the dev webhook, signed as Twilio signs it, and returns
// the answer.
func (d *devRun) inboundSMS(t *testing.T, fake *twiliotest.Server, from, body string) (int, string) {
	t.Helper()
	res, err := twiliotest.PostForm(context.Background(), "http://"+d.http+"/twilio/sms", fake.AuthToken,
		twiliotest.InboundForm(fake.AccountSID, from, "+15005550006", body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}

// waitSendSMSCompleted waits until n send_sms jobs were completed: the worker counts a job after
// the engine took its CompleteJob, so the instance has moved on to the next element.
func waitSendSMSCompleted(t *testing.T, d *devRun, n int) {
	t.Helper()
	want := fmt.Sprintf(`twilio_connector_jobs_total{outcome="completed",type="twilioConnector.send_sms"} %d`+"\n", n)
	wait.Until(t, 15*time.Second, want, func() bool {
		_, m := httpGet("http://" + d.http + "/metrics")
		return strings.Contains(m, want)
	})
}

func lastBodyTo(fake *twiliotest.Server, to string) string {
	body := ""
	for _, m := range fake.Sent() {
		if m.To == to {
			body = m.Body
		}
	}
	return body
}

// The HTTP API on `dev`: a message and a call reach Twilio once each; a repeat with the same
// Idempotency-Key answers the same and sends nothing.
func TestHTTPAPIOnDev(t *testing.T) {
	fake := twiliotest.New(t)
	const key = "dev-key-0123456789abcdef"
	d := startDev(t, append(twilioEnv(fake), "CONNECTOR_API_KEYS="+key)...)
	post := func(path, idem, body string) (int, string) {
		req, _ := http.NewRequest("POST", "http://"+d.http+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Idempotency-Key", idem)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	msg := `{"smsFrom": "+15005550006", "smsTo": ["+14155550101"], "smsBody": "Your order #${orderNumber?c} is ready for pickup.", "variables": {"orderNumber": 4711}}`
	code, first := post("/v1/messages", "order-4711-ready", msg)
	if code != 200 || !strings.Contains(first, `"twilioError":null`) {
		t.Fatalf("%d %s", code, first)
	}
	if code, again := post("/v1/messages", "order-4711-ready", msg); code != 200 || again != first {
		t.Fatalf("replay: %d %s, want the first answer %s", code, again, first)
	}
	if m := fake.Sent(); len(m) != 1 || m[0].Body != "Your order #4711 is ready for pickup." {
		t.Fatalf("sent %+v", m)
	}
	code, call := post("/v1/calls", "call-1", `{"callTo": ["+14155550102"], "callMessage": "Your table is ready"}`)
	if code != 200 || len(fake.Calls()) != 1 || !strings.Contains(fake.Calls()[0].Twiml, "<Say>Your table is ready</Say>") {
		t.Fatalf("%d %s %+v", code, call, fake.Calls())
	}
	if code, _ := httpGet("http://" + d.http + "/v1/openapi.json"); code != 200 {
		t.Fatalf("openapi.json: %d", code)
	}
}

// With no Twilio account at all (the README's main job on a fresh machine) the local sandbox
// takes the sends, and the printed lines still work as printed.
func TestDevWithoutTwilioAccount(t *testing.T) {
	d := startDev(t)
	out := d.stdout.String()
	if !strings.Contains(out, "local Twilio sandbox") {
		t.Fatalf("dev does not say it uses the sandbox:\n%s", out)
	}
	zb := runShell(t, printedCommand(t, out, "# a process that texts a customer"))
	if !strings.Contains(zb, `\"twilioError\":null`) || !regexp.MustCompile(`\\"sid\\":\\"SM[0-9a-f]{32}\\"`).MatchString(zb) {
		t.Fatalf("zbctl: %s", zb)
	}
	if reply := runShell(t, printedCommand(t, out, "# an inbound SMS")); !strings.Contains(reply, "Looking up order A-1042...") {
		t.Fatalf("webhook answered %q", reply)
	}
	// Both sends (the pickup notice and the status reply) reached the sandbox, which posts
	// signed callbacks back to the webhook: "sent" (progress, not published) and "delivered".
	wait.Until(t, 15*time.Second, "two sends and their delivery callbacks", func() bool {
		_, m := httpGet("http://" + d.http + "/metrics")
		return strings.Contains(m, `twilio_connector_sends_total{connection="default",kind="sms",outcome="sent",provider="twilio"} 2`) &&
			strings.Contains(m, `twilio_connector_webhook_requests_total{outcome="status_published"} 2`) &&
			strings.Contains(m, `twilio_connector_webhook_requests_total{outcome="status_progress"} 2`)
	})
}

// The call example on `dev` with the sandbox: the call is placed, the sandbox's signed status
// callbacks come back, and the final status ("completed") reaches the waiting process.
func TestCallExampleWaitsForTheCallStatus(t *testing.T) {
	d := startDev(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd, _ := d.client.NewCreateInstanceCommand().BPMNProcessId("tableReadyCall").LatestVersion().
		VariablesFromMap(map[string]any{"guestName": "Sam", "guestPhone": "+14155550131"})
	res, err := cmd.WithResult().Send(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var vars map[string]any
	if err := json.Unmarshal([]byte(res.GetVariables()), &vars); err != nil {
		t.Fatalf("the instance's variables: %v", err)
	}
	sid, _ := vars["callSid"].(string)
	if vars["callStatus"] != "completed" || !strings.HasPrefix(sid, "CA") || !strings.Contains(jsonOf(vars["twilioResult"]), sid) {
		t.Fatalf("variables %v", vars)
	}
}
