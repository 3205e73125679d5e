// Package httpchannel is the generic HTTP channel's outgoing side: RapidPro's "external"
// channel contract, which many SMS aggregators and gateways speak. Each message is one POST to
// the connection's url with the fields id, text, to, to_no_plus, from, from_no_plus and channel
// (the connection's name), as a JSON object (format json, the default) or a form (format
// form), with the connection's extra headers. Any 2xx answer means accepted: the result's sid
// is the "id" of a JSON answer when there is one, else the connector's own id; 429 and 5xx
// are retried; other answers are permanent rejections. Media URLs are appended to the text,
// one per line, as RapidPro does for channels without attachments. The gateway cannot be
// asked about earlier requests (Find returns providers.ErrNoLookup), but the id is the same on
// every attempt of one request, so a gateway can drop repeats itself.
package httpchannel

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/twilio-connector/twilio-connector/errs"
	"github.com/twilio-connector/twilio-connector/providers"
)

// Kind is the provider's name in connections files and metrics.
const Kind = "http"

// The formats of the request body.
const (
	FormatJSON = "json"
	FormatForm = "form"
)

// FieldBody is the input the text comes from, named in errors.
const FieldBody = "smsBody"

// Defaults of Options.
const DefaultTimeout = 15 * time.Second

// Options configures a Provider.
type Options struct {
	// Connection is the connection's name: the channel field, and named in errors.
	Connection string
	// URL receives the messages. It may hold credentials; errors never show it.
	URL string
	// Format is FormatJSON ("" too) or FormatForm.
	Format string
	// Headers go with every request (Authorization, an API key…); their values are secrets.
	Headers map[string]string
	// InboundSecret is the bearer token the gateway sends to the connector's inbound
	// endpoints (POST /http/{connection}/receive and /status).
	InboundSecret string
	// Timeout bounds each request (0: DefaultTimeout); MaxConcurrent the requests in flight
	// (0: providers.DefaultMaxConcurrent).
	Timeout       time.Duration
	MaxConcurrent int
	// Transport carries the requests; nil means http.DefaultTransport.
	Transport http.RoundTripper
}

// Provider sends through a gateway speaking the contract. It is safe for concurrent use. Its
// addresses are phone numbers (directory field "phone"); a sender is optional.
type Provider struct {
	providers.Phone
	opts Options
	post *providers.Poster
}

// New checks opts and returns a provider. Errors are *providers.FieldError naming the
// connection's field, never a value.
func New(opts Options) (*Provider, error) {
	bad := func(field, format string, args ...any) error {
		return &providers.FieldError{Connection: opts.Connection, Field: field, Problem: fmt.Sprintf(format, args...)}
	}
	u, err := url.Parse(opts.URL)
	switch {
	case opts.URL == "":
		return nil, bad("url", "is required: the gateway's address that takes the messages (or url_file)")
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		return nil, bad("url", "is not an absolute http(s) URL")
	}
	switch opts.Format {
	case "":
		opts.Format = FormatJSON
	case FormatJSON, FormatForm:
	default:
		return nil, bad("format", "%q is neither %s nor %s", opts.Format, FormatJSON, FormatForm)
	}
	for name := range opts.Headers {
		switch {
		case name == "" || strings.ContainsAny(name, " :\r\n"):
			return nil, bad("headers", "%q is not a header name", name)
		case strings.EqualFold(name, "Content-Type"), strings.EqualFold(name, "Content-Length"), strings.EqualFold(name, "Host"):
			return nil, bad("headers", "%s is set by the connector (format chooses the body's type)", name)
		case strings.ContainsAny(opts.Headers[name], "\r\n"):
			return nil, bad("headers", "the value of %s holds a line break", name)
		}
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.MaxConcurrent <= 0 {
		opts.MaxConcurrent = providers.DefaultMaxConcurrent
	}
	return &Provider{
		Phone: providers.Phone{SenderOptional: true},
		opts:  opts,
		post:  providers.NewPoster("the HTTP gateway of connection "+opts.Connection, opts.Timeout, opts.MaxConcurrent, opts.Transport),
	}, nil
}

// Kind is "http".
func (p *Provider) Kind() string { return Kind }

// InboundSecret is the bearer token the connection's inbound endpoints require ("" when
// none is configured).
func (p *Provider) InboundSecret() string { return p.opts.InboundSecret }

// Find cannot ask the gateway about earlier requests.
func (p *Provider) Find(context.Context, providers.Message, time.Time) (providers.Sent, bool, error) {
	return providers.Sent{}, false, providers.ErrNoLookup
}

// Fields returns the contract's fields for m: what Send posts.
func (p *Provider) Fields(m providers.Message) map[string]string {
	text := m.Body
	for _, u := range m.MediaURLs {
		if text != "" {
			text += "\n"
		}
		text += u
	}
	return map[string]string{
		"id": m.ID, "text": text, "to": m.To, "to_no_plus": strings.TrimPrefix(m.To, "+"),
		"from": m.From, "from_no_plus": strings.TrimPrefix(m.From, "+"), "channel": p.opts.Connection,
	}
}

// Send posts one message.
func (p *Provider) Send(ctx context.Context, m providers.Message) (providers.Sent, error) {
	if m.ID == "" {
		m.ID = newID()
	}
	fields := p.Fields(m)
	if strings.TrimSpace(fields["text"]) == "" {
		return providers.Sent{}, errs.Missing(FieldBody, "the HTTP channel needs the message text")
	}
	var body []byte
	contentType := "application/json"
	if p.opts.Format == FormatForm {
		form := url.Values{}
		for k, v := range fields {
			form.Set(k, v)
		}
		body, contentType = []byte(form.Encode()), "application/x-www-form-urlencoded"
	} else {
		body, _ = json.Marshal(fields)
	}
	header := map[string]string{"Accept": "application/json"}
	for k, v := range p.opts.Headers {
		header[k] = v
	}
	a, err := p.post.Post(ctx, p.opts.URL, contentType, body, header)
	if err != nil {
		return providers.Sent{}, err
	}
	return p.classify(a.Response, a.Body, m.ID)
}

// classify maps the gateway's answer into a result or the taxonomy.
func (p *Provider) classify(res *http.Response, body []byte, id string) (providers.Sent, error) {
	status := res.StatusCode
	if status >= 200 && status < 300 {
		// The status is the contract's answer: a body cut off or not JSON changes nothing.
		if gw := gatewayID(body); gw != "" {
			id = gw
		}
		return providers.Sent{SID: id, Status: "sent"}, nil
	}
	e := &errs.Error{Message: fmt.Sprintf("the HTTP gateway of connection %s answered HTTP %d%s", p.opts.Connection, status, p.snippet(body))}
	switch {
	case status == http.StatusTooManyRequests:
		e.Code, e.RetryAfter = errs.RateLimited, providers.RetryAfter(res)
	case status >= 500:
		e.Code, e.RetryAfter = errs.Connection, providers.RetryAfter(res)
	case status == http.StatusUnauthorized || status == http.StatusForbidden:
		e.Code, e.Field = errs.Authentication, "headers"
		e.Message += ": check the connection's headers (the gateway's credentials)"
	default:
		e.Code = errs.TwilioRequestRejected
	}
	return providers.Sent{}, e
}

// gatewayID is the "id" of a JSON object answer (a string or a number), "" when there is none.
func gatewayID(body []byte) string {
	var a struct {
		ID json.RawMessage `json:"id"`
	}
	if json.Unmarshal(body, &a) != nil || len(a.ID) == 0 {
		return ""
	}
	var s string
	if json.Unmarshal(a.ID, &s) == nil {
		return strings.TrimSpace(s)
	}
	var n json.Number
	if json.Unmarshal(a.ID, &n) == nil {
		return n.String()
	}
	return ""
}

// maxSnippet bounds how much of an error answer an error message quotes.
const maxSnippet = 200

// snippet quotes the start of an error answer, with every configured header value and
// secret-looking part of the URL blanked out in case the gateway echoes them.
func (p *Provider) snippet(body []byte) string {
	s := strings.TrimSpace(string(bytes.ToValidUTF8(body, nil)))
	if s == "" {
		return ""
	}
	if len(s) > maxSnippet {
		s = s[:maxSnippet] + "…"
	}
	for _, v := range p.secrets() {
		s = strings.ReplaceAll(s, v, "[redacted]")
	}
	return ": " + strconv.Quote(s)
}

// secrets are the values an error must not show: header values, the URL's user info and
// query values.
func (p *Provider) secrets() []string {
	var out []string
	add := func(v string) {
		if len(v) >= 4 {
			out = append(out, v)
		}
	}
	for _, v := range p.opts.Headers {
		add(v)
		if _, cred, ok := strings.Cut(v, " "); ok {
			add(cred) // the token of "Bearer TOKEN"
		}
	}
	add(p.opts.InboundSecret)
	if u, err := url.Parse(p.opts.URL); err == nil {
		if pw, ok := u.User.Password(); ok {
			add(pw)
		}
		for _, vs := range u.Query() {
			for _, v := range vs {
				add(v)
			}
		}
	}
	return out
}

func newID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Construct builds a provider from a connection's fields: url (or url_file), format, headers
// (and/or headers_file), inbound_secret (or inbound_secret_file).
func Construct(s providers.Settings) (providers.Provider, error) {
	opts := Options{Connection: s.Name, Timeout: s.Timeout, MaxConcurrent: s.MaxConcurrent, Transport: s.Transport}
	var err error
	if opts.URL, err = s.Fields.Secret("url"); err != nil {
		return nil, err
	}
	if opts.Format, err = s.Fields.String("format"); err != nil {
		return nil, err
	}
	if opts.Headers, err = s.Fields.StringMap("headers"); err != nil {
		return nil, err
	}
	if opts.Headers, err = headersFile(s.Fields, opts.Headers); err != nil {
		return nil, err
	}
	if opts.InboundSecret, err = s.Fields.Secret("inbound_secret"); err != nil {
		return nil, err
	}
	return New(opts)
}

// headersFile adds the headers of headers_file, a file of "Name: value" lines (blank lines and
// lines starting with # ignored), to those of headers; a header in both is an error. Errors
// name the line, never a value.
func headersFile(f *providers.Fields, headers map[string]string) (map[string]string, error) {
	path, err := f.String("headers_file")
	if err != nil || path == "" {
		return headers, err
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, f.Errorf("headers_file", "cannot be read: %v", err)
	}
	out := maps.Clone(headers)
	if out == nil {
		out = map[string]string{}
	}
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, value, ok := strings.Cut(line, ":")
		name = strings.TrimSpace(name)
		switch {
		case !ok || name == "":
			return nil, f.Errorf("headers_file", "line %d is not \"Name: value\"", i+1)
		}
		for k := range out {
			if strings.EqualFold(k, name) {
				return nil, f.Errorf("headers_file", "line %d sets %s, which is set already: keep one", i+1, name)
			}
		}
		out[name] = strings.TrimSpace(value)
	}
	return out, nil
}
