// Package twilio is the Twilio provider: messages and calls through Twilio's REST API
// (github.com/twilio/twilio-go), with lookups that settle whether a cut-off attempt arrived.
package twilio

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"time"

	"github.com/twilio/twilio-go/client"
	api "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/twilio-connector/twilio-connector/errs"
	"github.com/twilio-connector/twilio-connector/metrics"
	"github.com/twilio-connector/twilio-connector/pace"
	"github.com/twilio-connector/twilio-connector/providers"
	"github.com/twilio-connector/twilio-connector/providers/segments"
)

// Options configure the Twilio REST client.
type Options struct {
	AccountSID string
	AuthToken  string
	// MessagingServiceSID, when set, is given with every message (the service picks the
	// sender; a From pins it) and makes a sender optional.
	MessagingServiceSID string
	// MissingSender says how to configure a sender when a request has none.
	MissingSender string
	// BaseURLField names the setting of BaseURL in errors (TWILIO_API_BASE_URL).
	BaseURLField string
	// BaseURL points the client at a Twilio-compatible API (tests, the dev sandbox, providers
	// speaking Twilio's API). Empty means https://api.twilio.com.
	BaseURL string
	// Timeout bounds each HTTP request.
	Timeout time.Duration
	// Transport carries the requests; nil means a shared keep-alive transport.
	Transport http.RoundTripper
	// MaxConcurrent bounds the requests in flight at once, whatever sends them (jobs, the HTTP
	// API, MQTT); 0 means providers.DefaultMaxConcurrent. Twilio refuses requests over an account's
	// concurrency limit with 429 (error 20429).
	MaxConcurrent int
	// Connection names the connection in metrics ("default" when empty).
	Connection string
	// Pace spaces messages per sender (package pace); nil sends at once.
	Pace *pace.Pacer
}

// Twilio sends through github.com/twilio/twilio-go. twilio-go has neither a base-URL option
// nor per-request contexts, so each call gets a light client.Client whose transport rewrites
// the address, attaches the call's context and keeps the HTTP status and Retry-After header
// (twilio-go drops both when an error body is not Twilio JSON).
type Twilio struct {
	providers.Phone
	opts  Options
	base  *url.URL
	creds *client.Credentials
	slots chan struct{} // one per request in flight
}

// New returns a client; credentials are checked for shape by the config package.
func New(opts Options) (*Twilio, error) {
	t := &Twilio{opts: opts, creds: client.NewCredentials(opts.AccountSID, opts.AuthToken),
		Phone: providers.Phone{TwilioSenders: true, SenderOptional: opts.MessagingServiceSID != "", MissingSender: opts.MissingSender}}
	if opts.BaseURL != "" {
		u, err := url.Parse(opts.BaseURL)
		if err != nil || u.Host == "" {
			field := opts.BaseURLField
			if field == "" {
				field = "TWILIO_API_BASE_URL"
			}
			return nil, errs.Invalid(field, "%q is not an absolute URL", opts.BaseURL)
		}
		t.base = u
	}
	if t.opts.Transport == nil {
		t.opts.Transport = sharedTransport
	}
	if t.opts.Timeout <= 0 {
		t.opts.Timeout = 15 * time.Second
	}
	if t.opts.Connection == "" {
		t.opts.Connection = providers.DefaultConnection
	}
	if t.opts.MaxConcurrent <= 0 {
		t.opts.MaxConcurrent = providers.DefaultMaxConcurrent
	}
	t.slots = make(chan struct{}, t.opts.MaxConcurrent)
	// Refusals are exported at 0 from the start, so that a dashboard shows them and an alert
	// on their increase fires at the first one.
	for _, code := range []string{"21611", "429"} {
		metrics.TwilioRefusals.WithLabelValues(t.opts.Connection, code)
	}
	return t, nil
}

var sharedTransport = &http.Transport{
	Proxy:               http.ProxyFromEnvironment,
	DialContext:         (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
	MaxIdleConns:        256,
	MaxIdleConnsPerHost: 256,
	IdleConnTimeout:     90 * time.Second,
	TLSHandshakeTimeout: 10 * time.Second,
}

// callTransport is one call's transport: see Twilio.
type callTransport struct {
	ctx   context.Context
	base  *url.URL
	next  http.RoundTripper
	slots chan struct{}

	mu         sync.Mutex
	status     int
	retryAfter time.Duration
}

func (c *callTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.WithContext(c.ctx)
	if c.base != nil {
		u := *req.URL
		u.Scheme, u.Host = c.base.Scheme, c.base.Host
		u.Path = c.base.Path + u.Path
		req.URL = &u
		req.Host = c.base.Host
	}
	select {
	case c.slots <- struct{}{}:
	case <-c.ctx.Done():
		return nil, c.ctx.Err()
	}
	res, err := c.next.RoundTrip(req)
	<-c.slots // the answer has come: Twilio no longer counts the request
	if err == nil {
		c.mu.Lock()
		c.status = res.StatusCode
		if s, perr := strconv.Atoi(res.Header.Get("Retry-After")); perr == nil && s >= 0 {
			c.retryAfter = time.Duration(s) * time.Second
		}
		c.mu.Unlock()
	}
	return res, err
}

// service returns a twilio-go service for one call and the context bounding it; the caller
// must call done when the call returns. The timeout is a context deadline, not
// http.Client.Timeout: twilio-go leaves error bodies unclosed, and a client timeout would then
// hold a goroutine and a connection until it expires, while done releases both at once.
func (t *Twilio) service(ctx context.Context) (svc *api.ApiService, ct *callTransport, done context.CancelFunc) {
	ctx, done = context.WithTimeout(ctx, t.opts.Timeout)
	ct = &callTransport{ctx: ctx, base: t.base, next: t.opts.Transport, slots: t.slots}
	c := &client.Client{
		Credentials: t.creds,
		HTTPClient: &http.Client{
			Transport:     ct,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
	}
	c.SetAccountSid(t.opts.AccountSID)
	return api.NewApiServiceWithClient(c), ct, done
}

// Credentials are the account's SID and auth token (secret: never logged), with which the
// connector verifies the webhooks Twilio signs for this account.
func (t *Twilio) Credentials() (accountSID, authToken string) {
	return t.opts.AccountSID, t.opts.AuthToken
}

// Kind is "twilio".
func (t *Twilio) Kind() string { return "twilio" }

// sender splits a sender as From returned it into Twilio's From and MessagingServiceSid: a
// Messaging Service SID given as the sender is the service; otherwise the configured service,
// if any, goes along (Twilio accepts both: the service picks, From pins).
func (t *Twilio) sender(from string) (string, string) {
	if providers.IsMessagingService(from) {
		return "", from
	}
	return from, t.opts.MessagingServiceSID
}

// Send creates one message, once its sender's pace (Options.Pace) has a slot for its
// segments. Failures are *errs.Error classified by Twilio's code and HTTP status. Subject is
// not part of an SMS and is ignored.
func (t *Twilio) Send(ctx context.Context, m providers.Message) (providers.Sent, error) {
	from, service := t.sender(m.From)
	sender := from
	if sender == "" {
		sender = service
	}
	if err := t.opts.Pace.Wait(ctx, sender, segmentsOf(m.Body)); err != nil {
		return providers.Sent{}, err
	}
	svc, ct, done := t.service(ctx)
	defer done()
	p := &api.CreateMessageParams{}
	p.SetTo(m.To)
	if from != "" {
		p.SetFrom(from)
	}
	if service != "" {
		p.SetMessagingServiceSid(service)
	}
	if m.Body != "" && m.Options.ContentSID == "" {
		p.SetBody(m.Body)
	}
	if len(m.MediaURLs) > 0 && m.Options.ContentSID == "" {
		p.SetMediaUrl(m.MediaURLs)
	}
	if m.StatusCallback != "" {
		p.SetStatusCallback(m.StatusCallback)
	}
	setOptions(p, m.Options)
	start := time.Now()
	res, err := svc.CreateMessage(p)
	metrics.TwilioSeconds.Observe(time.Since(start).Seconds())
	if err != nil {
		e := classify(ct.ctx, err, ct)
		t.countRefusal(e, ct)
		return providers.Sent{}, e
	}
	if res.Sid == nil {
		return providers.Sent{}, &errs.Error{Code: errs.Connection, Uncertain: true, Message: "Twilio accepted the message but returned no sid"}
	}
	return providers.Sent{SID: *res.Sid, Status: deref(res.Status), Segments: atoi(res.NumSegments)}, nil
}

// countRefusal counts Twilio's answers that the sender's queue is full (21611) or that
// requests come too fast (HTTP 429): the signs that pacing is missing or set too high.
func (t *Twilio) countRefusal(e *errs.Error, ct *callTransport) {
	ct.mu.Lock()
	status := ct.status
	ct.mu.Unlock()
	switch {
	case e.TwilioCode == 21611:
		metrics.TwilioRefusals.WithLabelValues(t.opts.Connection, "21611").Inc()
	case status == http.StatusTooManyRequests:
		metrics.TwilioRefusals.WithLabelValues(t.opts.Connection, "429").Inc()
	}
}

// callStatusEvents are the call progress events Twilio reports to StatusCallback; the final
// status (completed, busy, no-answer, failed, canceled) comes with "completed".
var callStatusEvents = []string{"initiated", "ringing", "answered", "completed"}

// Call creates one call. Failures are *errs.Error as for Send.
func (t *Twilio) Call(ctx context.Context, c providers.Call) (providers.Sent, error) {
	svc, ct, done := t.service(ctx)
	defer done()
	p := &api.CreateCallParams{}
	p.SetTo(c.To)
	p.SetFrom(c.From)
	if c.URL != "" {
		p.SetUrl(c.URL)
	}
	if c.Twiml != "" {
		p.SetTwiml(c.Twiml)
	}
	if c.StatusCallback != "" {
		p.SetStatusCallback(c.StatusCallback)
		p.SetStatusCallbackEvent(callStatusEvents)
	}
	start := time.Now()
	res, err := svc.CreateCall(p)
	metrics.TwilioSeconds.Observe(time.Since(start).Seconds())
	if err != nil {
		return providers.Sent{}, classify(ct.ctx, err, ct)
	}
	if res.Sid == nil {
		return providers.Sent{}, &errs.Error{Code: errs.Connection, Uncertain: true, Message: "Twilio accepted the call but returned no sid"}
	}
	return providers.Sent{SID: *res.Sid, Status: deref(res.Status)}, nil
}

// lookupPageSize bounds how many recent messages or calls to a recipient a lookup reads.
const lookupPageSize = 20

// Find looks for a message like m that Twilio created at or after since: same To,
// same From (or any sender when m has none, as with a Messaging Service) and same body (any
// body for a content template, whose text only Twilio knows). It settles whether an attempt
// that was cut off (a crash, a timeout) reached Twilio.
func (t *Twilio) Find(ctx context.Context, m providers.Message, since time.Time) (providers.Sent, bool, error) {
	svc, ct, done := t.service(ctx)
	defer done()
	p := &api.ListMessageParams{}
	p.SetTo(m.To)
	if from, _ := t.sender(m.From); from != "" {
		p.SetFrom(from)
	}
	p.SetPageSize(lookupPageSize)
	p.SetLimit(lookupPageSize)
	list, err := svc.ListMessage(p)
	if err != nil {
		return providers.Sent{}, false, classify(ct.ctx, err, ct)
	}
	for _, x := range list {
		if x.Sid != nil && (deref(x.Body) == m.Body || m.Options.ContentSID != "") && createdSince(x.DateCreated, since) {
			return providers.Sent{SID: *x.Sid, Status: deref(x.Status)}, true, nil
		}
	}
	return providers.Sent{}, false, nil
}

// FindCall looks for a call like c (same To and From) that Twilio created at or after since.
func (t *Twilio) FindCall(ctx context.Context, c providers.Call, since time.Time) (providers.Sent, bool, error) {
	svc, ct, done := t.service(ctx)
	defer done()
	p := &api.ListCallParams{}
	p.SetTo(c.To)
	p.SetFrom(c.From)
	p.SetPageSize(lookupPageSize)
	p.SetLimit(lookupPageSize)
	list, err := svc.ListCall(p)
	if err != nil {
		return providers.Sent{}, false, classify(ct.ctx, err, ct)
	}
	for _, x := range list {
		if x.Sid != nil && createdSince(x.DateCreated, since) {
			return providers.Sent{SID: *x.Sid, Status: deref(x.Status)}, true, nil
		}
	}
	return providers.Sent{}, false, nil
}

// createdSince reads Twilio's date_created (RFC 1123 with a numeric zone).
func createdSince(created *string, since time.Time) bool {
	if created == nil {
		return false
	}
	t, err := time.Parse(time.RFC1123Z, *created)
	return err == nil && !t.Before(since)
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// classify maps a twilio-go failure into the taxonomy. A request that never got an answer
// (network error, timeout) is TWILIO_CONNECTION_ERROR, which is retryable.
func classify(ctx context.Context, err error, ct *callTransport) *errs.Error {
	ct.mu.Lock()
	status, retryAfter := ct.status, ct.retryAfter
	ct.mu.Unlock()
	var te *client.TwilioRestError
	if errors.As(err, &te) {
		if status == 0 {
			status = te.Status
		}
		e := errs.FromTwilio(status, te.Code, te.Message)
		e.RetryAfter = retryAfter
		return e
	}
	if status >= 200 && status < 300 {
		// Twilio accepted the request but its answer could not be read (cut off, not JSON):
		// the message or call may exist, so the retry looks it up before sending again.
		return &errs.Error{Code: errs.Connection, Err: err, Uncertain: true,
			Message: "Twilio answered HTTP " + strconv.Itoa(status) + " but its body could not be read; it may have been sent"}
	}
	if status != 0 {
		// An error body twilio-go could not decode (a proxy's HTML page, say).
		e := errs.FromTwilio(status, 0, "Twilio answered HTTP "+strconv.Itoa(status)+" with a body that is not Twilio's error JSON")
		e.RetryAfter = retryAfter
		return e
	}
	msg := "no answer from Twilio: " + redactURL(err)
	if ctx.Err() != nil {
		msg = "gave up waiting for Twilio: " + ctx.Err().Error()
	}
	return &errs.Error{Code: errs.Connection, Message: msg, Err: err, Uncertain: true}
}

// redactURL drops the URL from a *url.Error: the message keeps the operation and cause only.
func redactURL(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Op + ": " + ue.Err.Error()
	}
	return err.Error()
}

// The Twilio provider places calls.
var (
	_ providers.Provider = (*Twilio)(nil)
	_ providers.Caller   = (*Twilio)(nil)
)

// segmentsOf is what a message costs its sender's pace: its segments, at least one (a media-only
// message is one).
func segmentsOf(body string) int {
	n, _ := segments.Count(body)
	return max(1, n)
}
