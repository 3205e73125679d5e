package triggers

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/twilio-connector/twilio-connector/metrics"
)

// ChannelSMPP is the channel variable of messages from an SMSC (provider smpp).
const ChannelSMPP = "smpp"

// MODedupeWindow is how long an identical mobile-originated message (same connection,
// sender, recipient and text) counts as a redelivery of the first: SMPP 3.4's deliver_sm
// carries no message id. Messages are grouped in windows of this length, and one identical to
// a message of the current or the previous window is a duplicate: a message coming again
// within one window is always one, within two sometimes.
const MODedupeWindow = 10 * time.Minute

// SMPPOptions configure the inbound side of SMPP connections.
type SMPPOptions struct {
	// Options are the pipeline's; Verifier and MaxBodyBytes are not used.
	Options
	// StatusMessageName is the name of the delivery status messages; "" means
	// DefaultStatusMessageName.
	StatusMessageName string
}

// SMPPChannel feeds what an SMSC delivers (deliver_sm) into the trigger pipeline the webhooks
// feed: mobile-originated messages are matched against the triggers of their connection with
// channel "smpp", their replies go back through the connection; delivery receipts are
// published like Twilio's final statuses. Each method returns only once the message is
// recorded (claimed, and its messages and replies in the outbox): nil means the deliver_sm
// may be acknowledged, an error that nothing was recorded and the SMSC should deliver it
// again.
type SMPPChannel struct {
	p    *pipeline
	opts SMPPOptions
}

// NewSMPPChannel returns the SMPP channel's inbound side.
func NewSMPPChannel(opts SMPPOptions) *SMPPChannel {
	if opts.StatusMessageName == "" {
		opts.StatusMessageName = DefaultStatusMessageName
	}
	return &SMPPChannel{p: newPipeline(opts.Options, "smpp-channel"), opts: opts}
}

// moKey is the dedupe key of a mobile-originated message in the window numbered window.
func moKey(conn, hash string, window int64) string {
	return fmt.Sprintf("smpp:%s:mo:%s:%d", conn, hash, window)
}

// Receive runs one mobile-originated message of connection conn through the pipeline. Numbers
// are taken in international form (see SMPPAddress). Replies are sent after it returns, in the
// background (they are in the outbox already), from to when it is an international number.
func (c *SMPPChannel) Receive(ctx context.Context, conn, from, to, text string) error {
	from, to = SMPPAddress(from), SMPPAddress(to)
	now := c.p.opts.Now().UTC()
	sum := sha256.Sum256([]byte(strings.Join([]string{conn, from, to, text}, "\x00")))
	hash := hex.EncodeToString(sum[:16])
	window := now.UnixNano() / int64(MODedupeWindow)
	log := c.p.log.With("connection", conn, "from", from)
	// A redelivery just after the window changed is a duplicate too.
	if _, found, err := c.p.opts.Store.Get(ctx, InboundBucket, moKey(conn, hash, window-1)); err != nil {
		return err
	} else if found {
		log.Info("redelivered message (identical to one of the previous window): nothing published, no reply")
		metrics.Webhooks.WithLabelValues(OutcomeDuplicate).Inc()
		return nil
	}
	in := Inbound{
		Key: moKey(conn, hash, window), ID: hash + "-" + strconv.FormatInt(window, 10),
		From: from, To: to, Text: text, Channel: ChannelSMPP, Connection: conn, ReceivedAt: now,
	}
	log = log.With("messageId", in.ID)
	res, err := c.p.receive(ctx, log, in)
	if err != nil {
		return err
	}
	metrics.Webhooks.WithLabelValues(res.outcome).Inc()
	if res.duplicate {
		log.Info("redelivered message: nothing published, no reply", "firstOutcome", res.first.Outcome)
		return nil
	}
	kept := c.p.keepReplies(ctx, log, in, replySender(to), res.texts)
	c.p.done(ctx, log, in.Key, nil, res.outcome)
	// Not before the deliver_sm is answered: a reply goes out through the same session.
	go c.p.sendReplies(context.WithoutCancel(ctx), log, kept)
	return nil
}

// SMPPReceipt is a delivery receipt of connection conn about the message MessageID (the sid
// send_sms returned): Stat is its final state (DELIVRD, UNDELIV, …), Err the SMSC's error
// code, To and From the message's recipient and sender (a receipt's source and destination).
type SMPPReceipt struct {
	MessageID, Stat, Err, From, To string
}

// smppStatuses maps the message states of SMPP 3.4 receipts (Appendix B, section 5.2.28) to
// Twilio's statuses; the final ones are published, the others are progress.
var smppStatuses = map[string]string{
	"DELIVRD": "delivered", "DELIVERED": "delivered",
	"UNDELIV": "undelivered", "UNDELIVERABLE": "undelivered", "EXPIRED": "undelivered",
	"REJECTD": "failed", "REJECTED": "failed", "UNKNOWN": "failed",
	"DELETED": "canceled",
	"ACCEPTD": "sent", "ACCEPTED": "sent", "ENROUTE": "sent",
}

// SMPPStatus is Twilio's status for a receipt's stat ("" for a state it does not know).
func SMPPStatus(stat string) string { return smppStatuses[strings.ToUpper(strings.TrimSpace(stat))] }

// Receipt publishes a final delivery receipt like Twilio's status callbacks: message
// StatusMessageName, correlation key the message id, variables messageSid, messageStatus,
// errorCode (the err field as a number, null when 0 or absent), to, from, connection and
// smppStat (the receipt's own state). Progress states (ACCEPTD, ENROUTE) and unknown ones
// publish nothing.
func (c *SMPPChannel) Receipt(ctx context.Context, conn string, r SMPPReceipt) error {
	status := SMPPStatus(r.Stat)
	log := c.p.log.With("connection", conn, "messageSid", r.MessageID, "smppStat", r.Stat)
	if r.MessageID != "" && status != "" && c.p.opts.Observer != nil {
		c.p.opts.Observer.Status(conn, r.MessageID, status) // progress too, as Twilio's callbacks
	}
	switch {
	case r.MessageID == "":
		log.Warn("delivery receipt without a message id: nothing to publish")
		return nil
	case !finalMessageStatus[status]:
		if status == "" {
			log.Warn("delivery receipt with a state SMPP 3.4 does not define: nothing published")
		}
		metrics.Webhooks.WithLabelValues(OutcomeStatusProgress).Inc()
		return nil
	}
	var errorCode any
	if n, err := strconv.Atoi(strings.TrimSpace(r.Err)); err == nil && n != 0 {
		errorCode = n
	} else if err != nil && strings.TrimSpace(r.Err) != "" {
		errorCode = strings.TrimSpace(r.Err)
	}
	m := Message{
		Name: c.opts.StatusMessageName, CorrelationKey: r.MessageID, MessageID: "smpp:" + conn + ":" + r.MessageID + ":" + status, TTL: c.p.opts.MessageTTL,
		Variables: map[string]any{"messageSid": r.MessageID, "messageStatus": status, "errorCode": errorCode,
			"to": SMPPAddress(r.To), "from": SMPPAddress(r.From), "connection": conn, "smppStat": r.Stat},
	}
	return recordStatus(ctx, log.With("messageStatus", status), c.p.opts.Store, c.p.outbox, c.p.opts.PublishTimeout, m)
}

// internationalNumber is a number as SMSCs write international ones: digits, 7 to 15 of them
// (E.164's longest), maybe with a "+".
var internationalNumber = regexp.MustCompile(`^\+?[0-9]{7,15}$`)

// SMPPAddress writes an SMSC's address as the rest of the connector does: a number in E.164
// form with its "+" (SMPP carries international numbers as digits only); short codes and
// alphanumeric senders stay as they are.
func SMPPAddress(a string) string {
	a = strings.TrimSpace(a)
	if internationalNumber.MatchString(a) {
		return "+" + strings.TrimPrefix(a, "+")
	}
	return a
}
