package actions

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twilio-connector/twilio-connector/errs"
	"github.com/twilio-connector/twilio-connector/metrics"
	"github.com/twilio-connector/twilio-connector/providers"
	"github.com/twilio-connector/twilio-connector/store"
)

// keyProvider is a stand-in provider without calls or lookups whose recipients are keys (as
// Pushover's): it records what it is asked to send and answers with the queued results.
type keyProvider struct {
	mu      sync.Mutex
	sent    []providers.Message
	answers []error // per attempt; nil or exhausted: accepted
}

func (p *keyProvider) Kind() string { return "keys" }

func (p *keyProvider) Send(_ context.Context, m providers.Message) (providers.Sent, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.sent = append(p.sent, m)
	if len(p.answers) > 0 {
		err := p.answers[0]
		p.answers = p.answers[1:]
		if err != nil {
			return providers.Sent{}, err
		}
	}
	sent := providers.Sent{SID: "K" + m.To, Status: "sent"}
	if len(m.Body) > 10 { // a long text: the network split it (as SMPP does)
		sent.Parts = []string{sent.SID, sent.SID + "-2"}
	}
	return sent, nil
}

func (p *keyProvider) Find(context.Context, providers.Message, time.Time) (providers.Sent, bool, error) {
	return providers.Sent{}, false, providers.ErrNoLookup
}

func (p *keyProvider) From(_, given, _ string) (string, error) { return given, nil }

func (p *keyProvider) To(field, raw, _ string) (string, error) {
	if !strings.HasPrefix(raw, "u") {
		return "", errs.Invalid(field, "%s %q is not a user key", field, raw)
	}
	return raw, nil
}

func (p *keyProvider) DirectoryField() string { return "keys" }

func (p *keyProvider) messages() []providers.Message {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]providers.Message(nil), p.sent...)
}

// keysFixture is send_sms and make_call with the default connection through the fake Twilio
// and the connection "keys" through a keyProvider.
func keysFixture(t *testing.T) (fixture, *keyProvider, *SMS, *Calls) {
	f := newFixture(t, fixtureOpts{DefaultFrom: fromNumber}, nil)
	kp := &keyProvider{}
	conns := providers.Connections{
		providers.DefaultConnection: f.sms.conns[providers.DefaultConnection],
		"keys":                      {Name: "keys", Provider: kp, DefaultTo: []string{"uDefault1", "user:sean"}},
	}
	d := &Delivery{Kind: "sms", Store: store.NewMemory(0), Attempts: 2, BaseBackoff: time.Millisecond}
	dir := FileDirectory{"sean": {"phone": alice, "keys": "uSean"}}
	return f, kp, NewSMS(conns, d, SMSOptions{Directory: dir}), NewCalls(conns, d, CallOptions{Directory: dir})
}

func TestConnectionChoosesTheProvider(t *testing.T) {
	f, kp, sms, calls := keysFixture(t)
	ctx := context.Background()

	// Through "keys": the subject and body reach the provider, user:sean resolves through the
	// provider's directory field, and the result is the same shape.
	res, err := sms.Invoke(ctx, Invocation{Connection: "keys", Vars: vars("smsTo", list("uAbc", "user:sean"), "smsSubject", "Order ${id}", "smsBody", "Ready ${id}", "id", "7")})
	if err != nil || res.TwilioError != nil {
		t.Fatalf("err=%v errors=%+v", err, res.TwilioError)
	}
	sent := kp.messages()
	if len(sent) != 2 || sent[0].Subject != "Order 7" || sent[0].Body != "Ready 7" || sent[1].To != "uSean" || *res.TwilioResult[1].SID != "KuSean" || res.TwilioResult[1].User != "sean" {
		t.Fatalf("sent %+v, result %+v", sent, res.TwilioResult)
	}
	if len(f.fake.Requests()) != 0 {
		t.Fatal("the default connection was used")
	}
	// The provider validates its own recipients.
	res, _ = sms.Invoke(ctx, Invocation{Connection: "keys", Vars: vars("smsTo", alice, "smsBody", "hi")})
	if got := errorCodes(res); len(got) != 1 || got[0] != alice+":INVALID_TO_PHONE_NUMBER_ERROR" {
		t.Fatalf("errors %v", got)
	}
	// Without recipients, the connection's default_to.
	res, err = sms.Invoke(ctx, Invocation{Connection: "keys", Vars: vars("smsBody", "hi")})
	if err != nil || res.TwilioError != nil || len(res.TwilioResult) != 2 || res.TwilioResult[0].To != "uDefault1" || res.TwilioResult[1].To != "uSean" {
		t.Fatalf("default_to: err=%v %+v %+v", err, res.TwilioResult, res.TwilioError)
	}
	// Without a connection, the default (Twilio); its recipients are still required.
	if res, err := sms.Invoke(ctx, Invocation{Vars: vars("smsTo", bob, "smsBody", "hi")}); err != nil || res.TwilioError != nil || f.fake.CountSentTo(bob) != 1 {
		t.Fatalf("default: err=%v %+v", err, res.TwilioError)
	}
	if res, _ := sms.Invoke(ctx, Invocation{Vars: vars("smsBody", "hi")}); res.Failure() == nil || res.Failure().Code != errs.MissingInput {
		t.Fatalf("no recipients on default: %+v", res.TwilioError)
	}
	// An unknown connection, and calls through a provider without calls, are INVALID_INPUT
	// naming connection.
	for _, c := range []struct {
		act Action
		inv Invocation
	}{
		{sms, Invocation{Connection: "nope", Vars: vars("smsTo", alice, "smsBody", "hi")}},
		{calls, Invocation{Connection: "keys", Vars: vars("callTo", "uAbc", "callMessage", "hi")}},
	} {
		res, err := c.act.Invoke(ctx, c.inv)
		if f := res.Failure(); err != nil || f == nil || f.Code != errs.InvalidInput || f.Field != "connection" {
			t.Errorf("%s: err=%v failure=%+v", c.inv.Connection, err, f)
		}
	}
}

// An attempt that got no answer through a provider that cannot be asked is not sent again:
// the recipient fails with DELIVERY_UNCERTAIN, now and on every repeat of the request.
func TestUncertainAttemptWithoutLookupIsNotResent(t *testing.T) {
	_, kp, sms, _ := keysFixture(t)
	kp.answers = []error{&errs.Error{Code: errs.Connection, Uncertain: true, Message: "no answer"}}
	inv := Invocation{Connection: "keys", Vars: vars("smsTo", "uAbc", "smsBody", "hi"), IdempotencyKey: "job:1"}
	before := sends(t, "keys", "keys", errs.DeliveryUncertain)
	for range 2 {
		res, err := sms.Invoke(context.Background(), inv)
		if got := errorCodes(res); err != nil || len(got) != 1 || got[0] != "uAbc:DELIVERY_UNCERTAIN" {
			t.Fatalf("err=%v errors=%v", err, got)
		}
	}
	if n := len(kp.messages()); n != 1 {
		t.Fatalf("%d attempts reached the provider, want 1", n)
	}
	if got := sends(t, "keys", "keys", errs.DeliveryUncertain) - before; got != 2 {
		t.Fatalf("metric counted %v refusals, want 2", got)
	}
}

// A message the provider split reports its part ids in the result, also to a repeat of the
// request (from the send record: nothing is sent again).
func TestResultCarriesThePartIDs(t *testing.T) {
	_, kp, sms, _ := keysFixture(t)
	inv := Invocation{Connection: "keys", Vars: vars("smsTo", list("uAbc"), "smsBody", "a text of two parts"), IdempotencyKey: "job:parts"}
	for range 2 {
		res, err := sms.Invoke(context.Background(), inv)
		if err != nil || res.TwilioError != nil || len(res.TwilioResult) != 1 {
			t.Fatalf("err=%v %+v %+v", err, res.TwilioResult, res.TwilioError)
		}
		if r := res.TwilioResult[0]; *r.SID != "KuAbc" || strings.Join(r.Parts, ",") != "KuAbc,KuAbc-2" {
			t.Fatalf("result %+v, want sid KuAbc and parts KuAbc, KuAbc-2", r)
		}
	}
	if n := len(kp.messages()); n != 1 {
		t.Fatalf("%d sends, want 1", n)
	}
}

// sends reads twilio_connector_sends_total for SMS through connection and provider.
func sends(t *testing.T, connection, provider string, outcome errs.Code) float64 {
	t.Helper()
	mfs, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"kind": "sms", "connection": connection, "provider": provider, "outcome": string(outcome)}
	for _, mf := range mfs {
		if mf.GetName() != "twilio_connector_sends_total" {
			continue
		}
	metric:
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if want[l.GetName()] != l.GetValue() {
					continue metric
				}
			}
			return m.GetCounter().GetValue()
		}
	}
	return 0
}
