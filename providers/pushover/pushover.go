// Package pushover is the Pushover provider: each message is one POST {api_base_url}/1/messages.json,
// form-encoded, with the application token, the recipient's user or group key, the message
// (smsBody) and the title (smsSubject); see https://pushover.net/api. Pushover has no sender
// (the application's name shows), no calls, and no way to ask whether an earlier request
// arrived: an attempt that got no answer is not repeated (Find returns providers.ErrNoLookup).
package pushover

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/twilio-connector/twilio-connector/errs"
	"github.com/twilio-connector/twilio-connector/providers"
)

// Kind is the provider's name in connections files and metrics.
const Kind = "pushover"

// DirectoryField is the directory field holding a user's Pushover key (users: {sean:
// {pushover: KEY}}).
const DirectoryField = "pushover"

// DefaultBaseURL is Pushover's API.
const DefaultBaseURL = "https://api.pushover.net"

// MessagesPath is the message API's path under the base URL.
const MessagesPath = "/1/messages.json"

// Pushover's limits, in characters.
const (
	MaxMessage = 1024
	MaxTitle   = 250
	MaxURL     = 512
)

// ServerErrorWait is the least wait before repeating a request Pushover answered with a 5xx:
// Pushover asks clients not to retry sooner than every 5 seconds.
const ServerErrorWait = 5 * time.Second

// Field names the errors use: the request's inputs and the connection's settings.
const (
	FieldBody     = "smsBody"
	FieldSubject  = "smsSubject"
	FieldTo       = "smsTo"
	FieldMediaURL = "smsMediaUrl"
	FieldToken    = "token"
)

var keyPattern = regexp.MustCompile(`^[A-Za-z0-9]{30}$`)

// Defaults of Options.
const DefaultTimeout = 15 * time.Second

// Options configures a Provider.
type Options struct {
	// Connection is the connection's name, named in errors about its settings.
	Connection string
	// Token is the application's API token (a secret).
	Token string
	// BaseURL is the API's address; "" means DefaultBaseURL.
	BaseURL string
	// Priority (-2…1) and Sound, when set, go with every message.
	Priority *int
	Sound    string
	// Timeout bounds each request (0: DefaultTimeout); MaxConcurrent the requests in flight
	// (0: providers.DefaultMaxConcurrent).
	Timeout       time.Duration
	MaxConcurrent int
	// Transport carries the requests; nil means http.DefaultTransport.
	Transport http.RoundTripper
}

// Provider sends through Pushover. It is safe for concurrent use.
type Provider struct {
	opts     Options
	endpoint string
	post     *providers.Poster
}

// New checks opts and returns a provider. Errors are *providers.FieldError naming the
// connection's field.
func New(opts Options) (*Provider, error) {
	bad := func(field, format string, args ...any) error {
		return &providers.FieldError{Connection: opts.Connection, Field: field, Problem: fmt.Sprintf(format, args...)}
	}
	if !keyPattern.MatchString(opts.Token) {
		return nil, bad(FieldToken, "is not a Pushover application token: give the 30 letters and digits shown for the application at pushover.net")
	}
	base := opts.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, bad("api_base_url", "%q is not an http(s) URL", base)
	}
	if p := opts.Priority; p != nil && (*p < -2 || *p > 1) {
		return nil, bad("priority", "%d is not -2, -1, 0 or 1 (2, emergency, needs acknowledgements the connector does not follow)", *p)
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.MaxConcurrent <= 0 {
		opts.MaxConcurrent = providers.DefaultMaxConcurrent
	}
	return &Provider{
		opts:     opts,
		endpoint: strings.TrimSuffix(base, "/") + MessagesPath,
		post:     providers.NewPoster("Pushover", opts.Timeout, opts.MaxConcurrent, opts.Transport),
	}, nil
}

// Kind is "pushover".
func (p *Provider) Kind() string { return Kind }

// DirectoryField is "pushover".
func (p *Provider) DirectoryField() string { return DirectoryField }

// From returns "": Pushover messages show the application's name, so a sender (the task's
// smsFrom, the connection's default_from) is not used.
func (p *Provider) From(field, given, region string) (string, error) { return "", nil }

// To checks a user or group key.
func (p *Provider) To(field, raw, region string) (string, error) {
	k := strings.TrimSpace(raw)
	if !keyPattern.MatchString(k) {
		return "", fmt.Errorf("%s %q is not a Pushover user or group key: give the 30 letters and digits shown on the Pushover dashboard, or user:NAME with the key in the directory field %s",
			field, raw, DirectoryField)
	}
	return k, nil
}

// Find cannot ask Pushover about earlier requests.
func (p *Provider) Find(context.Context, providers.Message, time.Time) (providers.Sent, bool, error) {
	return providers.Sent{}, false, providers.ErrNoLookup
}

// Send posts one message. m.Body is the message, m.Subject the title; the first of
// m.MediaURLs becomes the supplementary url (Pushover takes one).
func (p *Provider) Send(ctx context.Context, m providers.Message) (providers.Sent, error) {
	form, err := p.form(m)
	if err != nil {
		return providers.Sent{}, err
	}
	a, err := p.post.Post(ctx, p.endpoint, "application/x-www-form-urlencoded", []byte(form.Encode()), nil)
	if err != nil {
		return providers.Sent{}, err
	}
	return p.classify(a.Response, a.Body, a.ReadErr)
}

func (p *Provider) form(m providers.Message) (url.Values, error) {
	if strings.TrimSpace(m.Body) == "" {
		return nil, errs.Missing(FieldBody, "Pushover needs the message text")
	}
	if n := utf8.RuneCountInString(m.Body); n > MaxMessage {
		return nil, errs.Invalid(FieldBody, "the rendered %s has %d characters; Pushover accepts at most %d: shorten the text", FieldBody, n, MaxMessage)
	}
	if n := utf8.RuneCountInString(m.Subject); n > MaxTitle {
		return nil, errs.Invalid(FieldSubject, "%s has %d characters; Pushover accepts at most %d: shorten it", FieldSubject, n, MaxTitle)
	}
	form := url.Values{"token": {p.opts.Token}, "user": {m.To}, "message": {m.Body}}
	if m.Subject != "" {
		form.Set("title", m.Subject)
	}
	switch {
	case len(m.MediaURLs) > 1:
		return nil, errs.Invalid(FieldMediaURL, "%s has %d URLs; Pushover shows one supplementary URL: give one", FieldMediaURL, len(m.MediaURLs))
	case len(m.MediaURLs) == 1 && utf8.RuneCountInString(m.MediaURLs[0]) > MaxURL:
		return nil, errs.Invalid(FieldMediaURL, "%s has more than %d characters, Pushover's limit for a URL", FieldMediaURL, MaxURL)
	case len(m.MediaURLs) == 1:
		form.Set("url", m.MediaURLs[0])
	}
	if p.opts.Priority != nil {
		form.Set("priority", strconv.Itoa(*p.opts.Priority))
	}
	if p.opts.Sound != "" {
		form.Set("sound", p.opts.Sound)
	}
	return form, nil
}

// answer is Pushover's JSON answer: status 1 and the request id, or errors, with the invalid
// fields as keys ("token": "invalid", "user": "invalid", …).
type answer struct {
	Status  int      `json:"status"`
	Request string   `json:"request"`
	Errors  []string `json:"errors"`
	Token   string   `json:"token"`
	User    string   `json:"user"`
}

// classify maps Pushover's answer into a result or the taxonomy.
func (p *Provider) classify(res *http.Response, body []byte, readErr error) (providers.Sent, error) {
	var a answer
	decoded := readErr == nil && json.Unmarshal(body, &a) == nil
	status := res.StatusCode
	rejected := decoded && a.Status != 1 && len(a.Errors) > 0
	switch {
	case status >= 200 && status < 300 && !rejected:
		if !decoded || a.Status != 1 || a.Request == "" {
			return providers.Sent{}, &errs.Error{Code: errs.Connection, Uncertain: true,
				Message: "Pushover answered HTTP " + strconv.Itoa(status) + " without a readable {\"status\":1} answer; the message may have been sent"}
		}
		return providers.Sent{SID: a.Request, Status: "sent"}, nil
	case status == http.StatusTooManyRequests:
		return providers.Sent{}, &errs.Error{Code: errs.RateLimited, RetryAfter: providers.RetryAfter(res),
			Message: "Pushover answered HTTP 429: the application is over its message limit" + detail(a)}
	case status >= 500:
		return providers.Sent{}, &errs.Error{Code: errs.Connection, RetryAfter: max(providers.RetryAfter(res), ServerErrorWait),
			Message: "Pushover answered HTTP " + strconv.Itoa(status)}
	case a.Token != "" || status == http.StatusUnauthorized || status == http.StatusForbidden:
		return providers.Sent{}, &errs.Error{Code: errs.Authentication, Field: FieldToken,
			Message: "Pushover rejected the application token of connection " + p.opts.Connection + ": check its token (or token_file)" + detail(a)}
	case a.User != "":
		return providers.Sent{}, &errs.Error{Code: errs.InvalidToPhoneNumber, Field: FieldTo,
			Message: "Pushover knows no user or group with this key: check the key (or the user's " + DirectoryField + " entry in the directory)" + detail(a)}
	}
	return providers.Sent{}, &errs.Error{Code: errs.TwilioRequestRejected,
		Message: "Pushover rejected the message with HTTP " + strconv.Itoa(status) + detail(a)}
}

// detail is Pushover's own error list, which names fields and never echoes values.
func detail(a answer) string {
	if len(a.Errors) == 0 {
		return ""
	}
	return " (Pushover: " + strings.Join(a.Errors, "; ") + ")"
}

// Construct builds a provider from a connection's fields: token (or token_file), api_base_url,
// priority, sound.
func Construct(s providers.Settings) (providers.Provider, error) {
	opts := Options{Connection: s.Name, Timeout: s.Timeout, MaxConcurrent: s.MaxConcurrent, Transport: s.Transport}
	var err error
	if opts.Token, err = s.Fields.Secret(FieldToken); err != nil {
		return nil, err
	}
	if opts.Token == "" {
		return nil, s.Fields.Errorf(FieldToken, "is required: set token or token_file to the application's API token")
	}
	if opts.BaseURL, err = s.Fields.String("api_base_url"); err != nil {
		return nil, err
	}
	priority, err := s.Fields.String("priority")
	if err != nil {
		return nil, err
	}
	if priority != "" {
		n, err := strconv.Atoi(priority)
		if err != nil {
			return nil, s.Fields.Errorf("priority", "%q is not a number: give -2, -1, 0 or 1", priority)
		}
		opts.Priority = &n
	}
	if opts.Sound, err = s.Fields.String("sound"); err != nil {
		return nil, err
	}
	return New(opts)
}
