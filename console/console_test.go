package console

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twilio-connector/twilio-connector/actions"
	"github.com/twilio-connector/twilio-connector/providers"
	"github.com/twilio-connector/twilio-connector/store"
	"github.com/twilio-connector/twilio-connector/triggers"
)

// fakeAction records its invocations and answers one queued SMS per recipient.
type fakeAction struct {
	mu   sync.Mutex
	invs []actions.Invocation
}

func (f *fakeAction) Invoke(_ context.Context, inv actions.Invocation) (actions.Result, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.invs = append(f.invs, inv)
	sid := "SM0123456789abcdef0123456789abcdef"
	to, _ := inv.Vars[actions.FieldSMSTo].(string)
	return actions.Result{TwilioResult: []actions.RecipientResult{{To: to, SID: &sid, Status: "queued"}}}, nil
}

func (f *fakeAction) calls() []actions.Invocation {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]actions.Invocation(nil), f.invs...)
}

type browser struct {
	t      *testing.T
	srv    *httptest.Server
	client *http.Client
}

func newBrowser(t *testing.T, opts Options) (*browser, *Console) {
	t.Helper()
	c := New(opts)
	srv := httptest.NewServer(c)
	t.Cleanup(srv.Close)
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	return &browser{t: t, srv: srv, client: client}, c
}

func (b *browser) get(path string) (int, string, http.Header) {
	b.t.Helper()
	res, err := b.client.Get(b.srv.URL + path)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body), res.Header
}

func (b *browser) post(path string, form url.Values) (int, string, http.Header) {
	b.t.Helper()
	res, err := b.client.PostForm(b.srv.URL+path, form)
	if err != nil {
		b.t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(body), res.Header
}

var csrfField = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// csrf is the CSRF token of the form on the page at path.
func (b *browser) csrf(path string) string {
	b.t.Helper()
	code, body, _ := b.get(path)
	m := csrfField.FindStringSubmatch(body)
	if code != http.StatusOK || m == nil {
		b.t.Fatalf("GET %s: %d, no CSRF token in\n%s", path, code, body)
	}
	return m[1]
}

func openOptions(act actions.Action) Options {
	return Options{Messages: act, Connections: providers.Connections{"default": {Name: "default"}, "pager": {Name: "pager"}}}
}

func TestSendRunsTheActionAndShowsTheResultAsAJobGetsIt(t *testing.T) {
	act := &fakeAction{}
	b, _ := newBrowser(t, openOptions(act))
	token := b.csrf("/console/send")
	code, body, _ := b.post("/console/send", url.Values{"csrf": {token}, "connection": {"pager"}, "from": {"ACME"},
		"to": {"+14155550100"}, "body": {"Order ${orderId} is ready"}, "variables": {`{"orderId": "A-7"}`}, "testing": {"true"}, "requestId": {"R1"}})
	if code != http.StatusOK {
		t.Fatalf("POST send: %d\n%s", code, body)
	}
	invs := act.calls()
	if len(invs) != 1 {
		t.Fatalf("the action ran %d times, want once", len(invs))
	}
	inv := invs[0]
	if inv.Connection != "pager" || inv.IdempotencyKey != "console/R1" || inv.Vars["orderId"] != "A-7" || inv.Vars[actions.FieldSMSBody] != "Order ${orderId} is ready" ||
		inv.Vars[actions.FieldSMSTo] != "+14155550100" || inv.Vars[actions.FieldSMSFrom] != "ACME" || inv.Vars[actions.FieldSMSTesting] != true {
		t.Fatalf("invocation %+v", inv)
	}
	res, _ := (&fakeAction{}).Invoke(context.Background(), inv)
	want, _ := json.MarshalIndent(res, "", "  ")
	if !strings.Contains(body, `<pre id="result">`+htmlEscape(string(want))+`</pre>`) {
		t.Fatalf("the page does not show the result %s:\n%s", want, body)
	}
	if !strings.Contains(body, `<pre id="rendered">Order A-7 is ready</pre>`) || !strings.Contains(body, "1 segment (GSM-7)") {
		t.Fatalf("no rendered body or segment count:\n%s", body)
	}
}

func htmlEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString("&#34;")
		case '+':
			b.WriteString("&#43;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '&':
			b.WriteString("&amp;")
		case '\'':
			b.WriteString("&#39;")
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

func TestSendRefusesVariablesThatAreNotAnObject(t *testing.T) {
	act := &fakeAction{}
	b, _ := newBrowser(t, openOptions(act))
	code, body, _ := b.post("/console/send", url.Values{"csrf": {b.csrf("/console/send")}, "to": {"+14155550100"}, "body": {"x"}, "variables": {`[1]`}})
	if code != http.StatusBadRequest || !strings.Contains(body, "variables must be a JSON object") || len(act.calls()) != 0 {
		t.Fatalf("%d, %d calls\n%s", code, len(act.calls()), body)
	}
}

func TestEveryPostNeedsTheSessionsCSRFToken(t *testing.T) {
	act := &fakeAction{}
	b, _ := newBrowser(t, openOptions(act))
	token := b.csrf("/console/send")
	other, _ := newBrowser(t, openOptions(act))
	for _, path := range []string{"/console/send", "/console/try", "/console/logout"} {
		for name, form := range map[string]url.Values{
			"none":    {"to": {"+14155550100"}, "body": {"x"}, "pattern": {"x"}, "message": {"x"}},
			"wrong":   {"csrf": {token + "x"}, "to": {"+14155550100"}, "body": {"x"}, "pattern": {"x"}, "message": {"x"}},
			"another": {"csrf": {other.csrf("/console/send")}, "to": {"+14155550100"}, "body": {"x"}},
		} {
			if code, body, _ := b.post(path, form); code != http.StatusForbidden {
				t.Errorf("POST %s with %s token: %d, want 403\n%s", path, name, code, body)
			}
		}
	}
	if n := len(act.calls()); n != 0 {
		t.Fatalf("the action ran %d times without a valid token", n)
	}
	if code, _, _ := b.post("/console/send", url.Values{"csrf": {token}, "to": {"+14155550100"}, "body": {"x"}}); code != http.StatusOK || len(act.calls()) != 1 {
		t.Fatalf("with the token: %d, %d calls", code, len(act.calls()))
	}
}

const apiKey = "key-0123456789abcdef"

func TestClosedConsoleNeedsALogin(t *testing.T) {
	act := &fakeAction{}
	opts := openOptions(act)
	opts.Secrets = []string{apiKey, "console-password-123"}
	b, _ := newBrowser(t, opts)
	for _, path := range []string{"/console/", "/console/send", "/console/try", "/console/triggers", "/console/activity", "/console/health"} {
		if code, _, h := b.get(path); code != http.StatusSeeOther || h.Get("Location") != "/console/login" {
			t.Errorf("GET %s without a session: %d to %q, want 303 to the login page", path, code, h.Get("Location"))
		}
	}
	if code, _, _ := b.get("/console/activity/live"); code != http.StatusUnauthorized {
		t.Errorf("GET live without a session: %d, want 401", code)
	}
	if code, _, _ := b.post("/console/send", url.Values{"to": {"+1"}, "body": {"x"}}); code != http.StatusUnauthorized || len(act.calls()) != 0 {
		t.Errorf("POST send without a session: %d, want 401", code)
	}
	// The login form has its own CSRF token.
	if code, _, _ := b.post("/console/login", url.Values{"secret": {apiKey}}); code != http.StatusForbidden {
		t.Errorf("login without the form's token: %d, want 403", code)
	}
	token := b.csrf("/console/login")
	code, body, _ := b.post("/console/login", url.Values{"csrf": {token}, "secret": {apiKey + "x"}})
	if code != http.StatusUnauthorized || strings.Contains(body, apiKey) {
		t.Fatalf("a wrong key: %d\n%s", code, body)
	}
	for _, secret := range opts.Secrets {
		b2, _ := newBrowser(t, opts)
		code, _, h := b2.post("/console/login", url.Values{"csrf": {b2.csrf("/console/login")}, "secret": {secret}})
		if code != http.StatusSeeOther || h.Get("Location") != "/console/send" {
			t.Fatalf("login: %d to %q", code, h.Get("Location"))
		}
		if code, body, _ := b2.get("/console/send"); code != http.StatusOK || !strings.Contains(body, "Sign out") {
			t.Fatalf("after login: %d\n%s", code, body)
		}
		if code, _, _ := b2.post("/console/logout", url.Values{"csrf": {b2.csrf("/console/send")}}); code != http.StatusSeeOther {
			t.Fatalf("logout: %d", code)
		}
		if code, _, _ := b2.get("/console/send"); code != http.StatusSeeOther {
			t.Fatalf("after logout: %d, want 303 to the login page", code)
		}
	}
}

// An address refused five times may not try again within the minute, not even with the right
// secret (the guess is not checked); other addresses still sign in.
func TestRepeatedRefusedSignInsAreSlowedDown(t *testing.T) {
	opts := openOptions(&fakeAction{})
	opts.Secrets = []string{apiKey}
	c := New(opts)
	login := func(addr, secret string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("POST", "/console/login", strings.NewReader(url.Values{"csrf": {"tok"}, "secret": {secret}}.Encode()))
		r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		r.AddCookie(&http.Cookie{Name: loginCookie, Value: "tok"})
		r.RemoteAddr = addr
		w := httptest.NewRecorder()
		c.ServeHTTP(w, r)
		return w
	}
	for i := range maxFailures {
		if w := login("192.0.2.1:4000", fmt.Sprintf("guess-%d", i)); w.Code != http.StatusUnauthorized {
			t.Fatalf("refused sign-in %d: %d, want 401", i+1, w.Code)
		}
	}
	w := login("192.0.2.1:4001", apiKey)
	if w.Code != http.StatusTooManyRequests || w.Header().Get("Retry-After") == "" || !strings.Contains(w.Body.String(), "try again in") {
		t.Fatalf("after %d refusals from one address the right key got %d (Retry-After %q)\n%s", maxFailures, w.Code, w.Header().Get("Retry-After"), w.Body)
	}
	if w := login("192.0.2.2:4000", apiKey); w.Code != http.StatusSeeOther {
		t.Fatalf("another address: %d, want 303 after signing in\n%s", w.Code, w.Body)
	}
}

func TestCookiesAreHttpOnlyStrictAndSecureBehindHTTPS(t *testing.T) {
	opts := openOptions(&fakeAction{})
	opts.Secrets = []string{apiKey}
	c := New(opts)
	for _, proto := range []string{"", "https"} {
		r := httptest.NewRequest("GET", "/console/login", nil)
		if proto != "" {
			r.Header.Set("X-Forwarded-Proto", proto)
		}
		w := httptest.NewRecorder()
		c.ServeHTTP(w, r)
		cookies := w.Result().Cookies()
		if len(cookies) == 0 {
			t.Fatal("no cookie")
		}
		for _, ck := range cookies {
			if !ck.HttpOnly || ck.SameSite != http.SameSiteStrictMode || ck.Secure != (proto == "https") || ck.Path != "/console" {
				t.Errorf("behind %q: cookie %+v", proto, ck)
			}
		}
	}
}

func TestTryPrintsWhatMatchPrints(t *testing.T) {
	b, _ := newBrowser(t, openOptions(&fakeAction{}))
	form := url.Values{"csrf": {b.csrf("/console/try")}, "pattern": {`Order Number (?<orderNumber>\d+)`}, "echo": {"Your reference is ${orderNumber}"},
		"message": {"Order Number 4711"}, "from": {"+15005550101"}, "to": {"+15005550006"}}
	code, body, _ := b.post("/console/try", form)
	tried, err := triggers.Try(triggers.Definition{Pattern: form.Get("pattern"), Echo: form.Get("echo")}, form.Get("message"), form.Get("from"), form.Get("to"))
	if err != nil {
		t.Fatal(err)
	}
	want, _ := json.MarshalIndent(tried, "", "  ")
	if code != http.StatusOK || !strings.Contains(body, htmlEscape(string(want))) || !strings.Contains(body, "Your reference is 4711") {
		t.Fatalf("%d, want %s in\n%s", code, want, body)
	}
	code, body, _ = b.post("/console/try", url.Values{"csrf": {form.Get("csrf")}, "pattern": {"(unclosed"}, "message": {"x"}})
	if code != http.StatusBadRequest || !strings.Contains(body, "pattern: ") {
		t.Fatalf("a bad pattern: %d\n%s", code, body)
	}
}

func TestTriggersPageListsEveryLoadedTrigger(t *testing.T) {
	yaml := `triggers:
  - id: orderStatus
    message: orderStatusRequested
    pattern: 'status (?<orderId>\S+)'
  - id: confirm
    kind: catch
    message: appointmentConfirmed
    pattern: '(?i)yes (?<ref>\S+)'
    messageTtl: PT10M
    activationCondition: '=matchGroups.ref != "0"'
    correlationKeyExpression: =matchGroups.ref
`
	ts, err := triggers.ParseYAML("triggers.yaml", []byte(yaml), 0)
	if err != nil {
		t.Fatal(err)
	}
	opts := openOptions(&fakeAction{})
	opts.Triggers, opts.MessageTTL = triggers.NewRegistry(ts...), time.Hour
	b, _ := newBrowser(t, opts)
	_, body, _ := b.get("/console/triggers")
	for _, want := range []string{"triggers.yaml", "orderStatus", "orderStatusRequested", "start", htmlEscape(`status (?<orderId>\S+)`), "1h0m0s",
		"confirm", "appointmentConfirmed", "catch", "10m0s",
		"activationCondition: <code>=matchGroups.ref != &#34;0&#34;</code>", "correlationKeyExpression: <code>=matchGroups.ref</code>"} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %q\n%s", want, body)
		}
	}
}

func TestActivityShowsSendsWithTheirLatestStatusAndInboundWithTheOutbox(t *testing.T) {
	st := store.NewMemory(time.Hour)
	a := NewActivity(0)
	act := a.Observe(actions.SendSMS.Name, &fakeAction{})
	a.Status("default", "SM0123456789abcdef0123456789abcdef", "sent") // a callback before the result is recorded
	if _, err := act.Invoke(context.Background(), actions.Invocation{Connection: "pager", Vars: map[string]any{actions.FieldSMSTo: "+14155550100"}}); err != nil {
		t.Fatal(err)
	}
	st.Put(context.Background(), triggers.OutboxBucket, "SMin:start:waiting", []byte("{}"), 0)
	a.Received(triggers.Observed{Inbound: triggers.Inbound{ID: "SMin", From: "+14155550101", To: "+15005550006", Text: "status A-7",
		Channel: "sms", Connection: "default", ReceivedAt: time.Now()}, Outcome: triggers.OutcomeEngineFailed,
		Matches: []triggers.ObservedMatch{{Trigger: "orders.bpmn: p/start", MessageName: "waiting", MessageID: "SMin:start:waiting"},
			{Trigger: "orders.bpmn: p/other", MessageName: "gone", MessageID: "SMin:start:gone"}}})
	opts := openOptions(act)
	opts.Activity, opts.Store = a, st
	b, _ := newBrowser(t, opts)
	_, page, _ := b.get("/console/activity")
	if !strings.Contains(page, `aria-live="polite"`) || !strings.Contains(page, `data-live="/console/activity/live"`) {
		t.Fatalf("no live region:\n%s", page)
	}
	_, live, _ := b.get("/console/activity/live")
	for _, want := range []string{"pager", "&#43;14155550100", "SM0123456789abcdef0123456789abcdef", `class="status">sent</td>`,
		"status A-7", "orders.bpmn: p/start → waiting: waiting in the outbox", "orders.bpmn: p/other → gone: published by the outbox"} {
		if !strings.Contains(live, want) {
			t.Errorf("the live tables lack %q:\n%s", want, live)
		}
	}
	a.Status("default", "SM0123456789abcdef0123456789abcdef", "delivered")
	a.Status("default", "SM0123456789abcdef0123456789abcdef", "sent") // late, out of order
	if _, live, _ = b.get("/console/activity/live"); !strings.Contains(live, `class="status">delivered</td>`) {
		t.Errorf("the latest status is not delivered:\n%s", live)
	}
}

func TestActivityKeepsTheLastEntries(t *testing.T) {
	a := NewActivity(3)
	act := a.Observe("send_sms", &fakeAction{})
	for _, to := range []string{"+1", "+2", "+3", "+4", "+5"} {
		act.Invoke(context.Background(), actions.Invocation{Vars: map[string]any{actions.FieldSMSTo: to}})
	}
	sends, _ := a.Snapshot()
	var got []string
	for _, s := range sends {
		got = append(got, s.To)
	}
	if strings.Join(got, ",") != "+5,+4,+3" {
		t.Fatalf("kept %v, want the last three, newest first", got)
	}
}

type healthyProvider struct{ providers.Provider }

func (healthyProvider) Kind() string                { return "smpp" }
func (healthyProvider) Bound(context.Context) error { return errors.New("bind refused") }

func TestHealthShowsEveryCheckAndConnectionWithTheReason(t *testing.T) {
	opts := openOptions(&fakeAction{})
	opts.Connections["sms"] = &providers.Connection{Name: "sms", Provider: healthyProvider{}}
	opts.Health = func(context.Context) []Check {
		return []Check{{Name: "zeebe", Err: errors.New("unavailable: connection refused")}, {Name: "store"}, {Name: "amqp"}}
	}
	b, _ := newBrowser(t, opts)
	_, body, _ := b.get("/console/health")
	for _, want := range []string{
		`<tr><td data-label="Dependency">zeebe</td><td data-label="State" class="down">down</td><td data-label="Reason">unavailable: connection refused</td></tr>`,
		`<tr><td data-label="Dependency">store</td><td data-label="State" class="up">up</td><td data-label="Reason"></td></tr>`,
		`<tr><td data-label="Dependency">amqp</td><td data-label="State" class="up">up</td>`,
		`<tr><td data-label="Connection">default</td><td data-label="Provider">none</td><td data-label="State" class="testing only">testing only</td>`,
		`<tr><td data-label="Connection">sms</td><td data-label="Provider">smpp</td><td data-label="State" class="down">down</td><td data-label="Note">bind refused</td></tr>`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("the page lacks %s\n%s", want, body)
		}
	}
}
