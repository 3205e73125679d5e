package triggers

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/twilio-connector/twilio-connector/store"
)

// OutboxBucket is the store bucket of unpublished messages, keyed by message id.
const OutboxBucket = "outbox"

// Outbox defaults.
const (
	// DefaultOutboxInterval is how often Run looks for due entries.
	DefaultOutboxInterval = 5 * time.Second
	// DefaultOutboxMinBackoff is the wait after the first failed attempt; it doubles with each
	// further failure up to DefaultOutboxMaxBackoff.
	DefaultOutboxMinBackoff = 5 * time.Second
	DefaultOutboxMaxBackoff = 5 * time.Minute
	// DefaultPublishTimeout bounds one publish attempt.
	DefaultPublishTimeout = 5 * time.Second
)

// OutboxOptions configure an Outbox; zero values take the defaults above.
type OutboxOptions struct {
	Interval       time.Duration
	MinBackoff     time.Duration
	MaxBackoff     time.Duration
	PublishTimeout time.Duration
	// Replier sends the replies of channels that answer with outgoing messages (the HTTP
	// channel); nil keeps such entries until a connector with a Replier takes them.
	Replier Replier
	Logger  *slog.Logger
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
}

// Outbox keeps messages that are not yet published in the store and publishes them until the
// engine takes them, so an inbound SMS is never lost; it also keeps the HTTP channel's replies
// until their provider took them. The webhook writes every message here
// before publishing it (and removes it once published); Run retries what is left, also after a
// restart. Replicas sharing a store may publish the same entry concurrently; that is harmless
// because publishing is idempotent on the message id.
type Outbox struct {
	st   store.Store
	pub  Publisher
	opts OutboxOptions
	log  *slog.Logger
}

// Reply is an echo sent back as an outgoing message through the connection it came in on
// (the HTTP channel: Twilio's go back in the TwiML answer instead).
type Reply struct {
	// ID is stable: a reply tried again (a retry, a restart after the send) has the same id,
	// the idempotency key of its send, so it is not sent twice.
	ID         string `json:"id"`
	Connection string `json:"connection"`
	To         string `json:"to"`
	// From is the sender, the number the message came in to; "" for the connection's
	// default_from.
	From string `json:"from,omitempty"`
	Text string `json:"text"`
}

// Replier sends a reply through its connection's provider; the wiring supplies it. An error
// keeps the reply in the outbox, tried again with backoff.
type Replier func(ctx context.Context, r Reply) error

// outboxEntry is a message to publish or, with Reply set, a reply to send.
type outboxEntry struct {
	Message Message `json:"message"`
	// Key is the store key when it is not the message id (a messageIdExpression's id, scoped
	// by message name and correlation key as Zeebe scopes it).
	Key         string    `json:"key,omitempty"`
	Reply       *Reply    `json:"reply,omitempty"`
	Attempts    int       `json:"attempts"`
	NextAttempt time.Time `json:"nextAttempt"`
	LastError   string    `json:"lastError,omitempty"`
	Created     time.Time `json:"created"`
}

// NewOutbox returns an outbox over st publishing with pub.
func NewOutbox(st store.Store, pub Publisher, opts OutboxOptions) *Outbox {
	if opts.Interval <= 0 {
		opts.Interval = DefaultOutboxInterval
	}
	if opts.MinBackoff <= 0 {
		opts.MinBackoff = DefaultOutboxMinBackoff
	}
	if opts.MaxBackoff < opts.MinBackoff {
		opts.MaxBackoff = max(DefaultOutboxMaxBackoff, opts.MinBackoff)
	}
	if opts.PublishTimeout <= 0 {
		opts.PublishTimeout = DefaultPublishTimeout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Outbox{st: st, pub: pub, opts: opts, log: log.With("component", "outbox")}
}

// key is the entry's store key: Key, the reply id, or the message id.
func (e outboxEntry) key() string {
	switch {
	case e.Key != "":
		return e.Key
	case e.Reply != nil:
		return e.Reply.ID
	}
	return e.Message.MessageID
}

// entry is e as a store entry. 0 TTL: the store's retention; an entry older than that is
// dropped with the rest of the state.
func (o *Outbox) entry(e outboxEntry) (store.Entry, error) {
	data, err := json.Marshal(e)
	if err != nil {
		return store.Entry{}, fmt.Errorf("outbox: encode message %s: %w", e.key(), err)
	}
	return store.Entry{Bucket: OutboxBucket, Key: e.key(), Value: data}, nil
}

func (o *Outbox) put(ctx context.Context, e outboxEntry) error {
	se, err := o.entry(e)
	if err != nil {
		return err
	}
	return o.st.Put(ctx, se.Bucket, se.Key, se.Value, se.TTL)
}

// holdEntry is the entry recording m before it is published, for the webhooks to store
// together with their claim (store.ClaimWith); the retry loop leaves it alone until
// notBefore, so it does not race the publish under way.
// key is the store key when it is not the message id ("" otherwise).
func (o *Outbox) holdEntry(m Message, key string, notBefore time.Time) (store.Entry, error) {
	return o.entry(outboxEntry{Message: m, Key: key, NextAttempt: notBefore, Created: o.opts.Now()})
}

// done removes a published message.
func (o *Outbox) done(ctx context.Context, id string) error {
	return o.st.Delete(ctx, OutboxBucket, id)
}

// failed records a failed attempt and schedules the next one.
func (o *Outbox) failed(ctx context.Context, e outboxEntry, cause error) error {
	e.Attempts++
	e.LastError = cause.Error()
	e.NextAttempt = o.opts.Now().Add(o.backoff(e.Attempts))
	return o.put(ctx, e)
}

func (o *Outbox) backoff(attempts int) time.Duration {
	d := o.opts.MinBackoff
	for i := 1; i < attempts && d < o.opts.MaxBackoff; i++ {
		d *= 2
	}
	return min(d, o.opts.MaxBackoff)
}

// publish makes one attempt at m.
func (o *Outbox) publish(ctx context.Context, m Message) error {
	pctx, cancel := context.WithTimeout(ctx, o.opts.PublishTimeout)
	defer cancel()
	return o.pub.Publish(pctx, m)
}

// reply makes one attempt at sending r.
func (o *Outbox) reply(ctx context.Context, r Reply) error {
	if o.opts.Replier == nil {
		return fmt.Errorf("no replier for connection %s: this connector cannot send replies", r.Connection)
	}
	rctx, cancel := context.WithTimeout(ctx, o.opts.PublishTimeout)
	defer cancel()
	return o.opts.Replier(rctx, r)
}

// attempt makes one attempt at e: publish its message or send its reply.
func (o *Outbox) attempt(ctx context.Context, e outboxEntry) error {
	if e.Reply != nil {
		return o.reply(ctx, *e.Reply)
	}
	return o.publish(ctx, e.Message)
}

// Flush makes one attempt at every entry that is due (every entry when all is true) and
// reports how many were published and how many remain.
func (o *Outbox) Flush(ctx context.Context, all bool) (published, pending int, err error) {
	var entries []outboxEntry
	err = o.st.Scan(ctx, OutboxBucket, func(key string, value []byte) error {
		var e outboxEntry
		if err := json.Unmarshal(value, &e); err != nil {
			o.log.Error("outbox entry is not readable; skipping it", "messageId", key, "err", err)
			return nil
		}
		entries = append(entries, e)
		return nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("outbox: scan: %w", err)
	}
	now := o.opts.Now()
	for _, e := range entries {
		if ctx.Err() != nil {
			return published, len(entries) - published, ctx.Err()
		}
		if !all && now.Before(e.NextAttempt) {
			continue
		}
		m, id := e.Message, e.key()
		if perr := o.attempt(ctx, e); perr != nil {
			level := slog.LevelWarn
			if !IsTemporary(perr) {
				level = slog.LevelError
			}
			if e.Reply != nil {
				o.log.Log(ctx, level, "sending a kept reply failed; retrying later", "connection", e.Reply.Connection,
					"replyId", id, "attempts", e.Attempts+1, "err", perr)
			} else {
				o.log.Log(ctx, level, "publishing a kept message failed; retrying later", "messageName", m.Name,
					"messageId", id, "attempts", e.Attempts+1, "temporary", IsTemporary(perr), "err", perr)
			}
			if err := o.failed(ctx, e, perr); err != nil {
				o.log.Error("outbox: cannot record the failed attempt", "messageId", id, "err", err)
			}
			continue
		}
		published++
		if e.Reply != nil {
			o.log.Info("sent a kept reply", "connection", e.Reply.Connection, "replyId", id, "attempts", e.Attempts+1)
		} else {
			o.log.Info("published a kept message", "messageName", m.Name, "messageId", id, "attempts", e.Attempts+1)
		}
		if err := o.done(ctx, id); err != nil {
			o.log.Error("outbox: cannot remove a published message or sent reply; it will be tried again", "messageId", id, "err", err)
		}
	}
	return published, len(entries) - published, nil
}

// Pending returns the number of messages waiting in the outbox.
func (o *Outbox) Pending(ctx context.Context) (int, error) {
	n := 0
	err := o.st.Scan(ctx, OutboxBucket, func(string, []byte) error { n++; return nil })
	return n, err
}

// Run retries pending messages until ctx ends: first every entry left from before (a restart),
// then the due ones every Interval. It returns nil when ctx ends.
func (o *Outbox) Run(ctx context.Context) error {
	all := true
	t := time.NewTicker(o.opts.Interval)
	defer t.Stop()
	for {
		if _, pending, err := o.Flush(ctx, all); err != nil && ctx.Err() == nil {
			o.log.Error("outbox pass failed", "err", err)
		} else if all && pending > 0 {
			o.log.Info("outbox: messages still waiting for the engine", "pending", pending)
		}
		all = false
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
