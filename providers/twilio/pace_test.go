package twilio

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/twilio-connector/twilio-connector/errs"
	"github.com/twilio-connector/twilio-connector/metrics"
	"github.com/twilio-connector/twilio-connector/pace"
	"github.com/twilio-connector/twilio-connector/providers"
	"github.com/twilio-connector/twilio-connector/test/twiliotest"
)

const (
	testAccount = "AC0123456789abcdef0123456789abcdef"
	testService = "MGfedcba9876543210fedcba9876543210"
)

func connectionFields(t *testing.T, doc string) *providers.Fields {
	t.Helper()
	f, err := providers.ParseFields("marketing", "account: "+testAccount+"\ntoken: abc123\n"+doc)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestConnectionPace(t *testing.T) {
	p, err := FromConnection(providers.Settings{Name: "marketing", Fields: connectionFields(t,
		"pace: {senders: {+15005550006: 10, \""+testService+"\": 50}, default: 2, account: 100}\n")})
	if err != nil {
		t.Fatal(err)
	}
	if p.(*Twilio).opts.Pace == nil {
		t.Fatal("pace not set")
	}
	if p, _ := FromConnection(providers.Settings{Name: "marketing", Fields: connectionFields(t, "")}); p.(*Twilio).opts.Pace != nil {
		t.Fatal("a connection without pace is paced")
	}
	for _, c := range []struct{ doc, field, says string }{
		{"pace: 10\n", "pace", "is not a map"},
		{"pace: {senders: [\"+15005550006\"]}\n", "pace.senders", "is not a map of senders"},
		{"pace: {senders: {+15005550006: fast}}\n", "pace.senders", `sender +15005550006: "fast" is not a rate`},
		{"pace: {senders: {+15005550006: 0}}\n", "pace.senders", "is not a rate"},
		{"pace: {senders: {\"+1 500 555 0006\": 1}}\n", "pace.senders", "is not a sender"},
		{"pace: {default: fast}\n", "pace.default", "nor kind"},
		{"pace: {default: [1]}\n", "pace.default", "is not a number"},
		{"pace: {account: -5}\n", "pace.account", "is not a rate"},
		{"pace: {speed: 5}\n", "pace.speed", "is not a part of pace"},
	} {
		_, err := FromConnection(providers.Settings{Name: "marketing", Fields: connectionFields(t, c.doc)})
		var fe *providers.FieldError
		if !errors.As(err, &fe) || fe.Field != c.field || !strings.Contains(fe.Problem, c.says) {
			t.Errorf("%s: error %v, want field %s saying %q", strings.TrimSpace(c.doc), err, c.field, c.says)
		}
	}
}

// Sends of a paced sender are spaced by their segments; other senders are not held up.
func TestSendWaitsForItsSlot(t *testing.T) {
	fake := twiliotest.New(t)
	const rate = 20 // segments per second: 50 ms a segment
	rates := pace.Rates{Senders: map[string]float64{"+15005550006": rate}}
	tw, err := New(Options{AccountSID: fake.AccountSID, AuthToken: fake.AuthToken, BaseURL: fake.URL(),
		Pace: pace.New("default", fake.AccountSID, rates, nil)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	start := time.Now()
	bodies := []string{"one", strings.Repeat("two segments ", 15), "three"} // 1, 2 and 1 segments
	for _, b := range bodies {
		if _, err := tw.Send(ctx, providers.Message{To: "+14155550101", From: "+15005550006", Body: b}); err != nil {
			t.Fatal(err)
		}
	}
	// The third send's slot is after the first's segment and the second's two.
	if took, least := time.Since(start), 3*time.Second/rate; took < least {
		t.Fatalf("three sends took %v, less than the %v their first three segments hold the sender", took, least)
	}
	if n := len(fake.Sent()); n != 3 {
		t.Fatalf("%d sent", n)
	}
	// A sender listed nowhere is paced by kind only: a Messaging Service is not.
	start = time.Now()
	for range 5 {
		if _, err := tw.Send(ctx, providers.Message{To: "+14155550101", From: testService, Body: "hi"}); err != nil {
			t.Fatal(err)
		}
	}
	if n := len(fake.Sent()); n != 8 {
		t.Fatalf("%d sent", n)
	}
	// A slot after the deadline: nothing is sent, the error carries the wait.
	tw.opts.Pace = pace.New("default", fake.AccountSID, pace.Rates{Senders: map[string]float64{"+15005550006": 0.01}}, nil)
	tw.Send(ctx, providers.Message{To: "+14155550101", From: "+15005550006", Body: "hi"})
	short, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	_, err = tw.Send(short, providers.Message{To: "+14155550101", From: "+15005550006", Body: "hi"})
	if e := errs.As(err); e == nil || !e.Paced || e.RetryAfter < 90*time.Second || len(fake.Sent()) != 9 {
		t.Fatalf("send past the deadline = %v (sent %d), want a paced error with the wait and nothing sent", err, len(fake.Sent()))
	}
}

// Twilio's 21611 (the sender's queue is full) and 429 are counted by connection and retried.
func TestRefusalsCounted(t *testing.T) {
	fake := twiliotest.New(t)
	tw, err := New(Options{AccountSID: fake.AccountSID, AuthToken: fake.AuthToken, BaseURL: fake.URL(), Connection: "refusals"})
	if err != nil {
		t.Fatal(err)
	}
	fake.FailTimes("+14155550101", 1, 400, 21611)
	fake.FailTimes("+14155550102", 2, 429, 0)
	for _, to := range []string{"+14155550101", "+14155550102", "+14155550102"} {
		_, err := tw.Send(context.Background(), providers.Message{To: to, From: "+15005550006", Body: "hi"})
		if e := errs.As(err); e == nil || e.Code != errs.RateLimited || !e.Retryable() {
			t.Fatalf("send to %s = %v, want a retryable TWILIO_RATE_LIMITED", to, err)
		}
	}
	if n := counterValue(metrics.TwilioRefusals.WithLabelValues("refusals", "21611")); n != 1 {
		t.Errorf("21611 counted %v times, want 1", n)
	}
	if n := counterValue(metrics.TwilioRefusals.WithLabelValues("refusals", "429")); n != 2 {
		t.Errorf("429 counted %v times, want 2", n)
	}
}

func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	c.Write(&m)
	return m.GetCounter().GetValue()
}
