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
	"github.com/twilio-connector/twilio-connector/templates"
)

// Input names of send_sms (docs/design.md §3); the element template binds these.
const (
	FieldSMSFrom     = "smsFrom"
	FieldSMSTo       = "smsTo"
	FieldSMSBody     = "smsBody"
	FieldSMSMediaURL = "smsMediaUrl"
	FieldSMSTesting  = "smsTesting"
)

// Limits Twilio enforces; checked here so the modeler gets the field name, not Twilio's code.
const (
	MaxBodyChars  = 1600
	MaxMediaURLs  = 10
	MaxRecipients = 100
)

// SMSRequest is one send_sms invocation.
type SMSRequest struct {
	From      string
	To        []string
	Body      string // a template, rendered against Vars
	MediaURLs []string
	Testing   bool
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
	if req.MediaURLs, err = stringList(FieldSMSMediaURL, vars[FieldSMSMediaURL]); err != nil {
		return req, err
	}
	if req.Testing, err = optionalBool(vars, FieldSMSTesting); err != nil {
		return req, err
	}
	if req.Body == "" && len(req.MediaURLs) == 0 {
		return req, errs.Missing(FieldSMSBody, "give the message text (a template such as \"Hello ${name}\"), or smsMediaUrl for a picture message")
	}
	return req, nil
}

// SMSOptions are send_sms's deploy-time settings.
type SMSOptions struct {
	DefaultFrom         string
	MessagingServiceSID string
	// DefaultRegion lets recipients be written in national format (e.g. "US").
	DefaultRegion string
	// StatusCallbackURL, when set, is given to Twilio for delivery status callbacks.
	StatusCallbackURL string
	// Directory resolves user:NAME recipients; nil means none is configured.
	Directory Directory
}

// SMS is the send_sms action.
type SMS struct {
	twilio   *Twilio
	opts     SMSOptions
	delivery *Delivery
}

// NewSMS returns the action. twilio may be nil when only testing (dry-run) requests are served.
func NewSMS(twilio *Twilio, delivery *Delivery, opts SMSOptions) *SMS {
	return &SMS{twilio: twilio, opts: opts, delivery: delivery}
}

// Invoke parses vars and sends. The error is non-nil only for a transient failure the caller
// should retry later (the result then says which recipients are still missing); permanent
// failures are reported in the result.
func (s *SMS) Invoke(ctx context.Context, inv Invocation) (Result, error) {
	req, err := ParseSMSRequest(inv.Vars)
	if err != nil {
		return RequestFailure(errs.As(err)), nil
	}
	req.Engine, req.IdempotencyKey = inv.Engine, inv.IdempotencyKey
	return s.Send(ctx, req)
}

// Send validates, renders and sends req: one message per distinct recipient.
func (s *SMS) Send(ctx context.Context, req SMSRequest) (Result, error) {
	from, err := resolveSender(FieldSMSFrom, req.From, s.opts.DefaultFrom, s.opts.MessagingServiceSID, s.opts.DefaultRegion)
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
	if s.twilio == nil && !req.Testing {
		return RequestFailure(errNoCredentials()), nil
	}
	message := func(to string) Message {
		return Message{To: to, From: from.from, MessagingServiceSID: from.service, Body: body,
			MediaURLs: req.MediaURLs, StatusCallback: s.opts.StatusCallbackURL}
	}
	return fanOut(ctx, s.delivery, fanOutRequest{
		field: FieldSMSTo, region: s.opts.DefaultRegion, to: req.To, key: req.IdempotencyKey,
		testing: req.Testing, preview: body,
		whatsApp: strings.HasPrefix(from.from, WhatsAppPrefix), directory: s.opts.Directory,
	}, func(ctx context.Context, to string) (Sent, error) {
		return s.twilio.SendMessage(ctx, message(to))
	}, func(ctx context.Context, to string, since time.Time) (Sent, bool, error) {
		return s.twilio.FindMessage(ctx, message(to), since)
	})
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
