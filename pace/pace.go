// Package pace spaces a Twilio connection's sends so that no sender gets more segments per
// second than Twilio sends from it (a US long code 1, toll-free 3, a short code 100): Twilio
// queues at most 10 hours of messages per sender and refuses the rest (21611), and a burst far
// over the rate is delivered hours late.
//
// Each sender (and, with an account cap, the account) is a token bucket without burst: a send
// of n segments holds its bucket for n/rate seconds (stretched by Headroom), so sends of one
// sender are spaced by their segments whatever the number of replicas sharing the Limiter. A
// send waits for its slot; one whose slot comes after its context's deadline books nothing and
// fails at once with a retryable error carrying the wait (RetryAfter), so that the job is
// retried then.
package pace

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/twilio-connector/twilio-connector/errs"
	"github.com/twilio-connector/twilio-connector/metrics"
)

// Rates is the pace of one Twilio account (one connection), in segments per second.
type Rates struct {
	// Senders are the rates of listed senders (numbers, short codes, alphanumeric ids,
	// Messaging Service SIDs, whatsapp: addresses).
	Senders map[string]float64
	// Default is the rate of every other sender; 0 means by the sender's kind (KindRates).
	Default float64
	// Account caps the whole account; 0 means no cap.
	Account float64
}

// Sender kinds, as metrics label senders that are not listed.
const (
	LongCode         = "long_code"
	TollFree         = "toll_free"
	ShortCode        = "short_code"
	Alphanumeric     = "alphanumeric"
	MessagingService = "messaging_service"
	WhatsApp         = "whatsapp"
	Other            = "other"
)

// KindRates are Twilio's default sending rates by sender kind (segments per second). Kinds
// not listed (Messaging Services, which spread sends over their pool; WhatsApp; unknown
// shapes) are not paced unless listed or given a default.
var KindRates = map[string]float64{LongCode: 1, TollFree: 3, ShortCode: 100, Alphanumeric: 10}

var (
	tollFreePattern  = regexp.MustCompile(`^\+18(00|33|44|55|66|77|88)[0-9]{7}$`)
	numberPattern    = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)
	shortCodePattern = regexp.MustCompile(`^[0-9]{5,6}$`)
	alphaPattern     = regexp.MustCompile(`^[A-Za-z0-9 ]{1,11}$`)
	servicePattern   = regexp.MustCompile(`^MG[0-9a-fA-F]{32}$`)
)

// Kind returns the kind of a sender as Twilio's From or MessagingServiceSid holds it.
func Kind(sender string) string {
	switch {
	case strings.HasPrefix(sender, "whatsapp:"):
		return WhatsApp
	case servicePattern.MatchString(sender):
		return MessagingService
	case tollFreePattern.MatchString(sender):
		return TollFree
	case numberPattern.MatchString(sender):
		return LongCode
	case shortCodePattern.MatchString(sender):
		return ShortCode
	case alphaPattern.MatchString(sender) && strings.ContainsFunc(sender, isLetter):
		return Alphanumeric
	}
	return Other
}

func isLetter(r rune) bool { return r >= 'A' && r <= 'Z' || r >= 'a' && r <= 'z' }

// ParseRate reads a rate in segments per second: a positive number such as 10 or 0.5.
func ParseRate(s string) (float64, error) {
	r, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || !(r > 0) || math.IsInf(r, 0) {
		return 0, fmt.Errorf("%q is not a rate: give segments per second, a number above 0 such as 10 or 0.5", s)
	}
	return r, nil
}

// ParseDefault reads the default rate: a rate, or "kind" (0: by the sender's kind).
func ParseDefault(s string) (float64, error) {
	if strings.TrimSpace(s) == "kind" {
		return 0, nil
	}
	r, err := ParseRate(s)
	if err != nil {
		return 0, fmt.Errorf("%q is neither a rate (segments per second, a number above 0) nor kind (by the sender's kind)", s)
	}
	return r, nil
}

// ParseSenders reads senders and their rates written as SENDER=RATE,SENDER=RATE.
func ParseSenders(s string) (map[string]float64, error) {
	m := map[string]float64{}
	for _, item := range strings.Split(s, ",") {
		if strings.TrimSpace(item) == "" {
			continue
		}
		sender, rate, ok := strings.Cut(item, "=")
		if !ok {
			return nil, fmt.Errorf("%q is not SENDER=RATE: write it like +15005550006=10,MG…=50", strings.TrimSpace(item))
		}
		sender = strings.TrimSpace(sender)
		r, err := ParseRate(rate)
		if err != nil {
			return nil, fmt.Errorf("sender %s: %v", sender, err)
		}
		if _, dup := m[sender]; dup {
			return nil, fmt.Errorf("sender %s is given twice: keep one", sender)
		}
		m[sender] = r
	}
	return m, nil
}

// CheckSenders says what is wrong with the listed senders, "" when nothing: each must have the
// shape of a sender, or it would never match one.
func CheckSenders(senders map[string]float64) error {
	for s := range senders {
		if Kind(s) == Other {
			return fmt.Errorf("%q is not a sender: list E.164 numbers (+15005550006), short codes, alphanumeric sender ids, Messaging Service SIDs (MG…) or whatsapp: addresses", s)
		}
	}
	return nil
}

// Claim is one bucket a send holds: its key and for how long (segments / rate).
type Claim struct {
	Key  string
	Hold time.Duration
}

// Booking is the outcome of Limiter.Reserve.
type Booking struct {
	// Wait is how long until the booked slot, or, when OK is false, until the slot that was
	// too far away to book.
	Wait time.Duration
	OK   bool
	// Cancel gives an unused booking back where no later booking was made on top of it (then
	// its time is lost: at most one send's worth per bucket). Nil when OK is false.
	Cancel func()
}

// Limiter keeps token buckets: Local in one process, store.Redis across replicas.
type Limiter interface {
	// Reserve books, in every claim's bucket at once, the earliest moment at which all of them
	// are free, when that is at most maxWait away, holding each for its Hold from then on.
	// Further away, it books nothing and returns OK false with the wait there would have been.
	Reserve(ctx context.Context, claims []Claim, maxWait time.Duration) (Booking, error)
}

// Pacer paces the sends of one connection.
type Pacer struct {
	connection string
	prefix     string // bucket key prefix: the account, shared by connections of one account
	rates      Rates
	limiter    Limiter
}

// New returns the pacer of connection, whose Twilio account is account; a nil limiter is a
// Local one.
func New(connection, account string, rates Rates, limiter Limiter) *Pacer {
	if limiter == nil {
		limiter = NewLocal()
	}
	// The listed senders' series are exported from the start (at 0), so that dashboards and
	// alerts see them before the first send.
	for sender := range rates.Senders {
		metrics.PaceWait.WithLabelValues(connection, sender)
		metrics.PaceThrottled.WithLabelValues(connection, sender)
	}
	return &Pacer{connection: connection, prefix: "pace:" + account, rates: rates, limiter: limiter}
}

// rate returns the rate of sender (0: not paced) and its metrics label: the sender itself
// when listed (the operator chose to watch it), else its kind, so that label values stay few.
func (p *Pacer) rate(sender string) (float64, string) {
	if r, ok := p.rates.Senders[sender]; ok {
		return r, sender
	}
	kind := Kind(sender)
	if p.rates.Default > 0 {
		return p.rates.Default, kind
	}
	return KindRates[kind], kind
}

// requestAllowance is what a send keeps of its deadline for the request itself: a slot later
// than that is deferred, not sent to be cut off by the deadline (and then looked up).
const requestAllowance = time.Second

// Headroom stretches every hold: a segment keeps its bucket Headroom/rate seconds, so a sender
// paced at 10 a second sends one every 110 ms, a tenth under its rate. The pace is a ceiling at
// Twilio, which counts on its own clock: each send reaches it after its own delay (waking up,
// the HTTP round trip, a busy machine), and with holds of exactly 1/rate a send delayed more
// than the one rate slots later puts rate+1 sends in one second there. With Headroom the first
// and last of rate+1 one-segment sends are booked 1.1 s apart, so delays that differ by up to
// 100 ms keep every second at Twilio within the rate (rate+2 needs 210 ms). A fixed fraction,
// not one by rate: the tolerance is then 100 ms at every rate (delays do not depend on it).
// No margin makes the rate strict: on a machine whose cores are saturated, delays were seen to
// differ by 250 ms (test/pacing_e2e_test.go): a Headroom of 1.25 at least, a fifth of the
// throughput, and more to be safe.
const Headroom = 1.1

// hold is how long segments keep a bucket of rate, with Headroom (which dwarfs rounding).
func hold(segments int, rate float64) time.Duration {
	return time.Duration(math.Round(float64(max(segments, 1)) * Headroom / rate * float64(time.Second)))
}

// Wait returns once sender may send a message of segments segments, booking its slot. When
// the slot is after ctx's deadline (less a second for the request) it books nothing and returns TWILIO_RATE_LIMITED with
// RetryAfter the wait and Paced set; when ctx ends while waiting, the booking is given back.
// A nil Pacer does not pace.
func (p *Pacer) Wait(ctx context.Context, sender string, segments int) error {
	if p == nil {
		return nil
	}
	rate, label := p.rate(sender)
	var claims []Claim
	if rate > 0 {
		claims = append(claims, Claim{Key: p.prefix + ":" + sender, Hold: hold(segments, rate)})
	}
	if p.rates.Account > 0 {
		claims = append(claims, Claim{Key: p.prefix, Hold: hold(segments, p.rates.Account)})
	}
	if len(claims) == 0 {
		return nil
	}
	maxWait := time.Duration(math.MaxInt64)
	if dl, ok := ctx.Deadline(); ok {
		maxWait = max(time.Until(dl)-requestAllowance, 0)
	}
	b, err := p.limiter.Reserve(ctx, claims, maxWait)
	if err != nil {
		return &errs.Error{Code: errs.StoreUnavailable, Err: err,
			Message: "the pace of sender " + sender + " could not be read from the state store, nothing sent: " + err.Error()}
	}
	if !b.OK {
		metrics.PaceThrottled.WithLabelValues(p.connection, label).Inc()
		return &errs.Error{Code: errs.RateLimited, RetryAfter: b.Wait, Paced: true,
			Message: fmt.Sprintf("sender %s of connection %s is paced (%s) and its next free slot is %s away, after the deadline of this request: nothing sent, try again then",
				sender, p.connection, p.describe(rate), b.Wait.Round(time.Millisecond))}
	}
	metrics.PaceWait.WithLabelValues(p.connection, label).Observe(b.Wait.Seconds())
	if b.Wait <= 0 {
		return nil
	}
	t := time.NewTimer(b.Wait)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		b.Cancel()
		return &errs.Error{Code: errs.RateLimited, Err: ctx.Err(),
			Message: "gave up waiting for the paced slot of sender " + sender + ": " + ctx.Err().Error()}
	}
}

func (p *Pacer) describe(rate float64) string {
	var parts []string
	if rate > 0 {
		parts = append(parts, strconv.FormatFloat(rate, 'g', -1, 64)+" segments/s")
	}
	if p.rates.Account > 0 {
		parts = append(parts, "account "+strconv.FormatFloat(p.rates.Account, 'g', -1, 64)+" segments/s")
	}
	return strings.Join(parts, ", ")
}
