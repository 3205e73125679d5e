package pace

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/twilio-connector/twilio-connector/errs"
)

// fakeClock is a settable clock for Local.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newFakeLocal() (*Local, *fakeClock) {
	c := &fakeClock{t: time.Unix(1_700_000_000, 0)}
	l := NewLocal()
	l.now = c.now
	return l, c
}

// The bucket math: each booking holds its buckets for its hold from the moment all of them are
// free; a booking further away than maxWait books nothing.
func TestLocalBucketMath(t *testing.T) {
	sec := time.Second
	type step struct {
		advance  time.Duration
		claims   []Claim
		maxWait  time.Duration
		wantWait time.Duration
		wantOK   bool
	}
	a := func(h time.Duration) Claim { return Claim{Key: "a", Hold: h} }
	acct := func(h time.Duration) Claim { return Claim{Key: "acct", Hold: h} }
	cases := []struct {
		name  string
		steps []step
	}{
		{"an idle bucket sends at once, the next waits its hold", []step{
			{0, []Claim{a(sec)}, time.Hour, 0, true},
			{0, []Claim{a(sec)}, time.Hour, sec, true},
			{0, []Claim{a(sec)}, time.Hour, 2 * sec, true},
		}},
		{"time passing frees the bucket, without saving up a burst", []step{
			{0, []Claim{a(sec)}, time.Hour, 0, true},
			{10 * sec, []Claim{a(sec)}, time.Hour, 0, true},
			{0, []Claim{a(sec)}, time.Hour, sec, true},
		}},
		{"a multi-segment send holds the bucket longer", []step{
			{0, []Claim{a(3 * sec)}, time.Hour, 0, true},
			{sec, []Claim{a(sec)}, time.Hour, 2 * sec, true},
		}},
		{"a slot beyond maxWait books nothing", []step{
			{0, []Claim{a(5 * sec)}, time.Hour, 0, true},
			{0, []Claim{a(sec)}, 4 * sec, 5 * sec, false},
			{0, []Claim{a(sec)}, 5 * sec, 5 * sec, true}, // the refusal did not move the bucket
		}},
		{"the account cap and the sender are booked at the later of both", []step{
			{0, []Claim{acct(2 * sec)}, time.Hour, 0, true},
			{0, []Claim{a(sec), acct(2 * sec)}, time.Hour, 2 * sec, true},
			{0, []Claim{a(sec)}, time.Hour, 3 * sec, true},
			{0, []Claim{acct(2 * sec)}, time.Hour, 4 * sec, true},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			l, clock := newFakeLocal()
			for i, s := range c.steps {
				clock.advance(s.advance)
				b, err := l.Reserve(context.Background(), s.claims, s.maxWait)
				if err != nil || b.Wait != s.wantWait || b.OK != s.wantOK {
					t.Fatalf("step %d: booking %+v %v, want wait %v ok %v", i, b, err, s.wantWait, s.wantOK)
				}
			}
		})
	}
}

// A booking given back frees its slot when it is the latest one; under a later booking its
// time is lost rather than handed out twice.
func TestLocalCancel(t *testing.T) {
	l, _ := newFakeLocal()
	ctx := context.Background()
	hold := []Claim{{Key: "a", Hold: time.Second}}
	l.Reserve(ctx, hold, time.Hour)
	b, _ := l.Reserve(ctx, hold, time.Hour)
	b.Cancel()
	if next, _ := l.Reserve(ctx, hold, time.Hour); next.Wait != time.Second {
		t.Fatalf("after cancelling the latest booking the next waits %v, want 1s (its slot)", next.Wait)
	}
	mid, _ := l.Reserve(ctx, hold, time.Hour) // slot at 2s
	l.Reserve(ctx, hold, time.Hour)           // slot at 3s, on top of it
	mid.Cancel()
	if next, _ := l.Reserve(ctx, hold, time.Hour); next.Wait != 4*time.Second {
		t.Fatalf("after cancelling a booking under a later one the next waits %v, want 4s (no slot given twice)", next.Wait)
	}
}

func TestKind(t *testing.T) {
	for sender, want := range map[string]string{
		"+15005550006": LongCode, "+447700900123": LongCode, "+18005550100": TollFree, "+18885550100": TollFree,
		"+18095550100": LongCode, "12345": ShortCode, "894546": ShortCode, "ACME": Alphanumeric, "Acme 24": Alphanumeric,
		"MG0123456789abcdef0123456789abcdef": MessagingService, "whatsapp:+15005550006": WhatsApp,
		"1234": Other, "": Other, "ACME CORPORATION": Other, "15005550006": Other,
	} {
		if got := Kind(sender); got != want {
			t.Errorf("Kind(%q) = %s, want %s", sender, got, want)
		}
	}
}

func TestParseErrors(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"+15005550006", "is not SENDER=RATE"},
		{"+15005550006=fast", `sender +15005550006: "fast" is not a rate`},
		{"+15005550006=0", "is not a rate"},
		{"+15005550006=-1", "is not a rate"},
		{"+15005550006=Inf", "is not a rate"},
		{"+15005550006=1,+15005550006=2", "is given twice"},
	} {
		if _, err := ParseSenders(c.in); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("ParseSenders(%q) = %v, want %q", c.in, err, c.want)
		}
	}
	m, err := ParseSenders(" +15005550006=10, ACME=0.5 ,")
	if err != nil || m["+15005550006"] != 10 || m["ACME"] != 0.5 || len(m) != 2 {
		t.Fatalf("ParseSenders = %v %v", m, err)
	}
	if err := CheckSenders(map[string]float64{"+1 500 555": 1}); err == nil || !strings.Contains(err.Error(), "is not a sender") {
		t.Fatalf("CheckSenders = %v", err)
	}
	if r, err := ParseDefault("kind"); err != nil || r != 0 {
		t.Fatalf("ParseDefault(kind) = %v %v", r, err)
	}
	if _, err := ParseDefault("fast"); err == nil || !strings.Contains(err.Error(), "nor kind") {
		t.Fatalf("ParseDefault(fast) = %v", err)
	}
}

// A send holds its buckets for its segments at the rate, stretched by Headroom: rate+1
// one-segment sends span 1.1 s whatever the rate, and an account cap is stretched alike.
// Each send here finds its buckets idle, so none waits.
func TestPacerHolds(t *testing.T) {
	l, clock := newFakeLocal()
	start := clock.t
	p := New("c", "AC1", Rates{Senders: map[string]float64{"+15005550006": 10, "ACME": 0.5}}, l)
	capped := New("c", "AC2", Rates{Account: 4}, l)
	for _, c := range []struct {
		p        *Pacer
		sender   string
		segments int
		key      string
		want     time.Duration
	}{
		{p, "+15005550006", 1, "pace:AC1:+15005550006", 110 * time.Millisecond},
		{p, "+15005550007", 3, "pace:AC1:+15005550007", 3300 * time.Millisecond}, // a long code: 1 a second
		{p, "ACME", 0, "pace:AC1:ACME", 2200 * time.Millisecond},                 // a body-less send counts one
		{capped, "MG0123456789abcdef0123456789abcdef", 2, "pace:AC2", 550 * time.Millisecond},
	} {
		if err := c.p.Wait(context.Background(), c.sender, c.segments); err != nil {
			t.Fatal(err)
		}
		if got := l.free[c.key].Sub(start); got != c.want {
			t.Errorf("after %d segments from %s, %s is free %v later, want %v", c.segments, c.sender, c.key, got, c.want)
		}
	}
}

// Rates: a listed sender's own, else the default, else its kind's; Messaging Services are not
// paced by kind. Metric labels are the sender when listed, else the kind.
func TestPacerRates(t *testing.T) {
	byKind := New("c", "AC1", Rates{Senders: map[string]float64{"+15005550006": 10}}, nil)
	withDefault := New("c", "AC1", Rates{Default: 2}, nil)
	for _, c := range []struct {
		p      *Pacer
		sender string
		rate   float64
		label  string
	}{
		{byKind, "+15005550006", 10, "+15005550006"},
		{byKind, "+15005550007", 1, LongCode},
		{byKind, "+18005550100", 3, TollFree},
		{byKind, "12345", 100, ShortCode},
		{byKind, "ACME", 10, Alphanumeric},
		{byKind, "MG0123456789abcdef0123456789abcdef", 0, MessagingService},
		{withDefault, "+15005550007", 2, LongCode},
		{withDefault, "MG0123456789abcdef0123456789abcdef", 2, MessagingService},
	} {
		if rate, label := c.p.rate(c.sender); rate != c.rate || label != c.label {
			t.Errorf("rate(%s) = %v %s, want %v %s", c.sender, rate, label, c.rate, c.label)
		}
	}
}

// A send whose slot is after the deadline fails at once with the wait, marked Paced; one
// cancelled while waiting gives its slot back.
func TestPacerWait(t *testing.T) {
	l, clock := newFakeLocal()
	p := New("c", "AC1", Rates{Senders: map[string]float64{"+15005550006": 0.1}}, l) // 11 s per segment (10 s stretched by Headroom)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := p.Wait(ctx, "+15005550006", 1); err != nil {
		t.Fatal(err)
	}
	short, cancelShort := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancelShort()
	err := p.Wait(short, "+15005550006", 1)
	var e *errs.Error
	if !errors.As(err, &e) || e.Code != errs.RateLimited || !e.Paced || e.RetryAfter != 11*time.Second || !e.Retryable() {
		t.Fatalf("Wait past the deadline = %#v, want a paced TWILIO_RATE_LIMITED with RetryAfter 11s", err)
	}
	if !strings.Contains(e.Message, "+15005550006") || !strings.Contains(e.Message, "0.1 segments/s") {
		t.Fatalf("message %q does not name the sender and its pace", e.Message)
	}
	// The real clock does not move the fake one: this wait is 11 s, ended by cancelling.
	waiting, stop := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- p.Wait(waiting, "+15005550006", 1) }()
	time.Sleep(50 * time.Millisecond)
	stop()
	if err := <-done; !errs.IsRetryable(err) || errs.As(err).Paced {
		t.Fatalf("Wait cancelled = %v, want a retryable error that is not Paced", err)
	}
	clock.advance(time.Second)
	if b, _ := l.Reserve(context.Background(), []Claim{{Key: "pace:AC1:+15005550006", Hold: time.Second}}, time.Hour); b.Wait != 10*time.Second {
		t.Fatalf("after the cancelled wait the next slot is %v away, want 10s (the cancelled slot given back)", b.Wait)
	}
	// Unpaced senders do not wait at all.
	if err := p.Wait(short, "MG0123456789abcdef0123456789abcdef", 5); err != nil {
		t.Fatal(err)
	}
	var none *Pacer
	if err := none.Wait(short, "+15005550006", 1); err != nil {
		t.Fatal(err)
	}
}
