package triggers

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/twilio-connector/twilio-connector/metrics"
	"github.com/twilio-connector/twilio-connector/store"
)

// DefaultStatusMessageName is the name of the message published for each delivery status
// callback; a process waits for it with a catch event correlated on the message SID
// (twilioResult[0].sid).
const DefaultStatusMessageName = "twilioMessageStatus"

// StatusBucket records the (MessageSid, MessageStatus) pairs already published.
const StatusBucket = "status"

// StatusOptions configure the delivery status callback endpoint.
type StatusOptions struct {
	Publisher Publisher
	Store     store.Store
	// Outbox, if nil, is NewOutbox(Store, Publisher, …).
	Outbox   *Outbox
	Verifier Verifier
	// MessageName defaults to DefaultStatusMessageName; MessageTTL to DefaultMessageTTL.
	MessageName    string
	MessageTTL     time.Duration
	MaxBodyBytes   int64
	PublishTimeout time.Duration
	Logger         *slog.Logger
	// Observer, if not nil, is told about every status callback, progress or final.
	Observer Observer
}

// StatusCallback receives Twilio's status callbacks for messages and calls (the StatusCallback
// URL send_sms and make_call set) and publishes each final status as a message named
// MessageName, correlation key the message or call SID, id SID:status, with variables
// messageSid, messageStatus (messages) or callSid, callStatus, callDuration (calls), and
// errorCode (a number, or null), to, from. Progress statuses (queued, sent, ringing, ...) are
// answered and counted, not published. It answers 204 once the callback is published or kept
// in the outbox, 503 when the store fails first, and the readForm errors (405, 413, 400, 403).
type StatusCallback struct {
	opts   StatusOptions
	outbox *Outbox
	log    *slog.Logger
}

var _ http.Handler = (*StatusCallback)(nil)

// NewStatusCallback returns the status callback handler.
func NewStatusCallback(opts StatusOptions) *StatusCallback {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With("component", "status-callback")
	if opts.MessageName == "" {
		opts.MessageName = DefaultStatusMessageName
	}
	if opts.MessageTTL <= 0 {
		opts.MessageTTL = DefaultMessageTTL
	}
	if opts.PublishTimeout <= 0 {
		opts.PublishTimeout = DefaultPublishTimeout
	}
	ob := opts.Outbox
	if ob == nil {
		ob = NewOutbox(opts.Store, opts.Publisher, OutboxOptions{Logger: opts.Logger, PublishTimeout: opts.PublishTimeout})
	}
	warnVerifier(log, &opts.Verifier)
	return &StatusCallback{opts: opts, outbox: ob, log: log}
}

// Final statuses, the only ones published. A message whose carrier gives no delivery receipt
// ends at "sent" and publishes nothing.
var (
	finalMessageStatus = map[string]bool{"delivered": true, "undelivered": true, "failed": true, "read": true, "canceled": true}
	finalCallStatus    = map[string]bool{"completed": true, "busy": true, "no-answer": true, "failed": true, "canceled": true}
)

func (h *StatusCallback) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	form, ok := readForm(w, r, h.opts.MaxBodyBytes, &h.opts.Verifier, h.log)
	if !ok {
		return
	}
	sid, status := form.Get("MessageSid"), form.Get("MessageStatus")
	if sid == "" {
		sid = form.Get("SmsSid")
	}
	if status == "" {
		status = form.Get("SmsStatus")
	}
	vars := map[string]any{"messageSid": sid, "messageStatus": status}
	final := finalMessageStatus
	if sid == "" && form.Get("CallSid") != "" {
		sid, status, final = form.Get("CallSid"), form.Get("CallStatus"), finalCallStatus
		vars = map[string]any{"callSid": sid, "callStatus": status, "callDuration": form.Get("CallDuration")}
	}
	if sid == "" || status == "" {
		reject(w, http.StatusBadRequest, OutcomeBadRequest, "missing form fields MessageSid and MessageStatus (or CallSid and CallStatus): this endpoint takes Twilio's status callbacks")
		return
	}
	if len(sid) > MaxSIDChars {
		field := "MessageSid"
		if _, call := vars["callSid"]; call {
			field = "CallSid"
		}
		reject(w, http.StatusBadRequest, OutcomeBadRequest, fmt.Sprintf("form field %s is longer than %d characters: this endpoint takes Twilio's status callbacks (its SIDs have 34)", field, MaxSIDChars))
		return
	}
	if h.opts.Observer != nil {
		h.opts.Observer.Status(h.opts.Verifier.connection(form, DefaultConnection), sid, status)
	}
	if !final[status] {
		// Progress (queued, sent, ringing, ...): a process waits for the outcome, and the
		// first message published for a SID is the one its catch event takes.
		metrics.Webhooks.WithLabelValues(OutcomeStatusProgress).Inc()
		w.WriteHeader(http.StatusNoContent)
		return
	}
	var errorCode any
	if ec := form.Get("ErrorCode"); ec != "" {
		if n, err := strconv.Atoi(ec); err == nil {
			errorCode = n
		} else {
			errorCode = ec
		}
	}
	m := Message{
		Name: h.opts.MessageName, CorrelationKey: sid, MessageID: sid + ":" + status, TTL: h.opts.MessageTTL,
		Variables: vars,
	}
	vars["errorCode"], vars["to"], vars["from"] = errorCode, form.Get("To"), form.Get("From")
	log := h.log.With("messageSid", sid, "messageStatus", status)
	publishStatus(r.Context(), w, log, h.opts.Store, h.outbox, h.opts.PublishTimeout, m)
}

// publishStatus claims the status message m (its id: one message per id and status), keeps it
// in the outbox and publishes it, then answers: 204 once it is published, known already or
// kept in the outbox; 503 when the store fails first.
func publishStatus(ctx context.Context, w http.ResponseWriter, log *slog.Logger, st store.Store, ob *Outbox, timeout time.Duration, m Message) {
	if err := recordStatus(ctx, log, st, ob, timeout, m); err != nil {
		log.Error("state store failed; answering 503 so the sender may deliver again", "err", err)
		reject(w, http.StatusServiceUnavailable, OutcomeStoreFailed, "state store unavailable")
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// recordStatus claims the status message m, keeps it in the outbox and publishes it. An
// error means the store failed before anything was recorded (the sender should deliver the
// status again); nil means it is published, known already or kept in the outbox.
func recordStatus(ctx context.Context, log *slog.Logger, st store.Store, ob *Outbox, timeout time.Duration, m Message) error {
	// The (SID, status) pair is claimed together with the message's outbox entry, in one atomic
	// write: a crash cannot leave the claim without the message (see SMSReceived).
	held, err := ob.holdEntry(m, "", time.Now().Add(timeout+ob.opts.MinBackoff))
	claimed := false
	if err == nil {
		claimed, err = st.ClaimWith(ctx, store.Entry{Bucket: StatusBucket, Key: m.MessageID, Value: []byte("1")}, held)
	}
	if err != nil {
		return err
	}
	if !claimed {
		metrics.Webhooks.WithLabelValues(OutcomeStatusDuplicate).Inc()
		return nil
	}
	if err := ob.publish(ctx, m); err != nil {
		log.Warn("publishing the status failed; kept in the outbox and retried", "temporary", IsTemporary(err), "err", err)
		if err := ob.failed(context.WithoutCancel(ctx), outboxEntry{Message: m, Created: time.Now()}, err); err != nil {
			log.Error("cannot record the failed attempt; the outbox retries it after its hold time", "err", err)
		}
		metrics.Webhooks.WithLabelValues(OutcomeStatusEngineFailed).Inc()
		return nil
	}
	if err := ob.done(context.WithoutCancel(ctx), m.MessageID); err != nil {
		log.Error("cannot remove a published status from the outbox; it will be published again (idempotent)", "err", err)
	}
	log.Info("status published", "messageName", m.Name)
	metrics.Webhooks.WithLabelValues(OutcomeStatusPublished).Inc()
	return nil
}
