package test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twilio-connector/twilio-connector/test/twiliotest"
)

// Two Twilio accounts, the TWILIO_* one and a second in the connections file: a message sent
// through each carries the same StatusCallback URL, and the connector verifies each account's
// status callbacks and inbound SMS with that account's token. An account it does not know is
// refused; no token reaches the logs.
func TestTwoTwilioAccountsWebhooks(t *testing.T) {
	w := newWorld(t)
	second := twiliotest.New(t)
	connections := filepath.Join(t.TempDir(), "connections.yaml")
	writeConfig(t, connections, `connections:
  marketing:
    provider: twilio
    account: `+second.AccountSID+`
    token: `+second.AuthToken+`
    api_base_url: `+second.URL()+`
    default_from: "+15005550006"
`)
	const key = "accounts-key-0123456789abcdef"
	addr := freeAddr(t)
	p := w.startRun(t, "CONNECTOR_HTTP_ADDR="+addr, "CONNECTOR_PUBLIC_URL=http://"+addr,
		"CONNECTOR_CONNECTIONS_FILE="+connections, "CONNECTOR_API_KEYS="+key)
	p.httpAddr = addr
	p.waitReady(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	send := func(connection string) string {
		t.Helper()
		body, _ := json.Marshal(map[string]any{"connection": connection, "smsTo": []string{alice}, "smsBody": "hi"})
		req, _ := http.NewRequestWithContext(ctx, "POST", "http://"+addr+"/v1/messages", strings.NewReader(string(body)))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		res, err := httpClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		out, _ := io.ReadAll(res.Body)
		var r struct {
			TwilioResult []struct{ SID string } `json:"twilioResult"`
		}
		if res.StatusCode != 200 || json.Unmarshal(out, &r) != nil || len(r.TwilioResult) != 1 {
			t.Fatalf("send through %s: %d %s", connection, res.StatusCode, out)
		}
		if r.TwilioResult[0].SID == "" {
			t.Fatalf("send through %s: no sid: %s", connection, out)
		}
		return r.TwilioResult[0].SID
	}
	for _, tc := range []struct {
		connection string
		account    *twiliotest.Server
	}{{"default", w.twilio}, {"marketing", second}} {
		sid := send(tc.connection)
		res, err := tc.account.SendStatus(ctx, sid, "delivered", 0)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusNoContent {
			t.Errorf("%s's status callback: %d", tc.connection, res.StatusCode)
		}
	}

	inbound := func(account, token string) int {
		t.Helper()
		form := twiliotest.InboundForm(account, "+14155550177", "+15005550006", "hello")
		res, err := twiliotest.PostForm(ctx, "http://"+addr+"/twilio/sms", token, form)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		return res.StatusCode
	}
	if code := inbound(second.AccountSID, second.AuthToken); code != http.StatusOK {
		t.Errorf("the second account's inbound SMS: %d", code)
	}
	if code := inbound(second.AccountSID, w.twilio.AuthToken); code != http.StatusForbidden {
		t.Errorf("the second account's SMS signed with the first's token: %d", code)
	}
	if code := inbound("AC0123456789abcdef0123456789abcdef", w.twilio.AuthToken); code != http.StatusForbidden {
		t.Errorf("an unknown account's SMS: %d", code)
	}
	logs := p.stderr.String()
	for _, secret := range []string{w.twilio.AuthToken, second.AuthToken} {
		if strings.Contains(logs, secret) {
			t.Errorf("a token appears in the logs")
		}
	}
}
