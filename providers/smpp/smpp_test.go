package smpp

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twilio-connector/twilio-connector/errs"
	"github.com/twilio-connector/twilio-connector/providers"
	esme "github.com/twilio-connector/twilio-connector/smpp"
	"github.com/twilio-connector/twilio-connector/test/smsctest"
)

// fakeSession answers Submit with the next of its answers and records what it got.
type fakeSession struct {
	mu      sync.Mutex
	answers []answer
	got     [][3]string
	closed  bool
}

type answer struct {
	sub esme.Submitted
	err error
}

func (f *fakeSession) Submit(_ context.Context, from, to, text string) (esme.Submitted, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.got = append(f.got, [3]string{from, to, text})
	a := f.answers[0]
	f.answers = f.answers[1:]
	return a.sub, a.err
}
func (f *fakeSession) Bound(context.Context) error { return nil }
func (f *fakeSession) Close() error                { f.closed = true; return nil }

func newProvider(t *testing.T, s *fakeSession, edit ...func(*esme.Config)) (*Provider, *esme.Handler) {
	t.Helper()
	var h esme.Handler
	c := esme.Config{Name: "smsc", Address: "127.0.0.1:2775", SystemID: "esme1", Password: "s3cr3t!", SourceTON: TONInternational}
	for _, e := range edit {
		e(&c)
	}
	p, err := New(Options{Config: c, Open: func(_ esme.Config, got esme.Handler) Session { h = got; return s }})
	if err != nil {
		t.Fatal(err)
	}
	return p, &h
}

var msg = providers.Message{To: "+14155550100", From: "+15005550006", Body: "Order 4711 is ready"}

func TestSendSubmitsAndReportsEveryPart(t *testing.T) {
	s := &fakeSession{answers: []answer{{sub: esme.Submitted{MessageIDs: []string{"a1", "a2", "a3"}, Parts: 3, DataCoding: 8}}}}
	p, _ := newProvider(t, s)
	m := msg
	m.MediaURLs = []string{"https://example.com/a.png"}
	sent, err := p.Send(context.Background(), m)
	if err != nil {
		t.Fatal(err)
	}
	if sent.SID != "a1" || sent.Status != "sent" || fmt.Sprint(sent.Parts) != "[a1 a2 a3]" {
		t.Errorf("sent %+v, want sid a1 and parts a1 a2 a3", sent)
	}
	want := [3]string{"15005550006", "14155550100", "Order 4711 is ready\nhttps://example.com/a.png"}
	if len(s.got) != 1 || s.got[0] != want {
		t.Errorf("submitted %q, want %q", s.got, want)
	}
}

func TestSendFailuresMapToTheTaxonomy(t *testing.T) {
	cases := []struct {
		name      string
		a         answer
		code      errs.Code
		field     string
		uncertain bool
	}{
		{"throttled", answer{err: &esme.StatusError{Command: "submit_sm", Status: esme.StatusThrottled}}, errs.RateLimited, "", false},
		{"queue full", answer{err: &esme.StatusError{Command: "submit_sm", Status: esme.StatusMsgQFull}}, errs.RateLimited, "", false},
		{"bad destination", answer{err: &esme.StatusError{Command: "submit_sm", Status: esme.StatusInvDstAdr}}, errs.InvalidToPhoneNumber, "smsTo", false},
		{"bad source", answer{err: &esme.StatusError{Command: "submit_sm", Status: esme.StatusInvSrcAdr}}, errs.InvalidFromPhone, "smsFrom", false},
		{"system error", answer{err: &esme.StatusError{Command: "submit_sm", Status: esme.StatusSysErr}}, errs.TwilioRequestRejected, "", false},
		{"not bound", answer{err: fmt.Errorf("connection smsc: %w: dial refused", esme.ErrNotBound)}, errs.Connection, "", false},
		{"wrong password", answer{err: fmt.Errorf("%w: connection smsc: bind refused: %w", esme.ErrNotBound, &esme.StatusError{Command: "bind_transceiver", Status: esme.StatusInvPaswd})}, errs.Authentication, "password", false},
		{"bind refused otherwise", answer{err: fmt.Errorf("%w: connection smsc: bind refused: %w", esme.ErrNotBound, &esme.StatusError{Command: "bind_transceiver", Status: esme.StatusSysErr})}, errs.Connection, "", false},
		{"window full until the deadline", answer{err: fmt.Errorf("smpp connection smsc: waiting for a free slot in the window of 10: %w", context.DeadlineExceeded)}, errs.Connection, "", false},
		{"no response", answer{err: fmt.Errorf("connection smsc: %w", esme.ErrUncertain)}, errs.Connection, "", true},
		{"second part throttled", answer{sub: esme.Submitted{MessageIDs: []string{"a1"}}, err: &esme.StatusError{Command: "submit_sm", Status: esme.StatusThrottled}}, errs.DeliveryUncertain, "", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, _ := newProvider(t, &fakeSession{answers: []answer{c.a}})
			_, err := p.Send(context.Background(), msg)
			var e *errs.Error
			if !errors.As(err, &e) {
				t.Fatalf("error %v (%T) is not an *errs.Error", err, err)
			}
			if e.Code != c.code || e.Field != c.field || e.Uncertain != c.uncertain {
				t.Errorf("got %s field %q uncertain=%v (%v), want %s field %q uncertain=%v", e.Code, e.Field, e.Uncertain, e, c.code, c.field, c.uncertain)
			}
			if !strings.Contains(e.Message, "smsc") || strings.Contains(e.Error(), "s3cr3t!") {
				t.Errorf("message %q must name the connection and never the password", e.Message)
			}
		})
	}
}

func TestFindCannotAskAndNoCalls(t *testing.T) {
	p, _ := newProvider(t, &fakeSession{})
	if _, ok := any(p).(providers.Caller); ok {
		t.Error("an SMSC places no calls: make_call through it must be INVALID_INPUT naming the connection")
	}
	if _, _, err := p.Find(context.Background(), msg, time.Now()); !errors.Is(err, providers.ErrNoLookup) {
		t.Fatalf("Find: %v, want ErrNoLookup (an uncertain submit is not sent again)", err)
	}
}

func TestAddresses(t *testing.T) {
	intl, _ := newProvider(t, &fakeSession{})
	alpha, _ := newProvider(t, &fakeSession{}, func(c *esme.Config) { c.SourceTON = TONAlphanumeric })
	for _, c := range []struct {
		p         *Provider
		from, err string
	}{
		{intl, "+15005550006", ""},
		{intl, "", ""},
		{intl, "ACME", "source_ton: 5"},
		{alpha, "ACME", ""},
		{alpha, "ACME Corporation", "up to 11"},
		{intl, "whatsapp:+15005550006", "WhatsApp"},
	} {
		got, err := c.p.From("smsFrom", c.from, "")
		if c.err == "" && (err != nil || got != c.from) {
			t.Errorf("From(%q) = %q, %v", c.from, got, err)
		}
		if c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err) || errs.As(err).Code != errs.InvalidFromPhone) {
			t.Errorf("From(%q): %v, want INVALID_FROM_PHONE_NUMBER_ERROR saying %q", c.from, err, c.err)
		}
	}
	if _, err := intl.To("smsTo", "whatsapp:+14155550100", ""); err == nil || !strings.Contains(err.Error(), "WhatsApp") {
		t.Errorf("To(whatsapp:…): %v, want a refusal naming WhatsApp", err)
	}
	if got, err := intl.To("smsTo", "+1 415 555 0100", ""); err != nil || got != "+14155550100" {
		t.Errorf("To = %q, %v", got, err)
	}
}

func TestDeliverSMBeforeStartIsRefusedForNow(t *testing.T) {
	s := &fakeSession{answers: []answer{{sub: esme.Submitted{MessageIDs: []string{"a1"}}}}}
	p, h := newProvider(t, s)
	if _, err := p.Send(context.Background(), msg); err != nil {
		t.Fatal(err)
	}
	if err := (*h)(context.Background(), esme.Deliver{From: "14155550100", Text: "hi"}); err == nil {
		t.Fatal("a deliver_sm before Start was acknowledged: it would be lost")
	}
	var got []string
	p.Start(nil, func(_ context.Context, d esme.Deliver) error { got = append(got, d.Text); return nil })
	if err := (*h)(context.Background(), esme.Deliver{From: "14155550100", Text: "hi"}); err != nil || len(got) != 1 {
		t.Fatalf("after Start: %v, handler got %q", err, got)
	}
	if err := p.Close(); err != nil || !s.closed {
		t.Fatalf("Close: %v, session closed %v", err, s.closed)
	}
	if _, err := p.Send(context.Background(), msg); errs.As(err).Code != errs.Connection {
		t.Fatalf("Send after Close: %v", err)
	}
}

// construct builds a provider from YAML fields as a connections file gives them.
func construct(t *testing.T, doc string) (*Provider, error) {
	t.Helper()
	f, err := providers.ParseFields("smsc", doc)
	if err != nil {
		t.Fatal(err)
	}
	p, err := Construct(providers.Settings{Name: "smsc", Fields: f})
	if err != nil {
		return nil, err
	}
	return p.(*Provider), nil
}

func TestConstruct(t *testing.T) {
	pw := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pw, []byte("fromfile\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p, err := construct(t, `{address: "127.0.0.1:2775", system_id: esme1, password_file: `+pw+`, system_type: vma, tls: true,
source_ton: 5, source_npi: 0, dest_ton: 1, dest_npi: 1, window: 4, max_tps: 12.5, enquire_link: 10s}`)
	if err != nil {
		t.Fatal(err)
	}
	want := esme.Config{Name: "smsc", Address: "127.0.0.1:2775", SystemID: "esme1", Password: "fromfile", SystemType: "vma", TLS: true,
		SourceTON: 5, SourceNPI: 0, DestTON: 1, DestNPI: 1, Window: 4, MaxTPS: 12.5, EnquireLink: 10 * time.Second}
	if fmt.Sprint(p.cfg) != fmt.Sprint(want) {
		t.Errorf("config %+v, want %+v", p.cfg, want)
	}
	p, err = construct(t, `{address: "smsc.example.com:2775", system_id: esme1, password: pw}`)
	if err != nil {
		t.Fatal(err)
	}
	if p.cfg.Window != 10 || p.cfg.EnquireLink != 30*time.Second || p.cfg.SourceTON != 1 || p.cfg.DestNPI != 1 || p.cfg.TLS {
		t.Errorf("defaults: %+v", p.cfg)
	}

	for _, c := range []struct{ doc, field string }{
		{`{system_id: a, password: b}`, "address"},
		{`{address: smsc.example.com, system_id: a}`, "address"},
		{`{address: "h:1"}`, "system_id"},
		{`{address: "h:1", system_id: a, password: "123456789"}`, "password"},
		{`{address: "h:1", system_id: a, password: x, password_file: /nonexistent}`, "password"},
		{`{address: "h:1", system_id: a, tls: maybe}`, "tls"},
		{`{address: "h:1", system_id: a, source_ton: 7}`, "source_ton"},
		{`{address: "h:1", system_id: a, dest_npi: x}`, "dest_npi"},
		{`{address: "h:1", system_id: a, window: 0}`, "window"},
		{`{address: "h:1", system_id: a, max_tps: -1}`, "max_tps"},
		{`{address: "h:1", system_id: a, max_tps: NaN}`, "max_tps"}, // would pace nothing
		{`{address: "h:1", system_id: a, max_tps: 1e-300}`, "max_tps"},
		{`{address: "h:1", system_id: a, enquire_link: 30}`, "enquire_link"},
		{`{address: "h:1", system_id: a, enquire_link: 10ms}`, "enquire_link"},
	} {
		_, err := construct(t, c.doc)
		var fe *providers.FieldError
		if !errors.As(err, &fe) || fe.Connection != "smsc" || fe.Field != c.field {
			t.Errorf("%s: %v, want an error naming connection smsc and field %s", c.doc, err, c.field)
		}
		if err != nil && strings.Contains(err.Error(), "123456789") {
			t.Errorf("%s: the error shows the password: %v", c.doc, err)
		}
	}
}

// Through a real session to the test SMSC (the npm smpp package's server): the result is the
// SMSC's ids, a throttled submit is TWILIO_RATE_LIMITED, a wrong password
// AUTHENTICATION_CONNECTION_ERROR naming the connection and never the password.
func TestSendThroughTheTestSMSC(t *testing.T) {
	smsc := smsctest.Start(t)
	newReal := func(password string) *Provider {
		p, err := New(Options{Config: esme.Config{Name: "smsc", Address: smsc.Addr, SystemID: smsc.SystemID, Password: password,
			SourceTON: TONInternational, SourceNPI: NPIISDN, DestTON: TONInternational, DestNPI: NPIISDN}})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { p.Close() })
		return p
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	p := newReal(smsc.Password)
	long := strings.Repeat("Order 4711 is ready for pickup. ", 8)
	sent, err := p.Send(ctx, providers.Message{To: "+14155550100", From: "+15005550006", Body: long})
	if err != nil {
		t.Fatal(err)
	}
	msgs := smsc.Messages()
	if len(msgs) != 1 || msgs[0].Text != long || msgs[0].DataCoding != 0 || msgs[0].Dest != "14155550100" ||
		sent.SID != msgs[0].MessageIDs[0] || !slices.Equal(sent.Parts, msgs[0].MessageIDs) || len(sent.Parts) < 2 {
		t.Fatalf("sent %+v; the SMSC has %+v", sent, msgs)
	}

	smsc.Throttle(1, smsctest.ESME_RTHROTTLED)
	if _, err := p.Send(ctx, msg); errs.As(err).Code != errs.RateLimited || !errs.IsRetryable(err) {
		t.Fatalf("throttled: %v", err)
	}

	// A send right at the start, while the first bind is in progress, gets the refusal.
	wrong := newReal("wrong")
	_, err = wrong.Send(ctx, msg)
	if e := errs.As(err); e.Code != errs.Authentication || e.Field != "password" || !strings.Contains(e.Message, "smsc") || strings.Contains(e.Error(), "wrong") {
		t.Fatalf("wrong password: %v", err)
	}
}
