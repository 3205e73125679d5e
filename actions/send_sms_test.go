package actions

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twilio-connector/twilio-connector/errs"
	"github.com/twilio-connector/twilio-connector/providers"
	"github.com/twilio-connector/twilio-connector/providers/twilio"
	"github.com/twilio-connector/twilio-connector/store"
	"github.com/twilio-connector/twilio-connector/test/twiliotest"
)

const (
	alice      = "+14155550101"
	bob        = "+14155550102"
	carol      = "+14155550103"
	fromNumber = "+15005550006"
	service    = "MG0123456789abcdef0123456789abcdef"
)

type fixture struct {
	fake *twiliotest.Server
	sms  *SMS
	logs *bytes.Buffer
}

// fixtureOpts are the action's options and the default connection's settings.
type fixtureOpts struct {
	DefaultFrom, MessagingServiceSID, StatusCallbackURL string
	Directory                                           Directory
}

// defaultConnection is the connection default through tw.
func defaultConnection(tw *twilio.Twilio, defaultFrom string) providers.Connections {
	return providers.Connections{providers.DefaultConnection: {Name: providers.DefaultConnection, Provider: tw, DefaultFrom: defaultFrom}}
}

func newFixture(t *testing.T, o fixtureOpts, tweak func(*Delivery, *twilio.Options)) fixture {
	fake := twiliotest.New(t)
	logs := &bytes.Buffer{}
	topts := twilio.Options{AccountSID: fake.AccountSID, AuthToken: fake.AuthToken, BaseURL: fake.URL(), Timeout: 2 * time.Second,
		MessagingServiceSID: o.MessagingServiceSID}
	d := &Delivery{Kind: "sms", Store: store.NewMemory(0), Attempts: 3, Parallelism: 2,
		BaseBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond,
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))}
	if tweak != nil {
		tweak(d, &topts)
	}
	tw, err := twilio.New(topts)
	if err != nil {
		t.Fatal(err)
	}
	opts := SMSOptions{StatusCallbackURL: o.StatusCallbackURL, Directory: o.Directory}
	return fixture{fake: fake, sms: NewSMS(defaultConnection(tw, o.DefaultFrom), d, opts), logs: logs}
}

func vars(kv ...any) map[string]any {
	m := map[string]any{}
	for i := 0; i < len(kv); i += 2 {
		m[kv[i].(string)] = kv[i+1]
	}
	return m
}

func list(s ...string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// errorCodes lists twilioError as "to:code" (to "-" for request-level errors).
func errorCodes(r Result) []string {
	var out []string
	for _, e := range r.TwilioError {
		to := "-"
		if e.To != nil {
			to = *e.To
		}
		out = append(out, to+":"+string(e.Code))
	}
	return out
}

func TestSendSMS(t *testing.T) {
	cases := []struct {
		name      string
		opts      fixtureOpts
		setup     func(f fixture)
		vars      map[string]any
		wantTo    []string // twilioResult "to", in order
		wantSent  []bool   // twilioResult entry has a sid
		wantErrs  []string // errorCodes
		wantRetry bool     // Invoke returned a transient error
		check     func(t *testing.T, f fixture, r Result)
	}{
		{
			name:     "several recipients, one message each, in input order",
			vars:     vars("smsFrom", fromNumber, "smsTo", list(alice, bob, carol), "smsBody", "Order ${id} ready", "id", json.Number("42")),
			wantTo:   []string{alice, bob, carol},
			wantSent: []bool{true, true, true},
			check: func(t *testing.T, f fixture, r Result) {
				sids := map[string]bool{}
				for _, e := range r.TwilioResult {
					sids[*e.SID] = true
					if e.Status != "queued" {
						t.Errorf("status %q", e.Status)
					}
				}
				if len(sids) != 3 {
					t.Errorf("sids not distinct: %v", sids)
				}
				for _, m := range f.fake.Sent() {
					if m.Body != "Order 42 ready" || m.From != fromNumber {
						t.Errorf("sent %+v", m)
					}
				}
				for _, rq := range f.fake.Requests() {
					if rq.User != f.fake.AccountSID {
						t.Errorf("basic auth user %q", rq.User)
					}
				}
			},
		},
		{
			name:     "duplicates and formats of one number are sent once",
			vars:     vars("smsFrom", fromNumber, "smsTo", alice+", "+bob+","+alice, "smsBody", "hi"),
			wantTo:   []string{alice, bob},
			wantSent: []bool{true, true},
			check: func(t *testing.T, f fixture, r Result) {
				if n := f.fake.CountTo(alice); n != 1 {
					t.Errorf("alice got %d requests", n)
				}
			},
		},
		{
			name: "mixed good and bad recipients",
			setup: func(f fixture) {
				f.fake.Fail(bob, 400, 21211, "The 'To' number is not a valid phone number.")
				f.fake.Fail(carol, 400, 21610, "Attempt to send to unsubscribed recipient")
			},
			vars:     vars("smsFrom", fromNumber, "smsTo", list(alice, "+1555", bob, carol), "smsBody", "hi"),
			wantTo:   []string{alice, "+1555", bob, carol},
			wantSent: []bool{true, false, false, false},
			wantErrs: []string{"+1555:INVALID_TO_PHONE_NUMBER_ERROR", bob + ":INVALID_TO_PHONE_NUMBER_ERROR", carol + ":SMS_RECIPIENT_OPTED_OUT"},
			check: func(t *testing.T, f fixture, r Result) {
				if c := r.TwilioError[1].TwilioCode; c == nil || *c != 21211 {
					t.Errorf("twilioCode %v", c)
				}
				if r.TwilioError[0].TwilioCode != nil {
					t.Error("a locally rejected number has no Twilio code")
				}
				if n := f.fake.CountTo(bob); n != 1 {
					t.Errorf("permanent error retried: %d requests", n)
				}
				if n := f.fake.CountTo("+1555"); n != 0 {
					t.Error("an invalid number reached Twilio")
				}
			},
		},
		{
			name:     "transient errors are retried within the request",
			setup:    func(f fixture) { f.fake.FailTimes(alice, 2, 503, 0) },
			vars:     vars("smsFrom", fromNumber, "smsTo", list(alice), "smsBody", "hi"),
			wantTo:   []string{alice},
			wantSent: []bool{true},
			check: func(t *testing.T, f fixture, r Result) {
				if n, s := f.fake.CountTo(alice), f.fake.CountSentTo(alice); n != 3 || s != 1 {
					t.Errorf("requests %d, accepted %d; want 3, 1", n, s)
				}
			},
		},
		{
			name:      "transient errors beyond the attempts are reported as retryable",
			setup:     func(f fixture) { f.fake.FailTimes(bob, 3, 429, 20429) },
			vars:      vars("smsFrom", fromNumber, "smsTo", list(alice, bob), "smsBody", "hi"),
			wantTo:    []string{alice, bob},
			wantSent:  []bool{true, false},
			wantErrs:  []string{bob + ":TWILIO_RATE_LIMITED"},
			wantRetry: true,
		},
		{
			name:     "wrong credentials are not retried",
			setup:    func(f fixture) { f.fake.AuthToken = "x" }, // the fake now expects another token
			vars:     vars("smsFrom", fromNumber, "smsTo", list(alice), "smsBody", "hi"),
			wantTo:   []string{alice},
			wantSent: []bool{false},
			wantErrs: []string{alice + ":AUTHENTICATION_CONNECTION_ERROR"},
			check: func(t *testing.T, f fixture, r Result) {
				if n := f.fake.CountTo(alice); n != 1 {
					t.Errorf("%d requests", n)
				}
			},
		},
		{
			name:     "testing mode renders and sends nothing",
			vars:     vars("smsFrom", fromNumber, "smsTo", list(alice), "smsBody", "Hi ${name}", "name", "Ana", "smsTesting", true),
			wantTo:   []string{alice},
			wantSent: []bool{false},
			check: func(t *testing.T, f fixture, r Result) {
				if r.TwilioResult[0].Status != StatusTesting || r.TwilioResult[0].Body != "Hi Ana" {
					t.Errorf("%+v", r.TwilioResult[0])
				}
				if len(f.fake.Requests()) != 0 {
					t.Error("testing mode sent a request")
				}
			},
		},
		{
			name:     "messaging service from configuration when smsFrom is absent",
			opts:     fixtureOpts{MessagingServiceSID: service},
			vars:     vars("smsTo", alice, "smsBody", "hi"),
			wantTo:   []string{alice},
			wantSent: []bool{true},
			check: func(t *testing.T, f fixture, r Result) {
				m := f.fake.Sent()[0]
				if m.MessagingServiceSID != service || m.From != "" {
					t.Errorf("sent %+v", m)
				}
			},
		},
		{
			name:     "default fromNumber, media URLs and status callback",
			opts:     fixtureOpts{DefaultFrom: fromNumber, StatusCallbackURL: "https://connector.example.com/twilio/status"},
			vars:     vars("smsTo", alice, "smsBody", "pic", "smsMediaUrl", list("https://example.com/a.png", "https://example.com/b.png")),
			wantTo:   []string{alice},
			wantSent: []bool{true},
			check: func(t *testing.T, f fixture, r Result) {
				m := f.fake.Sent()[0]
				if m.From != fromNumber || len(m.MediaURLs) != 2 || m.StatusCallback != "https://connector.example.com/twilio/status" {
					t.Errorf("sent %+v", m)
				}
			},
		},
		{
			name:     "messaging service SID given as smsFrom",
			vars:     vars("smsFrom", service, "smsTo", alice, "smsBody", "hi"),
			wantTo:   []string{alice},
			wantSent: []bool{true},
			check: func(t *testing.T, f fixture, r Result) {
				if m := f.fake.Sent()[0]; m.MessagingServiceSID != service {
					t.Errorf("sent %+v", m)
				}
			},
		},
		{
			name:     "alphanumeric fromNumber id",
			vars:     vars("smsFrom", "ACME Shop", "smsTo", alice, "smsBody", "hi"),
			wantTo:   []string{alice},
			wantSent: []bool{true},
		},
		{
			name:     "WhatsApp sender and recipients",
			vars:     vars("smsFrom", "whatsapp:"+fromNumber, "smsTo", list("whatsapp:"+alice, "whatsapp: +1 415 555 0102"), "smsBody", "hi"),
			wantTo:   []string{"whatsapp:" + alice, "whatsapp:" + bob},
			wantSent: []bool{true, true},
			check: func(t *testing.T, f fixture, r Result) {
				if m := f.fake.Sent()[0]; m.From != "whatsapp:"+fromNumber || !strings.HasPrefix(m.To, "whatsapp:+1415") {
					t.Errorf("sent %+v", m)
				}
			},
		},
		{
			name:     "WhatsApp and SMS are not mixed",
			vars:     vars("smsFrom", "whatsapp:"+fromNumber, "smsTo", list(alice, "whatsapp:+1555"), "smsBody", "hi"),
			wantTo:   []string{alice, "whatsapp:+1555"},
			wantSent: []bool{false, false},
			wantErrs: []string{alice + ":INVALID_TO_PHONE_NUMBER_ERROR", "whatsapp:+1555:INVALID_TO_PHONE_NUMBER_ERROR"},
			check: func(t *testing.T, f fixture, r Result) {
				if !strings.Contains(r.TwilioError[0].Message, "write it as whatsapp:"+alice) || len(f.fake.Requests()) != 0 {
					t.Errorf("%+v", r.TwilioError[0])
				}
			},
		},
		{
			name:     "a WhatsApp recipient needs a WhatsApp sender",
			vars:     vars("smsFrom", fromNumber, "smsTo", "whatsapp:"+alice, "smsBody", "hi"),
			wantTo:   []string{"whatsapp:" + alice},
			wantSent: []bool{false},
			wantErrs: []string{"whatsapp:" + alice + ":INVALID_TO_PHONE_NUMBER_ERROR"},
		},
		{
			name:     "recipients named through the directory",
			opts:     fixtureOpts{Directory: FileDirectory{"mary.major": {"phone": alice}}},
			vars:     vars("smsFrom", fromNumber, "smsTo", list("user:mary.major", "user:nobody", alice), "smsBody", "hi"),
			wantTo:   []string{alice, "user:nobody"},
			wantSent: []bool{true, false},
			wantErrs: []string{"user:nobody:INVALID_TO_PHONE_NUMBER_ERROR"},
			check: func(t *testing.T, f fixture, r Result) {
				if r.TwilioResult[0].User != "mary.major" || !strings.Contains(r.TwilioError[0].Message, `user "nobody"`) || f.fake.CountTo(alice) != 1 {
					t.Errorf("%+v %+v", r.TwilioResult, r.TwilioError)
				}
			},
		},
		{
			name:     "a user recipient without a directory",
			vars:     vars("smsFrom", fromNumber, "smsTo", "user:mary", "smsBody", "hi"),
			wantTo:   []string{"user:mary"},
			wantSent: []bool{false},
			wantErrs: []string{"user:mary:INVALID_TO_PHONE_NUMBER_ERROR"},
			check: func(t *testing.T, f fixture, r Result) {
				if !strings.Contains(r.TwilioError[0].Message, "CONNECTOR_DIRECTORY_FILE") {
					t.Errorf("%+v", r.TwilioError[0])
				}
			},
		},
		{name: "missing smsTo", vars: vars("smsFrom", fromNumber, "smsBody", "hi"), wantTo: []string{}, wantErrs: []string{"-:MISSING_INPUT"}},
		{name: "missing smsBody", vars: vars("smsFrom", fromNumber, "smsTo", alice), wantTo: []string{}, wantErrs: []string{"-:MISSING_INPUT"}},
		{name: "missing fromNumber", vars: vars("smsTo", alice, "smsBody", "hi"), wantTo: []string{}, wantErrs: []string{"-:MISSING_INPUT"}},
		{name: "invalid fromNumber", vars: vars("smsFrom", "+1555", "smsTo", alice, "smsBody", "hi"), wantTo: []string{}, wantErrs: []string{"-:INVALID_FROM_PHONE_NUMBER_ERROR"}},
		// A sender need only be a possible number: Twilio says whether it is the account's.
		{name: "sender outside libphonenumber's ranges", vars: vars("smsFrom", "+19999999999", "smsTo", alice, "smsBody", "hi"), wantTo: []string{alice}},
		{name: "recipient outside libphonenumber's ranges", vars: vars("smsFrom", fromNumber, "smsTo", "+19999999999", "smsBody", "hi"), wantTo: []string{"+19999999999"}, wantErrs: []string{"+19999999999:INVALID_TO_PHONE_NUMBER_ERROR"}},
		{name: "smsTo of the wrong type", vars: vars("smsFrom", fromNumber, "smsTo", json.Number("5"), "smsBody", "hi"), wantTo: []string{}, wantErrs: []string{"-:INVALID_INPUT"}},
		{name: "bad media URL", vars: vars("smsFrom", fromNumber, "smsTo", alice, "smsBody", "hi", "smsMediaUrl", "file:///etc/passwd"), wantTo: []string{}, wantErrs: []string{"-:INVALID_INPUT"}},
		{
			name: "body too long", vars: vars("smsFrom", fromNumber, "smsTo", alice, "smsBody", strings.Repeat("é", MaxBodyChars+1)),
			wantTo: []string{}, wantErrs: []string{"-:INVALID_INPUT"},
			check: func(t *testing.T, f fixture, r Result) {
				if r.TwilioError[0].Field != FieldSMSBody || len(f.fake.Requests()) != 0 {
					t.Errorf("%+v", r.TwilioError[0])
				}
			},
		},
		{
			name: "missing template variable names it", vars: vars("smsFrom", fromNumber, "smsTo", alice, "smsBody", "Order ${orderId}"),
			wantTo: []string{}, wantErrs: []string{"-:INVALID_INPUT"},
			check: func(t *testing.T, f fixture, r Result) {
				if e := r.TwilioError[0]; e.Field != FieldSMSBody || !strings.Contains(e.Message, "orderId") {
					t.Errorf("%+v", e)
				}
			},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f := newFixture(t, c.opts, nil)
			token := f.fake.AuthToken // what the client sends; a case may change what the fake expects
			if c.setup != nil {
				c.setup(f)
			}
			res, err := f.sms.Invoke(context.Background(), Invocation{Vars: c.vars, IdempotencyKey: "job:1"})
			if (err != nil) != c.wantRetry || (err != nil && !errs.IsRetryable(err)) {
				t.Fatalf("Invoke error = %v, want transient error: %v", err, c.wantRetry)
			}
			var gotTo []string
			var gotSent []bool
			for _, e := range res.TwilioResult {
				gotTo, gotSent = append(gotTo, e.To), append(gotSent, e.SID != nil)
			}
			if strings.Join(gotTo, " ") != strings.Join(c.wantTo, " ") {
				t.Fatalf("twilioResult to = %v, want %v", gotTo, c.wantTo)
			}
			for i := range c.wantSent {
				if gotSent[i] != c.wantSent[i] {
					t.Errorf("recipient %s sent = %v, want %v", gotTo[i], gotSent[i], c.wantSent[i])
				}
			}
			if got := errorCodes(res); strings.Join(got, " ") != strings.Join(c.wantErrs, " ") {
				t.Errorf("twilioError = %v, want %v (%+v)", got, c.wantErrs, res.TwilioError)
			}
			raw, _ := json.Marshal(res)
			if c.wantErrs == nil && !bytes.Contains(raw, []byte(`"twilioError":null`)) {
				t.Errorf("twilioError must be null on full success: %s", raw)
			}
			if bytes.Contains(raw, []byte(token)) || strings.Contains(f.logs.String(), token) {
				t.Error("the auth token leaked into the result or the logs")
			}
			if c.check != nil {
				c.check(t, f, res)
			}
		})
	}
}

// A request repeated with the same idempotency key (a re-activated job) sends nothing that
// Twilio already accepted and reports the same sids.
func TestRepeatedRequestDoesNotResend(t *testing.T) {
	f := newFixture(t, fixtureOpts{}, func(d *Delivery, _ *twilio.Options) { d.Attempts = 1 })
	f.fake.FailTimes(bob, 1, 500, 0)
	inv := Invocation{Vars: vars("smsFrom", fromNumber, "smsTo", list(alice, bob), "smsBody", "hi"), IdempotencyKey: "job:7"}
	first, err := f.sms.Invoke(context.Background(), inv)
	if err == nil || first.TwilioResult[0].SID == nil || first.TwilioResult[1].SID != nil {
		t.Fatalf("first attempt: err=%v result=%+v", err, first)
	}
	second, err := f.sms.Invoke(context.Background(), inv)
	if err != nil || second.TwilioError != nil {
		t.Fatalf("second attempt: err=%v errors=%+v", err, second.TwilioError)
	}
	if *second.TwilioResult[0].SID != *first.TwilioResult[0].SID {
		t.Errorf("alice's sid changed: %s then %s", *first.TwilioResult[0].SID, *second.TwilioResult[0].SID)
	}
	if a, b := f.fake.CountSentTo(alice), f.fake.CountSentTo(bob); a != 1 || b != 1 {
		t.Fatalf("accepted messages: alice %d, bob %d; want 1 each", a, b)
	}
	// A different request (another job) sends again.
	inv.IdempotencyKey = "job:8"
	if _, err := f.sms.Invoke(context.Background(), inv); err != nil {
		t.Fatal(err)
	}
	if a := f.fake.CountSentTo(alice); a != 2 {
		t.Fatalf("another job's send was suppressed: alice got %d", a)
	}
}

func TestTimeoutIsTransient(t *testing.T) {
	f := newFixture(t, fixtureOpts{}, func(d *Delivery, o *twilio.Options) {
		d.Attempts = 2
		o.Timeout = 200 * time.Millisecond
	})
	f.fake.Hang(alice)
	res, err := f.sms.Invoke(context.Background(), Invocation{Vars: vars("smsFrom", fromNumber, "smsTo", alice, "smsBody", "hi")})
	if err == nil || errs.As(err).Code != errs.Connection {
		t.Fatalf("err = %v, want TWILIO_CONNECTION_ERROR", err)
	}
	if got := errorCodes(res); len(got) != 1 || got[0] != alice+":TWILIO_CONNECTION_ERROR" {
		t.Fatalf("twilioError %v", got)
	}
	if n := f.fake.CountTo(alice); n != 2 {
		t.Fatalf("%d attempts, want 2", n)
	}
}

// A proxy in front of Twilio may answer with HTML; the status still classifies the failure.
func TestNonJSONErrorBody(t *testing.T) {
	for _, c := range []struct {
		status int
		want   errs.Code
	}{{502, errs.Connection}, {403, errs.Authentication}, {404, errs.TwilioRequestRejected}} {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(c.status)
			w.Write([]byte("<html>Bad Gateway</html>"))
		}))
		tw, _ := twilio.New(twilio.Options{AccountSID: "AC0123456789abcdef0123456789abcdef", AuthToken: "tok", BaseURL: srv.URL})
		_, err := tw.Send(context.Background(), providers.Message{To: alice, From: fromNumber, Body: "hi"})
		srv.Close()
		if e := errs.As(err); e.Code != c.want {
			t.Errorf("HTTP %d: %v, want %s", c.status, err, c.want)
		}
	}
}

// Twilio accepted the message but its 201 body was cut off: the send is uncertain, not
// rejected, so the retry looks the message up and adopts it instead of failing or resending.
func TestUnreadableAcceptedBodyIsUncertain(t *testing.T) {
	for _, body := range []string{`{"sid": "SM`, "<html>ok</html>", `{"status": "queued"}`} {
		f := newFixture(t, fixtureOpts{}, nil)
		target, _ := url.Parse(f.fake.URL())
		var cut atomic.Bool
		proxy := httputil.NewSingleHostReverseProxy(target)
		proxy.ModifyResponse = func(res *http.Response) error {
			if res.Request.Method == http.MethodPost && res.StatusCode == http.StatusCreated && cut.CompareAndSwap(false, true) {
				res.Body.Close()
				res.Body = io.NopCloser(strings.NewReader(body))
				res.ContentLength = int64(len(body))
				res.Header.Del("Content-Length")
			}
			return nil
		}
		srv := httptest.NewServer(proxy)
		tw, err := twilio.New(twilio.Options{AccountSID: f.fake.AccountSID, AuthToken: f.fake.AuthToken, BaseURL: srv.URL})
		if err != nil {
			t.Fatal(err)
		}
		sms := NewSMS(defaultConnection(tw, ""), f.sms.delivery, SMSOptions{})
		res, err := sms.Invoke(context.Background(), Invocation{Vars: vars("smsFrom", fromNumber, "smsTo", alice, "smsBody", "hi"), IdempotencyKey: "job:9"})
		srv.Close()
		if err != nil || res.TwilioError != nil {
			t.Fatalf("body %q: err=%v errors=%v", body, err, errorCodes(res))
		}
		sent := f.fake.Sent()
		if len(sent) != 1 || *res.TwilioResult[0].SID != sent[0].SID {
			t.Fatalf("body %q: Twilio holds %d messages; result sid %s", body, len(sent), *res.TwilioResult[0].SID)
		}
	}
}

func TestBackoff(t *testing.T) {
	d := &Delivery{BaseBackoff: 100 * time.Millisecond, MaxBackoff: time.Second}
	if got := d.backoff(1, 3*time.Second); got != 3*time.Second {
		t.Errorf("Retry-After not honoured: %v", got)
	}
	for attempt, ceiling := range map[int]time.Duration{1: 100 * time.Millisecond, 2: 200 * time.Millisecond, 3: 400 * time.Millisecond, 10: time.Second} {
		for i := 0; i < 50; i++ {
			if got := d.backoff(attempt, 0); got < ceiling/2 || got > ceiling {
				t.Fatalf("attempt %d: backoff %v outside [%v, %v]", attempt, got, ceiling/2, ceiling)
			}
		}
	}
}

// Twilio accepted a message but the answer was lost: the retry finds it instead of sending
// again, and reports the SID Twilio gave it.
func TestLostAnswerIsLookedUpNotResent(t *testing.T) {
	f := newFixture(t, fixtureOpts{}, func(d *Delivery, _ *twilio.Options) { d.Attempts = 3 })
	f.fake.AcceptThenDrop(alice, 1)
	res, err := f.sms.Invoke(context.Background(), Invocation{Vars: vars("smsFrom", fromNumber, "smsTo", alice, "smsBody", "hi"), IdempotencyKey: "job:1"})
	if err != nil || res.TwilioError != nil {
		t.Fatalf("err=%v errors=%+v", err, res.TwilioError)
	}
	sent := f.fake.Sent()
	if len(sent) != 1 || *res.TwilioResult[0].SID != sent[0].SID {
		t.Fatalf("Twilio holds %d messages; result sid %s", len(sent), *res.TwilioResult[0].SID)
	}
}

// A crash between Twilio's answer and the store write leaves a pending record; the next run of
// the request (the job re-activated) finds the message at Twilio and sends nothing.
func TestPendingRecordFromACrashIsSettled(t *testing.T) {
	f := newFixture(t, fixtureOpts{}, nil)
	inv := Invocation{Vars: vars("smsFrom", fromNumber, "smsTo", list(alice, bob), "smsBody", "hi"), IdempotencyKey: "job:5"}
	// The crashed run: alice was sent, but only the pending marker reached the store.
	crashed := *f.sms.delivery
	crashed.Store = store.NewMemory(0)
	first, _ := NewSMS(f.sms.conns, &crashed, SMSOptions{}).Send(context.Background(), mustParse(t, inv))
	raw, _ := json.Marshal(sendRecord{Pending: time.Now().Add(-time.Second)})
	f.sms.delivery.Store.Put(context.Background(), sendsBucket, "job:5\x00"+alice, raw, 0)
	f.fake.ClearRules()

	res, err := f.sms.Invoke(context.Background(), inv)
	if err != nil || res.TwilioError != nil {
		t.Fatalf("err=%v errors=%+v", err, res.TwilioError)
	}
	if *res.TwilioResult[0].SID != *first.TwilioResult[0].SID {
		t.Errorf("alice: sid %s, want the crashed run's %s", *res.TwilioResult[0].SID, *first.TwilioResult[0].SID)
	}
	// bob had no record in the real store, so he is sent (again, since the crashed run used
	// another store); alice is not.
	if a := f.fake.CountSentTo(alice); a != 1 {
		t.Fatalf("alice got %d messages", a)
	}
}

// A definitive failure leaves no pending record, so the next run does not ask Twilio first.
func TestDefinitiveFailureLeavesNoPendingRecord(t *testing.T) {
	f := newFixture(t, fixtureOpts{}, func(d *Delivery, _ *twilio.Options) { d.Attempts = 1 })
	f.fake.FailTimes(alice, 1, 500, 0)
	inv := Invocation{Vars: vars("smsFrom", fromNumber, "smsTo", alice, "smsBody", "hi"), IdempotencyKey: "job:6"}
	f.sms.Invoke(context.Background(), inv)
	if _, ok, _ := f.sms.delivery.Store.Get(context.Background(), sendsBucket, "job:6\x00"+alice); ok {
		t.Fatal("a pending record survived a failure Twilio answered")
	}
	f.sms.Invoke(context.Background(), inv)
	for _, rq := range f.fake.Requests() {
		if rq.Method == "GET" {
			t.Fatal("the second run looked up a send that cannot have happened")
		}
	}
}

func mustParse(t *testing.T, inv Invocation) SMSRequest {
	req, err := ParseSMSRequest(inv.Vars)
	if err != nil {
		t.Fatal(err)
	}
	req.IdempotencyKey = inv.IdempotencyKey
	return req
}
