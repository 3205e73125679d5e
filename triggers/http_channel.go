package triggers

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/twilio-connector/twilio-connector/metrics"
)

// Outcomes of the HTTP channel's endpoints besides the webhooks' (metrics.Webhooks labels).
const (
	OutcomeUnknownConnection = "unknown_connection" // 404
	OutcomeUnauthorized      = "unauthorized"       // 401
)

// HTTPStatuses are the delivery statuses POST /http/{connection}/status takes. Only delivered
// and failed are published, like Twilio's final statuses; sent is progress (a delivery report
// may follow).
var HTTPStatuses = []string{"sent", "delivered", "failed"}

var finalHTTPStatus = map[string]bool{"delivered": true, "failed": true}

// HTTPOptions configure the generic HTTP channel's inbound endpoints.
type HTTPOptions struct {
	// Options are the pipeline's, as for the Twilio webhook; Verifier and Connection are not
	// used (the connection is the request path's, the authentication its bearer secret).
	Options
	// Secret returns the inbound_secret of an http connection; ok is false for a connection
	// that does not exist, is not an http one or has no inbound_secret.
	Secret func(connection string) (secret string, ok bool)
	// StatusMessageName is the name of the delivery status messages; "" means
	// DefaultStatusMessageName (the name Twilio's status callbacks publish under).
	StatusMessageName string
}

// HTTPChannel is the generic HTTP channel's inbound side (RapidPro's external channel
// contract): POST /http/{connection}/receive feeds the trigger pipeline the Twilio webhook
// feeds, POST /http/{connection}/status publishes delivery reports. Both check, in this
// order: method (405), connection (404), Authorization: Bearer inbound_secret (401, before
// the body is read), size (413), JSON or form decoding and the fields (400, naming the field).
// Replies (echo, echoError) go back as outgoing messages through the connection's provider:
// each is kept in the outbox before it is sent and until its provider took it.
type HTTPChannel struct {
	p    *pipeline
	opts HTTPOptions
}

// NewHTTPChannel returns the HTTP channel's endpoints; mount them with Register.
func NewHTTPChannel(opts HTTPOptions) *HTTPChannel {
	if opts.StatusMessageName == "" {
		opts.StatusMessageName = DefaultStatusMessageName
	}
	if opts.Secret == nil {
		opts.Secret = func(string) (string, bool) { return "", false }
	}
	return &HTTPChannel{p: newPipeline(opts.Options, "http-channel"), opts: opts}
}

// Register mounts the endpoints on mux (without a method, so they answer 405 themselves).
func (c *HTTPChannel) Register(mux *http.ServeMux) {
	mux.HandleFunc("/http/{connection}/receive", c.Receive)
	mux.HandleFunc("/http/{connection}/status", c.Status)
}

// Receive is POST /http/{connection}/receive with from (or sender), optional to (the number
// the message was sent to; replies go out from it when it is a phone number), text (may be empty),
// optional date (or time; ISO 8601, the time the message was received) and optional id (the dedupe key: a message with an id seen
// before publishes nothing again; without an id, a message with a date is deduped on
// (connection, from, text, date); without either, not at all). It answers 200 with a JSON
// object {"id", "outcome"}, or 503 when the store failed before anything was recorded.
func (c *HTTPChannel) Receive(w http.ResponseWriter, r *http.Request) {
	conn, fields, ok := c.request(w, r)
	if !ok {
		return
	}
	// sender and time are the names some gateways use (RapidPro's external channel takes them).
	from, to, text, id, date := first(fields, "from", "sender"), strings.TrimSpace(fields["to"]), fields["text"], fields["id"], first(fields, "date", "time")
	if strings.TrimSpace(from) == "" {
		reject(w, http.StatusBadRequest, OutcomeBadRequest, "missing field from: send from (the sender's address) and text")
		return
	}
	if len(id) > MaxSIDChars {
		reject(w, http.StatusBadRequest, OutcomeBadRequest, fmt.Sprintf("field id is longer than %d characters: send a shorter id", MaxSIDChars))
		return
	}
	in := Inbound{From: from, To: to, Text: text, Channel: ChannelHTTP, Connection: conn, ReceivedAt: c.p.opts.Now().UTC()}
	if date != "" {
		t, err := parseISODate(date)
		if err != nil {
			reject(w, http.StatusBadRequest, OutcomeBadRequest, "field date is "+quoteShort(date)+": write an ISO 8601 time such as 2026-05-03T06:04:45Z")
			return
		}
		in.ReceivedAt = t.UTC()
	}
	prefix := "http:" + conn + ":"
	switch {
	case id != "":
		in.ID, in.Key = id, prefix+"id:"+id
	case date != "":
		sum := sha256.Sum256([]byte(strings.Join([]string{conn, from, text, date}, "\x00")))
		in.ID = hex.EncodeToString(sum[:16])
		in.Key = prefix + "hash:" + in.ID
	default:
		in.ID = rand.Text()
		in.Key = prefix + "new:" + in.ID
	}
	log := c.p.log.With("connection", conn, "messageId", in.ID)
	ctx := r.Context()
	res, err := c.p.receive(ctx, log, in)
	if err != nil {
		log.Error("state store failed; answering 503 so the sender may deliver again", "err", err)
		reject(w, http.StatusServiceUnavailable, OutcomeStoreFailed, "state store unavailable")
		return
	}
	if res.duplicate {
		log.Info("redelivered message: nothing published, no reply", "firstOutcome", res.first.Outcome)
	} else {
		// Each reply is in the outbox before it is sent (so an unreachable provider or a
		// restart does not lose it) and removed once the provider took it.
		c.p.sendReplies(ctx, log, c.p.keepReplies(ctx, log, in, replySender(to), res.texts))
		c.p.done(ctx, log, in.Key, nil, res.outcome)
	}
	metrics.Webhooks.WithLabelValues(res.outcome).Inc()
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(map[string]string{"id": in.ID, "outcome": res.outcome})
}

// Status is POST /http/{connection}/status with id (the sid send_sms returned) and status
// (sent, delivered or failed). delivered and failed are published like Twilio's final
// statuses: message StatusMessageName, correlation key the id, variables messageSid,
// messageStatus, errorCode (null), to and from (""), connection. It answers 204.
func (c *HTTPChannel) Status(w http.ResponseWriter, r *http.Request) {
	conn, fields, ok := c.request(w, r)
	if !ok {
		return
	}
	id, status := fields["id"], fields["status"]
	switch {
	case id == "":
		reject(w, http.StatusBadRequest, OutcomeBadRequest, "missing field id: send the id of the message the report is about")
		return
	case len(id) > MaxSIDChars:
		reject(w, http.StatusBadRequest, OutcomeBadRequest, fmt.Sprintf("field id is longer than %d characters: send a shorter id", MaxSIDChars))
		return
	case !finalHTTPStatus[status] && status != "sent":
		reject(w, http.StatusBadRequest, OutcomeBadRequest, "field status is "+quoteShort(status)+": send one of "+strings.Join(HTTPStatuses, ", "))
		return
	}
	if c.p.opts.Observer != nil {
		c.p.opts.Observer.Status(conn, id, status)
	}
	switch {
	case !finalHTTPStatus[status]:
		metrics.Webhooks.WithLabelValues(OutcomeStatusProgress).Inc()
		w.WriteHeader(http.StatusNoContent)
		return
	}
	m := Message{
		Name: c.opts.StatusMessageName, CorrelationKey: id, MessageID: "http:" + conn + ":" + id + ":" + status, TTL: c.p.opts.MessageTTL,
		Variables: map[string]any{"messageSid": id, "messageStatus": status, "errorCode": nil, "to": "", "from": "", "connection": conn},
	}
	log := c.p.log.With("connection", conn, "messageSid", id, "messageStatus", status)
	publishStatus(r.Context(), w, log, c.p.opts.Store, c.p.outbox, c.p.opts.PublishTimeout, m)
}

// request runs the endpoints' common steps: method, connection, bearer secret, size, decoding.
// On failure it has answered and returns ok false.
func (c *HTTPChannel) request(w http.ResponseWriter, r *http.Request) (conn string, fields map[string]string, ok bool) {
	if !isPost(w, r) {
		return "", nil, false
	}
	conn = r.PathValue("connection")
	secret, found := c.opts.Secret(conn)
	if !found {
		reject(w, http.StatusNotFound, OutcomeUnknownConnection, "no connection "+quoteShort(conn)+" takes inbound messages: define it in CONNECTOR_CONNECTIONS_FILE with provider: http and inbound_secret")
		return "", nil, false
	}
	if !bearerMatches(r.Header.Get("Authorization"), secret) {
		// Never log the header: a near-miss is a secret too.
		c.p.log.Warn("HTTP channel request without the connection's inbound_secret; answering 401", "connection", conn,
			"authorizationPresent", r.Header.Get("Authorization") != "")
		w.Header().Set("WWW-Authenticate", `Bearer realm="`+conn+`"`)
		reject(w, http.StatusUnauthorized, OutcomeUnauthorized, "send the connection's inbound_secret as Authorization: Bearer SECRET")
		return "", nil, false
	}
	body, ok := readBody(w, r, c.p.opts.MaxBodyBytes)
	if !ok {
		return "", nil, false
	}
	fields, err := decodeFields(r.Header.Get("Content-Type"), body)
	if err != nil {
		reject(w, http.StatusBadRequest, OutcomeBadRequest, err.Error())
		return "", nil, false
	}
	return conn, fields, true
}

// bearerMatches compares the bearer token of header with secret in constant time.
func bearerMatches(header, secret string) bool {
	token, ok := strings.CutPrefix(header, "Bearer ")
	if !ok || secret == "" {
		return false
	}
	// Hash both so the comparison takes the same time whatever the token's length.
	a, b := sha256.Sum256([]byte(strings.TrimSpace(token))), sha256.Sum256([]byte(secret))
	return subtle.ConstantTimeCompare(a[:], b[:]) == 1
}

// decodeFields reads a JSON object (Content-Type application/json) or a form (any other or no
// Content-Type of the form kind). JSON values must be strings, except a number for id.
func decodeFields(contentType string, body []byte) (map[string]string, error) {
	mt := "application/x-www-form-urlencoded"
	if contentType != "" {
		var err error
		if mt, _, err = mime.ParseMediaType(contentType); err != nil {
			return nil, fmt.Errorf("Content-Type %s is not valid: send application/json or application/x-www-form-urlencoded", quoteShort(contentType))
		}
	}
	switch mt {
	case "application/json":
		var raw map[string]any
		dec := json.NewDecoder(strings.NewReader(string(body)))
		dec.UseNumber()
		if err := dec.Decode(&raw); err != nil {
			return nil, fmt.Errorf("the body is not a JSON object: %v", err)
		}
		fields := make(map[string]string, len(raw))
		for k, v := range raw {
			switch v := v.(type) {
			case string:
				fields[k] = v
			case json.Number:
				fields[k] = v.String()
			case nil:
			default:
				return nil, fmt.Errorf("field %s is a JSON %T: send a string", k, v)
			}
		}
		return fields, nil
	case "application/x-www-form-urlencoded":
		form, err := url.ParseQuery(string(body))
		if err != nil {
			return nil, fmt.Errorf("the body is not a valid form")
		}
		fields := make(map[string]string, len(form))
		for k := range form {
			fields[k] = form.Get(k)
		}
		return fields, nil
	}
	return nil, fmt.Errorf("Content-Type %s: send application/json or application/x-www-form-urlencoded", quoteShort(mt))
}

// first returns the first of names present in fields.
func first(fields map[string]string, names ...string) string {
	for _, n := range names {
		if v, ok := fields[n]; ok {
			return v
		}
	}
	return ""
}

// parseISODate parses the ISO 8601 times aggregators send: RFC 3339, or without a zone (UTC).
func parseISODate(s string) (time.Time, error) {
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00", "2006-01-02 15:04:05.999999999"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("not an ISO 8601 time: %q", s)
}

// quoteShort quotes s for an error message, cut to 64 bytes.
func quoteShort(s string) string {
	if len(s) > 64 {
		s = s[:64] + "…"
	}
	return fmt.Sprintf("%q", s)
}
