package main

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/twilio-connector/twilio-connector/triggers"
)

// The sms command's request passes the connector's own signature check, carries the flags'
// values, and a refused signature is an error naming the fix.
func TestSMSCommandSignsAsTwilio(t *testing.T) {
	const token = "0123456789abcdef0123456789abcdef"
	var got url.Values
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		v := triggers.Verifier{AuthToken: token, PublicURL: "http://" + r.Host}
		if !v.Verify(r, r.PostForm) {
			http.Error(w, "invalid X-Twilio-Signature", http.StatusForbidden)
			return
		}
		got = r.PostForm
		w.Write([]byte(`<?xml version="1.0" encoding="UTF-8"?><Response/>`))
	}))
	defer srv.Close()
	webhook := srv.URL + "/twilio/sms?x=1"

	const account = "AC0123456789abcdef0123456789abcdef"
	code, out, errOut := run(t, map[string]string{"TWILIO_ACCOUNT": account, "TWILIO_TOKEN": token}, "sms", "--url", webhook, "--to", "+15005550006",
		"--whatsapp", "--message-sid", "SM00000000000000000000000000000001", "Order", "Number 7")
	if code != 0 || !strings.Contains(out, "<Response/>") {
		t.Fatalf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	for k, want := range map[string]string{"Body": "Order Number 7", "From": "whatsapp:+14155550100", "To": "whatsapp:+15005550006",
		"MessageSid": "SM00000000000000000000000000000001", "AccountSid": account} {
		if got.Get(k) != want {
			t.Errorf("%s = %q, want %q", k, got.Get(k), want)
		}
	}

	// Without TWILIO_TOKEN the command signs with dev's sandbox token, which this server refuses.
	code, _, errOut = run(t, nil, "sms", "--url", webhook, "hi")
	if code != 1 || !strings.Contains(errOut, "403 Forbidden") || !strings.Contains(errOut, "TWILIO_TOKEN") {
		t.Fatalf("wrong token: exit %d, stderr %q", code, errOut)
	}
	if code, _, errOut := run(t, nil, "sms", "--body", "a", "b"); code != 2 || !strings.Contains(errOut, "not both") {
		t.Fatalf("--body and an argument: exit %d, stderr %q", code, errOut)
	}
}
