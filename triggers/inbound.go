package triggers

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"time"

	"github.com/twilio-connector/twilio-connector/feel"
	"github.com/twilio-connector/twilio-connector/store"
)

// DefaultConnection is the connection of the Twilio account configured by the TWILIO_*
// variables: the one Twilio's webhook receives for, and the one a trigger without a
// connection listens on.
const DefaultConnection = "default"

// Channels, the value of the channel variable.
const (
	ChannelSMS      = "sms"
	ChannelWhatsApp = "whatsapp"
	ChannelHTTP     = "http"
)

// Inbound is one inbound message, whatever channel it came in on.
type Inbound struct {
	// Key is the store key of its dedupe claim, unique across channels and connections; the
	// ids of the messages it publishes derive from it.
	Key string
	// ID is the channel's id of the message (Twilio: the MessageSid), the messageSid variable.
	ID         string
	From       string
	To         string
	Text       string
	Channel    string
	Connection string
	ReceivedAt time.Time
}

// pipeline is the one trigger pipeline every inbound channel feeds, after its own checks
// (size, decoding, authentication, required fields): opt-out keywords, matching (connection,
// receiving number, pattern, then activationCondition, then the correlation key, message id
// and result expressions: see match), the dedupe claim together with the outbox entries (one
// atomic write), publishing, reply texts.
type pipeline struct {
	opts   Options
	outbox *Outbox
	log    *slog.Logger
}

func newPipeline(opts Options, component string) *pipeline {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With("component", component)
	if opts.Triggers == nil {
		opts.Triggers = NewRegistry()
	}
	if opts.MessageTTL <= 0 {
		opts.MessageTTL = DefaultMessageTTL
	}
	if opts.PublishTimeout <= 0 {
		opts.PublishTimeout = DefaultPublishTimeout
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	ob := opts.Outbox
	if ob == nil {
		ob = NewOutbox(opts.Store, opts.Publisher, OutboxOptions{Logger: opts.Logger, PublishTimeout: opts.PublishTimeout, Now: opts.Now})
	}
	return &pipeline{opts: opts, outbox: ob, log: log}
}

type inboundRecord struct {
	State   string `json:"state"` // "pending" while the first delivery is handled, then "done"
	Reply   []byte `json:"reply,omitempty"`
	Outcome string `json:"outcome,omitempty"`
}

// fired is one matching trigger of one inbound message.
type fired struct {
	t      *Trigger
	groups map[string]any
	msg    Message
	// key is the store key of the message's outbox entry and dedupe, "" for msg.MessageID.
	key string
	ok  bool // published
}

// storeKey is the key of the message's outbox entry; two matches with one key publish once.
func (f *fired) storeKey() string {
	if f.key != "" {
		return f.key
	}
	return f.msg.MessageID
}

// received is what the pipeline did with one inbound message.
type received struct {
	// duplicate: the key was claimed before; nothing was published and first is the record
	// of the first delivery (State "pending" while it is still handled).
	duplicate bool
	first     inboundRecord
	// texts are the rendered replies, one per matching trigger with a non-empty template.
	texts   []string
	outcome string
}

// receive runs the pipeline on in. An error means the store failed before anything was
// recorded: the channel should ask the sender to deliver again.
func (p *pipeline) receive(ctx context.Context, log *slog.Logger, in Inbound) (received, error) {
	keyword := !p.opts.MatchOptOutKeywords && IsOptOutKeyword(in.Text)
	matches := p.match(log, in, keyword)
	// Dedupe and write ahead in one atomic write: the key is claimed together with the
	// outbox entry of every message it publishes. A crash cannot leave the claim without the
	// messages (the outbox publishes them on restart), a failed write leaves neither (a
	// redelivery is handled afresh), and ClaimWith is atomic across replicas sharing the store.
	// The retry loop leaves the entries alone while this request publishes them.
	hold := p.opts.Now().Add(p.opts.PublishTimeout + p.outbox.opts.MinBackoff)
	seen := map[string]bool{} // store keys: two triggers with one message publish it once
	var unique []*fired
	var held []store.Entry
	for _, f := range matches {
		if seen[f.storeKey()] {
			continue
		}
		e, err := p.outbox.holdEntry(f.msg, f.key, hold)
		if err != nil {
			return received{}, err
		}
		seen[f.storeKey()] = true
		unique = append(unique, f)
		held = append(held, e)
	}
	pending, _ := json.Marshal(inboundRecord{State: "pending"})
	claimed, err := p.opts.Store.ClaimWith(ctx, store.Entry{Bucket: InboundBucket, Key: in.Key, Value: pending}, held...)
	if err != nil {
		return received{}, err
	}
	if !claimed {
		return received{duplicate: true, first: p.first(ctx, log, in.Key), outcome: OutcomeDuplicate}, nil
	}
	texts, outcome := p.handle(ctx, log, in, keyword, matches, unique)
	if p.opts.Observer != nil {
		p.opts.Observer.Received(observed(in, outcome, matches))
	}
	return received{texts: texts, outcome: outcome}, nil
}

// first reads the record of the first delivery of key.
func (p *pipeline) first(ctx context.Context, log *slog.Logger, key string) inboundRecord {
	var rec inboundRecord
	data, found, err := p.opts.Store.Get(ctx, InboundBucket, key)
	if err == nil && found {
		err = json.Unmarshal(data, &rec)
	}
	if err != nil {
		log.Warn("redelivered message: cannot read the first delivery's record", "err", err)
	}
	return rec
}

// done records the outcome (and the reply, for channels that answer it again to a
// redelivery) of a claimed message.
func (p *pipeline) done(ctx context.Context, log *slog.Logger, key string, reply []byte, outcome string) {
	done, _ := json.Marshal(inboundRecord{State: "done", Reply: reply, Outcome: outcome})
	if err := p.opts.Store.Put(context.WithoutCancel(ctx), InboundBucket, key, done, 0); err != nil {
		log.Error("cannot record the outcome; a redelivery of this message will get an empty reply (and publish nothing)", "err", err)
	}
}

// handle publishes the messages of a claimed inbound message, already in the outbox (unique:
// the first match of each message id), and renders the replies.
func (p *pipeline) handle(ctx context.Context, log *slog.Logger, in Inbound, keyword bool, matches, unique []*fired) ([]string, string) {
	if len(matches) == 0 {
		if keyword {
			log.Info("opt-out keyword: it starts no process")
			return nil, OutcomeOptOut
		}
		log.Info("no trigger matched", "to", in.To, "connection", in.Connection)
		return nil, OutcomeNoMatch
	}
	// One deadline for all publishes: the sender waits for the whole answer.
	pctx, cancel := context.WithTimeout(ctx, p.opts.PublishTimeout)
	defer cancel()
	outcome := OutcomePublished
	published := map[string]bool{}
	for _, f := range unique {
		id := f.msg.MessageID
		err := p.outbox.publish(pctx, f.msg)
		if err != nil {
			outcome = OutcomeEngineFailed
			log.Warn("publishing failed; the message is kept in the outbox and retried", "trigger", f.t.Where(),
				"messageName", f.msg.Name, "messageId", id, "temporary", IsTemporary(err), "err", err)
			if err := p.outbox.failed(context.WithoutCancel(ctx), outboxEntry{Message: f.msg, Key: f.key, Created: in.ReceivedAt}, err); err != nil {
				log.Error("cannot record the failed attempt; the outbox retries it after its hold time", "messageId", id, "err", err)
			}
			continue
		}
		published[f.storeKey()] = true
		log.Info("published", "trigger", f.t.Where(), "messageName", f.msg.Name, "messageId", id, "correlationKey", f.msg.CorrelationKey)
		if err := p.outbox.done(context.WithoutCancel(ctx), f.storeKey()); err != nil {
			log.Error("cannot remove a published message from the outbox; it will be published again (idempotent)", "messageId", id, "err", err)
		}
	}
	for _, f := range matches {
		f.ok = published[f.storeKey()]
	}

	var texts []string
	for _, f := range matches {
		text, err := f.t.Render(!f.ok, f.groups, in)
		if err != nil {
			field := FieldEcho
			if !f.ok {
				field = FieldEchoError
			}
			log.Warn("reply template failed; replying without it (the message was handled)", "trigger", f.t.Where(), "field", field, "err", err)
			continue
		}
		texts = append(texts, text)
	}
	return texts, outcome
}

// match returns every trigger that fires for the message, in registry order. A trigger fires
// when it listens on the message's connection and receiving number, its pattern matches and
// its activationCondition (if any) is true; then its correlationKeyExpression,
// messageIdExpression and resultExpression are evaluated (Trigger.fire). A trigger whose
// expressions fail does not fire (logged as a warning naming trigger and property); the next
// trigger may. An
// opt-out keyword (keyword true) reaches only catch events: it never starts a process, but a
// process that asked "reply YES to confirm" or waits for a STOP still gets it.
func (p *pipeline) match(log *slog.Logger, in Inbound, keyword bool) []*fired {
	var out []*fired
	for _, t := range p.opts.Triggers.Triggers() {
		if !t.listensOn(in.Connection) || !t.accepts(in.To) || (keyword && t.Kind == StartEvent) {
			continue
		}
		groups, ok, err := t.pattern.Match(in.Text)
		if err != nil {
			log.Warn("pattern failed on this message; treating it as no match", "trigger", t.Where(), "err", err)
			continue
		}
		if !ok {
			continue
		}
		f, err := t.fire(groups, in, p.opts.MessageTTL)
		if err != nil {
			log.Warn("a trigger property failed on this message; the trigger does not fire", "trigger", t.Where(), "err", err)
			continue
		}
		if f == nil {
			log.Info("activationCondition is not true; the trigger does not fire", "trigger", t.Where())
			continue
		}
		out = append(out, f)
	}
	return out
}

// fire evaluates t's FEEL properties on a message its pattern matched with groups:
// activationCondition first (not true: nil, nil, the trigger does not fire), then the Zeebe
// message it publishes (startTTL is the time to live of start events without messageTtl). Its
// id is derived from the message's key, the kind and the message name unless
// messageIdExpression gives it, so publishing it again (a retry, another replica) is idempotent.
// The error names the property that failed.
func (t *Trigger) fire(groups map[string]any, in Inbound, startTTL time.Duration) (*fired, error) {
	vars := feelVars(groups, in)
	if active, err := t.activated(vars); err != nil || !active {
		return nil, err
	}
	m := Message{
		Name:      t.MessageName,
		MessageID: in.Key + ":" + string(t.Kind) + ":" + t.MessageName,
		TTL:       t.TTL(startTTL),
		Variables: map[string]any{
			"matchGroups":     groups,
			"originalMessage": in.Text,
			"to":              in.To,
			"from":            in.From,
			"messageSid":      in.ID,
			"receivedAt":      vars["receivedAt"],
			"channel":         in.Channel,
			"connection":      in.Connection,
		},
	}
	var err error
	switch {
	case t.correlationKey != nil:
		if m.CorrelationKey, err = key(FieldCorrelationKey, t.correlationKey, vars); err != nil {
			return nil, err
		}
	case t.Kind == CatchEvent:
		m.CorrelationKey = in.From
	}
	f := &fired{t: t, groups: groups, msg: m}
	if t.messageID != nil {
		id, err := key(FieldMessageID, t.messageID, vars)
		if err != nil {
			return nil, err
		}
		if id == "" {
			return nil, fmt.Errorf("%s %q gave an empty string: it must identify the message", FieldMessageID, t.messageID)
		}
		f.msg.MessageID = id
		// Zeebe tells messages apart by name, correlation key and id; so do the dedupe and the
		// outbox, whose keys must not collide with another trigger's message of the same id.
		f.key = "expr:" + m.Name + ":" + f.msg.CorrelationKey + ":" + id
	}
	if t.result != nil {
		v, err := t.result.Eval(vars)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", FieldResultExpression, err)
		}
		published, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("%s %q gave %s: it must give a context of the variables to publish, such as ={orderNumber: matchGroups.orderNumber}", FieldResultExpression, t.result, feel.TypeName(v))
		}
		f.msg.Variables = published
	}
	return f, nil
}

// replySender is the sender of the replies to a message sent to to: to itself when it is a
// phone number in international form, so the reply comes from the number the message was sent
// to, as with Twilio; "" (the connection's default_from) for anything else, such as a short
// code or an alphanumeric address.
func replySender(to string) string {
	if n := normalizeNumber(to); e164.MatchString(n) {
		return n
	}
	return ""
}

// e164 is a phone number in international form.
var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

// keepReplies puts each non-blank reply text to the sender of in, to go back through its
// connection from the number from ("" for the connection's default_from), in the outbox and
// returns the entries kept (the retry loop leaves them alone until sendReplies has had its
// try).
func (p *pipeline) keepReplies(ctx context.Context, log *slog.Logger, in Inbound, from string, texts []string) []outboxEntry {
	ob := p.outbox
	var kept []outboxEntry
	for i, text := range texts {
		if strings.TrimSpace(text) == "" {
			continue
		}
		e := outboxEntry{
			Reply:       &Reply{ID: fmt.Sprintf("%s:reply:%d", in.Key, i), Connection: in.Connection, To: in.From, From: from, Text: text},
			NextAttempt: ob.opts.Now().Add(ob.opts.PublishTimeout + ob.opts.MinBackoff),
			Created:     ob.opts.Now(),
		}
		if err := ob.put(context.WithoutCancel(ctx), e); err != nil {
			log.Error("cannot keep the reply in the outbox; it is not sent", "replyId", e.Reply.ID, "err", err)
			continue
		}
		kept = append(kept, e)
	}
	return kept
}

// sendReplies makes one attempt at each kept reply: removed from the outbox once the provider
// took it, else rescheduled there.
func (p *pipeline) sendReplies(ctx context.Context, log *slog.Logger, kept []outboxEntry) {
	ob := p.outbox
	for _, e := range kept {
		if err := ob.reply(ctx, *e.Reply); err != nil {
			log.Warn("sending the reply failed; it is kept in the outbox and retried", "replyId", e.Reply.ID, "err", err)
			if err := ob.failed(context.WithoutCancel(ctx), e, err); err != nil {
				log.Error("cannot record the failed attempt; the outbox retries it after its hold time", "replyId", e.Reply.ID, "err", err)
			}
			continue
		}
		log.Info("reply sent", "replyId", e.Reply.ID)
		if err := ob.done(context.WithoutCancel(ctx), e.Reply.ID); err != nil {
			log.Error("cannot remove a sent reply from the outbox; it will be sent again (same id)", "replyId", e.Reply.ID, "err", err)
		}
	}
}
