package pushover

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twilio-connector/twilio-connector/errs"
	"github.com/twilio-connector/twilio-connector/providers"
	"github.com/twilio-connector/twilio-connector/test/faults"
	"github.com/twilio-connector/twilio-connector/test/pushovertest"
)

// newProvider returns a provider talking to s with s's token.
func newProvider(t *testing.T, s *pushovertest.Server, edit ...func(*Options)) *Provider {
	t.Helper()
	opts := Options{Connection: "pager", Token: s.Token(), BaseURL: s.URL(), Timeout: 2 * time.Second}
	for _, e := range edit {
		e(&opts)
	}
	p, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// failure asserts that err is an *errs.Error of code, says whether it is retryable and
// Uncertain as expected, and shows no secret however it is printed.
func failure(t *testing.T, err error, code errs.Code, uncertain bool, secrets ...string) *errs.Error {
	t.Helper()
	if err == nil {
		t.Fatalf("no error, want %s", code)
	}
	var e *errs.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *errs.Error", err, err)
	}
	if e.Code != code || e.Uncertain != uncertain {
		t.Fatalf("got %s uncertain=%v (%v), want %s uncertain=%v", e.Code, e.Uncertain, e, code, uncertain)
	}
	for _, s := range secrets {
		for _, shown := range []string{e.Error(), fmt.Sprintf("%+v", e), fmt.Sprint(e.Err)} {
			if strings.Contains(shown, s) {
				t.Fatalf("error shows a secret: %s", shown)
			}
		}
	}
	return e
}

func TestSendPostsPushoversFields(t *testing.T) {
	s := pushovertest.New(t)
	user := s.NewUser()
	prio := 1
	p := newProvider(t, s, func(o *Options) { o.Priority, o.Sound = &prio, "siren" })
	sent, err := p.Send(context.Background(), providers.Message{To: user, From: "+15005550006", Subject: "Order 4711",
		Body: "is ready", MediaURLs: []string{"https://example.com/o/4711"}, ID: "k1"})
	if err != nil {
		t.Fatal(err)
	}
	got := s.Sent()
	if len(got) != 1 {
		t.Fatalf("stand-in accepted %d messages", len(got))
	}
	m := got[0]
	if sent.SID != m.Request || sent.Status != "sent" {
		t.Errorf("Sent %+v, want sid %s status sent", sent, m.Request)
	}
	want := url.Values{"user": {user}, "message": {"is ready"}, "title": {"Order 4711"},
		"url": {"https://example.com/o/4711"}, "priority": {"1"}, "sound": {"siren"}}
	if fmt.Sprint(m.Form) != fmt.Sprint(want) {
		t.Errorf("form (without token) = %v, want %v", m.Form, want)
	}
	r := s.Requests()[0]
	if r.Method != http.MethodPost || r.Path != "/1/messages.json" || r.ContentType != "application/x-www-form-urlencoded" || !r.TokenValid {
		t.Errorf("request %+v", r)
	}
}

func TestSendLeavesOptionalFieldsOut(t *testing.T) {
	s := pushovertest.New(t)
	user := s.NewUser()
	if _, err := newProvider(t, s).Send(context.Background(), providers.Message{To: user, Body: "hi"}); err != nil {
		t.Fatal(err)
	}
	if f := s.Sent()[0].Form; len(f) != 2 || f.Get("user") != user || f.Get("message") != "hi" {
		t.Errorf("form %v, want only user and message (and token)", f)
	}
}

func TestPushoverRejections(t *testing.T) {
	s := pushovertest.New(t)
	token := s.Token()
	p := newProvider(t, s)

	_, err := p.Send(context.Background(), providers.Message{To: pushovertest.NewKey(), Body: "hi"})
	e := failure(t, err, errs.InvalidToPhoneNumber, false, token)
	if e.Field != FieldTo || e.Retryable() {
		t.Errorf("unknown user: %v", e)
	}

	s.SetToken(pushovertest.NewKey())
	_, err = p.Send(context.Background(), providers.Message{To: s.NewUser(), Body: "hi"})
	e = failure(t, err, errs.Authentication, false, token)
	if e.Field != FieldToken || !strings.Contains(e.Message, "pager") || e.Retryable() {
		t.Errorf("bad token: %v", e)
	}
	if n := len(s.Sent()); n != 0 {
		t.Errorf("stand-in accepted %d messages", n)
	}
}

func TestPushoverFaults(t *testing.T) {
	cases := []struct {
		name      string
		program   func(s *pushovertest.Server, user string)
		code      errs.Code
		uncertain bool
		retry     time.Duration // least RetryAfter
		accepted  int
	}{
		{"429 over the monthly limit", func(s *pushovertest.Server, u string) {
			s.FailWith(u, 1, faults.Failure{Status: 429, RetryAfter: "7"})
		}, errs.RateLimited, false, 7 * time.Second, 0},
		{"500", func(s *pushovertest.Server, u string) { s.FailTimes(u, 1, 500) }, errs.Connection, false, ServerErrorWait, 0},
		{"503 with a longer Retry-After", func(s *pushovertest.Server, u string) {
			s.FailWith(u, 1, faults.Failure{Status: 503, RetryAfter: "30"})
		}, errs.Connection, false, 30 * time.Second, 0},
		{"other 4xx", func(s *pushovertest.Server, u string) { s.FailTimes(u, 1, 413) }, errs.TwilioRequestRejected, false, 0, 0},
		{"timeout", func(s *pushovertest.Server, u string) { s.Hang(u) }, errs.Connection, true, 0, 0},
		{"accepted, answer lost", func(s *pushovertest.Server, u string) { s.AcceptThenDrop(u, 1) }, errs.Connection, true, 0, 1},
		{"200 that is not Pushover's", func(s *pushovertest.Server, u string) {
			s.FailWith(u, 1, faults.Failure{Status: 200, Body: "<html>proxy</html>"})
		}, errs.Connection, true, 0, 0},
		{"200 with Pushover's rejection", func(s *pushovertest.Server, u string) {
			s.FailWith(u, 1, faults.Failure{Status: 200, Body: `{"user":"invalid","errors":["user identifier is not a valid user, group, or subscribed user key"],"status":0,"request":"5c4487c0"}`})
		}, errs.InvalidToPhoneNumber, false, 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := pushovertest.New(t)
			user := s.NewUser()
			tc.program(s, user)
			p := newProvider(t, s, func(o *Options) { o.Timeout = 300 * time.Millisecond })
			_, err := p.Send(context.Background(), providers.Message{To: user, Body: "hi"})
			e := failure(t, err, tc.code, tc.uncertain, s.Token())
			if e.Retryable() != (tc.code == errs.RateLimited || tc.code == errs.Connection) || e.RetryAfter < tc.retry {
				t.Errorf("retryable=%v RetryAfter=%v", e.Retryable(), e.RetryAfter)
			}
			if n := len(s.Sent()); n != tc.accepted {
				t.Errorf("stand-in accepted %d messages, want %d", n, tc.accepted)
			}
		})
	}
}

func TestUnreachablePushoverIsCertainlyNotSent(t *testing.T) {
	s := pushovertest.New(t)
	p := newProvider(t, s, func(o *Options) { o.BaseURL = "http://127.0.0.1:1" })
	_, err := p.Send(context.Background(), providers.Message{To: s.NewUser(), Body: "hi"})
	if e := failure(t, err, errs.Connection, false, s.Token()); !e.Retryable() {
		t.Errorf("not retryable: %v", e)
	}
}

func TestInputCheckedBeforeSending(t *testing.T) {
	s := pushovertest.New(t)
	p := newProvider(t, s)
	user := s.NewUser()
	cases := []struct {
		m     providers.Message
		field string
	}{
		{providers.Message{To: user, Body: strings.Repeat("é", MaxMessage+1)}, FieldBody},
		{providers.Message{To: user, Body: "  "}, FieldBody},
		{providers.Message{To: user, Body: "hi", Subject: strings.Repeat("t", MaxTitle+1)}, FieldSubject},
		{providers.Message{To: user, Body: "hi", MediaURLs: []string{"https://a.example", "https://b.example"}}, FieldMediaURL},
	}
	for _, tc := range cases {
		_, err := p.Send(context.Background(), tc.m)
		if e := errs.As(err); e == nil || e.Field != tc.field || e.Retryable() {
			t.Errorf("error %v, want one about %s", err, tc.field)
		}
	}
	// The stand-in takes exactly Pushover's limits.
	if _, err := p.Send(context.Background(), providers.Message{To: user, Body: strings.Repeat("é", MaxMessage), Subject: strings.Repeat("t", MaxTitle)}); err != nil {
		t.Fatal(err)
	}
	if n := len(s.Requests()); n != 1 {
		t.Errorf("%d requests reached Pushover, want only the valid one", n)
	}
}

func TestToTakesKeysOnly(t *testing.T) {
	p := newProvider(t, pushovertest.New(t))
	key := pushovertest.NewKey()
	if got, err := p.To("smsTo", " "+key+" ", ""); err != nil || got != key {
		t.Errorf("To(key) = %q, %v", got, err)
	}
	for _, bad := range []string{"+14155550100", key[:29], key + "x", "uQiRzpo4DXghDmr9QzzfQu27cmVRs!"} {
		if _, err := p.To("smsTo", bad, ""); err == nil || !strings.Contains(err.Error(), "smsTo") {
			t.Errorf("To(%q) = %v, want an error naming smsTo", bad, err)
		}
	}
	if from, err := p.From("smsFrom", "+15005550006", ""); from != "" || err != nil {
		t.Errorf("From = %q, %v: Pushover has no sender", from, err)
	}
	if p.DirectoryField() != "pushover" || p.Kind() != "pushover" {
		t.Error("DirectoryField or Kind")
	}
	if _, _, err := p.Find(context.Background(), providers.Message{}, time.Now()); !errors.Is(err, providers.ErrNoLookup) {
		t.Errorf("Find = %v, want ErrNoLookup", err)
	}
}

func fields(t *testing.T, doc string) *providers.Fields {
	t.Helper()
	f, err := providers.ParseFields("pager", doc)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestConstruct(t *testing.T) {
	s := pushovertest.New(t)
	tokenFile := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(tokenFile, []byte(s.Token()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := Construct(providers.Settings{Name: "pager", Fields: fields(t, "token_file: "+tokenFile+"\napi_base_url: "+s.URL()+"\npriority: -1\nsound: none\n")})
	if err != nil {
		t.Fatal(err)
	}
	user := s.NewUser()
	if _, err := p.Send(context.Background(), providers.Message{To: user, Body: "hi"}); err != nil {
		t.Fatal(err)
	}
	if f := s.Sent()[0].Form; f.Get("priority") != "-1" || f.Get("sound") != "none" {
		t.Errorf("form %v", f)
	}

	secret := pushovertest.NewKey()
	for _, tc := range []struct{ doc, field string }{
		{"api_base_url: " + s.URL(), "token"},
		{"token: not-a-token-" + secret[:5], "token"},
		{"token: " + secret + "\napi_base_url: ftp://example.com", "api_base_url"},
		{"token: " + secret + "\npriority: 2", "priority"},
		{"token: " + secret + "\npriority: high", "priority"},
		{"token: " + secret + "\ntoken_file: " + tokenFile, "token"},
	} {
		_, err := Construct(providers.Settings{Name: "pager", Fields: fields(t, tc.doc)})
		var fe *providers.FieldError
		if !errors.As(err, &fe) || fe.Connection != "pager" || fe.Field != tc.field {
			t.Errorf("%q: error %v, want one naming connection pager and field %s", tc.doc, err, tc.field)
			continue
		}
		if strings.Contains(err.Error(), secret[:5]) {
			t.Errorf("%q: error shows the token: %v", tc.doc, err)
		}
	}
}
