package providers

import (
	"bytes"
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/twilio-connector/twilio-connector/errs"
)

// MaxAnswerBytes is how much of a provider's answer Poster reads.
const MaxAnswerBytes = 64 << 10

// DefaultMaxConcurrent is the requests a provider has in flight at once when its connection
// sets no limit (TWILIO_CONCURRENCY, max_concurrent): the usual default of Twilio's per-account
// REST API concurrency limit (requests over it get 429, error 20429), and a sensible bound for
// other networks.
const DefaultMaxConcurrent = 100

// Poster makes the HTTP requests of a provider that speaks plain HTTP (Pushover, the HTTP
// channel): each bounded by a timeout, at most a fixed number in flight, redirects not
// followed, and a request that got no answer classified the same way for every provider.
// It is safe for concurrent use.
type Poster struct {
	name    string // names the peer in errors, e.g. "Pushover"
	client  *http.Client
	slots   chan struct{}
	timeout time.Duration
}

// NewPoster returns a Poster; name names the peer in errors and must hold no secret.
// transport nil means http.DefaultTransport.
func NewPoster(name string, timeout time.Duration, maxConcurrent int, transport http.RoundTripper) *Poster {
	if transport == nil {
		transport = http.DefaultTransport
	}
	return &Poster{
		name: name,
		client: &http.Client{Transport: transport,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		slots:   make(chan struct{}, maxConcurrent),
		timeout: timeout,
	}
}

// Answer is a peer's answer: its status, headers, up to MaxAnswerBytes of its body, and the
// error reading the body (an answer cut off may still mean the request was taken).
type Answer struct {
	*http.Response
	Body    []byte
	ReadErr error
}

// RetryAfter is an answer's Retry-After in seconds, 0 when absent.
func RetryAfter(res *http.Response) time.Duration {
	if s, err := strconv.Atoi(res.Header.Get("Retry-After")); err == nil && s > 0 {
		return time.Duration(s) * time.Second
	}
	return 0
}

// Post sends body to target. A request that got no answer is TWILIO_CONNECTION_ERROR,
// Uncertain unless the connection could not even be opened; no error holds the URL.
func (p *Poster) Post(ctx context.Context, target, contentType string, body []byte, header map[string]string) (Answer, error) {
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return Answer{}, &errs.Error{Code: errs.Internal, Message: "cannot build the request to " + p.name, Err: unwrapURL(err)}
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	req.Header.Set("Content-Type", contentType)
	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return Answer{}, &errs.Error{Code: errs.Connection, Message: "gave up waiting for a free connection to " + p.name + ": " + ctx.Err().Error(), Err: ctx.Err()}
	}
	res, err := p.client.Do(req)
	<-p.slots
	if err != nil {
		err = unwrapURL(err)
		msg := "no answer from " + p.name + ": " + err.Error()
		if ctx.Err() != nil {
			msg = "gave up waiting for " + p.name + ": " + ctx.Err().Error()
		}
		var op *net.OpError
		dialFailed := errors.As(err, &op) && op.Op == "dial"
		return Answer{}, &errs.Error{Code: errs.Connection, Message: msg, Err: err, Uncertain: !dialFailed}
	}
	defer res.Body.Close()
	a := Answer{Response: res}
	a.Body, a.ReadErr = io.ReadAll(io.LimitReader(res.Body, MaxAnswerBytes))
	return a, nil
}

// unwrapURL is the cause inside a *url.Error, so that no error kept holds the URL.
func unwrapURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
