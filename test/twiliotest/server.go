// Package twiliotest serves the sandbox Twilio API (package sandbox) on 127.0.0.1 for the
// length of a test. Use it where the Prism mock cannot help: programmed errors, latency, hangs,
// distinct SIDs, exact request counts, status callbacks. Everything Twilio-shaped (routing,
// basic auth, validation errors, magic numbers, SIDs, resource JSON, signatures, callback
// forms) is the sandbox's; this package adds only the test's lifetime and the check that every
// FailTimes rule was used up. See package sandbox for how closely it follows Twilio.
//
// The sandbox's automatic status callbacks are off here: a test sends them with SendStatus.
package twiliotest

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/twilio-connector/twilio-connector/sandbox"
	"github.com/twilio-connector/twilio-connector/test/faults"
)

// APIVersion is the path prefix and the api_version the fake reports.
const APIVersion = sandbox.APIVersion

// MaxBodyLength is Twilio's limit on a message body, in characters; longer bodies get 21617.
const MaxBodyLength = sandbox.MaxBodyLength

// SignatureHeader is the header carrying Twilio's request signature.
const SignatureHeader = sandbox.SignatureHeader

// Types shared with the sandbox, so values pass between the two packages unchanged.
type (
	// Request is one HTTP request the server received, whatever the answer.
	Request = sandbox.Request
	// Message is a message the server accepted (answered 201).
	Message = sandbox.Message
	// Call is a call the server accepted (answered 201).
	Call = sandbox.Call
	// Error is Twilio's error body.
	Error = sandbox.Error
	// Failure is a programmed error answer.
	Failure = sandbox.Failure
)

// Server is a fake Twilio REST API: a sandbox.Server, whose methods (FailTimes, Hang, Sent,
// SendStatus…) and credential fields (AccountSID, AuthToken, which a test may change between
// requests) it promotes. All methods are safe for concurrent use.
type Server struct {
	*sandbox.Server
	srv *httptest.Server
}

type config struct{ accountSID, authToken string }

// Option configures a Server at New.
type Option func(*config)

// WithCredentials sets the account SID and auth token the server accepts, instead of random
// ones.
func WithCredentials(accountSID, authToken string) Option {
	return func(c *config) {
		c.accountSID = accountSID
		c.authToken = authToken
	}
}

// New starts a fake Twilio on 127.0.0.1 with random credentials (see WithCredentials). It is
// closed when the test ends; at that point the test fails if a FailTimes rule was not used up,
// because the code under test then made fewer requests than the test assumed.
func New(t testing.TB, opts ...Option) *Server {
	t.Helper()
	var c config
	for _, o := range opts {
		o(&c)
	}
	s := &Server{Server: sandbox.New(sandbox.Options{AccountSID: c.accountSID, AuthToken: c.authToken})}
	// Closing the sandbox releases hanging handlers.
	s.srv = faults.Serve(t, "twiliotest", s.Server, s.Server.Close, s.UnusedRules)
	return s
}

// URL is the base URL to use instead of https://api.twilio.com (no trailing slash).
func (s *Server) URL() string { return s.srv.URL }

// NewSID returns a random SID with the given two-letter prefix ("SM", "CA", "AC"…).
func NewSID(prefix string) string { return sandbox.NewSID(prefix) }

// Sign computes the X-Twilio-Signature Twilio sends with a form-encoded webhook to rawURL; see
// sandbox.Sign.
func Sign(authToken, rawURL string, form url.Values) string {
	return sandbox.Sign(authToken, rawURL, form)
}

// PostForm posts form to rawURL the way Twilio delivers a webhook: form-encoded, signed with
// authToken in X-Twilio-Signature, with Twilio's user agent. The caller closes the body.
func PostForm(ctx context.Context, rawURL, authToken string, form url.Values) (*http.Response, error) {
	return sandbox.PostForm(ctx, rawURL, authToken, form)
}

// StatusForm is the form of Twilio's status callback for m reaching status ("sent",
// "delivered", "failed", "undelivered"…); errorCode 0 leaves ErrorCode out, as Twilio does for
// messages without an error.
func StatusForm(m Message, status string, errorCode int) url.Values {
	return sandbox.StatusForm(m, status, errorCode)
}

// CallStatusForm is the form of Twilio's call status callback for status (initiated, ringing,
// in-progress, completed, busy, no-answer, failed, canceled); seq is its SequenceNumber.
func CallStatusForm(c Call, status string, seq int) url.Values {
	return sandbox.CallStatusForm(c, status, seq)
}

// InboundForm is the form Twilio posts to a number's messaging webhook when an SMS from from
// to to arrives, with a fresh MessageSid. Add or override fields (MessagingServiceSid,
// NumMedia/MediaUrl0…) before posting it with PostForm.
func InboundForm(accountSID, from, to, body string) url.Values {
	return sandbox.InboundForm(accountSID, from, to, body)
}
