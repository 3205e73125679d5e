package httpchannel

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twilio-connector/twilio-connector/errs"
	"github.com/twilio-connector/twilio-connector/providers"
	"github.com/twilio-connector/twilio-connector/test/faults"
	"github.com/twilio-connector/twilio-connector/test/httpchanneltest"
)

const apiKey = "Bearer gw-secret-0123456789"

// newProvider returns a provider posting to s, which requires apiKey.
func newProvider(t *testing.T, s *httpchanneltest.Server, edit ...func(*Options)) *Provider {
	t.Helper()
	s.RequireHeader("Authorization", apiKey)
	opts := Options{Connection: "gateway", URL: s.URL(), Headers: map[string]string{"Authorization": apiKey}, Timeout: 2 * time.Second}
	for _, e := range edit {
		e(&opts)
	}
	p, err := New(opts)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// failure asserts that err is an *errs.Error of code and uncertainty, and that no secret shows
// however it is printed.
func failure(t *testing.T, err error, code errs.Code, uncertain bool, secrets ...string) *errs.Error {
	t.Helper()
	var e *errs.Error
	if !errors.As(err, &e) {
		t.Fatalf("error %v (%T) is not an *errs.Error", err, err)
	}
	if e.Code != code || e.Uncertain != uncertain {
		t.Fatalf("got %s uncertain=%v (%v), want %s uncertain=%v", e.Code, e.Uncertain, e, code, uncertain)
	}
	for _, s := range append(secrets, "gw-secret-0123456789") {
		for _, shown := range []string{e.Error(), fmt.Sprintf("%+v", e), fmt.Sprint(e.Err)} {
			if strings.Contains(shown, s) {
				t.Fatalf("error shows a secret: %s", shown)
			}
		}
	}
	return e
}

var msg = providers.Message{To: "+14155550100", From: "+15005550006", Subject: "ignored", Body: "Order 4711 is ready", ID: "job-1-0"}

func TestSendPostsTheContractsFields(t *testing.T) {
	for _, format := range []string{FormatJSON, FormatForm} {
		t.Run(format, func(t *testing.T) {
			s := httpchanneltest.New(t)
			p := newProvider(t, s, func(o *Options) { o.Format = format; o.Headers["X-Api-Version"] = "2" })
			m := msg
			m.MediaURLs = []string{"https://example.com/a.png"}
			sent, err := p.Send(context.Background(), m)
			if err != nil {
				t.Fatal(err)
			}
			got := s.Sent()
			if len(got) != 1 {
				t.Fatalf("gateway accepted %d messages", len(got))
			}
			want := map[string]string{"id": "job-1-0", "text": "Order 4711 is ready\nhttps://example.com/a.png", "to": "+14155550100",
				"to_no_plus": "14155550100", "from": "+15005550006", "from_no_plus": "15005550006", "channel": "gateway"}
			if fmt.Sprint(got[0].Fields) != fmt.Sprint(want) || got[0].Format != format {
				t.Errorf("posted %s %v, want %s %v", got[0].Format, got[0].Fields, format, want)
			}
			if r := s.Requests()[0]; r.Method != http.MethodPost || r.Header.Get("X-Api-Version") != "2" {
				t.Errorf("request %s with headers %v", r.Method, r.Header)
			}
			if sent.SID != got[0].GatewayID || sent.Status != "sent" {
				t.Errorf("Sent %+v, want the gateway's id %s", sent, got[0].GatewayID)
			}
		})
	}
}

func TestSidIsTheGatewaysIDElseOurs(t *testing.T) {
	cases := []struct {
		status      int
		contentType string
		body, sid   string
	}{
		{200, "application/json", `{"id": 12345}`, "12345"},
		{201, "application/json", `{"id": "abc"}`, "abc"},
		{202, "text/plain", "queued", "job-1-0"},
		{200, "application/json", `{"status": "queued"}`, "job-1-0"},
		{204, "text/plain", "", "job-1-0"},
	}
	for _, tc := range cases {
		s := httpchanneltest.New(t)
		s.SetReply(tc.status, tc.contentType, tc.body)
		sent, err := newProvider(t, s).Send(context.Background(), msg)
		if err != nil || sent.SID != tc.sid {
			t.Errorf("answer %d %q: sid %q, %v; want %q", tc.status, tc.body, sent.SID, err, tc.sid)
		}
	}
}

func TestOneIDForEveryAttemptOrAFreshOne(t *testing.T) {
	s := httpchanneltest.New(t)
	p := newProvider(t, s)
	m := msg
	m.ID = ""
	for range 2 {
		if _, err := p.Send(context.Background(), m); err != nil {
			t.Fatal(err)
		}
	}
	got := s.Sent()
	if a, b := got[0].Fields["id"], got[1].Fields["id"]; a == "" || a == b {
		t.Errorf("ids %q %q: want fresh ones when the message has none", a, b)
	}
}

func TestGatewayFaults(t *testing.T) {
	cases := []struct {
		name      string
		program   func(s *httpchanneltest.Server)
		code      errs.Code
		uncertain bool
		retry     time.Duration
		accepted  int
	}{
		{"429", func(s *httpchanneltest.Server) { s.FailWith(msg.To, 1, faults.Failure{Status: 429, RetryAfter: "3"}) }, errs.RateLimited, false, 3 * time.Second, 0},
		{"500", func(s *httpchanneltest.Server) { s.FailTimes(msg.To, 1, 500) }, errs.Connection, false, 0, 0},
		{"503 Retry-After", func(s *httpchanneltest.Server) { s.FailWith(msg.To, 1, faults.Failure{Status: 503, RetryAfter: "9"}) }, errs.Connection, false, 9 * time.Second, 0},
		{"400 permanent", func(s *httpchanneltest.Server) { s.FailTimes(msg.To, 1, 400) }, errs.TwilioRequestRejected, false, 0, 0},
		{"404 permanent", func(s *httpchanneltest.Server) { s.FailTimes(msg.To, 1, 404) }, errs.TwilioRequestRejected, false, 0, 0},
		{"403 credentials", func(s *httpchanneltest.Server) { s.FailTimes(msg.To, 1, 403) }, errs.Authentication, false, 0, 0},
		{"redirect", func(s *httpchanneltest.Server) { s.FailTimes(msg.To, 1, 302) }, errs.TwilioRequestRejected, false, 0, 0},
		{"timeout", func(s *httpchanneltest.Server) { s.Hang(msg.To) }, errs.Connection, true, 0, 0},
		{"accepted, answer lost", func(s *httpchanneltest.Server) { s.AcceptThenDrop(msg.To, 1) }, errs.Connection, true, 0, 1},
		{"error body echoing the credentials", func(s *httpchanneltest.Server) {
			s.FailWith(msg.To, 1, faults.Failure{Status: 422, Body: `{"error":"bad request with Authorization: ` + apiKey + `"}`})
		}, errs.TwilioRequestRejected, false, 0, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := httpchanneltest.New(t)
			tc.program(s)
			p := newProvider(t, s, func(o *Options) { o.Timeout = 300 * time.Millisecond })
			_, err := p.Send(context.Background(), msg)
			e := failure(t, err, tc.code, tc.uncertain)
			if e.Retryable() != (tc.code == errs.RateLimited || tc.code == errs.Connection) || e.RetryAfter != tc.retry {
				t.Errorf("retryable=%v RetryAfter=%v", e.Retryable(), e.RetryAfter)
			}
			if n := len(s.Sent()); n != tc.accepted {
				t.Errorf("gateway accepted %d messages, want %d", n, tc.accepted)
			}
		})
	}
}

func TestWrongCredentialsAreAnAuthenticationError(t *testing.T) {
	s := httpchanneltest.New(t)
	p := newProvider(t, s)
	s.RequireHeader("Authorization", "Bearer rotated")
	_, err := p.Send(context.Background(), msg)
	if e := failure(t, err, errs.Authentication, false); e.Field != "headers" || e.Retryable() {
		t.Errorf("%v", e)
	}
}

func TestURLNeverShown(t *testing.T) {
	s := httpchanneltest.New(t)
	s.Hang("")
	secretURL := s.URL() + "?api_key=url-secret-42"
	p := newProvider(t, s, func(o *Options) { o.URL = secretURL; o.Timeout = 200 * time.Millisecond })
	_, err := p.Send(context.Background(), msg)
	failure(t, err, errs.Connection, true, "url-secret-42", secretURL)

	dead, err := New(Options{Connection: "gateway", URL: "http://user:pw-secret-7@127.0.0.1:1/send?key=url-secret-42"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = dead.Send(context.Background(), msg)
	if e := failure(t, err, errs.Connection, false, "url-secret-42", "pw-secret-7"); !e.Retryable() {
		t.Errorf("unreachable gateway: %v", e)
	}
}

func TestInputCheckedBeforeSending(t *testing.T) {
	s := httpchanneltest.New(t)
	_, err := newProvider(t, s).Send(context.Background(), providers.Message{To: "+14155550100", Body: " "})
	if e := errs.As(err); e == nil || e.Field != FieldBody || e.Code != errs.MissingInput {
		t.Errorf("empty text: %v", err)
	}
	if n := len(s.Requests()); n != 0 {
		t.Errorf("%d requests reached the gateway", n)
	}
}

func TestAddressesArePhoneNumbers(t *testing.T) {
	p := newProvider(t, httpchanneltest.New(t))
	if got, err := p.To("smsTo", "+1 415 555 0100", ""); err != nil || got != "+14155550100" {
		t.Errorf("To = %q, %v", got, err)
	}
	if _, err := p.To("smsTo", "hello", ""); err == nil || !strings.Contains(err.Error(), "smsTo") {
		t.Errorf("To(hello) = %v, want an error naming smsTo", err)
	}
	if from, err := p.From("smsFrom", "", ""); from != "" || err != nil {
		t.Errorf("no sender: %q, %v; the HTTP channel sends without one", from, err)
	}
	if p.DirectoryField() != "phone" || p.Kind() != "http" {
		t.Error("DirectoryField or Kind")
	}
	if _, _, err := p.Find(context.Background(), msg, time.Now()); !errors.Is(err, providers.ErrNoLookup) {
		t.Errorf("Find = %v, want ErrNoLookup", err)
	}
}

func fields(t *testing.T, doc string) *providers.Fields {
	t.Helper()
	f, err := providers.ParseFields("gateway", doc)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestConstruct(t *testing.T) {
	s := httpchanneltest.New(t)
	s.RequireHeader("Authorization", apiKey)
	dir := t.TempDir()
	urlFile := filepath.Join(dir, "url")
	if err := os.WriteFile(urlFile, []byte(s.URL()+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	doc := "url_file: " + urlFile + "\nformat: form\nheaders: {Authorization: \"" + apiKey + "\"}\ninbound_secret: in-secret\n"
	p, err := Construct(providers.Settings{Name: "gateway", Fields: fields(t, doc)})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Send(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	if got := s.Sent()[0]; got.Format != FormatForm || got.Fields["channel"] != "gateway" {
		t.Errorf("sent %+v", got)
	}
	if p.(*Provider).InboundSecret() != "in-secret" {
		t.Error("inbound_secret not kept")
	}

	headersFile := filepath.Join(dir, "headers")
	if err := os.WriteFile(headersFile, []byte("# the gateway's key\nAuthorization: "+apiKey+"\n\nX-Tenant: 7\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err = Construct(providers.Settings{Name: "gateway", Fields: fields(t, "url: "+s.URL()+"\nheaders_file: "+headersFile+"\nheaders: {X-Api-Version: \"2\"}\n")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Send(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	if h := s.Requests()[1].Header; h.Get("X-Tenant") != "7" || h.Get("X-Api-Version") != "2" {
		t.Errorf("headers %v", h)
	}
	badHeaders := filepath.Join(dir, "bad-headers")
	if err := os.WriteFile(badHeaders, []byte("Authorization "+apiKey+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}

	for _, tc := range []struct{ doc, field string }{
		{"url: https://gw.example/send\nheaders_file: " + badHeaders, "headers_file"},
		{"url: https://gw.example/send\nheaders_file: " + headersFile + "\nheaders: {authorization: x}", "headers_file"},
		{"url: https://gw.example/send\nheaders_file: " + filepath.Join(dir, "missing"), "headers_file"},
		{"format: json", "url"},
		{"url: ftp://gw.example/send", "url"},
		{"url: https://gw.example/send\nformat: xml", "format"},
		{"url: https://gw.example/send\nheaders: [a, b]", "headers"},
		{"url: https://gw.example/send\nheaders: {Content-Type: text/plain}", "headers"},
		{"url: https://gw.example/send\nurl_file: " + urlFile, "url"},
	} {
		_, err := Construct(providers.Settings{Name: "gateway", Fields: fields(t, tc.doc)})
		var fe *providers.FieldError
		if !errors.As(err, &fe) || fe.Connection != "gateway" || fe.Field != tc.field {
			t.Errorf("%q: error %v, want one naming connection gateway and field %s", tc.doc, err, tc.field)
		} else if strings.Contains(err.Error(), "gw-secret") {
			t.Errorf("%q: error shows a header value: %v", tc.doc, err)
		}
	}
}
