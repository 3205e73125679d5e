package actions

import (
	"context"
	"encoding/json"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/twilio-connector/twilio-connector/errs"
	"github.com/twilio-connector/twilio-connector/metrics"
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

// sendsBucket holds, per idempotency key and recipient, what Twilio accepted.
const sendsBucket = "sends"

// sendFunc performs one attempt for one recipient.
type sendFunc func(ctx context.Context, to string) (Sent, error)

// outcome is one recipient's result: sent or err is set.
type outcome struct {
	sent Sent
	err  *errs.Error
}

// deliver runs send for each recipient. key is the idempotency key of the whole request (the
// job key, an Idempotency-Key header, an MQTT id); empty means no idempotency (one-off sends).
func (d *Delivery) deliver(ctx context.Context, key string, recipients []string, send sendFunc) []outcome {
	out := make([]outcome, len(recipients))
	par := max(d.Parallelism, 1)
	sem := make(chan struct{}, par)
	var wg sync.WaitGroup
	for i, to := range recipients {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			out[i] = d.one(ctx, key, to, send)
		}()
	}
	wg.Wait()
	return out
}

func (d *Delivery) one(ctx context.Context, key, to string, send sendFunc) outcome {
	storeKey := key + "\x00" + to
	if key != "" && d.Store != nil {
		raw, ok, err := d.Store.Get(ctx, sendsBucket, storeKey)
		if err != nil {
			return outcome{err: &errs.Error{Code: errs.Internal, Message: "state store unavailable, nothing sent: " + err.Error(), Err: err}}
		}
		if ok {
			var s Sent
			if json.Unmarshal(raw, &s) == nil && s.SID != "" {
				return outcome{sent: s}
			}
		}
	}
	var last *errs.Error
	attempts := max(d.Attempts, 1)
	for attempt := 0; attempt < attempts; attempt++ {
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
		s, err := send(ctx, to)
		if err == nil {
			metrics.Sends.WithLabelValues(d.Kind, "sent").Inc()
			if key != "" && d.Store != nil {
				raw, _ := json.Marshal(s)
				if perr := d.Store.Put(ctx, sendsBucket, storeKey, raw, 0); perr != nil {
					// Twilio accepted it; failing now would resend it. Report success and log.
					d.logger().Error("state store write failed after a send; a retry of this request may send again",
						"recipient", to, "sid", s.SID, "err", perr)
				}
			}
			return outcome{sent: s}
		}
		last = errs.As(err)
		metrics.Sends.WithLabelValues(d.Kind, string(last.Code)).Inc()
		if !last.Retryable() {
			break
		}
		d.logger().Warn("transient Twilio failure", "recipient", to, "attempt", attempt+1, "code", last.Code, "twilioCode", last.TwilioCode)
	}
	return outcome{err: last}
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
