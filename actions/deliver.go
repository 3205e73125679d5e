package actions

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/twilio-connector/twilio-connector/errs"
	"github.com/twilio-connector/twilio-connector/metrics"
	"github.com/twilio-connector/twilio-connector/providers"
	"github.com/twilio-connector/twilio-connector/store"
)

// Delivery sends one message or call per recipient with the guarantees every action shares:
// at most one accepted send per (idempotency key, recipient) however often the request is
// repeated, transient failures retried with exponential backoff and jitter while the caller's
// deadline allows, and results in input order.
type Delivery struct {
	// Kind labels the sends in metrics: "sms" or "call".
	Kind  string
	Store store.Store
	// Attempts is the number of tries per recipient within one request.
	Attempts int
	// Parallelism bounds how many recipients of one request are sent at once.
	Parallelism int
	// BaseBackoff and MaxBackoff shape the retry delays (doubling, full jitter).
	BaseBackoff, MaxBackoff time.Duration
	Logger                  *slog.Logger
}

// sendsBucket holds, per idempotency key and recipient, a sendRecord.
const sendsBucket = "sends"

// sendRecord is what the store knows of one recipient of one request. Pending is set before a
// send is attempted and SID once Twilio accepted it; a record that is pending without a SID
// means an earlier attempt was cut off (a crash, a timeout) and may have reached Twilio.
type sendRecord struct {
	SID      string    `json:"sid,omitempty"`
	Status   string    `json:"status,omitempty"`
	Segments int       `json:"segments,omitempty"`
	Parts    []string  `json:"parts,omitempty"`
	Pending  time.Time `json:"pending,omitzero"`
}

// lookupSkew widens lookups for earlier attempts by the clock difference we tolerate between
// this host and Twilio.
const lookupSkew = 2 * time.Minute

// sendFunc performs one attempt for one recipient.
type sendFunc func(ctx context.Context, to string) (providers.Sent, error)

// findFunc asks the provider for a send to the recipient, with the request's content, created
// at or after since: how an attempt whose outcome is unknown is settled before sending again.
// It returns providers.ErrNoLookup when the provider cannot be asked.
type findFunc func(ctx context.Context, to string, since time.Time) (providers.Sent, bool, error)

// outcome is one recipient's result: sent or err is set.
type outcome struct {
	sent providers.Sent
	err  *errs.Error
}

// labels are a request's metric labels besides the kind: its connection and provider.
type labels struct{ connection, provider string }

// deliver runs send for each recipient. key is the idempotency key of the whole request (the
// job key, an Idempotency-Key header, an MQTT id); empty means no idempotency (one-off sends).
func (d *Delivery) deliver(ctx context.Context, key string, recipients []string, send sendFunc, find findFunc, connection, provider string) []outcome {
	out := make([]outcome, len(recipients))
	sem := make(chan struct{}, max(d.Parallelism, 1))
	var wg sync.WaitGroup
	for i, to := range recipients {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			out[i] = d.one(ctx, key, to, send, find, labels{connection, provider})
		}()
	}
	wg.Wait()
	return out
}

func storeError(err error) *errs.Error {
	return &errs.Error{Code: errs.StoreUnavailable, Message: "state store unavailable, nothing sent: " + err.Error(), Err: err}
}

// one delivers to one recipient: at most one accepted send per (key, recipient). The record
// is marked pending before the first attempt; whenever an earlier attempt may have reached
// Twilio (a pending record from a previous run, or an attempt that got no answer) Twilio is
// asked before sending again.
func (d *Delivery) one(ctx context.Context, key, to string, send sendFunc, find findFunc, l labels) outcome {
	tracked := key != "" && d.Store != nil
	storeKey := key + "\x00" + to
	var rec sendRecord
	if tracked {
		raw, ok, err := d.Store.Get(ctx, sendsBucket, storeKey)
		if err != nil {
			return outcome{err: storeError(err)}
		}
		if ok && json.Unmarshal(raw, &rec) == nil && rec.SID != "" {
			return outcome{sent: providers.Sent{SID: rec.SID, Status: rec.Status, Segments: rec.Segments, Parts: rec.Parts}}
		}
	}
	save := func(r sendRecord) error {
		raw, _ := json.Marshal(r)
		return d.Store.Put(ctx, sendsBucket, storeKey, raw, 0)
	}
	uncertain := tracked && !rec.Pending.IsZero()
	everUncertain := uncertain
	if !uncertain && tracked {
		rec.Pending = time.Now()
		if err := save(rec); err != nil {
			return outcome{err: storeError(err)}
		}
	}
	var last *errs.Error
	for attempt := 0; attempt < max(d.Attempts, 1); attempt++ {
		if attempt > 0 {
			wait := d.backoff(attempt, last.RetryAfter)
			if dl, ok := ctx.Deadline(); ok && time.Until(dl) < wait {
				break
			}
			select {
			case <-ctx.Done():
				return outcome{err: last}
			case <-time.After(wait):
			}
		}
		if uncertain && find != nil {
			s, found, err := find(ctx, to, rec.Pending.Add(-lookupSkew))
			if errors.Is(err, providers.ErrNoLookup) {
				// The record stays pending: every repeat of the request refuses alike.
				last = &errs.Error{Code: errs.DeliveryUncertain, Uncertain: true, Err: err, Message: "an earlier attempt to " + to +
					" through connection " + l.connection + " got no answer, and " + l.provider +
					" cannot be asked whether it arrived; not sending again, to avoid a duplicate: check with the recipient, and send again with a new request if it is missing"}
				metrics.Sends.WithLabelValues(d.Kind, l.connection, l.provider, string(last.Code)).Inc()
				return outcome{err: last}
			}
			if err != nil {
				last = errs.As(err)
				if !last.Retryable() {
					break
				}
				continue
			}
			if found {
				d.logger().Info("an earlier attempt had reached the provider; not sending again", "recipient", to, "sid", s.SID, "connection", l.connection)
				return d.accepted(tracked, save, to, s)
			}
		}
		s, err := send(ctx, to)
		if err == nil {
			metrics.Sends.WithLabelValues(d.Kind, l.connection, l.provider, "sent").Inc()
			return d.accepted(tracked, save, to, s)
		}
		last = errs.As(err)
		metrics.Sends.WithLabelValues(d.Kind, l.connection, l.provider, string(last.Code)).Inc()
		uncertain = tracked && last.Uncertain
		everUncertain = everUncertain || uncertain
		if !last.Retryable() {
			break
		}
		d.logger().Warn("transient provider failure", "recipient", to, "attempt", attempt+1, "code", last.Code, "twilioCode", last.TwilioCode, "connection", l.connection)
	}
	if tracked && !everUncertain {
		// Twilio answered every attempt with a failure: nothing went out, nothing to look up
		// next time.
		if err := d.Store.Delete(ctx, sendsBucket, storeKey); err != nil {
			d.logger().Warn("could not clear a pending send record; the next attempt will look it up at Twilio first", "recipient", to, "err", err)
		}
	}
	return outcome{err: last}
}

// accepted records what Twilio accepted. Failing to record it is logged, not returned: the
// message went out, and a failed request would make the caller repeat it.
func (d *Delivery) accepted(tracked bool, save func(sendRecord) error, to string, s providers.Sent) outcome {
	if tracked {
		if err := save(sendRecord{SID: s.SID, Status: s.Status, Segments: s.Segments, Parts: s.Parts}); err != nil {
			d.logger().Error("state store write failed after a send; a repeat of this request will look the send up at Twilio first",
				"recipient", to, "sid", s.SID, "err", err)
		}
	}
	return outcome{sent: s}
}

// backoff is the wait before the given retry: the server's Retry-After when it asked for one,
// otherwise base·2^(attempt-1) with full jitter, capped.
func (d *Delivery) backoff(attempt int, retryAfter time.Duration) time.Duration {
	if retryAfter > 0 {
		return retryAfter
	}
	base, ceiling := d.BaseBackoff, d.MaxBackoff
	if base <= 0 {
		base = 200 * time.Millisecond
	}
	if ceiling <= 0 {
		ceiling = 5 * time.Second
	}
	b := base << (attempt - 1)
	if b > ceiling || b <= 0 {
		b = ceiling
	}
	return b/2 + rand.N(b/2+1)
}

func (d *Delivery) logger() *slog.Logger {
	if d.Logger == nil {
		return slog.Default()
	}
	return d.Logger
}
