package triggers

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/twilio-connector/twilio-connector/test/twiliotest"
)

var (
	orderTrigger = Definition{Source: "orders.bpmn", Process: "orders", Element: "orderReceived", Kind: StartEvent,
		MessageName: "order-received", Pattern: `Order Number (?<orderNumber>.+)`,
		Echo: `Your reference number is ${orderNumber}`, EchoError: `We could not register ${orderNumber} yet; we will get back to you`}
	urgentTrigger = Definition{Source: "urgent.bpmn", Process: "urgent", Element: "urgentOrder", Kind: StartEvent,
		MessageName: "urgent-order", Pattern: `Order Number (?<number>\d+) urgent`, Echo: `Urgent ${number} noted`}
	replyTrigger = Definition{Source: "survey.bpmn", Process: "survey", Element: "answer", Kind: CatchEvent,
		MessageName: "survey-answer", Pattern: `(?i)(?<answer>yes|no)`, Echo: `Thanks for answering ${answer}`, To: ourNumber}

	helpTrigger = Definition{Source: "help.bpmn", Process: "help", Element: "help", Kind: StartEvent,
		MessageName: "help-requested", Pattern: `(?i)help|info`, Echo: `Call us`}
)

func allTriggers() []Definition {
	return []Definition{orderTrigger, urgentTrigger, replyTrigger, helpTrigger}
}

// TestSMSReceivedWebhook runs one request per case against fresh state.
func TestSMSReceivedWebhook(t *testing.T) {
	type published struct{ name, key string }
	tests := []struct {
		name      string
		opts      harnessOptions
		form      url.Values
		path      string // default /twilio/sms
		signURL   string // "" = the URL posted to; "-" = harness URL; else as given
		token     string // default testToken
		mutate    func(*http.Request)
		status    int
		reply     string // exact body for 200 answers
		outcome   string
		published []published
	}{
		{name: "match publishes and echoes", form: inbound(customer, ourNumber, "Order Number 42"),
			status: 200, reply: reply("Your reference number is 42"), outcome: OutcomePublished,
			published: []published{{"order-received", ""}}},
		{name: "message is trimmed before matching", form: inbound(customer, ourNumber, "  Order Number 42 \n"),
			status: 200, reply: reply("Your reference number is 42"), outcome: OutcomePublished,
			published: []published{{"order-received", ""}}},
		{name: "whole message must match (Java matches())", form: inbound(customer, ourNumber, "Re: Order Number 42"),
			status: 200, reply: emptyReply, outcome: OutcomeNoMatch},
		{name: "body with & = + % and unicode", form: inbound(customer, ourNumber, "Order Number A&B=C+D%20 é 😀 <x>"),
			status: 200, reply: reply("Your reference number is A&amp;B=C+D%20 é 😀 &lt;x&gt;"), outcome: OutcomePublished,
			published: []published{{"order-received", ""}}},
		{name: "several triggers match", form: inbound(customer, ourNumber, "Order Number 7 urgent"),
			status: 200, reply: reply("Your reference number is 7 urgent", "Urgent 7 noted"), outcome: OutcomePublished,
			published: []published{{"order-received", ""}, {"urgent-order", ""}}},
		{name: "catch event correlates on the sender", form: inbound(customer, ourNumber, "NO"),
			status: 200, reply: reply("Thanks for answering NO"), outcome: OutcomePublished,
			published: []published{{"survey-answer", customer}}},
		{name: "to filter: another receiving number", form: inbound(customer, otherNumber, "no"),
			status: 200, reply: emptyReply, outcome: OutcomeNoMatch},
		{name: "no match", form: inbound(customer, ourNumber, "hello"),
			status: 200, reply: emptyReply, outcome: OutcomeNoMatch},
		{name: "opt-out keyword never triggers", form: inbound(customer, ourNumber, " stop "),
			opts: harnessOptions{}, status: 200, reply: emptyReply, outcome: OutcomeOptOut},
		{name: "opt-out keyword starts no process", form: inbound(customer, ourNumber, "Help"),
			status: 200, reply: emptyReply, outcome: OutcomeOptOut},
		{name: "opt-out keyword starts processes when enabled", form: inbound(customer, ourNumber, "Help"),
			opts: harnessOptions{optOut: true}, status: 200, reply: reply("Call us"), outcome: OutcomePublished,
			published: []published{{"help-requested", ""}}},
		{name: "opt-out keyword still reaches a waiting process", form: inbound(customer, ourNumber, "yes"),
			status: 200, reply: reply("Thanks for answering yes"), outcome: OutcomePublished,
			published: []published{{"survey-answer", customer}}},
		{name: "bad signature", form: inbound(customer, ourNumber, "Order Number 42"),
			mutate: func(r *http.Request) { r.Header.Set("X-Twilio-Signature", "bm90IGEgc2lnbmF0dXJl") },
			status: 403, outcome: OutcomeBadSignature},
		{name: "missing signature", form: inbound(customer, ourNumber, "Order Number 42"),
			mutate: func(r *http.Request) { r.Header.Del("X-Twilio-Signature") }, status: 403, outcome: OutcomeBadSignature},
		{name: "signed with another token", form: inbound(customer, ourNumber, "Order Number 42"),
			token: "fedcba9876543210fedcba9876543210", status: 403, outcome: OutcomeBadSignature},
		{name: "signed for another path", form: inbound(customer, ourNumber, "Order Number 42"),
			signURL: "-/twilio/other", status: 403, outcome: OutcomeBadSignature},
		{name: "tampered body", form: inbound(customer, ourNumber, "Order Number 42"),
			mutate: func(r *http.Request) {
				f := inbound(customer, ourNumber, "Order Number 43")
				r.Body = http.NoBody
				r.ContentLength = int64(len(f.Encode()))
				r.Body = ioNopCloser(f.Encode())
			}, status: 403, outcome: OutcomeBadSignature},
		{name: "query string is part of the signed URL", form: inbound(customer, ourNumber, "Order Number 42"),
			path: "/twilio/sms?tenant=a%20b", status: 200, reply: reply("Your reference number is 42"), outcome: OutcomePublished,
			published: []published{{"order-received", ""}}},
		{name: "behind a proxy: signed for the public URL", opts: harnessOptions{publicURL: "https://connector.example.com/hooks"},
			form: inbound(customer, ourNumber, "Order Number 42"), signURL: "https://connector.example.com/hooks/twilio/sms",
			status: 200, reply: reply("Your reference number is 42"), outcome: OutcomePublished,
			published: []published{{"order-received", ""}}},
		{name: "behind a proxy: Twilio signs with the default port", opts: harnessOptions{publicURL: "https://connector.example.com/hooks"},
			form: inbound(customer, ourNumber, "Order Number 42"), signURL: "https://connector.example.com:443/hooks/twilio/sms",
			status: 200, reply: reply("Your reference number is 42"), outcome: OutcomePublished,
			published: []published{{"order-received", ""}}},
		{name: "behind a proxy: Host-header URL is rejected", opts: harnessOptions{publicURL: "https://connector.example.com/hooks"},
			form: inbound(customer, ourNumber, "Order Number 42"), status: 403, outcome: OutcomeBadSignature},
		{name: "repeated keys: every value is signed", form: withValues(inbound(customer, ourNumber, "Order Number 42"), "MediaUrl0", "https://b.example/2", "https://a.example/1"),
			status: 200, reply: reply("Your reference number is 42"), outcome: OutcomePublished,
			published: []published{{"order-received", ""}}},
		{name: "repeated keys: a signature over the first value only is rejected",
			form:   withValues(inbound(customer, ourNumber, "Order Number 42"), "MediaUrl0", "https://b.example/2", "https://a.example/1"),
			mutate: signFirstValues, status: 403, outcome: OutcomeBadSignature},
		{name: "oversize body", opts: harnessOptions{maxBody: 512}, form: inbound(customer, ourNumber, "Order Number "+strings.Repeat("9", 600)),
			status: 413, outcome: OutcomeTooLarge},
		{name: "oversize body without Content-Length (chunked)", opts: harnessOptions{maxBody: 512},
			form:   inbound(customer, ourNumber, "Order Number "+strings.Repeat("9", 600)),
			mutate: func(r *http.Request) { r.ContentLength = -1 }, status: 413, outcome: OutcomeTooLarge},
		{name: "not a form", form: inbound(customer, ourNumber, "x"), mutate: func(r *http.Request) { r.Header.Set("Content-Type", "application/json") },
			status: 400, outcome: OutcomeBadRequest},
		{name: "malformed form encoding", form: inbound(customer, ourNumber, "x"),
			mutate: func(r *http.Request) { r.Body = ioNopCloser("Body=%zz"); r.ContentLength = 8 }, status: 400, outcome: OutcomeBadRequest},
		{name: "signed but without MessageSid", form: without(inbound(customer, ourNumber, "Order Number 1"), "MessageSid", "SmsSid"),
			status: 400, outcome: OutcomeBadRequest},
		{name: "GET", form: inbound(customer, ourNumber, "x"), mutate: func(r *http.Request) { r.Method = http.MethodGet }, status: 405, outcome: OutcomeMethodNotAllowed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, allTriggers(), tc.opts)
			delta := outcomeDelta(tc.outcome)
			path := tc.path
			if path == "" {
				path = "/twilio/sms"
			}
			signURL := tc.signURL
			if strings.HasPrefix(signURL, "-") {
				signURL = h.srv.URL + signURL[1:]
			}
			token := tc.token
			if token == "" {
				token = testToken
			}
			resp := h.post(path, tc.form, signURL, token, tc.mutate)
			if resp.status != tc.status {
				t.Fatalf("status = %d (%s), want %d", resp.status, resp.body, tc.status)
			}
			if tc.status == 200 {
				if resp.body != tc.reply {
					t.Errorf("reply =\n%s\nwant\n%s", resp.body, tc.reply)
				}
				if !strings.HasPrefix(resp.contentType, "text/xml") {
					t.Errorf("Content-Type = %q, want text/xml", resp.contentType)
				}
			}
			if d := delta(); d != 1 {
				t.Errorf("outcome %s counted %v times, want 1", tc.outcome, d)
			}
			var got []published
			for _, m := range h.pub.messages() {
				got = append(got, published{m.Name, m.CorrelationKey})
			}
			if !reflect.DeepEqual(got, tc.published) {
				t.Errorf("published %v, want %v", got, tc.published)
			}
			if n, _ := h.outbox.Pending(context.Background()); n != 0 {
				t.Errorf("%d messages left in the outbox", n)
			}
		})
	}
}

func TestSMSReceivedMessage(t *testing.T) {
	h := newHarness(t, allTriggers(), harnessOptions{})
	form := inbound(customer, ourNumber, " Order Number 42 ")
	sid := form.Get("MessageSid")
	if r := h.send(form); r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	msgs := h.pub.messages()
	if len(msgs) != 1 {
		t.Fatalf("published %d messages, want 1", len(msgs))
	}
	m := msgs[0]
	if m.Name != "order-received" || m.CorrelationKey != "" || m.MessageID != sid+":start:order-received" || m.TTL != DefaultMessageTTL {
		t.Errorf("message = %+v", m)
	}
	want := map[string]any{
		"matchGroups": map[string]any{"orderNumber": "42"}, "originalMessage": " Order Number 42 ",
		"to": ourNumber, "from": customer, "messageSid": sid, "channel": "sms", "connection": "default",
	}
	received, _ := m.Variables["receivedAt"].(string)
	delete(m.Variables, "receivedAt")
	if !reflect.DeepEqual(m.Variables, want) {
		t.Errorf("variables = %v, want %v", m.Variables, want)
	}
	if len(received) < 20 || !strings.HasSuffix(received, "Z") {
		t.Errorf("receivedAt = %q, want an RFC 3339 UTC time", received)
	}
}

// WhatsApp messages reach the same triggers; the channel variable tells them apart.
func TestWhatsAppMessageHasItsChannel(t *testing.T) {
	h := newHarness(t, allTriggers(), harnessOptions{})
	h.send(inbound("whatsapp:"+customer, "whatsapp:"+ourNumber, "Order Number 7"))
	msgs := h.pub.messages()
	if len(msgs) != 1 || msgs[0].Variables["channel"] != "whatsapp" || msgs[0].Variables["from"] != "whatsapp:"+customer {
		t.Fatalf("published %+v", msgs)
	}
}

func TestSMSReceivedDuplicate(t *testing.T) {
	h := newHarness(t, allTriggers(), harnessOptions{})
	form := inbound(customer, ourNumber, "Order Number 42")
	first := h.send(form)
	dup := outcomeDelta(OutcomeDuplicate)
	for range 3 {
		again := h.send(form)
		if again.status != 200 || again.body != first.body {
			t.Fatalf("redelivery answered %d %q, want the first reply %q", again.status, again.body, first.body)
		}
	}
	if n := h.pub.callCount(); n != 1 {
		t.Errorf("published %d times, want 1", n)
	}
	if d := dup(); d != 3 {
		t.Errorf("duplicate outcome counted %v, want 3", d)
	}
	// A no-match answer is remembered as well.
	noMatch := inbound(customer, ourNumber, "hello")
	h.send(noMatch)
	if r := h.send(noMatch); r.body != emptyReply {
		t.Errorf("redelivered no-match answered %q", r.body)
	}
}

func TestSMSReceivedEngineDownRecoversThroughOutbox(t *testing.T) {
	h := newHarness(t, allTriggers(), harnessOptions{})
	h.pub.failures = 3 // the webhook's attempt and two outbox passes fail
	failed := outcomeDelta(OutcomeEngineFailed)
	form := inbound(customer, ourNumber, "Order Number 42")
	r := h.send(form)
	if r.status != 200 || r.body != reply("We could not register 42 yet; we will get back to you") {
		t.Fatalf("answer %d %q, want 200 with the echoError", r.status, r.body)
	}
	if failed() != 1 {
		t.Errorf("engine_failed not counted")
	}
	ctx := context.Background()
	if n, _ := h.outbox.Pending(ctx); n != 1 {
		t.Fatalf("outbox holds %d messages, want 1", n)
	}
	// Not due yet: the backoff has not passed, so a normal pass publishes nothing.
	if pub, pending, err := h.outbox.Flush(ctx, false); err != nil || pub != 0 || pending != 1 {
		t.Fatalf("early Flush = %d, %d, %v; want 0, 1, nil", pub, pending, err)
	}
	if n := h.pub.callCount(); n != 1 {
		t.Fatalf("publish calls = %d after the webhook, want 1", n)
	}
	for i, want := range []struct{ published, pending, calls int }{{0, 1, 2}, {0, 1, 3}, {1, 0, 4}} {
		pub, pending, err := h.outbox.Flush(ctx, true)
		if err != nil || pub != want.published || pending != want.pending || h.pub.callCount() != want.calls {
			t.Fatalf("pass %d: published %d pending %d calls %d err %v; want %+v", i+1, pub, pending, h.pub.callCount(), err, want)
		}
	}
	// Nothing left; further passes and a redelivery publish nothing.
	h.outbox.Flush(ctx, true)
	if again := h.send(form); again.body != r.body {
		t.Errorf("redelivery answered %q, want the first answer", again.body)
	}
	if n := h.pub.callCount(); n != 4 {
		t.Errorf("publish calls = %d, want 4", n)
	}
	msgs := h.pub.messages()
	for _, m := range msgs[1:] {
		if !reflect.DeepEqual(m.Variables, msgs[0].Variables) || m.MessageID != msgs[0].MessageID {
			t.Errorf("retried message differs from the first attempt: %+v vs %+v", m, msgs[0])
		}
	}
}

func TestSMSReceivedStoreDown(t *testing.T) {
	h := newHarness(t, allTriggers(), harnessOptions{})
	form := inbound(customer, ourNumber, "Order Number 42")
	h.store.setDown(true)
	if r := h.send(form); r.status != http.StatusServiceUnavailable {
		t.Fatalf("status %d, want 503", r.status)
	}
	if n := h.pub.callCount(); n != 0 {
		t.Fatalf("published %d with the store down", n)
	}
	h.store.setDown(false)
	if r := h.send(form); r.status != 200 || r.body != reply("Your reference number is 42") {
		t.Fatalf("redelivery answered %d %q", r.status, r.body)
	}
	if n := h.pub.callCount(); n != 1 {
		t.Errorf("published %d, want 1", n)
	}
}

// The store fails right after the MessageSid is claimed, as if the process died there; the
// redeliveries and the outbox (after a restart) still publish the SMS, once.
func TestSMSReceivedStoreFailsRightAfterTheClaim(t *testing.T) {
	h := newHarness(t, allTriggers(), harnessOptions{})
	form := inbound(customer, ourNumber, "Order Number 42")
	h.store.downAfterClaim = true
	h.send(form) // whatever it answers, Twilio may deliver again
	h.store.setDown(false)
	if r := h.send(form); r.status != 200 {
		t.Fatalf("redelivery answered %d %q", r.status, r.body)
	}
	if _, _, err := h.outbox.Flush(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	if n := h.pub.published(); n != 1 {
		t.Fatalf("%d messages published, want 1", n)
	}
}

func TestSMSReceivedOverLongMessageSid(t *testing.T) {
	h := newHarness(t, allTriggers(), harnessOptions{})
	form := inbound(customer, ourNumber, "Order Number 42")
	form.Set("MessageSid", "SM"+strings.Repeat("0", MaxSIDChars-1))
	if r := h.send(form); r.status != http.StatusBadRequest || !strings.Contains(r.body, "MessageSid is longer than 64 characters") {
		t.Fatalf("answer %d %q, want 400 naming MessageSid", r.status, r.body)
	}
	if n := h.pub.callCount(); n != 0 {
		t.Fatalf("published %d", n)
	}
	form.Set("MessageSid", "SM"+strings.Repeat("0", MaxSIDChars-2))
	if r := h.send(form); r.status != 200 {
		t.Fatalf("a MessageSid of %d characters: %d %q", MaxSIDChars, r.status, r.body)
	}
}

func TestSMSReceivedEchoRenderErrorKeepsEvent(t *testing.T) {
	d := orderTrigger
	d.Echo = "Hello ${missingVariable}"
	h := newHarness(t, []Definition{d, urgentTrigger}, harnessOptions{})
	r := h.send(inbound(customer, ourNumber, "Order Number 5 urgent"))
	if r.status != 200 || r.body != reply("Urgent 5 noted") {
		t.Fatalf("answer %d %q", r.status, r.body)
	}
	if n := h.pub.callCount(); n != 2 {
		t.Errorf("published %d, want 2", n)
	}
	if !strings.Contains(h.logs.String(), "missingVariable") {
		t.Errorf("the render error is not logged")
	}
}

func TestSMSReceivedSameMessageTwoTriggersPublishOnce(t *testing.T) {
	a := orderTrigger
	b := orderTrigger
	b.Element, b.Pattern, b.Echo = "other", `Order .*`, "second"
	h := newHarness(t, []Definition{a, b}, harnessOptions{})
	r := h.send(inbound(customer, ourNumber, "Order Number 1"))
	if r.body != reply("Your reference number is 1", "second") {
		t.Errorf("reply %q", r.body)
	}
	if n := h.pub.callCount(); n != 1 {
		t.Errorf("published %d, want 1 (same message name and kind)", n)
	}
}

func TestSecretsNotLogged(t *testing.T) {
	h := newHarness(t, allTriggers(), harnessOptions{})
	form := inbound(customer, ourNumber, "Order Number 42")
	sig := Signature(testToken, h.srv.URL+"/twilio/sms", form)
	h.post("/twilio/sms", form, "", "wrongtoken0000000000000000000000", nil)
	h.send(form)
	logs := h.logs.String()
	if strings.Contains(logs, sig) || strings.Contains(logs, testToken) {
		t.Errorf("a secret reached the logs:\n%s", logs)
	}
	if !strings.Contains(logs, "signature does not verify") {
		t.Errorf("the rejected signature is not logged")
	}
}

func withValues(f url.Values, key string, values ...string) url.Values {
	f[key] = values
	return f
}

func without(f url.Values, keys ...string) url.Values {
	for _, k := range keys {
		f.Del(k)
	}
	return f
}

// signFirstValues re-signs the request the way twilio-go's RequestValidator verifies: only the
// first value of each key.
func signFirstValues(r *http.Request) {
	body, _ := ioReadAll(r)
	form, _ := url.ParseQuery(body)
	first := url.Values{}
	for k, vs := range form {
		first.Set(k, vs[0])
	}
	r.Header.Set("X-Twilio-Signature", Signature(testToken, r.URL.String(), first))
	r.Body = ioNopCloser(body)
}

// Two replicas sharing a store get the same SMS at the same time (Twilio redelivering to
// another instance behind the load balancer): it is published once.
func TestSMSReceivedTwoReplicasShareStore(t *testing.T) {
	a := newHarness(t, allTriggers(), harnessOptions{})
	tr, err := Compile(orderTrigger, 0)
	if err != nil {
		t.Fatal(err)
	}
	replicaB := NewSMSReceived(Options{Triggers: NewRegistry(tr), Publisher: a.pub, Store: a.store,
		Verifier: Verifier{AuthToken: testToken}, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	b := httptest.NewServer(replicaB)
	defer b.Close()

	const n = 50
	var wg sync.WaitGroup
	for i := range n {
		form := inbound(customer, ourNumber, fmt.Sprintf("Order Number %d", i))
		for _, base := range []string{a.srv.URL, b.URL} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, err := twiliotest.PostForm(context.Background(), base+"/twilio/sms", testToken, form)
				if err != nil {
					t.Error(err)
					return
				}
				resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Errorf("status %d", resp.StatusCode)
				}
			}()
		}
	}
	wg.Wait()
	if got := a.pub.callCount(); got != n {
		t.Errorf("published %d times for %d SMS", got, n)
	}
}
