// Package amqpapi is the connector's AMQP 0-9-1 entry point (RabbitMQ), for systems that call
// services over queues. A request is a message on one queue: its body is the HTTP API's JSON
// body plus "action": "send_sms" (the default) or "make_call"; its message_id is the
// idempotency key. The answer, the HTTP API's JSON answer with its status in the header
// "status", is published to the request's reply_to with its correlation_id.
//
// Delivery guarantees: requests are consumed with manual acknowledgements and a bounded
// prefetch. A request is acknowledged only once its result is recorded in the state store and
// its reply confirmed by the broker (publisher confirms); until then the broker delivers it
// again (after a lost connection, a crash, a broker restart), and a request delivered again
// answers from the record and sends nothing twice. A request that cannot succeed (bad JSON,
// unknown action, a field error, no message_id) gets a reply naming the field and is
// acknowledged, so it is never redelivered for ever.
package amqpapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/twilio-connector/twilio-connector/actions"
	"github.com/twilio-connector/twilio-connector/errs"
	"github.com/twilio-connector/twilio-connector/httpapi"
	"github.com/twilio-connector/twilio-connector/metrics"
	"github.com/twilio-connector/twilio-connector/store"
)

// Defaults of Options.
const (
	DefaultQueue        = "twilio-connector.requests"
	DefaultPrefetch     = 16
	DefaultTimeout      = 30 * time.Second
	DefaultMaxReconnect = 30 * time.Second
)

// Request body and property names.
const (
	FieldAction     = "action"
	FieldMessageID  = "message_id"
	HeaderStatus    = "status"   // the HTTP API's status code of the answer
	HeaderReplayed  = "replayed" // true when the answer comes from the record of an earlier delivery
	ActionSendSMS   = "send_sms"
	ActionMakeCall  = "make_call"
	maxMessageIDLen = 255
)

// Buckets of the state store: the answer to each message_id for the store's retention, and a
// claim on it while it is being handled, so that a redelivery (to this replica or another)
// waits for the first delivery instead of handling it twice.
const (
	resultsBucket = "amqp_results"
	claimsBucket  = "amqp_claims"
)

// retryDelay is the wait before a request that could not be finished (state store down, reply
// not confirmed) is returned to the queue.
const retryDelay = time.Second

// Options configure the AMQP entry point.
type Options struct {
	// URL is the broker: amqp://user:password@host:5672/vhost or amqps://; the password is
	// never logged.
	URL string
	// Queue is consumed; it is declared durable when it does not exist.
	Queue string
	// Prefetch bounds the requests delivered and not yet acknowledged, so handled at once.
	Prefetch int
	// MaxBodyBytes limits a request body, as the HTTP API's; 0 means httpapi.DefaultMaxBodyBytes.
	MaxBodyBytes int
	SMS, Calls   actions.Action
	// Store records each request's answer. Required.
	Store store.Store
	// Timeout bounds the sending of one request (retries included) and the confirmation of its
	// reply.
	Timeout time.Duration
	// MaxReconnect caps the wait between connection attempts.
	MaxReconnect time.Duration
	Logger       *slog.Logger
}

// Client is a running AMQP entry point.
type Client struct {
	opts     Options
	log      *slog.Logger
	password string // scrubbed from what is logged

	stop     chan struct{} // closed by Close: stop consuming
	stopOnce sync.Once
	done     chan struct{} // closed when the connection loop has ended
	ctx      context.Context
	cancel   context.CancelFunc // Close's grace is over: abandon requests, unacknowledged
	handlers sync.WaitGroup

	mu      sync.Mutex
	up      bool
	problem string
}

// Start checks the options and connects in the background, retrying with backoff until the
// broker answers, and again whenever the connection is lost.
func Start(opts Options) (*Client, error) {
	if opts.Store == nil || opts.SMS == nil || opts.Calls == nil {
		return nil, errors.New("amqpapi: Store, SMS and Calls are required")
	}
	setDefaults(&opts)
	u, err := url.Parse(opts.URL)
	if err != nil || u.Host == "" || (u.Scheme != "amqp" && u.Scheme != "amqps") {
		return nil, errors.New("CONNECTOR_AMQP_URL: not a broker URL such as amqp://user:password@127.0.0.1:5672/")
	}
	c := &Client{opts: opts, log: opts.Logger.With("component", "amqp"), stop: make(chan struct{}), done: make(chan struct{})}
	if u.User != nil {
		c.password, _ = u.User.Password()
	}
	c.ctx, c.cancel = context.WithCancel(context.Background())
	c.log.Info("AMQP entry point starting", "broker", u.Redacted(), "queue", opts.Queue, "prefetch", opts.Prefetch)
	go c.run()
	return c, nil
}

func setDefaults(o *Options) {
	if o.Queue == "" {
		o.Queue = DefaultQueue
	}
	if o.Prefetch <= 0 {
		o.Prefetch = DefaultPrefetch
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = httpapi.DefaultMaxBodyBytes
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.MaxReconnect <= 0 {
		o.MaxReconnect = DefaultMaxReconnect
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// Health is nil while the client consumes the queue, else why it does not.
func (c *Client) Health() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.up:
		return nil
	case c.problem == "":
		return errors.New("not connected to the broker yet")
	}
	return errors.New(c.problem)
}

func (c *Client) setState(up bool, problem string) {
	c.mu.Lock()
	c.up, c.problem = up, problem
	c.mu.Unlock()
}

// scrub is err's text without the broker password.
func (c *Client) scrub(err error) string {
	if c.password == "" {
		return err.Error()
	}
	return strings.ReplaceAll(err.Error(), c.password, "****")
}

// Close stops consuming, lets the requests in progress finish until ctx ends, then
// disconnects. Requests it did not finish stay unacknowledged and are delivered again.
func (c *Client) Close(ctx context.Context) {
	c.stopOnce.Do(func() { close(c.stop) })
	select {
	case <-c.done:
	case <-ctx.Done():
		c.cancel()
		<-c.done
	}
	c.cancel()
	c.log.Info("AMQP entry point stopped")
}

// run keeps a connection, with a growing pause between failed attempts.
func (c *Client) run() {
	defer close(c.done)
	pause := time.Second
	for {
		began := time.Now()
		err := c.session()
		if err == nil {
			return
		}
		c.setState(false, c.scrub(err))
		if time.Since(began) > time.Minute {
			pause = time.Second // the connection had been up: start the backoff again
		}
		c.log.Warn("AMQP connection failed; retrying", "err", c.scrub(err), "in", pause.String())
		select {
		case <-c.stop:
			return
		case <-time.After(pause):
		}
		pause = min(2*pause, c.opts.MaxReconnect)
	}
}

// session connects, consumes until the connection ends or Close is called, and returns why it
// ended (nil after Close).
func (c *Client) session() error {
	conn, err := amqp.DialConfig(c.opts.URL, amqp.Config{
		Heartbeat:  10 * time.Second,
		Locale:     "en_US",
		Dial:       amqp.DefaultDial(10 * time.Second),
		Properties: amqp.Table{"connection_name": "twilio-connector"},
	})
	if err != nil {
		return fmt.Errorf("connection attempt failed: %w", err)
	}
	defer conn.Close()
	lost := conn.NotifyClose(make(chan *amqp.Error, 1))
	if err := c.declare(conn); err != nil {
		return err
	}
	pub, err := conn.Channel()
	if err == nil {
		err = pub.Confirm(false)
	}
	if err != nil {
		return fmt.Errorf("cannot open the reply channel: %w", err)
	}
	pubLost := pub.NotifyClose(make(chan *amqp.Error, 1))
	sub, err := conn.Channel()
	if err == nil {
		err = sub.Qos(c.opts.Prefetch, 0, false)
	}
	const tag = "twilio-connector"
	var deliveries <-chan amqp.Delivery
	if err == nil {
		deliveries, err = sub.Consume(c.opts.Queue, tag, false, false, false, false, nil)
	}
	if err != nil {
		return fmt.Errorf("cannot consume queue %s: %w", c.opts.Queue, err)
	}
	c.setState(true, "")
	c.log.Info("AMQP connected; consuming", "queue", c.opts.Queue)
	for {
		select {
		case <-c.stop:
			sub.Cancel(tag, false)
			c.handlers.Wait() // Close cancels c.ctx when its grace is over, which ends them
			return nil
		case e := <-lost:
			return fmt.Errorf("connection lost: %v", e)
		case e := <-pubLost: // replies cannot be confirmed on this connection any more
			return fmt.Errorf("reply channel closed: %v", e)
		case d, ok := <-deliveries:
			if !ok { // the connection's end closes the deliveries too: prefer its reason
				select {
				case e := <-lost:
					return fmt.Errorf("connection lost: %v", e)
				case <-time.After(100 * time.Millisecond):
				}
				return fmt.Errorf("the broker ended the consumer of queue %s (was it deleted?)", c.opts.Queue)
			}
			c.handlers.Add(1)
			go c.handle(pub, d)
		}
	}
}

// declare makes sure the queue exists, declaring it durable when it does not; a queue that
// exists is used as it is (a quorum queue, a queue with a length limit).
func (c *Client) declare(conn *amqp.Connection) error {
	ch, err := conn.Channel()
	if err != nil {
		return fmt.Errorf("cannot open a channel: %w", err)
	}
	_, err = ch.QueueDeclarePassive(c.opts.Queue, true, false, false, false, nil)
	var ae *amqp.Error
	if err == nil {
		ch.Close()
		return nil
	}
	if !errors.As(err, &ae) || ae.Code != amqp.NotFound {
		return fmt.Errorf("cannot check queue %s: %w", c.opts.Queue, err)
	}
	if ch, err = conn.Channel(); err != nil { // the failed check closed the channel
		return fmt.Errorf("cannot open a channel: %w", err)
	}
	defer ch.Close()
	if _, err := ch.QueueDeclare(c.opts.Queue, true, false, false, false, nil); err != nil {
		return fmt.Errorf("cannot declare queue %s: %w", c.opts.Queue, err)
	}
	c.log.Info("AMQP queue declared (durable)", "queue", c.opts.Queue)
	return nil
}

// answer is what a request gets: its reply, or no reply and a return to the queue.
type answer struct {
	status   int
	body     []byte
	replayed bool
	requeue  bool // could not be finished now: return it to the queue after retryDelay
	abandon  bool // the connector is closing: leave it unacknowledged
}

// handle runs one delivered request: answer, reply, acknowledge.
func (c *Client) handle(pub *amqp.Channel, d amqp.Delivery) {
	defer c.handlers.Done()
	log := c.log.With("messageId", d.MessageId)
	a := c.answer(d, log)
	switch {
	case a.abandon:
		return
	case a.requeue:
		c.requeue(d)
		return
	}
	if d.ReplyTo == "" {
		log.Info("AMQP request has no reply_to; no reply sent", "status", a.status)
	} else if err := c.reply(pub, d, a); err != nil {
		log.Warn("AMQP reply not confirmed; the request goes back to the queue and is answered again from the record", "err", c.scrub(err))
		c.requeue(d)
		return
	}
	if err := d.Ack(false); err != nil {
		// The channel is gone: the broker delivers the request again, answered from the record.
		log.Info("AMQP acknowledgement not sent; the request will be answered again from the record", "err", c.scrub(err))
	}
}

func (c *Client) requeue(d amqp.Delivery) {
	select {
	case <-c.ctx.Done():
		return
	case <-time.After(retryDelay):
	}
	d.Nack(false, true)
}

// reply publishes the answer to reply_to and waits for the broker's confirmation.
func (c *Client) reply(pub *amqp.Channel, d amqp.Delivery, a answer) error {
	ctx, cancel := context.WithTimeout(c.ctx, c.opts.Timeout)
	defer cancel()
	headers := amqp.Table{HeaderStatus: int32(a.status)}
	if a.replayed {
		headers[HeaderReplayed] = true
	}
	conf, err := pub.PublishWithDeferredConfirmWithContext(ctx, "", d.ReplyTo, false, false, amqp.Publishing{
		ContentType: "application/json", DeliveryMode: amqp.Persistent, CorrelationId: d.CorrelationId,
		Headers: headers, Body: a.body,
	})
	if err != nil {
		return err
	}
	acked, err := conf.WaitContext(ctx)
	switch {
	case err != nil:
		return err
	case !acked:
		return errors.New("the broker refused the reply or the channel closed")
	}
	return nil
}

// answer decodes, deduplicates by message_id and runs one request.
func (c *Client) answer(d amqp.Delivery, log *slog.Logger) answer {
	kind := "unknown"
	refuse := func(status int, e *errs.Error) answer {
		metrics.AMQPRequests.WithLabelValues(kind, "invalid").Inc()
		log.Info("AMQP request refused", "status", status, "code", e.Code, "field", e.Field)
		return answer{status: status, body: httpapi.Encode(actions.RequestFailure(e))}
	}
	id := d.MessageId
	switch {
	case id == "":
		return refuse(http.StatusBadRequest, errs.Missing(FieldMessageID,
			"set the AMQP property message_id: it is the request's idempotency key (a UUID is a good choice)"))
	case len(id) > maxMessageIDLen:
		return refuse(http.StatusBadRequest, errs.Invalid(FieldMessageID, "%s is longer than %d characters", FieldMessageID, maxMessageIDLen))
	case len(d.Body) > c.opts.MaxBodyBytes:
		return refuse(http.StatusRequestEntityTooLarge, errs.Invalid("body", "the body is larger than %d bytes", c.opts.MaxBodyBytes))
	}
	decoded, req, e := decode(d.Body)
	if e != nil {
		return refuse(http.StatusBadRequest, e)
	}
	kind = decoded
	sum := sha256.Sum256([]byte(kind + "/" + req.Hash))
	hash := hex.EncodeToString(sum[:])
	log = log.With("action", kind)

	rec, release, e := c.claim(id, hash)
	switch {
	case e != nil && e.Code == errs.IdempotencyKeyReused:
		return refuse(http.StatusUnprocessableEntity, e)
	case e != nil:
		log.Warn("AMQP request not handled now; it goes back to the queue", "err", e.Message)
		return answer{requeue: e.Code == errs.StoreUnavailable, abandon: e.Code != errs.StoreUnavailable}
	case rec != nil:
		metrics.AMQPRequests.WithLabelValues(kind, "replayed").Inc()
		log.Info("AMQP request delivered again; answering from the record, nothing sent", "status", rec.Status)
		return answer{status: rec.Status, body: rec.Body, replayed: true}
	}
	defer release()

	act := c.opts.SMS
	if kind == ActionMakeCall {
		act = c.opts.Calls
	}
	ctx, cancel := context.WithTimeout(c.ctx, c.opts.Timeout)
	defer cancel()
	res, sendErr := act.Invoke(ctx, actions.Invocation{Vars: req.Vars, Engine: req.Engine, Connection: req.Connection,
		IdempotencyKey: "amqp/" + id})
	if c.ctx.Err() != nil {
		return answer{abandon: true}
	}
	status, body := httpapi.Answer(res, sendErr)
	// As the HTTP API records an Idempotency-Key: a 200 is final; a 503 pins the body, and a
	// redelivery sends only what is missing; 400 and 500 sent nothing and are answered anew.
	if err := c.records().Save(c.ctx, id, hash, status, body); err != nil {
		// The sends are recorded per recipient, so the redelivery sends nothing twice.
		log.Warn("AMQP result not recorded (state store); the request goes back to the queue", "err", err)
		return answer{requeue: true}
	}
	outcome := "fail"
	if status == http.StatusOK {
		outcome = "success"
	}
	metrics.AMQPRequests.WithLabelValues(kind, outcome).Inc()
	attrs := []any{"status", status, "recipients", len(res.TwilioResult)}
	if f := res.Failure(); f != nil {
		attrs = append(attrs, "code", f.Code)
	}
	log.Info("AMQP request handled", attrs...)
	return answer{status: status, body: body}
}

// decode reads a request body: the action, and the rest as the HTTP API reads its body.
func decode(body []byte) (string, httpapi.Request, *errs.Error) {
	var doc map[string]json.RawMessage
	if err := json.Unmarshal(body, &doc); err != nil || doc == nil {
		msg := "null"
		if err != nil {
			msg = err.Error()
		}
		return "", httpapi.Request{}, errs.Invalid("body", "the body is not a JSON object: %s", msg)
	}
	kind := ActionSendSMS
	if raw, ok := doc[FieldAction]; ok {
		if json.Unmarshal(raw, &kind) != nil || (kind != ActionSendSMS && kind != ActionMakeCall) {
			return "", httpapi.Request{}, errs.Invalid(FieldAction, "%s must be %q (the default) or %q", FieldAction, ActionSendSMS, ActionMakeCall)
		}
		delete(doc, FieldAction)
	}
	fields := actions.SendSMS.Fields
	if kind == ActionMakeCall {
		fields = actions.MakeCall.Fields
	}
	rest, _ := json.Marshal(doc)
	req, e := httpapi.DecodeRequest(rest, fields)
	return kind, req, e
}

// claimPoll is how often a delivery waiting for another delivery of its message_id looks.
const claimPoll = 250 * time.Millisecond

// claim returns the done record of id to replay, or a hold on id (release it when the result
// is recorded). While another delivery of id holds it (a redelivery after a lost connection
// while the first is still sending, here or on another replica) it waits. The error's code is
// IdempotencyKeyReused (id came with another body), StoreUnavailable, or Internal when the
// connector is closing.
func (c *Client) claim(id, hash string) (*httpapi.Record, func(), *errs.Error) {
	recs := c.records()
	for {
		rec, claimed, e := recs.TryClaim(c.ctx, id, hash)
		switch {
		case rec != nil || e != nil:
			return rec, nil, e
		case claimed:
			return nil, func() {
				if err := recs.Release(c.ctx, id); err != nil {
					c.log.Warn("could not release the claim of an AMQP message_id; it expires by itself", "err", err)
				}
			}, nil
		}
		select {
		case <-c.ctx.Done():
			return nil, nil, errs.New(errs.Internal, FieldMessageID, "the connector is closing")
		case <-time.After(claimPoll):
		}
	}
}

// records are the AMQP entry point's answers and claims, by message_id.
func (c *Client) records() httpapi.Records {
	return httpapi.Records{Store: c.opts.Store, Bucket: resultsBucket, Claims: claimsBucket, Field: FieldMessageID, ClaimTTL: c.opts.Timeout + time.Minute}
}
