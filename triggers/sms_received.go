package triggers

import (
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/twilio-connector/twilio-connector/metrics"
	"github.com/twilio-connector/twilio-connector/store"
)

// InboundBucket is the store bucket of inbound message keys (Twilio: the MessageSid; HTTP
// channel: http:CONNECTION:…) with the outcome and, for Twilio, the reply they got.
const InboundBucket = "inbound"

// MaxSIDChars is the longest MessageSid or CallSid the webhooks take (Twilio's have 34
// characters); a longer one is refused with 400, as it would not fit a store key.
const MaxSIDChars = 64

// DefaultMessageTTL is how long Zeebe buffers a published message nothing waits for yet (start
// events' messages without a messageTtl, delivery status messages).
const DefaultMessageTTL = time.Hour

// TwilioChannel is the channel of a Twilio message sent by from: "whatsapp" for a
// whatsapp: address, else "sms".
func TwilioChannel(from string) string {
	if strings.HasPrefix(from, "whatsapp:") {
		return ChannelWhatsApp
	}
	return ChannelSMS
}

// Options configure the SMS_RECEIVED webhook.
type Options struct {
	// Triggers are matched against every inbound message.
	Triggers *Registry
	// Connection is the connection the Twilio webhook receives for when Verifier.Accounts does
	// not name the request's account; "" means DefaultConnection. The HTTP channel takes it
	// from the request path.
	Connection string
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
	// Observer, if not nil, is told about every inbound message handled (and, on the HTTP
	// channel, every delivery report).
	Observer Observer
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
	*pipeline
}

var _ http.Handler = (*SMSReceived)(nil)

// NewSMSReceived returns the webhook handler. It logs a warning when signature verification
// is off or the public URL is not configured.
func NewSMSReceived(opts Options) *SMSReceived {
	if opts.Connection == "" {
		opts.Connection = DefaultConnection
	}
	p := newPipeline(opts, "sms-received")
	warnVerifier(p.log, &p.opts.Verifier)
	return &SMSReceived{p}
}

func warnVerifier(log *slog.Logger, v *Verifier) {
	switch {
	case v.Skip && !v.configured():
		log.Warn("webhook signature verification is OFF (CONNECTOR_WEBHOOK_SKIP_SIGNATURE) and TWILIO_TOKEN is not set: anyone who can reach this endpoint can start processes; never use this in production")
	case !v.configured():
		log.Error("TWILIO_TOKEN is not set and no twilio connection is configured: every webhook request will be rejected with 403 (set it, or CONNECTOR_WEBHOOK_SKIP_SIGNATURE=true for local experiments)")
	case v.Skip:
		log.Warn("webhook signature verification is OFF (CONNECTOR_WEBHOOK_SKIP_SIGNATURE): anyone who can reach this endpoint can start processes; never use this in production")
	case v.PublicURL == "":
		log.Warn("CONNECTOR_PUBLIC_URL is not set: webhook signatures are checked against the request's Host header, which fails behind a proxy")
	}
}

func (h *SMSReceived) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	form, ok := readForm(w, r, h.opts.MaxBodyBytes, &h.opts.Verifier, h.log)
	if !ok {
		return
	}
	sid := form.Get("MessageSid")
	if sid == "" {
		sid = form.Get("SmsSid")
	}
	in := Inbound{
		Key: sid, ID: sid, From: form.Get("From"), To: form.Get("To"), Text: form.Get("Body"),
		Channel: TwilioChannel(form.Get("From")), Connection: h.opts.Verifier.connection(form, h.opts.Connection), ReceivedAt: h.opts.Now().UTC(),
	}
	for _, f := range []struct{ name, value string }{{"MessageSid", in.ID}, {"From", in.From}, {"To", in.To}} {
		if f.value == "" {
			reject(w, http.StatusBadRequest, OutcomeBadRequest, "missing form field "+f.name+": this endpoint takes Twilio's inbound SMS webhook")
			return
		}
	}
	if len(in.ID) > MaxSIDChars {
		reject(w, http.StatusBadRequest, OutcomeBadRequest, fmt.Sprintf("form field MessageSid is longer than %d characters: this endpoint takes Twilio's inbound SMS webhook (its SIDs have 34)", MaxSIDChars))
		return
	}
	log := h.log.With("messageSid", in.ID)
	res, err := h.receive(r.Context(), log, in)
	if err != nil {
		log.Error("state store failed; answering 503 so Twilio may deliver again", "err", err)
		reject(w, http.StatusServiceUnavailable, OutcomeStoreFailed, "state store unavailable")
		return
	}
	if res.duplicate {
		reply := res.first.Reply
		if res.first.State != "done" {
			// The first delivery is still being handled (or failed to record its reply): it
			// answers the sender; this one must not publish again.
			reply = twiml(nil)
		}
		log.Info("redelivered SMS: same reply, nothing published", "firstOutcome", res.first.Outcome)
		metrics.Webhooks.WithLabelValues(OutcomeDuplicate).Inc()
		writeTwiML(w, reply)
		return
	}
	reply := twiml(res.texts)
	h.done(r.Context(), log, in.Key, reply, res.outcome)
	metrics.Webhooks.WithLabelValues(res.outcome).Inc()
	writeTwiML(w, reply)
}
