package test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/twilio-connector/twilio-connector/actions"
	"github.com/twilio-connector/twilio-connector/test/twiliotest"
)

const testService = "MG0123456789abcdef0123456789abcdef"

// On `dev` with its Twilio sandbox: a process schedules a reminder, looks it up and cancels it
// (send_sms with smsSendAt, get_message, cancel_message as jobs); the HTTP API sends a content
// template, schedules, looks up and cancels.
func TestMessageOptionsOnDev(t *testing.T) {
	const key = "dev-key-0123456789abcdef"
	d := startDev(t, "CONNECTOR_API_KEYS="+key)
	model, err := os.ReadFile("testdata/scheduled_sms.bpmn")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := d.client.NewDeployResourceCommand().AddResource(model, "scheduled_sms.bpmn").Send(ctx); err != nil {
		t.Fatal(err)
	}
	cmd, err := d.client.NewCreateInstanceCommand().BPMNProcessId("scheduledReminder").LatestVersion().VariablesFromMap(map[string]any{
		"service": testService, "phone": alice, "time": "10:30", "sendAt": time.Now().Add(2 * time.Hour).UTC().Format(time.RFC3339)})
	if err != nil {
		t.Fatal(err)
	}
	res, err := cmd.WithResult().Send(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var vars struct {
		Scheduled, LookedUp, TwilioResult []actions.RecipientResult
		ScheduleError, TwilioError        []actions.RecipientError
	}
	if err := json.Unmarshal([]byte(res.GetVariables()), &vars); err != nil {
		t.Fatal(err)
	}
	if len(vars.Scheduled) != 1 || vars.Scheduled[0].Status != actions.StatusScheduled || vars.ScheduleError != nil ||
		len(vars.LookedUp) != 1 || vars.LookedUp[0].Status != actions.StatusScheduled || *vars.LookedUp[0].SID != *vars.Scheduled[0].SID ||
		len(vars.TwilioResult) != 1 || vars.TwilioResult[0].Status != actions.StatusCanceled || vars.TwilioError != nil {
		t.Fatalf("process variables %s", res.GetVariables())
	}

	api := func(method, path, body string) (int, actions.Result) {
		t.Helper()
		req, _ := http.NewRequest(method, "http://"+d.http+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		raw, _ := io.ReadAll(resp.Body)
		var r actions.Result
		if err := json.Unmarshal(raw, &r); err != nil {
			t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, raw)
		}
		return resp.StatusCode, r
	}
	code, r := api("POST", "/v1/messages", `{"smsFrom": "whatsapp:+15005550006", "smsTo": ["whatsapp:+14155550102"],
		"smsContentSid": "HX0123456789abcdef0123456789abcdef", "smsContentVariables": {"1": "${name}"}, "variables": {"name": "Ana"}}`)
	if code != 200 || r.TwilioError != nil {
		t.Fatalf("content template: %d %+v", code, r)
	}
	// The sandbox shows which template with which variables (its log line of the message).
	if !strings.Contains(d.stderr.String(), `[content HX0123456789abcdef0123456789abcdef] {\"1\":\"Ana\"}`) {
		t.Errorf("the sandbox did not show the content template:\n%s", grepLines(d.stderr.String(), "sandbox accepted"))
	}
	code, r = api("POST", "/v1/messages", `{"smsFrom": "`+testService+`", "smsTo": ["+14155550103"], "smsBody": "later",
		"smsSendAt": "`+time.Now().Add(time.Hour).UTC().Format(time.RFC3339)+`"}`)
	if code != 200 || r.TwilioResult[0].Status != actions.StatusScheduled {
		t.Fatalf("schedule: %d %+v", code, r)
	}
	sid := *r.TwilioResult[0].SID
	if code, r = api("POST", "/v1/messages/"+sid+"/cancel", ""); code != 200 || r.TwilioResult[0].Status != actions.StatusCanceled {
		t.Fatalf("cancel: %d %+v", code, r)
	}
	if code, r = api("GET", "/v1/messages/"+sid, ""); code != 200 || r.TwilioResult[0].Status != actions.StatusCanceled || r.TwilioResult[0].To != "+14155550103" {
		t.Fatalf("get: %d %+v", code, r)
	}
}

// The binary's send takes the options; get-message and cancel-message act on what it sent.
func TestMessageOptionsWithSendBinary(t *testing.T) {
	fake := twiliotest.New(t)
	env := []string{"PATH=/usr/bin:/bin", "TWILIO_ACCOUNT=" + fake.AccountSID, "TWILIO_TOKEN=" + fake.AuthToken,
		"TWILIO_API_BASE_URL=" + fake.URL(), "TWILIO_MESSAGING_SERVICE_SID=" + testService, "TWILIO_DEFAULT_FROM=+15005550006"}
	run := func(args ...string) actions.RecipientResult {
		t.Helper()
		cmd := exec.Command(binary, args...)
		cmd.Env = env
		out, err := cmd.Output()
		var res actions.Result
		if jerr := json.Unmarshal(out, &res); jerr != nil || err != nil || len(res.TwilioResult) != 1 {
			t.Fatalf("%v: %v %v\n%s", args, err, jerr, out)
		}
		return res.TwilioResult[0]
	}
	if r := run("send", "--testing", "--to", alice, "--body", strings.Repeat("ж", 71)); r.Segments != 2 || r.Encoding != "UCS-2" {
		t.Fatalf("--testing: %+v", r)
	}
	r := run("send", "--to", alice, "--body", "later", "--send-at", time.Now().Add(time.Hour).UTC().Format(time.RFC3339), "--validity-period", "600")
	if r.Status != actions.StatusScheduled || fake.Sent()[0].Form.Get("ValidityPeriod") != "600" {
		t.Fatalf("scheduled send: %+v", r)
	}
	if got := run("get-message", "--sid", *r.SID); got.Status != actions.StatusScheduled {
		t.Fatalf("get-message: %+v", got)
	}
	if got := run("cancel-message", "--sid", *r.SID); got.Status != actions.StatusCanceled {
		t.Fatalf("cancel-message: %+v", got)
	}
}

// Each option through a job of the built binary (process variables as Zeebe hands them out:
// JSON numbers, booleans, an object) reaches the Twilio stand-in as Twilio's parameter.
func TestMessageOptionsThroughAJob(t *testing.T) {
	w := newWorld(t)
	w.startRun(t).waitReady(t)
	sendAt := time.Now().Add(2 * time.Hour).UTC().Truncate(time.Second)
	res := resultOf(t, w.runProcess(t, "notify", map[string]any{"smsFrom": "whatsapp:+15005550006", "smsTo": []string{"whatsapp:+14155550102"},
		"smsContentSid": "HX0123456789abcdef0123456789abcdef", "smsContentVariables": map[string]any{"1": "${name}", "2": 10}, "name": "Ana"}))
	if res.TwilioError != nil || res.TwilioResult[0].Status != "queued" {
		t.Fatalf("content template: %+v", res)
	}
	res = resultOf(t, w.runProcess(t, "notify", map[string]any{"smsFrom": testService, "smsTo": []string{"+14155550103"}, "smsBody": "later",
		"smsSendAt": sendAt.Format(time.RFC3339), "smsValidityPeriod": 600, "smsSmartEncoded": false, "smsShortenUrls": true}))
	if res.TwilioError != nil || res.TwilioResult[0].Status != actions.StatusScheduled {
		t.Fatalf("scheduled: %+v", res)
	}
	res = resultOf(t, w.runProcess(t, "notify", map[string]any{"smsTo": []string{"+14155550104"}, "smsBody": "x", "smsValidityPeriod": 36001}))
	if e := res.Failure(); e == nil || e.Field != actions.FieldSMSValidityPeriod || !strings.Contains(e.Message, "1 to 36000") {
		t.Fatalf("smsValidityPeriod 36001: %+v", res)
	}
	sent := w.twilio.Sent()
	if len(sent) != 2 {
		t.Fatalf("the stand-in got %d messages, want 2", len(sent))
	}
	if m := sent[0]; m.ContentSID != "HX0123456789abcdef0123456789abcdef" || m.ContentVariables != `{"1":"Ana","2":"10"}` || m.Form.Has("Body") {
		t.Errorf("content template sent as %v", m.Form)
	}
	if m := sent[1]; m.MessagingServiceSID != testService || !m.SendAt.Equal(sendAt) || m.Form.Get("ScheduleType") != "fixed" ||
		m.Form.Get("ValidityPeriod") != "600" || m.Form.Get("SmartEncoded") != "false" || m.Form.Get("ShortenUrls") != "true" {
		t.Errorf("scheduled message sent as %v", m.Form)
	}
}
