package triggers

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"reflect"
	"strings"
	"testing"
)

// httpTrigger listens on the HTTP channel's connection httpConn.
var httpTrigger = Definition{Source: "http.bpmn", Process: "http", Element: "httpOrder", Kind: StartEvent,
	MessageName: "http-order", Pattern: `Order Number (?<orderNumber>.+)`, Connection: httpConn,
	Echo: `Got ${orderNumber} via ${channel}/${connection}`, EchoError: `Not yet: ${orderNumber}`}

// postHTTP posts body to the HTTP channel endpoint path with Authorization auth ("" for none).
func (h *harness) postHTTP(path, contentType, body, auth string) response {
	h.t.Helper()
	req, err := http.NewRequest(http.MethodPost, h.srv.URL+path, strings.NewReader(body))
	if err != nil {
		h.t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, string(b), resp.Header.Get("Content-Type")}
}

const formType = "application/x-www-form-urlencoded"

// receive posts fields as a form to httpConn's receive endpoint with its secret.
func (h *harness) receive(fields url.Values) response {
	h.t.Helper()
	return h.postHTTP("/http/"+httpConn+"/receive", formType, fields.Encode(), "Bearer "+httpSecret)
}

func TestHTTPReceiveAuthentication(t *testing.T) {
	form := url.Values{"from": {customer}, "text": {"Order Number 1"}, "id": {"m1"}}.Encode()
	tests := []struct {
		name, path, auth string
		status           int
		outcome          string
	}{
		{"no Authorization", "/http/rapidpro/receive", "", 401, OutcomeUnauthorized},
		{"wrong secret", "/http/rapidpro/receive", "Bearer " + httpSecret + "x", 401, OutcomeUnauthorized},
		{"secret of another connection", "/http/rapidpro/receive", "Bearer " + otherSecret, 401, OutcomeUnauthorized},
		{"not a bearer", "/http/rapidpro/receive", "Basic " + httpSecret, 401, OutcomeUnauthorized},
		{"status endpoint too", "/http/rapidpro/status", "", 401, OutcomeUnauthorized},
		{"unknown connection", "/http/nope/receive", "Bearer " + httpSecret, 404, OutcomeUnknownConnection},
		{"right secret", "/http/rapidpro/receive", "Bearer " + httpSecret, 200, OutcomePublished},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, []Definition{httpTrigger}, harnessOptions{})
			counted := outcomeDelta(tc.outcome)
			r := h.postHTTP(tc.path, formType, form, tc.auth)
			if r.status != tc.status {
				t.Fatalf("status %d %q, want %d", r.status, r.body, tc.status)
			}
			if counted() != 1 {
				t.Errorf("outcome %s not counted", tc.outcome)
			}
			if tc.status != 200 && h.pub.callCount() != 0 {
				t.Errorf("published %d messages on a refused request", h.pub.callCount())
			}
			if strings.Contains(r.body, httpSecret) || strings.Contains(r.body, otherSecret) {
				t.Errorf("the answer shows a secret: %q", r.body)
			}
		})
	}
	h := newHarness(t, nil, harnessOptions{})
	req, _ := http.NewRequest(http.MethodGet, h.srv.URL+"/http/rapidpro/receive", nil)
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 405 {
		t.Errorf("GET: %v %v, want 405", resp, err)
	}
}

// A form and a JSON message each start the process with the same variables.
func TestHTTPReceiveFormAndJSON(t *testing.T) {
	const date = "2026-05-03T06:04:45.345Z"
	tests := []struct{ name, contentType, body string }{
		{"form", formType, url.Values{"from": {customer}, "text": {"Order Number 42"}, "date": {date}, "id": {"ext-7"}}.Encode()},
		{"form with sender and time", formType, url.Values{"sender": {customer}, "text": {"Order Number 42"}, "time": {date}, "id": {"ext-7"}}.Encode()},
		{"JSON", "application/json; charset=utf-8", `{"from":"` + customer + `","text":"Order Number 42","date":"` + date + `","id":"ext-7"}`},
		{"JSON with a numeric id", "application/json", `{"from":"` + customer + `","text":"Order Number 42","date":"` + date + `","id":7}`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, []Definition{httpTrigger}, harnessOptions{})
			r := h.postHTTP("/http/"+httpConn+"/receive", tc.contentType, tc.body, "Bearer "+httpSecret)
			if r.status != 200 || r.contentType != "application/json" {
				t.Fatalf("status %d %s %q", r.status, r.contentType, r.body)
			}
			wantID := "ext-7"
			if strings.Contains(tc.name, "numeric") {
				wantID = "7"
			}
			var answer map[string]string
			if err := json.Unmarshal([]byte(r.body), &answer); err != nil || answer["id"] != wantID || answer["outcome"] != OutcomePublished {
				t.Errorf("answer %q (%v)", r.body, err)
			}
			msgs := h.pub.messages()
			if len(msgs) != 1 {
				t.Fatalf("published %d, want 1", len(msgs))
			}
			m := msgs[0]
			if m.Name != "http-order" || m.CorrelationKey != "" || m.MessageID != "http:rapidpro:id:"+wantID+":start:http-order" {
				t.Errorf("message %+v", m)
			}
			want := map[string]any{
				"matchGroups": map[string]any{"orderNumber": "42"}, "originalMessage": "Order Number 42", "to": "", "from": customer,
				"messageSid": wantID, "receivedAt": date, "channel": "http", "connection": httpConn,
			}
			if !reflect.DeepEqual(m.Variables, want) {
				t.Errorf("variables %v\nwant %v", m.Variables, want)
			}
			if got := h.replies.replies(); len(got) != 1 || got[0] != (Reply{ID: "http:rapidpro:id:" + wantID + ":reply:0", Connection: httpConn, To: customer, Text: "Got 42 via http/rapidpro"}) {
				t.Errorf("replies %+v", got)
			}
		})
	}
}

func TestHTTPReceiveBadInput(t *testing.T) {
	tests := []struct{ name, contentType, body, field string }{
		{"no from", formType, "text=hi", "from"},
		{"blank from", "application/json", `{"from":" ","text":"hi"}`, "from"},
		{"bad date", formType, "from=%2B15005550101&text=hi&date=yesterday", "date"},
		{"long id", formType, "from=%2B15005550101&text=hi&id=" + strings.Repeat("x", MaxSIDChars+1), "id"},
		{"JSON text not a string", "application/json", `{"from":"+15005550101","text":{"a":1}}`, "text"},
		{"JSON not an object", "application/json", `["from"]`, "JSON object"},
		{"other content type", "text/plain", "from=x&text=y", "Content-Type"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, []Definition{httpTrigger}, harnessOptions{})
			counted := outcomeDelta(OutcomeBadRequest)
			r := h.postHTTP("/http/"+httpConn+"/receive", tc.contentType, tc.body, "Bearer "+httpSecret)
			if r.status != 400 || !strings.Contains(r.body, tc.field) {
				t.Errorf("status %d %q, want 400 naming %s", r.status, r.body, tc.field)
			}
			if counted() != 1 || h.pub.callCount() != 0 {
				t.Errorf("bad_request counted %v, published %d", counted(), h.pub.callCount())
			}
		})
	}
	// No text is an empty message (a gateway may forward one), not an error.
	h := newHarness(t, []Definition{httpTrigger}, harnessOptions{})
	if r := h.receive(url.Values{"from": {customer}}); r.status != 200 || !strings.Contains(r.body, OutcomeNoMatch) {
		t.Errorf("no text: %d %q, want 200 no_match", r.status, r.body)
	}
	h = newHarness(t, nil, harnessOptions{maxBody: 100})
	if r := h.receive(url.Values{"from": {customer}, "text": {strings.Repeat("x", 200)}}); r.status != 413 {
		t.Errorf("large body: %d, want 413", r.status)
	}
}

// A redelivery with the same id, or without an id the same (from, text, date), publishes and
// replies nothing again; without id and date every post is a new message.
func TestHTTPReceiveDedupe(t *testing.T) {
	tests := []struct {
		name      string
		second    url.Values
		published int
	}{
		{"same id", url.Values{"from": {customer}, "text": {"Order Number 9"}, "id": {"a1"}}, 1},
		{"same id, other text", url.Values{"from": {customer}, "text": {"Order Number 10"}, "id": {"a1"}}, 1},
		{"same date, no id", url.Values{"from": {customer}, "text": {"Order Number 9"}, "date": {"2026-05-03T06:04:45Z"}}, 1},
		{"same date, other text", url.Values{"from": {customer}, "text": {"Order Number 10"}, "date": {"2026-05-03T06:04:45Z"}}, 2},
		{"no id, no date", url.Values{"from": {customer}, "text": {"Order Number 9"}}, 2},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, []Definition{httpTrigger}, harnessOptions{})
			first := url.Values{"from": {customer}, "text": {"Order Number 9"}}
			for _, k := range []string{"id", "date"} {
				if tc.second.Has(k) {
					first.Set(k, tc.second.Get(k))
				}
			}
			if r := h.receive(first); r.status != 200 {
				t.Fatalf("first: %d %q", r.status, r.body)
			}
			dup := outcomeDelta(OutcomeDuplicate)
			r := h.receive(tc.second)
			if r.status != 200 {
				t.Fatalf("second: %d %q", r.status, r.body)
			}
			if got := h.pub.published(); got != tc.published {
				t.Errorf("published %d messages, want %d", got, tc.published)
			}
			if got := len(h.replies.replies()); got != tc.published {
				t.Errorf("sent %d replies, want %d", got, tc.published)
			}
			if wantDup := float64(2 - tc.published); dup() != wantDup || strings.Contains(r.body, OutcomeDuplicate) != (wantDup == 1) {
				t.Errorf("duplicate counted %v, answer %q", dup(), r.body)
			}
		})
	}
}

// A trigger without a connection takes only the default (Twilio) connection's messages; one
// with a connection takes only that connection's.
func TestHTTPReceiveConnectionFilter(t *testing.T) {
	anyTwilio := orderTrigger // no connection: default
	other := httpTrigger
	other.Element, other.MessageName, other.Connection = "otherOrder", "other-order", otherConn
	h := newHarness(t, []Definition{anyTwilio, httpTrigger, other}, harnessOptions{})

	if r := h.receive(url.Values{"from": {customer}, "text": {"Order Number 1"}, "id": {"x"}}); r.status != 200 {
		t.Fatalf("%d %q", r.status, r.body)
	}
	r := h.postHTTP("/http/"+otherConn+"/receive", formType, url.Values{"from": {customer}, "text": {"Order Number 2"}, "id": {"x"}}.Encode(), "Bearer "+otherSecret)
	if r.status != 200 {
		t.Fatalf("%d %q", r.status, r.body)
	}
	if r := h.send(inbound(customer, ourNumber, "Order Number 3")); r.body != reply("Your reference number is 3") {
		t.Fatalf("Twilio: %d %q", r.status, r.body)
	}
	var got []string
	for _, m := range h.pub.messages() {
		got = append(got, m.Name+"/"+m.Variables["connection"].(string)+"/"+m.Variables["originalMessage"].(string))
	}
	want := []string{"http-order/rapidpro/Order Number 1", "other-order/other/Order Number 2", "order-received/default/Order Number 3"}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("published %q\nwant %q", got, want)
	}
	// The same id on two connections is two messages.
	if n := h.pub.published(); n != 3 {
		t.Errorf("engine holds %d messages, want 3", n)
	}
}

// A reply the provider does not take stays in the outbox and is sent later, once.
func TestHTTPReceiveReplyKeptUntilSent(t *testing.T) {
	h := newHarness(t, []Definition{httpTrigger}, harnessOptions{})
	h.replies.failures = 1
	if r := h.receive(url.Values{"from": {customer}, "text": {"Order Number 5"}, "id": {"r1"}}); r.status != 200 {
		t.Fatalf("%d %q", r.status, r.body)
	}
	if n := len(h.replies.replies()); n != 0 {
		t.Fatalf("%d replies sent while the provider fails", n)
	}
	if n, _ := h.outbox.Pending(context.Background()); n != 1 {
		t.Fatalf("outbox holds %d entries, want the reply", n)
	}
	sent, pending, err := h.outbox.Flush(context.Background(), true)
	if err != nil || sent != 1 || pending != 0 {
		t.Fatalf("flush: %d sent, %d pending, %v", sent, pending, err)
	}
	if _, _, err := h.outbox.Flush(context.Background(), true); err != nil {
		t.Fatal(err)
	}
	if got := h.replies.replies(); len(got) != 1 || got[0].Text != "Got 5 via http/rapidpro" || got[0].To != customer {
		t.Errorf("replies %+v", got)
	}
}

// The engine down: the message stays in the outbox and the sender gets the echoError reply.
func TestHTTPReceiveEngineDown(t *testing.T) {
	h := newHarness(t, []Definition{httpTrigger}, harnessOptions{})
	h.pub.failures = 1
	r := h.receive(url.Values{"from": {customer}, "text": {"Order Number 6"}, "id": {"e1"}})
	if r.status != 200 || !strings.Contains(r.body, OutcomeEngineFailed) {
		t.Fatalf("%d %q", r.status, r.body)
	}
	if got := h.replies.replies(); len(got) != 1 || got[0].Text != "Not yet: 6" {
		t.Errorf("replies %+v", got)
	}
	if _, _, err := h.outbox.Flush(context.Background(), true); err != nil || h.pub.published() != 1 {
		t.Errorf("after flush: %d published (%v)", h.pub.published(), err)
	}
}

func TestHTTPStatus(t *testing.T) {
	h := newHarness(t, nil, harnessOptions{})
	post := func(fields url.Values) response {
		return h.postHTTP("/http/"+httpConn+"/status", formType, fields.Encode(), "Bearer "+httpSecret)
	}
	progress := outcomeDelta(OutcomeStatusProgress)
	if r := post(url.Values{"id": {"out-1"}, "status": {"sent"}}); r.status != 204 || progress() != 1 || h.pub.callCount() != 0 {
		t.Fatalf("sent: %d %q, progress %v, published %d", r.status, r.body, progress(), h.pub.callCount())
	}
	for range 2 { // the second is a redelivery
		r := h.postHTTP("/http/"+httpConn+"/status", "application/json", `{"id":"out-1","status":"delivered"}`, "Bearer "+httpSecret)
		if r.status != 204 {
			t.Fatalf("delivered: %d %q", r.status, r.body)
		}
	}
	msgs := h.pub.messages()
	if len(msgs) != 1 {
		t.Fatalf("published %d, want 1", len(msgs))
	}
	m := msgs[0]
	if m.Name != DefaultStatusMessageName || m.CorrelationKey != "out-1" || m.MessageID != "http:rapidpro:out-1:delivered" || m.TTL != DefaultMessageTTL {
		t.Errorf("message %+v", m)
	}
	want := map[string]any{"messageSid": "out-1", "messageStatus": "delivered", "errorCode": nil, "to": "", "from": "", "connection": httpConn}
	if !reflect.DeepEqual(m.Variables, want) {
		t.Errorf("variables %v, want %v", m.Variables, want)
	}
	if r := post(url.Values{"id": {"out-1"}, "status": {"failed"}}); r.status != 204 || h.pub.published() != 2 {
		t.Errorf("failed: %d, %d published", r.status, h.pub.published())
	}

	for _, tc := range []struct {
		fields url.Values
		field  string
	}{
		{url.Values{"status": {"delivered"}}, "id"},
		{url.Values{"id": {strings.Repeat("x", MaxSIDChars+1)}, "status": {"delivered"}}, "id"},
		{url.Values{"id": {"out-2"}}, "status"},
		{url.Values{"id": {"out-2"}, "status": {"undelivered"}}, "status"},
	} {
		if r := post(tc.fields); r.status != 400 || !strings.Contains(r.body, "field "+tc.field) {
			t.Errorf("%v: %d %q, want 400 naming %s", tc.fields, r.status, r.body, tc.field)
		}
	}
}

func TestTriggerConnectionField(t *testing.T) {
	ts, err := ParseYAML("t.yaml", []byte("triggers:\n  - id: a\n    message: m\n    pattern: x\n    connection: rapidpro\n"), 0)
	if err != nil || len(ts) != 1 || ts[0].Connection != httpConn || !ts[0].listensOn(httpConn) || ts[0].listensOn(DefaultConnection) {
		t.Fatalf("%+v %v", ts, err)
	}
	_, err = Compile(Definition{Element: "e", MessageName: "m", Pattern: "x", Connection: "=conn"}, 0)
	if err == nil || !strings.Contains(err.Error(), "e: connection: ") {
		t.Errorf("expression connection: %v", err)
	}
}

// The store down before anything was recorded: 503, so the gateway sends again; nothing was
// published, and the redelivery, once the store is back, is handled afresh.
func TestHTTPReceiveStoreDown(t *testing.T) {
	h := newHarness(t, []Definition{httpTrigger}, harnessOptions{})
	msg := url.Values{"from": {customer}, "text": {"Order Number 8"}, "id": {"s1"}}
	h.store.setDown(true)
	if r := h.receive(msg); r.status != http.StatusServiceUnavailable || h.pub.callCount() != 0 {
		t.Fatalf("store down: %d %q, %d publishes", r.status, r.body, h.pub.callCount())
	}
	h.store.setDown(false)
	if r := h.receive(msg); r.status != 200 || !strings.Contains(r.body, OutcomePublished) || h.pub.published() != 1 || len(h.replies.replies()) != 1 {
		t.Fatalf("redelivery: %d %q, %d published, %d replies", r.status, r.body, h.pub.published(), len(h.replies.replies()))
	}
}

// A reply goes out from the number the message was sent to when the gateway names one (as
// Twilio's and SMPP's replies do), else from the connection's default_from; the message's to
// is its variable to.
func TestHTTPReceiveReplyFromTo(t *testing.T) {
	for _, tc := range []struct{ name, to, wantFrom string }{
		{"phone number", ourNumber, ourNumber},
		{"phone number with spaces", "+1 500 555 0006", ourNumber},
		{"short code", "12345", ""},
		{"alphanumeric", "ACME", ""},
		{"none", "", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, []Definition{httpTrigger}, harnessOptions{})
			if r := h.receive(url.Values{"from": {customer}, "to": {tc.to}, "text": {"Order Number 8"}, "id": {"f1"}}); r.status != 200 {
				t.Fatalf("%d %q", r.status, r.body)
			}
			if got := h.replies.replies(); len(got) != 1 || got[0].From != tc.wantFrom || got[0].To != customer {
				t.Errorf("replies %+v, want one from %q", got, tc.wantFrom)
			}
			if msgs := h.pub.messages(); len(msgs) != 1 || msgs[0].Variables["to"] != strings.TrimSpace(tc.to) {
				t.Errorf("published %+v, want to %q", msgs, tc.to)
			}
		})
	}
}
