package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/twilio-connector/twilio-connector/actions"
	"github.com/twilio-connector/twilio-connector/test/twiliotest"
)

// send takes the message options as flags; get-message and cancel-message act on what it sent.
func TestSendOptionsAndMessageCommands(t *testing.T) {
	fake := twiliotest.New(t)
	const service = "MG0123456789abcdef0123456789abcdef"
	env := map[string]string{"TWILIO_ACCOUNT": fake.AccountSID, "TWILIO_TOKEN": fake.AuthToken, "TWILIO_API_BASE_URL": fake.URL(),
		"TWILIO_DEFAULT_FROM": "+15005550006", "TWILIO_MESSAGING_SERVICE_SID": service}
	result := func(out string) actions.RecipientResult {
		t.Helper()
		var res actions.Result
		if err := json.Unmarshal([]byte(out), &res); err != nil || len(res.TwilioResult) != 1 {
			t.Fatalf("%v: %s", err, out)
		}
		return res.TwilioResult[0]
	}

	// --testing shows the segments a body takes before anything is sent.
	code, out, _ := run(t, env, "send", "--testing", "--to", "+14155550100", "--body", strings.Repeat("€", 81))
	if r := result(out); code != 0 || r.Segments != 2 || r.Encoding != "GSM-7" || len(fake.Requests()) != 0 {
		t.Fatalf("testing: exit %d %s", code, out)
	}

	sendAt := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	code, out, errOut := run(t, env, "send", "--to", "+14155550100", "--body", "Your table is ready", "--send-at", sendAt,
		"--validity-period", "900", "--smart-encoded=false", "--shorten-urls")
	if code != 0 {
		t.Fatalf("exit %d: %s %s", code, out, errOut)
	}
	r := result(out)
	if r.Status != actions.StatusScheduled {
		t.Fatalf("%+v", r)
	}
	form := fake.Sent()[0].Form
	for k, want := range map[string]string{"ScheduleType": "fixed", "SendAt": sendAt, "ValidityPeriod": "900", "SmartEncoded": "false", "ShortenUrls": "true", "MessagingServiceSid": service} {
		if got := form.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}

	code, out, _ = run(t, env, "get-message", "--sid", *r.SID)
	if got := result(out); code != 0 || got.Status != actions.StatusScheduled || got.To != "+14155550100" {
		t.Fatalf("get-message: exit %d %s", code, out)
	}
	for range 2 {
		code, out, _ = run(t, env, "cancel-message", "--sid", *r.SID)
		if got := result(out); code != 0 || got.Status != actions.StatusCanceled {
			t.Fatalf("cancel-message: exit %d %s", code, out)
		}
	}
	if code, out, _ = run(t, env, "cancel-message", "--sid", "SM12"); code != 1 || !strings.Contains(out, `"field": "messageSid"`) {
		t.Fatalf("bad sid: exit %d %s", code, out)
	}

	code, out, _ = run(t, env, "send", "--to", "whatsapp:+14155550100", "--from", "whatsapp:+15005550006",
		"--content-sid", "HX0123456789abcdef0123456789abcdef", "--content-variables", `{"1": "${name}"}`, "--vars", `{"name": "Ana"}`)
	if code != 0 || fake.Sent()[1].Form.Get("ContentVariables") != `{"1":"Ana"}` || fake.Sent()[1].Form.Has("Body") {
		t.Fatalf("content: exit %d %s; sent %+v", code, out, fake.Sent()[1].Form)
	}
}
