package triggers

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/twilio-connector/twilio-connector/metrics"
	"github.com/twilio-connector/twilio-connector/store"
)

// InboundBucket is the store bucket of inbound MessageSids with the reply they got.
const InboundBucket = "inbound"

// MaxSIDChars is the longest MessageSid or CallSid the webhooks take (Twilio's have 34
// characters); a longer one is refused with 400, as it would not fit a store key.
const MaxSIDChars = 64

// DefaultMessageTTL is how long Zeebe buffers a published message nothing waits for yet (start
// events' messages without a messageTtl, delivery status messages).
const DefaultMessageTTL = time.Hour

// Inbound is the part of Twilio's inbound SMS webhook the trigger uses.
type Inbound struct {
	MessageSid string
	AccountSid string
	From       string
	To         string
	Body       string
	ReceivedAt time.Time
}

// Channel is "whatsapp" for a message from a whatsapp: address, else "sms".
func (in Inbound) Channel() string {
	if strings.HasPrefix(in.From, "whatsapp:") {
		return "whatsapp"
	}
	return "sms"
}

// Options configure the SMS_RECEIVED webhook.
type Options struct {
	// Triggers are matched against every inbound SMS.
	Triggers *Registry
	// Publisher hands messages to the engine; Store keeps seen MessageSids and the outbox.
	Publisher Publisher
	Store     store.Store
	// Outbox, if nil, is NewOutbox(Store, Publisher, OutboxOptions{Logger: Logger}); give the
	// one whose Run loop is running.
	Outbox *Outbox
	// Verifier checks X-Twilio-Signature.
	Verifier Verifier
	// MessageTTL is the Zeebe message time to live of start events without a messageTtl (catch
	// events default to 0, see Trigger.TTL); 0 means DefaultMessageTTL.
	MessageTTL time.Duration
	// MaxBodyBytes limits the request body; 0 means DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// MatchOptOutKeywords lets STOP, HELP, … start processes. By default they only reach catch
	// events (a process waiting for the sender's reply); Twilio answers them itself.
	MatchOptOutKeywords bool
	// PublishTimeout bounds each publish while Twilio waits for the answer (Twilio gives up
	// after 15 s); 0 means DefaultPublishTimeout.
	PublishTimeout time.Duration
	Logger         *slog.Logger
	// Now is the clock (tests); nil means time.Now.
	Now func() time.Time
}

// SMSReceived is the webhook Twilio posts inbound SMS to. It runs, in this order: method,
// size limit (413), form decoding (400), signature (403), required fields and MessageSid
// length (400), opt-out keywords, matching, dedupe on MessageSid together with the outbox
// write, publishing, TwiML reply. Opt-out keywords (see
// OptOutKeywords) never start a process unless MatchOptOutKeywords is set; they do reach
// catch events, i.e. processes already in a conversation with the sender. Answers:
//
//   - 200 with <Response/>: no trigger matched, an opt-out keyword, or nothing to say;
//   - 200 with one <Message> per matching trigger: its echo when the message was published,
//     its echoError when the engine did not take it (the message is kept in the outbox and
//     retried, so it is not lost, and Twilio must not redeliver: it treats non-2xx as failure);
//   - 200 with the first answer again for a MessageSid seen before; nothing is published;
//   - 503 when the store fails before anything was recorded, so Twilio may deliver again.
type SMSReceived struct {
	opts   Options
	outbox *Outbox
	log    *slog.Logger
}

var _ http.Handler = (*SMSReceived)(nil)

// NewSMSReceived returns the webhook handler. It logs a warning when signature verification
// is off or the public URL is not configured.
func NewSMSReceived(opts Options) *SMSReceived {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With("component", "sms-received")
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
	warnVerifier(log, &opts.Verifier)
	return &SMSReceived{opts: opts, outbox: ob, log: log}
}

func warnVerifier(log *slog.Logger, v *Verifier) {
	switch {
	case v.Skip && v.AuthToken == "":
		log.Warn("webhook signature verification is OFF (CONNECTOR_WEBHOOK_SKIP_SIGNATURE) and TWILIO_TOKEN is not set: anyone who can reach this endpoint can start processes; never use this in production")
	case v.AuthToken == "":
		log.Error("TWILIO_TOKEN is not set: every webhook request will be rejected with 403 (set it, or CONNECTOR_WEBHOOK_SKIP_SIGNATURE=true for local experiments)")
	case v.Skip:
		log.Warn("webhook signature verification is OFF (CONNECTOR_WEBHOOK_SKIP_SIGNATURE): anyone who can reach this endpoint can start processes; never use this in production")
	case v.PublicURL == "":
		log.Warn("CONNECTOR_PUBLIC_URL is not set: webhook signatures are checked against the request's Host header, which fails behind a proxy")
	}
}

type inboundRecord struct {
	State   string `json:"state"` // "pending" while the first delivery is handled, then "done"
	Reply   []byte `json:"reply,omitempty"`
	Outcome string `json:"outcome,omitempty"`
}

// fired is one matching trigger of one inbound SMS.
type fired struct {
	t      *Trigger
	groups map[string]any
	msg    Message
	ok     bool // published
}

func (h *SMSReceived) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	form, ok := readForm(w, r, h.opts.MaxBodyBytes, &h.opts.Verifier, h.log)
	if !ok {
		return
	}
	in := Inbound{
		MessageSid: form.Get("MessageSid"), AccountSid: form.Get("AccountSid"),
		From: form.Get("From"), To: form.Get("To"), Body: form.Get("Body"),
		ReceivedAt: h.opts.Now().UTC(),
	}
	if in.MessageSid == "" {
		in.MessageSid = form.Get("SmsSid")
	}
	for _, f := range []struct{ name, value string }{{"MessageSid", in.MessageSid}, {"From", in.From}, {"To", in.To}} {
		if f.value == "" {
			reject(w, http.StatusBadRequest, OutcomeBadRequest, "missing form field "+f.name+": this endpoint takes Twilio's inbound SMS webhook")
			return
		}
	}
	if len(in.MessageSid) > MaxSIDChars {
		reject(w, http.StatusBadRequest, OutcomeBadRequest, fmt.Sprintf("form field MessageSid is longer than %d characters: this endpoint takes Twilio's inbound SMS webhook (its SIDs have 34)", MaxSIDChars))
		return
	}
	log := h.log.With("messageSid", in.MessageSid)
	ctx := r.Context()

	keyword := !h.opts.MatchOptOutKeywords && IsOptOutKeyword(in.Body)
	matches := h.match(log, in, keyword)
	// Dedupe and write ahead in one atomic write: the MessageSid is claimed together with the
	// outbox entry of every message it publishes. A crash cannot leave the claim without the
	// messages (the outbox publishes them on restart), a failed write leaves neither (a
	// redelivery is handled afresh), and ClaimWith is atomic across replicas sharing the store.
	// The retry loop leaves the entries alone while this request publishes them.
	hold := h.opts.Now().Add(h.opts.PublishTimeout + h.outbox.opts.MinBackoff)
	seen := map[string]bool{} // message ids: two triggers with one message publish it once
	var unique []*fired
	var held []store.Entry
	for _, f := range matches {
		if seen[f.msg.MessageID] {
			continue
		}
		e, err := h.outbox.holdEntry(f.msg, hold)
		if err != nil {
			log.Error("cannot encode the message; answering 503 so Twilio may deliver again", "messageId", f.msg.MessageID, "err", err)
			reject(w, http.StatusServiceUnavailable, OutcomeStoreFailed, "state store unavailable")
			return
		}
		seen[f.msg.MessageID] = true
		unique = append(unique, f)
		held = append(held, e)
	}
	pending, _ := json.Marshal(inboundRecord{State: "pending"})
	claimed, err := h.opts.Store.ClaimWith(ctx, store.Entry{Bucket: InboundBucket, Key: in.MessageSid, Value: pending}, held...)
	if err != nil {
		log.Error("state store failed; answering 503 so Twilio may deliver again", "err", err)
		reject(w, http.StatusServiceUnavailable, OutcomeStoreFailed, "state store unavailable")
		return
	}
	if !claimed {
		h.duplicate(ctx, w, log, in)
		return
	}

	reply, outcome := h.handle(ctx, log, in, keyword, matches, unique)
	done, _ := json.Marshal(inboundRecord{State: "done", Reply: reply, Outcome: outcome})
	if err := h.opts.Store.Put(context.WithoutCancel(ctx), InboundBucket, in.MessageSid, done, 0); err != nil {
		log.Error("cannot record the reply; a redelivery of this SMS will get an empty reply (and publish nothing)", "err", err)
	}
	metrics.Webhooks.WithLabelValues(outcome).Inc()
	writeTwiML(w, reply)
}

func (h *SMSReceived) duplicate(ctx context.Context, w http.ResponseWriter, log *slog.Logger, in Inbound) {
	var rec inboundRecord
	data, found, err := h.opts.Store.Get(ctx, InboundBucket, in.MessageSid)
	if err == nil && found {
		err = json.Unmarshal(data, &rec)
	}
	if err != nil {
		log.Warn("redelivered SMS: cannot read the first reply; answering empty", "err", err)
	}
	reply := rec.Reply
	if rec.State != "done" {
		// The first delivery is still being handled (or failed to record its reply): it answers
		// the sender; this one must not publish again.
		reply = twiml(nil)
	}
	log.Info("redelivered SMS: same reply, nothing published", "firstOutcome", rec.Outcome)
	metrics.Webhooks.WithLabelValues(OutcomeDuplicate).Inc()
	writeTwiML(w, reply)
}

// handle publishes the messages of a claimed inbound SMS, already in the outbox (unique: the
// first match of each message id), and builds the reply.
func (h *SMSReceived) handle(ctx context.Context, log *slog.Logger, in Inbound, keyword bool, matches, unique []*fired) ([]byte, string) {
	if len(matches) == 0 {
		if keyword {
			log.Info("opt-out keyword: it starts no process (Twilio answers it)")
			return twiml(nil), OutcomeOptOut
		}
		log.Info("no trigger matched", "to", in.To)
		return twiml(nil), OutcomeNoMatch
	}
	// One deadline for all publishes: Twilio waits 15 s for the whole answer.
	pctx, cancel := context.WithTimeout(ctx, h.opts.PublishTimeout)
	defer cancel()
	outcome := OutcomePublished
	published := map[string]bool{}
	for _, f := range unique {
		id := f.msg.MessageID
		err := h.outbox.publish(pctx, f.msg)
		if err != nil {
			outcome = OutcomeEngineFailed
			log.Warn("publishing failed; the message is kept in the outbox and retried", "trigger", f.t.Where(),
				"messageName", f.msg.Name, "messageId", id, "temporary", IsTemporary(err), "err", err)
			if err := h.outbox.failed(context.WithoutCancel(ctx), outboxEntry{Message: f.msg, Created: in.ReceivedAt}, err); err != nil {
				log.Error("cannot record the failed attempt; the outbox retries it after its hold time", "messageId", id, "err", err)
			}
			continue
		}
		published[id] = true
		log.Info("published", "trigger", f.t.Where(), "messageName", f.msg.Name, "messageId", id, "correlationKey", f.msg.CorrelationKey)
		if err := h.outbox.done(context.WithoutCancel(ctx), id); err != nil {
			log.Error("cannot remove a published message from the outbox; it will be published again (idempotent)", "messageId", id, "err", err)
		}
	}
	for _, f := range matches {
		f.ok = published[f.msg.MessageID]
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
	return twiml(texts), outcome
}

// match returns every trigger that accepts the SMS, in registry order. An opt-out keyword
// (keyword true) reaches only catch events: it never starts a process, but a process that
// asked "reply YES to confirm" or waits for a STOP still gets it.
func (h *SMSReceived) match(log *slog.Logger, in Inbound, keyword bool) []*fired {
	var out []*fired
	for _, t := range h.opts.Triggers.Triggers() {
		if !t.accepts(in.To) || (keyword && t.Kind == StartEvent) {
			continue
		}
		groups, ok, err := t.pattern.Match(in.Body)
		if err != nil {
			log.Warn("pattern failed on this message; treating it as no match", "trigger", t.Where(), "err", err)
			continue
		}
		if !ok {
			continue
		}
		out = append(out, &fired{t: t, groups: groups, msg: h.message(t, groups, in)})
	}
	return out
}

// message builds the Zeebe message of a match. Its id is derived from the MessageSid, the kind
// and the message name, so publishing it again (a retry, another replica) is idempotent.
func (h *SMSReceived) message(t *Trigger, groups map[string]any, in Inbound) Message {
	key := ""
	if t.Kind == CatchEvent {
		key = in.From
	}
	return Message{
		Name:           t.MessageName,
		CorrelationKey: key,
		MessageID:      in.MessageSid + ":" + string(t.Kind) + ":" + t.MessageName,
		TTL:            t.TTL(h.opts.MessageTTL),
		Variables: map[string]any{
			"matchGroups":     groups,
			"originalMessage": in.Body,
			"to":              in.To,
			"from":            in.From,
			"messageSid":      in.MessageSid,
			"receivedAt":      in.ReceivedAt.Format(time.RFC3339Nano),
			"channel":         in.Channel(),
		},
	}
}
