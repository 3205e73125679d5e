// Package mqttapi is the connector's MQTT entry point. It speaks the messages of the AWS IoT
// Greengrass Twilio Notifications connector, so that its publishers can switch without a
// change: requests on <prefix>/txt (SMS) and <prefix>/call (voice), statuses on
// <prefix>/message/status. Requests run the same actions as Zeebe jobs and the HTTP API.
//
// Delivery guarantees: the subscription is QoS 1 in a persistent session (a fixed client id,
// clean session off), so requests published while the connector is away wait at the broker. A
// request is acknowledged only once its status is recorded in the state store and accepted by
// the broker; until then the broker delivers it again, and a request delivered again (same id,
// same body) answers from the record or, if it was cut off, sends only the recipients not yet
// sent, through the actions' per-recipient records.
package mqttapi

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/twilio-connector/twilio-connector/actions"
	"github.com/twilio-connector/twilio-connector/metrics"
	"github.com/twilio-connector/twilio-connector/store"
	"github.com/twilio-connector/twilio-connector/templates"
)

// Defaults of Options.
const (
	DefaultTopicPrefix  = "twilio"
	DefaultClientID     = "twilio-connector"
	DefaultParallelism  = 16
	DefaultTimeout      = 30 * time.Second
	DefaultRetryBackoff = 2 * time.Second
	DefaultMaxReconnect = 30 * time.Second
)

// resultsBucket holds the status of each request, by kind, id and body hash.
const resultsBucket = "mqtt_results"

// Options configure the MQTT entry point.
type Options struct {
	// URL is the broker: tcp://host:1883, ssl://host:8883, ws://host/mqtt; a user and password
	// in the URL are used to log in and never logged.
	URL string
	// ClientID names the persistent session; replicas need different ones.
	ClientID    string
	TopicPrefix string
	SMS, Calls  actions.Action
	// DefaultFrom is reported as from_number when a request names no sender.
	DefaultFrom string
	// DefaultRegion (CONNECTOR_DEFAULT_REGION) lets phone numbers be in national form.
	DefaultRegion string
	// Store records each request's status. Required.
	Store store.Store
	// Parallelism bounds the requests handled at once.
	Parallelism int
	// Timeout bounds one attempt of a request (its retries included in the actions).
	Timeout time.Duration
	// RetryBackoff is the first wait before a request.retries retry; it doubles.
	RetryBackoff time.Duration
	// MaxReconnect caps the wait between reconnection attempts.
	MaxReconnect time.Duration
	Logger       *slog.Logger
}

// Client is a running MQTT entry point.
type Client struct {
	opts   Options
	log    *slog.Logger
	mc     paho.Client
	status string
	sem    chan struct{}

	ctx    context.Context // cancelled by Close: stop waiting, leave requests unacknowledged
	cancel context.CancelFunc

	mu       sync.Mutex
	closed   bool
	problem  string // why the last connection attempt failed or the connection was lost
	password string // scrubbed from what is logged
	wg       sync.WaitGroup
	inFlight map[string]chan struct{} // request key -> closed when its handling ends
}

// Start connects to the broker in the background (retrying with backoff until it answers) and
// subscribes on every connection.
func Start(opts Options) (*Client, error) {
	if opts.Store == nil || opts.SMS == nil || opts.Calls == nil {
		return nil, errors.New("mqttapi: Store, SMS and Calls are required")
	}
	setDefaults(&opts)
	u, err := url.Parse(opts.URL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("CONNECTOR_MQTT_URL: not a broker URL such as tcp://127.0.0.1:1883")
	}
	log := opts.Logger.With("component", "mqtt")
	c := &Client{opts: opts, log: log, status: opts.TopicPrefix + "/message/status",
		sem: make(chan struct{}, opts.Parallelism), inFlight: map[string]chan struct{}{}}
	c.ctx, c.cancel = context.WithCancel(context.Background())

	mo := paho.NewClientOptions().
		SetClientID(opts.ClientID).
		SetCleanSession(false).
		SetOrderMatters(false).
		SetAutoAckDisabled(true).
		SetAutoReconnect(true).
		SetConnectRetry(true).
		SetConnectRetryInterval(time.Second).
		SetMaxReconnectInterval(opts.MaxReconnect).
		SetKeepAlive(30 * time.Second).
		SetDefaultPublishHandler(c.route). // also takes what the session holds before subscribing
		SetOnConnectHandler(c.subscribe).
		SetConnectionNotificationHandler(c.notified)
	if u.User != nil {
		mo.SetUsername(u.User.Username())
		if pw, ok := u.User.Password(); ok {
			mo.SetPassword(pw)
			c.password = pw
		}
		u.User = nil
	}
	mo.AddBroker(u.String())
	c.mc = paho.NewClient(mo)
	c.mc.Connect() // with ConnectRetry the token completes only once connected
	log.Info("MQTT entry point starting", "broker", u.Redacted(), "clientId", opts.ClientID,
		"topics", opts.TopicPrefix+"/txt "+opts.TopicPrefix+"/call", "statusTopic", c.status)
	return c, nil
}

func setDefaults(o *Options) {
	if o.ClientID == "" {
		o.ClientID = DefaultClientID
	}
	if o.TopicPrefix == "" {
		o.TopicPrefix = DefaultTopicPrefix
	}
	if o.Parallelism <= 0 {
		o.Parallelism = DefaultParallelism
	}
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	if o.RetryBackoff <= 0 {
		o.RetryBackoff = DefaultRetryBackoff
	}
	if o.MaxReconnect <= 0 {
		o.MaxReconnect = DefaultMaxReconnect
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
}

// subscribe runs on every (re)connection: a broker that lost the session (restarted without
// persistence) needs the subscriptions again.
func (c *Client) subscribe(mc paho.Client) {
	filters := map[string]byte{c.opts.TopicPrefix + "/" + KindText: 1, c.opts.TopicPrefix + "/" + KindCall: 1}
	t := mc.SubscribeMultiple(filters, nil) // delivered to route, the default handler
	if !t.WaitTimeout(10*time.Second) || t.Error() != nil {
		c.log.Error("MQTT subscribe failed; trying again in 5s", "err", t.Error())
		time.AfterFunc(5*time.Second, func() {
			if mc.IsConnectionOpen() && c.ctx.Err() == nil {
				c.subscribe(mc)
			}
		})
		return
	}
	c.log.Info("MQTT connected and subscribed")
}

// route hands a delivered message to handle by its topic.
func (c *Client) route(_ paho.Client, m paho.Message) {
	switch m.Topic() {
	case c.opts.TopicPrefix + "/" + KindText:
		c.handle(KindText, m)
	case c.opts.TopicPrefix + "/" + KindCall:
		c.handle(KindCall, m)
	default: // a subscription of an earlier configuration, still in the session
		c.log.Warn("MQTT message on a topic this connector does not serve; dropped", "topic", m.Topic())
		m.Ack()
	}
}

// Connected reports whether the client holds a connection to the broker.
func (c *Client) Connected() bool { return c.mc.IsConnectionOpen() }

// Health is nil while the client holds a connection to the broker, else why it does not.
func (c *Client) Health() error {
	if c.Connected() {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.problem == "" {
		return errors.New("not connected to the broker yet")
	}
	return errors.New(c.problem)
}

// notified logs each failed connection attempt and lost connection (paho retries both
// silently) and keeps the reason for Health.
func (c *Client) notified(_ paho.Client, n paho.ConnectionNotification) {
	var problem string
	switch n := n.(type) {
	case paho.ConnectionNotificationConnected:
	case paho.ConnectionNotificationFailed:
		problem = "connection attempt failed: " + c.scrub(n.Reason)
		c.log.Warn("MQTT connection attempt failed; retrying", "err", c.scrub(n.Reason))
	case paho.ConnectionNotificationLost:
		problem = "connection lost: " + c.scrub(n.Reason)
		c.log.Warn("MQTT connection lost; reconnecting", "err", c.scrub(n.Reason))
	default:
		return
	}
	c.mu.Lock()
	c.problem = problem
	c.mu.Unlock()
}

// scrub is err's text without the broker password.
func (c *Client) scrub(err error) string {
	if err == nil {
		return "no reason given"
	}
	if c.password == "" {
		return err.Error()
	}
	return strings.ReplaceAll(err.Error(), c.password, "****")
}

// Close stops taking requests, lets those in progress finish until ctx ends, then disconnects.
// Requests it did not finish stay unacknowledged and come back on the next connection.
func (c *Client) Close(ctx context.Context) {
	c.mu.Lock()
	c.closed = true
	c.mu.Unlock()
	done := make(chan struct{})
	go func() { c.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
		c.cancel()
		<-done
	}
	c.cancel()
	c.mc.Disconnect(250)
	c.log.Info("MQTT entry point stopped")
}

// handle runs one delivered request: answer, then acknowledge. It returns without an
// acknowledgement when the connector is closing or the status cannot be published, so that
// the broker delivers the request again.
func (c *Client) handle(kind string, m paho.Message) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return
	}
	c.wg.Add(1)
	c.mu.Unlock()
	defer c.wg.Done()
	select {
	case c.sem <- struct{}{}:
	case <-c.ctx.Done():
		return
	}
	defer func() { <-c.sem }()

	st, ok := c.answer(kind, m.Payload(), m.Duplicate())
	if !ok {
		return
	}
	raw, _ := json.Marshal(st)
	t := c.mc.Publish(c.status, 1, false, raw)
	if !t.WaitTimeout(c.opts.Timeout) || t.Error() != nil {
		c.log.Warn("MQTT status not published; the request stays unacknowledged and is answered again on redelivery",
			"kind", kind, "err", t.Error())
		return
	}
	m.Ack()
}

// answer returns the status for a request; ok is false when the request must stay
// unacknowledged (the connector is closing).
func (c *Client) answer(kind string, payload []byte, redelivered bool) (Status, bool) {
	p, id, e := parse(kind, payload, c.opts.DefaultRegion)
	if e != nil {
		metrics.MQTTRequests.WithLabelValues(kind, "invalid").Inc()
		c.log.Info("MQTT request refused", "kind", kind, "code", e.Code, "field", e.Field)
		return failure(id, e), true
	}
	sum := sha256.Sum256(payload)
	key := kind + "/" + p.id + "/" + hex.EncodeToString(sum[:8])
	log := c.log.With("kind", kind, "id", p.id)

	// The same request delivered twice at once (a redelivery while the first is still being
	// handled) waits for the first and answers from its record.
	release := c.hold(key)
	defer release()
	if c.ctx.Err() != nil {
		return Status{}, false
	}

	if raw, found, err := c.opts.Store.Get(c.ctx, resultsBucket, key); err == nil && found {
		var st Status
		if json.Unmarshal(raw, &st) == nil {
			metrics.MQTTRequests.WithLabelValues(kind, "replayed").Inc()
			log.Info("MQTT request delivered again; answering from the record, nothing sent", "redelivered", redelivered)
			return st, true
		}
	}

	act := c.opts.SMS
	if kind == KindCall {
		act = c.opts.Calls
	}
	inv := actions.Invocation{Vars: p.vars, Engine: templates.Literal, IdempotencyKey: "mqtt/" + key, Connection: p.connection}
	var (
		res     actions.Result
		sendErr error
	)
	backoff := c.opts.RetryBackoff
	for attempt := 0; ; attempt++ {
		ctx, cancel := context.WithTimeout(c.ctx, c.opts.Timeout)
		res, sendErr = act.Invoke(ctx, inv)
		cancel()
		if c.ctx.Err() != nil {
			return Status{}, false
		}
		if sendErr == nil || attempt >= p.retries {
			break
		}
		log.Warn("MQTT request failed transiently; retrying", "attempt", attempt+1, "retries", p.retries, "err", sendErr)
		select {
		case <-c.ctx.Done():
			return Status{}, false
		case <-time.After(backoff):
		}
		backoff *= 2
	}
	st := statusOf(p, id, res, c.opts.DefaultFrom)
	metrics.MQTTRequests.WithLabelValues(kind, st.Response.Status).Inc()
	log.Info("MQTT request handled", "status", st.Response.Status, "code", st.Response.Code)
	if sendErr == nil {
		raw, _ := json.Marshal(st)
		if err := c.opts.Store.Put(c.ctx, resultsBucket, key, raw, 0); err != nil {
			// The sends themselves are recorded per recipient, so a redelivery still sends
			// nothing twice; it only has to ask the actions again.
			log.Warn("state store write failed; a redelivery of this request will be answered from the per-recipient records", "err", err)
		}
	}
	return st, true
}

// hold serialises the handling of one request key and returns its release.
func (c *Client) hold(key string) func() {
	for {
		c.mu.Lock()
		busy, ok := c.inFlight[key]
		if !ok {
			done := make(chan struct{})
			c.inFlight[key] = done
			c.mu.Unlock()
			return func() {
				c.mu.Lock()
				delete(c.inFlight, key)
				c.mu.Unlock()
				close(done)
			}
		}
		c.mu.Unlock()
		select {
		case <-busy:
		case <-c.ctx.Done():
			return func() {}
		}
	}
}
