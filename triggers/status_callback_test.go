package triggers

import (
	"context"
	"net/http"
	"reflect"
	"strings"
	"testing"

	"github.com/twilio-connector/twilio-connector/test/twiliotest"
)

func statusForm(sid, status string, errorCode int) map[string][]string {
	return twiliotest.StatusForm(twiliotest.Message{SID: sid, AccountSID: testAccount, To: customer, From: ourNumber}, status, errorCode)
}

func TestStatusCallback(t *testing.T) {
	h := newHarness(t, nil, harnessOptions{})
	published := outcomeDelta(OutcomeStatusPublished)
	r := h.post("/twilio/status", statusForm("SM0001", "undelivered", 30003), "", testToken, nil)
	if r.status != http.StatusNoContent {
		t.Fatalf("status %d %q", r.status, r.body)
	}
	msgs := h.pub.messages()
	if len(msgs) != 1 {
		t.Fatalf("published %d, want 1", len(msgs))
	}
	m := msgs[0]
	if m.Name != DefaultStatusMessageName || m.CorrelationKey != "SM0001" || m.MessageID != "SM0001:undelivered" {
		t.Errorf("message %+v", m)
	}
	want := map[string]any{"messageSid": "SM0001", "messageStatus": "undelivered", "errorCode": 30003, "to": customer, "from": ourNumber}
	if !reflect.DeepEqual(m.Variables, want) {
		t.Errorf("variables %v, want %v", m.Variables, want)
	}
	if published() != 1 {
		t.Errorf("outcome not counted")
	}

	// Redelivered: nothing new. Next status: published. No error code: errorCode null.
	h.post("/twilio/status", statusForm("SM0001", "undelivered", 30003), "", testToken, nil)
	h.post("/twilio/status", statusForm("SM0002", "delivered", 0), "", testToken, nil)
	msgs = h.pub.messages()
	if len(msgs) != 2 || msgs[1].MessageID != "SM0002:delivered" || msgs[1].Variables["errorCode"] != nil {
		t.Errorf("messages %+v", msgs)
	}

	// Bad signature and bad request.
	if r := h.post("/twilio/status", statusForm("SM0003", "sent", 0), "", "wrongtoken0000000000000000000000", nil); r.status != 403 {
		t.Errorf("bad signature: %d", r.status)
	}
	if r := h.post("/twilio/status", map[string][]string{"To": {customer}}, "", testToken, nil); r.status != 400 {
		t.Errorf("no MessageSid: %d", r.status)
	}

	// Progress statuses are not published: a waiting process gets the outcome.
	progress := outcomeDelta(OutcomeStatusProgress)
	for _, st := range []string{"queued", "sent"} {
		if r := h.post("/twilio/status", statusForm("SM0004", st, 0), "", testToken, nil); r.status != http.StatusNoContent {
			t.Errorf("%s: %d", st, r.status)
		}
	}
	if len(h.pub.messages()) != 2 || progress() != 2 {
		t.Errorf("progress statuses published: %+v", h.pub.messages())
	}
}

// Call status callbacks publish the call's final status, correlated by the call SID.
func TestCallStatusCallback(t *testing.T) {
	h := newHarness(t, nil, harnessOptions{})
	call := twiliotest.Call{SID: "CA0001", AccountSID: testAccount, To: customer, From: ourNumber}
	for seq, st := range []string{"initiated", "ringing", "in-progress", "busy"} {
		if r := h.post("/twilio/status", twiliotest.CallStatusForm(call, st, seq), "", testToken, nil); r.status != http.StatusNoContent {
			t.Fatalf("%s: %d %s", st, r.status, r.body)
		}
	}
	msgs := h.pub.messages()
	if len(msgs) != 1 || msgs[0].CorrelationKey != "CA0001" || msgs[0].MessageID != "CA0001:busy" ||
		msgs[0].Variables["callStatus"] != "busy" || msgs[0].Variables["callSid"] != "CA0001" {
		t.Fatalf("published %+v", msgs)
	}
}

func TestStatusCallbackEngineDown(t *testing.T) {
	h := newHarness(t, nil, harnessOptions{})
	h.pub.failures = 1
	if r := h.post("/twilio/status", statusForm("SM0009", "failed", 30008), "", testToken, nil); r.status != http.StatusNoContent {
		t.Fatalf("status %d", r.status)
	}
	ctx := context.Background()
	if pub, pending, err := h.outbox.Flush(ctx, true); pub != 1 || pending != 0 || err != nil {
		t.Fatalf("Flush = %d %d %v", pub, pending, err)
	}
	if n := h.pub.callCount(); n != 2 {
		t.Errorf("publish calls %d, want 2", n)
	}
}

// The store fails right after the (SID, status) pair is claimed, as if the process died
// there; the redelivery and the outbox (after a restart) still publish the status, once.
func TestStatusCallbackStoreFailsRightAfterTheClaim(t *testing.T) {
	h := newHarness(t, nil, harnessOptions{})
	form := statusForm("SM0001", "delivered", 0)
	h.store.downAfterClaim = true
	h.pub.failures = 1 // and the engine is briefly away
	h.post("/twilio/status", form, "", testToken, nil)
	h.store.setDown(false)
	if r := h.post("/twilio/status", form, "", testToken, nil); r.status != http.StatusNoContent {
		t.Fatalf("redelivery answered %d %q", r.status, r.body)
	}
	if _, _, err := h.outbox.Flush(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	if n := h.pub.published(); n != 1 {
		t.Fatalf("%d messages published, want 1", n)
	}
}

func TestStatusCallbackOverLongSid(t *testing.T) {
	h := newHarness(t, nil, harnessOptions{})
	long := "CA" + strings.Repeat("0", MaxSIDChars)
	form := map[string][]string{"CallSid": {long}, "CallStatus": {"completed"}, "AccountSid": {testAccount}}
	if r := h.post("/twilio/status", form, "", testToken, nil); r.status != http.StatusBadRequest || !strings.Contains(r.body, "CallSid is longer than 64 characters") {
		t.Fatalf("answer %d %q, want 400 naming CallSid", r.status, r.body)
	}
	if r := h.post("/twilio/status", statusForm(long, "delivered", 0), "", testToken, nil); r.status != http.StatusBadRequest || !strings.Contains(r.body, "MessageSid is longer") {
		t.Fatalf("answer %d %q, want 400 naming MessageSid", r.status, r.body)
	}
}

// With several Twilio accounts, each webhook and status callback is verified with the token of
// the account its AccountSid names; an account the connector does not know is refused without
// naming any token.
func TestWebhooksVerifyEachAccountWithItsToken(t *testing.T) {
	const (
		secondAccount = "AC00000000000000000000000000000002"
		secondToken   = "secondtoken00000000000000000000b"
	)
	marketing := Definition{Source: "m.bpmn", Process: "m", Element: "start", Kind: StartEvent, MessageName: "marketing-in",
		Pattern: `hi`, Connection: "marketing", Echo: `via ${connection}`}
	h := newHarness(t, []Definition{marketing}, harnessOptions{accounts: map[string]Account{
		testAccount: {Token: testToken, Connection: DefaultConnection}, secondAccount: {Token: secondToken, Connection: "marketing"}}})
	second := func(f map[string][]string) map[string][]string { f["AccountSid"] = []string{secondAccount}; return f }

	if r := h.post("/twilio/status", statusForm("SM0001", "delivered", 0), "", testToken, nil); r.status != http.StatusNoContent {
		t.Errorf("first account: %d %q", r.status, r.body)
	}
	if r := h.post("/twilio/status", second(statusForm("SM0002", "delivered", 0)), "", secondToken, nil); r.status != http.StatusNoContent {
		t.Errorf("second account: %d %q", r.status, r.body)
	}
	// The second account's SMS is its connection's: its trigger takes it.
	if r := h.post("/twilio/sms", second(inbound(customer, ourNumber, "hi")), "", secondToken, nil); r.status != http.StatusOK || !strings.Contains(r.body, "via marketing") {
		t.Errorf("second account's inbound SMS: %d %q", r.status, r.body)
	}
	// The second account's form signed with the first account's token, and the reverse.
	if r := h.post("/twilio/status", second(statusForm("SM0003", "delivered", 0)), "", testToken, nil); r.status != http.StatusForbidden {
		t.Errorf("second account signed with the first's token: %d", r.status)
	}
	if r := h.post("/twilio/sms", inbound(customer, ourNumber, "hi"), "", secondToken, nil); r.status != http.StatusForbidden {
		t.Errorf("first account signed with the second's token: %d", r.status)
	}
	unknown := statusForm("SM0004", "delivered", 0)
	unknown["AccountSid"] = []string{"AC00000000000000000000000000000009"}
	for _, path := range []string{"/twilio/status", "/twilio/sms"} {
		r := h.post(path, unknown, "", testToken, nil)
		if r.status != http.StatusForbidden || strings.Contains(r.body, testToken) || strings.Contains(r.body, secondToken) {
			t.Errorf("%s, unknown account: %d %q", path, r.status, r.body)
		}
	}
	if !strings.Contains(h.logs.String(), "AC00000000000000000000000000000009") {
		t.Errorf("the refusal does not name the unknown account: %s", h.logs.String())
	}
	if n := len(h.pub.messages()); n != 3 {
		t.Errorf("published %d messages, want 2 statuses and the second account's SMS", n)
	}
	if strings.Contains(h.logs.String(), secondToken) {
		t.Errorf("the second account's token appears in the logs")
	}
}
