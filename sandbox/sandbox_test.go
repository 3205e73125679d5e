package sandbox

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

var sidRE = regexp.MustCompile(`^SM[0-9a-f]{32}$`)

func post(t *testing.T, base, user, pass, path string, form url.Values) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(user, pass)
	return do(t, req)
}

func get(t *testing.T, rawURL string) (int, map[string]any) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.SetBasicAuth("ACtest", "secret")
	return do(t, req)
}

// do sends req and decodes the JSON answer.
func do(t *testing.T, req *http.Request) (int, map[string]any) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

func TestCreateMessage(t *testing.T) {
	s := New(Options{AccountSID: "ACtest", AuthToken: "secret"})
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	t.Cleanup(s.Close)

	tests := []struct {
		name       string
		user, pass string
		form       url.Values
		wantStatus int
		wantCode   float64
	}{
		{"accepted", "ACtest", "secret", url.Values{"To": {"+15550100"}, "From": {"+15550199"}, "Body": {"hi"}}, 201, 0},
		{"wrong token", "ACtest", "nope", url.Values{"To": {"+15550100"}, "From": {"+15550199"}, "Body": {"hi"}}, 401, 20003},
		{"no body", "ACtest", "secret", url.Values{"To": {"+15550100"}, "From": {"+15550199"}}, 400, 21602},
		{"no from", "ACtest", "secret", url.Values{"To": {"+15550100"}, "Body": {"hi"}}, 400, 21603},
		{"body too long", "ACtest", "secret", url.Values{"To": {"+15550100"}, "From": {"+15550199"}, "Body": {strings.Repeat("x", MaxBodyLength+1)}}, 400, 21617},
		{"magic To invalid", "ACtest", "secret", url.Values{"To": {"+15005550001"}, "From": {"+15550199"}, "Body": {"hi"}}, 400, 21211},
		{"magic To unreachable", "ACtest", "secret", url.Values{"To": {"+15005550002"}, "From": {"+15550199"}, "Body": {"hi"}}, 400, 21612},
		{"magic To no permission", "ACtest", "secret", url.Values{"To": {"+15005550003"}, "From": {"+15550199"}, "Body": {"hi"}}, 400, 21408},
		{"magic To unsubscribed", "ACtest", "secret", url.Values{"To": {"+15005550004"}, "From": {"+15550199"}, "Body": {"hi"}}, 400, 21610},
		{"magic To not mobile", "ACtest", "secret", url.Values{"To": {"+15005550009"}, "From": {"+15550199"}, "Body": {"hi"}}, 400, 21614},
		{"magic From invalid", "ACtest", "secret", url.Values{"To": {"+15550100"}, "From": {"+15005550001"}, "Body": {"hi"}}, 400, 21212},
		{"magic From not capable", "ACtest", "secret", url.Values{"To": {"+15550100"}, "From": {"+15005550007"}, "Body": {"hi"}}, 400, 21606},
		{"magic From queue full", "ACtest", "secret", url.Values{"To": {"+15550100"}, "From": {"+15005550008"}, "Body": {"hi"}}, 400, 21611},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, body := post(t, ts.URL, tc.user, tc.pass, s.MessagesPath(), tc.form)
			if status != tc.wantStatus {
				t.Fatalf("status = %d, want %d (%v)", status, tc.wantStatus, body)
			}
			if tc.wantCode != 0 {
				if body["code"] != tc.wantCode {
					t.Errorf("code = %v, want %v", body["code"], tc.wantCode)
				}
				return
			}
			sid, _ := body["sid"].(string)
			if !sidRE.MatchString(sid) {
				t.Errorf("sid = %q, not SM + 32 hex digits", sid)
			}
			if body["status"] != "queued" {
				t.Errorf("status = %v, want queued", body["status"])
			}
			if m, ok := s.Message(sid); !ok || m.Body != tc.form.Get("Body") {
				t.Errorf("Message(%s) = %+v, %v", sid, m, ok)
			}
		})
	}
}

type hit struct {
	form url.Values
	sig  string
}

func collector(t *testing.T) (*httptest.Server, func() []hit) {
	var mu sync.Mutex
	var hits []hit
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		mu.Lock()
		hits = append(hits, hit{r.PostForm, r.Header.Get(SignatureHeader)})
		mu.Unlock()
	}))
	t.Cleanup(ts.Close)
	return ts, func() []hit {
		mu.Lock()
		defer mu.Unlock()
		return append([]hit(nil), hits...)
	}
}

func waitFor(t *testing.T, n int, get func() []hit) []hit {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for time.Now().Before(deadline) {
		if h := get(); len(h) >= n {
			return h
		}
		time.Sleep(5 * time.Millisecond)
	}
	t.Fatalf("got %d callbacks, want %d", len(get()), n)
	return nil
}

func TestStatusCallbacks(t *testing.T) {
	tests := []struct {
		name      string
		path      func(*Server) string
		form      url.Values
		statusKey string
		want      []string
	}{
		{"message", (*Server).MessagesPath, url.Values{"To": {"+15550100"}, "From": {"+15550199"}, "Body": {"hi"}}, "MessageStatus", []string{"sent", "delivered"}},
		{"call default", (*Server).CallsPath, url.Values{"To": {"+15550100"}, "From": {"+15550199"}, "Url": {"http://x/twiml"}}, "CallStatus", []string{"completed"}},
		{"call events", (*Server).CallsPath, url.Values{"To": {"+15550100"}, "From": {"+15550199"}, "Url": {"http://x/twiml"},
			"StatusCallbackEvent": {"initiated", "ringing", "answered", "completed"}}, "CallStatus", []string{"queued", "ringing", "in-progress", "completed"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			cb, hits := collector(t)
			s := New(Options{StatusCallbacks: true, CallbackDelay: time.Millisecond})
			ts := httptest.NewServer(s)
			t.Cleanup(ts.Close)
			t.Cleanup(s.Close)
			cbURL := cb.URL + "/twilio/status?x=1"
			tc.form.Set("StatusCallback", cbURL)
			if status, body := post(t, ts.URL, s.AccountSID, s.AuthToken, tc.path(s), tc.form); status != 201 {
				t.Fatalf("status %d: %v", status, body)
			}
			got := waitFor(t, len(tc.want), hits)
			for i, h := range got {
				if h.form.Get(tc.statusKey) != tc.want[i] {
					t.Errorf("callback %d: %s = %q, want %q", i, tc.statusKey, h.form.Get(tc.statusKey), tc.want[i])
				}
				if want := Sign(s.AuthToken, cbURL, h.form); h.sig != want {
					t.Errorf("callback %d: signature %q, want %q", i, h.sig, want)
				}
				if h.form.Get("AccountSid") != s.AccountSID {
					t.Errorf("callback %d: AccountSid = %q", i, h.form.Get("AccountSid"))
				}
			}
		})
	}
}

func TestCloseStopsPendingCallbacks(t *testing.T) {
	cb, hits := collector(t)
	s := New(Options{StatusCallbacks: true, CallbackDelay: time.Hour})
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	form := url.Values{"To": {"+15550100"}, "From": {"+15550199"}, "Body": {"hi"}, "StatusCallback": {cb.URL}}
	if status, _ := post(t, ts.URL, s.AccountSID, s.AuthToken, s.MessagesPath(), form); status != 201 {
		t.Fatal(status)
	}
	done := make(chan struct{})
	go func() { s.Close(); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not return: a callback goroutine is still waiting")
	}
	if n := len(hits()); n != 0 {
		t.Errorf("%d callbacks sent after Close", n)
	}
	// Accepted after Close: no goroutine may start.
	if status, _ := post(t, ts.URL, s.AccountSID, s.AuthToken, s.MessagesPath(), form); status != 201 {
		t.Fatal(status)
	}
	s.Close()
}

func TestListenAndInboundSMS(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	s, base, err := Listen(ctx, "127.0.0.1:0", Options{AccountSID: "ACdev", AuthToken: "tok"})
	if err != nil {
		t.Fatal(err)
	}
	status, _ := post(t, base, "ACdev", "tok", s.MessagesPath(), url.Values{"To": {"+15550100"}, "From": {"+15550199"}, "Body": {"hi"}})
	if status != 201 || len(s.Sent()) != 1 {
		t.Fatalf("status %d, sent %d", status, len(s.Sent()))
	}
	cancel()
	s.Close()
	if resp, err := http.Get(base + "/"); err == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		t.Error("server still answering after ctx end")
	}

	const hook = "https://example.com/twilio/sms"
	form, sig := InboundSMS(hook, "ACdev", "tok", "+15550100", "+15550199", "hello")
	if sig != Sign("tok", hook, form) {
		t.Error("signature does not verify")
	}
	for _, k := range []string{"AccountSid", "MessageSid", "From", "To", "Body", "NumMedia"} {
		if form.Get(k) == "" {
			t.Errorf("form lacks %s", k)
		}
	}
	if !sidRE.MatchString(form.Get("MessageSid")) || form.Get("NumMedia") != "0" {
		t.Errorf("form = %v", form)
	}
}

// Scheduling, content templates, fetch and cancel behave as on Twilio.
func TestMessageOptions(t *testing.T) {
	s := New(Options{AccountSID: "ACtest", AuthToken: "secret", StatusCallbacks: true})
	ts := httptest.NewServer(s)
	t.Cleanup(ts.Close)
	t.Cleanup(s.Close)
	const msid = "MG0123456789abcdef0123456789abcdef"
	at := func(d time.Duration) string { return time.Now().Add(d).UTC().Format(time.RFC3339) }
	message := func(sid string) string { return "/" + APIVersion + "/Accounts/ACtest/Messages/" + sid + ".json" }

	for _, tc := range []struct {
		name string
		form url.Values
		code float64
	}{
		{"SendAt without a Messaging Service", url.Values{"To": {"+15550100"}, "From": {"+15550199"}, "Body": {"x"}, "ScheduleType": {"fixed"}, "SendAt": {at(time.Hour)}}, 35118},
		{"ScheduleType without SendAt", url.Values{"To": {"+15550100"}, "MessagingServiceSid": {msid}, "Body": {"x"}, "ScheduleType": {"fixed"}}, 35111},
		{"SendAt too soon", url.Values{"To": {"+15550100"}, "MessagingServiceSid": {msid}, "Body": {"x"}, "ScheduleType": {"fixed"}, "SendAt": {at(time.Minute)}}, 35114},
		{"SendAt too late", url.Values{"To": {"+15550100"}, "MessagingServiceSid": {msid}, "Body": {"x"}, "ScheduleType": {"fixed"}, "SendAt": {at(36 * 24 * time.Hour)}}, 35114},
		{"bad ContentSid", url.Values{"To": {"+15550100"}, "From": {"+15550199"}, "ContentSid": {"HX1"}}, 21655},
		{"ContentVariables not an object", url.Values{"To": {"+15550100"}, "From": {"+15550199"}, "ContentSid": {"HX0123456789abcdef0123456789abcdef"}, "ContentVariables": {"[1]"}}, 21656},
		{"ValidityPeriod out of range", url.Values{"To": {"+15550100"}, "From": {"+15550199"}, "Body": {"x"}, "ValidityPeriod": {"36001"}}, 21620},
		{"ShortenUrls without a Messaging Service", url.Values{"To": {"+15550100"}, "From": {"+15550199"}, "Body": {"x"}, "ShortenUrls": {"true"}}, 21659},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, body := post(t, ts.URL, "ACtest", "secret", s.MessagesPath(), tc.form)
			if status != 400 || body["code"] != tc.code {
				t.Fatalf("%d %v, want 400 code %v", status, body, tc.code)
			}
		})
	}

	// A scheduled message is fetched, canceled once, and cannot be canceled again.
	status, body := post(t, ts.URL, "ACtest", "secret", s.MessagesPath(), url.Values{"To": {"+15550100"}, "From": {msid}, "Body": {"later"},
		"ScheduleType": {"fixed"}, "SendAt": {at(time.Hour)}, "StatusCallback": {ts.URL + "/nowhere"}})
	if status != 201 || body["status"] != "scheduled" || body["messaging_service_sid"] != msid || body["num_segments"] != "0" {
		t.Fatalf("schedule: %d %v", status, body)
	}
	sid := body["sid"].(string)
	if status, body := get(t, ts.URL+message(sid)); status != 200 || body["status"] != "scheduled" || body["sid"] != sid {
		t.Fatalf("fetch: %d %v", status, body)
	}
	if status, body := post(t, ts.URL, "ACtest", "secret", message(sid), url.Values{"Status": {"canceled"}}); status != 200 || body["status"] != "canceled" {
		t.Fatalf("cancel: %d %v", status, body)
	}
	if status, body := post(t, ts.URL, "ACtest", "secret", message(sid), url.Values{"Status": {"canceled"}}); status != 400 || body["code"] != 30409.0 {
		t.Fatalf("cancel again: %d %v", status, body)
	}
	if status, body := get(t, ts.URL+message("SM0123456789abcdef0123456789abcdef")); status != 404 || body["code"] != 20404.0 {
		t.Fatalf("unknown sid: %d %v", status, body)
	}

	// A content template is shown as its SID and variables; segments are counted from the body.
	status, body = post(t, ts.URL, "ACtest", "secret", s.MessagesPath(), url.Values{"To": {"+15550100"}, "From": {"+15550199"},
		"ContentSid": {"HX0123456789abcdef0123456789abcdef"}, "ContentVariables": {`{"1":"Ana"}`}})
	if status != 201 || body["body"] != `[content HX0123456789abcdef0123456789abcdef] {"1":"Ana"}` {
		t.Fatalf("content: %d %v", status, body)
	}
	status, body = post(t, ts.URL, "ACtest", "secret", s.MessagesPath(), url.Values{"To": {"+15550100"}, "From": {"+15550199"}, "Body": {strings.Repeat("ж", 71)}})
	if status != 201 || body["num_segments"] != "2" {
		t.Fatalf("segments: %d %v", status, body)
	}
}
