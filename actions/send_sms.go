// Package actions holds the outbound actions (send_sms, make_call): plain functions of a typed
// request that return a Result. They know nothing of Zeebe; transports (the job worker, the
// HTTP API, MQTT) build the request with the same parser and map the result.
package actions

import (
	"context"
	"net/url"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/twilio-connector/twilio-connector/errs"
	"github.com/twilio-connector/twilio-connector/providers"
	"github.com/twilio-connector/twilio-connector/providers/segments"
	"github.com/twilio-connector/twilio-connector/templates"
)

// Input names of send_sms (docs/design.md §3); the element template binds these.
const (
	FieldSMSFrom     = "smsFrom"
	FieldSMSTo       = "smsTo"
	FieldSMSBody     = "smsBody"
	FieldSMSMediaURL = "smsMediaUrl"
	FieldSMSTesting  = "smsTesting"
	// FieldSMSSubject is a title shown above the body by providers that have one (Pushover);
	// SMS providers ignore it.
	FieldSMSSubject = "smsSubject"
)

// Limits Twilio enforces; checked here so the modeler gets the field name, not Twilio's code.
const (
	MaxBodyChars  = 1600
	MaxMediaURLs  = 10
	MaxRecipients = 100
)

// SMSRequest is one send_sms invocation.
type SMSRequest struct {
	// Connection names the connection to send through ("" is the default).
	Connection string
	From       string
	To         []string
	Subject    string // a template, rendered against Vars
	Body       string // a template, rendered against Vars
	MediaURLs  []string
	Testing    bool
	// Options are Twilio's message options (content template, scheduling, …).
	Options SMSMessageOptions
	// Vars are the template's data (for jobs: all process variables).
	Vars   map[string]any
	Engine templates.Engine
	// IdempotencyKey identifies the request across repeats (job key, Idempotency-Key, MQTT id).
	IdempotencyKey string
}

// ParseSMSRequest builds a request from input variables as a job, the HTTP API or a test gives
// them. It is the one request builder of send_sms.
func ParseSMSRequest(vars map[string]any) (SMSRequest, error) {
	req := SMSRequest{Vars: vars}
	var err error
	if req.From, err = optionalString(vars, FieldSMSFrom); err != nil {
		return req, err
	}
	if req.To, err = recipientList(FieldSMSTo, vars[FieldSMSTo]); err != nil {
		return req, err
	}
	if req.Body, err = optionalString(vars, FieldSMSBody); err != nil {
		return req, err
	}
	if req.Subject, err = optionalString(vars, FieldSMSSubject); err != nil {
		return req, err
	}
	if req.MediaURLs, err = stringList(FieldSMSMediaURL, vars[FieldSMSMediaURL]); err != nil {
		return req, err
	}
	if req.Testing, err = optionalBool(vars, FieldSMSTesting); err != nil {
		return req, err
	}
	if req.Options, err = parseSMSOptions(vars); err != nil {
		return req, err
	}
	if req.Body == "" && len(req.MediaURLs) == 0 && req.Options.ContentSID == "" {
		return req, errs.Missing(FieldSMSBody, "give the message text (a template such as \"Hello ${name}\"), smsMediaUrl for a picture message, or smsContentSid for a content template")
	}
	return req, nil
}

// SMSOptions are send_sms's deploy-time settings; the sender defaults are the connection's.
type SMSOptions struct {
	// DefaultRegion lets recipients be written in national format (e.g. "US").
	DefaultRegion string
	// StatusCallbackURL, when set, is given to the provider for delivery status callbacks.
	StatusCallbackURL string
	// Directory resolves user:NAME recipients; nil means none is configured.
	Directory Directory
}

// SMS is the send_sms action.
type SMS struct {
	conns    providers.Connections
	opts     SMSOptions
	delivery *Delivery
}

// NewSMS returns the action sending through conns. Without a default connection, or with one
// without a provider, requests to it serve testing (dry-run) mode only.
func NewSMS(conns providers.Connections, delivery *Delivery, opts SMSOptions) *SMS {
	return &SMS{conns: conns, opts: opts, delivery: delivery}
}

// Invoke parses vars and sends. The error is non-nil only for a transient failure the caller
// should retry later (the result then says which recipients are still missing); permanent
// failures are reported in the result.
func (s *SMS) Invoke(ctx context.Context, inv Invocation) (Result, error) {
	conn, e := connection(s.conns, inv.Connection)
	if e != nil {
		return RequestFailure(e), nil
	}
	req, err := ParseSMSRequest(withDefaultTo(inv.Vars, FieldSMSTo, conn))
	if err != nil {
		return RequestFailure(errs.As(err)), nil
	}
	req.Connection, req.Engine, req.IdempotencyKey = inv.Connection, inv.Engine, inv.IdempotencyKey
	return s.send(ctx, conn, req)
}

// Send validates, renders and sends req: one message per distinct recipient.
func (s *SMS) Send(ctx context.Context, req SMSRequest) (Result, error) {
	conn, e := connection(s.conns, req.Connection)
	if e != nil {
		return RequestFailure(e), nil
	}
	if len(req.To) == 0 {
		req.To = conn.DefaultTo
	}
	return s.send(ctx, conn, req)
}

func (s *SMS) send(ctx context.Context, conn *providers.Connection, req SMSRequest) (Result, error) {
	addr := addresses(conn)
	given := req.From
	if strings.TrimSpace(given) == "" {
		given = conn.DefaultFrom
	}
	from, err := addr.From(FieldSMSFrom, given, s.opts.DefaultRegion)
	if err != nil {
		return RequestFailure(errs.As(err)), nil
	}
	subject, err := renderText(ctx, FieldSMSSubject, req.Subject, req)
	if err != nil {
		return RequestFailure(errs.As(err)), nil
	}
	body, err := renderBody(ctx, req)
	if err != nil {
		return RequestFailure(errs.As(err)), nil
	}
	if err := checkMediaURLs(req.MediaURLs); err != nil {
		return RequestFailure(errs.As(err)), nil
	}
	options, err := s.messageOptions(ctx, conn, from, req)
	if err != nil {
		return RequestFailure(errs.As(err)), nil
	}
	// A schedule outside its window refuses the request, unless an earlier run of it
	// scheduled messages: a retry answers from their records however close smsSendAt has
	// come, and refuses only recipients never sent to.
	window := checkSendAt(options.SendAt)
	if window != nil && !s.answersFromRecords(req) {
		return RequestFailure(errs.As(window)), nil
	}
	if conn.Provider == nil && !req.Testing {
		return RequestFailure(errNoCredentials()), nil
	}
	message := func(to string) providers.Message {
		return providers.Message{To: to, From: from, Subject: subject, Body: body,
			MediaURLs: req.MediaURLs, StatusCallback: s.opts.StatusCallbackURL, ID: messageID(req.IdempotencyKey, to),
			Options: options}
	}
	preview, n, encoding := body, 0, ""
	if options.ContentSID != "" {
		// The text is the template's, which only Twilio knows.
		preview = "content " + options.ContentSID + " " + options.ContentVariables
	} else if body != "" {
		var enc segments.Encoding
		n, enc = segments.Count(body)
		encoding = string(enc)
	}
	res, err := fanOut(ctx, s.delivery, fanOutRequest{
		field: FieldSMSTo, region: s.opts.DefaultRegion, to: req.To, key: req.IdempotencyKey,
		testing: req.Testing, preview: preview, segments: n, encoding: encoding,
		whatsApp: strings.HasPrefix(from, WhatsAppPrefix), directory: s.opts.Directory,
		addresses: addr, connection: conn.Name, provider: kind(conn),
	}, func(ctx context.Context, to string) (providers.Sent, error) {
		if window != nil {
			return providers.Sent{}, window
		}
		return conn.Provider.Send(ctx, message(to))
	}, func(ctx context.Context, to string, since time.Time) (providers.Sent, bool, error) {
		return conn.Provider.Find(ctx, message(to), since)
	})
	if window != nil && err == nil && !res.anySent() {
		return RequestFailure(errs.As(window)), nil
	}
	return res, err
}

// renderText renders an optional template input ("" stays "").
func renderText(ctx context.Context, field, source string, req SMSRequest) (string, error) {
	if source == "" {
		return "", nil
	}
	return render(ctx, field, source, req.Engine, req.Vars)
}

func renderBody(ctx context.Context, req SMSRequest) (string, error) {
	if req.Body == "" {
		return "", nil
	}
	body, err := render(ctx, FieldSMSBody, req.Body, req.Engine, req.Vars)
	if err != nil {
		return "", err
	}
	if n := utf8.RuneCountInString(body); n > MaxBodyChars {
		return "", errs.Invalid(FieldSMSBody, "the rendered %s has %d characters; Twilio accepts at most %d: shorten the text", FieldSMSBody, n, MaxBodyChars)
	}
	if strings.TrimSpace(body) == "" && len(req.MediaURLs) == 0 {
		return "", errs.Invalid(FieldSMSBody, "the rendered %s is empty: check the template and the variables it uses", FieldSMSBody)
	}
	return body, nil
}

// render compiles (once, cached) and renders a template input; "" means Freemarker. The
// render stops when ctx is done.
func render(ctx context.Context, field, source string, engine templates.Engine, vars map[string]any) (string, error) {
	if engine == "" {
		engine = templates.Freemarker
	}
	t, err := templates.Compile(field, source, engine)
	if err != nil {
		return "", err
	}
	return t.RenderContext(ctx, vars)
}

func checkMediaURLs(urls []string) error {
	if len(urls) > MaxMediaURLs {
		return errs.Invalid(FieldSMSMediaURL, "%s has %d URLs; Twilio accepts at most %d", FieldSMSMediaURL, len(urls), MaxMediaURLs)
	}
	for i, u := range urls {
		p, err := url.Parse(u)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return errs.Invalid(FieldSMSMediaURL, "%s[%d] %q is not a public http(s) URL", FieldSMSMediaURL, i, u)
		}
	}
	return nil
}

// Action is what every transport (the job worker, the HTTP API, MQTT) runs: *SMS and *Calls.
// Invoke returns a non-nil error only for a transient failure worth retrying later, with the
// same IdempotencyKey so that nothing is sent twice; everything else is in the Result. It is
// safe for concurrent use.
type Action interface {
	Invoke(ctx context.Context, inv Invocation) (Result, error)
}

// Invocation is what a transport hands an action: the input variables and the transport's
// options.
type Invocation struct {
	// Connection names the connection to send through ("" is the default): the task header,
	// the HTTP API's or MQTT's body field connection.
	Connection     string
	Vars           map[string]any
	Engine         templates.Engine
	IdempotencyKey string
}

func optionalString(vars map[string]any, field string) (string, error) {
	switch v := vars[field].(type) {
	case nil:
		return "", nil
	case string:
		return v, nil
	default:
		return "", errs.Invalid(field, "%s is %s: give a string", field, typeName(v))
	}
}

func optionalBool(vars map[string]any, field string) (bool, error) {
	switch v := vars[field].(type) {
	case nil:
		return false, nil
	case bool:
		return v, nil
	case string:
		switch strings.ToLower(strings.TrimSpace(v)) {
		case "true":
			return true, nil
		case "false", "":
			return false, nil
		}
	}
	return false, errs.Invalid(field, "%s is %v: give true or false", field, vars[field])
}

func stringList(field string, v any) ([]string, error) {
	switch x := v.(type) {
	case nil:
		return nil, nil
	case string:
		if strings.TrimSpace(x) == "" {
			return nil, nil
		}
		return []string{strings.TrimSpace(x)}, nil
	case []any:
		out := make([]string, 0, len(x))
		for i, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, errs.Invalid(field, "%s[%d] is %s: give a string", field, i, typeName(e))
			}
			out = append(out, s)
		}
		return out, nil
	}
	return nil, errs.Invalid(field, "%s is %s: give a list of URLs", field, typeName(v))
}
