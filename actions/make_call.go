package actions

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	"github.com/twilio-connector/twilio-connector/errs"
	"github.com/twilio-connector/twilio-connector/providers"
	"github.com/twilio-connector/twilio-connector/templates"
)

// Input names of make_call (docs/design.md §3).
const (
	FieldCallFrom     = "callFrom"
	FieldCallTo       = "callTo"
	FieldCallTwimlURL = "callTwimlUrl"
	FieldCallTwiml    = "callTwiml"
	FieldCallMessage  = "callMessage"
	FieldCallVoice    = "callVoice"
	FieldCallLanguage = "callLanguage"
	FieldCallTesting  = "callTesting"
)

// MaxTwimlChars is Twilio's limit on an inline Twiml parameter.
const MaxTwimlChars = 4000

// CallRequest is one make_call invocation. Exactly one of TwimlURL, Twiml and Message is set.
type CallRequest struct {
	// Connection names the connection to call through ("" is the default).
	Connection string
	From       string
	To         []string
	TwimlURL   string
	Twiml      string
	// Message is a template rendered against Vars and spoken with <Say>.
	Message         string
	Voice, Language string
	Testing         bool
	Vars            map[string]any
	Engine          templates.Engine
	IdempotencyKey  string
}

// ParseCallRequest builds a request from input variables: the one request builder of make_call.
func ParseCallRequest(vars map[string]any) (CallRequest, error) {
	req := CallRequest{Vars: vars}
	for _, f := range []struct {
		dst   *string
		field string
	}{{&req.From, FieldCallFrom}, {&req.TwimlURL, FieldCallTwimlURL}, {&req.Twiml, FieldCallTwiml},
		{&req.Message, FieldCallMessage}, {&req.Voice, FieldCallVoice}, {&req.Language, FieldCallLanguage}} {
		v, err := optionalString(vars, f.field)
		if err != nil {
			return req, err
		}
		*f.dst = strings.TrimSpace(v)
	}
	var err error
	if req.To, err = recipientList(FieldCallTo, vars[FieldCallTo]); err != nil {
		return req, err
	}
	if req.Testing, err = optionalBool(vars, FieldCallTesting); err != nil {
		return req, err
	}
	n := 0
	for _, s := range []string{req.TwimlURL, req.Twiml, req.Message} {
		if s != "" {
			n++
		}
	}
	switch {
	case n == 0:
		return req, errs.Missing(FieldCallMessage, "give what the call says: callMessage (text to speak), callTwiml (a TwiML document) or callTwimlUrl (a URL serving TwiML)")
	case n > 1:
		return req, errs.Invalid(FieldCallMessage, "give exactly one of callMessage, callTwiml and callTwimlUrl; this task sets %d", n)
	}
	return req, nil
}

// CallOptions are make_call's deploy-time settings; the caller id default is the connection's.
type CallOptions struct {
	DefaultRegion     string
	StatusCallbackURL string
	Directory         Directory
}

// Calls is the make_call action.
type Calls struct {
	conns    providers.Connections
	opts     CallOptions
	delivery *Delivery
}

// NewCalls returns the action calling through conns (see NewSMS).
func NewCalls(conns providers.Connections, delivery *Delivery, opts CallOptions) *Calls {
	return &Calls{conns: conns, opts: opts, delivery: delivery}
}

// Invoke parses vars and places the calls; errors as for SMS.Invoke.
func (c *Calls) Invoke(ctx context.Context, inv Invocation) (Result, error) {
	conn, e := connection(c.conns, inv.Connection)
	if e != nil {
		return RequestFailure(e), nil
	}
	req, err := ParseCallRequest(withDefaultTo(inv.Vars, FieldCallTo, conn))
	if err != nil {
		return RequestFailure(errs.As(err)), nil
	}
	req.Connection, req.Engine, req.IdempotencyKey = inv.Connection, inv.Engine, inv.IdempotencyKey
	return c.place(ctx, conn, req)
}

// Place validates req and places one call per distinct recipient.
func (c *Calls) Place(ctx context.Context, req CallRequest) (Result, error) {
	conn, e := connection(c.conns, req.Connection)
	if e != nil {
		return RequestFailure(e), nil
	}
	if len(req.To) == 0 {
		req.To = conn.DefaultTo
	}
	return c.place(ctx, conn, req)
}

func (c *Calls) place(ctx context.Context, conn *providers.Connection, req CallRequest) (Result, error) {
	caller, canCall := conn.Provider.(providers.Caller)
	if conn.Provider != nil && !canCall {
		return RequestFailure(errs.Invalid(providers.FieldConnection, "connection %q (%s) cannot place calls: choose a connection of a provider with voice calls, such as twilio",
			conn.Name, conn.Provider.Kind())), nil
	}
	from := req.From
	if from == "" {
		from = conn.DefaultFrom
	}
	if from == "" {
		fix := "set it on the task or configure TWILIO_DEFAULT_FROM on the connector"
		if conn.Name != providers.DefaultConnection {
			fix = "set it on the task or default_from on connection " + conn.Name
		}
		return RequestFailure(errs.Missing(FieldCallFrom, fix)), nil
	}
	n, err := providers.PhoneNumber(FieldCallFrom, from, c.opts.DefaultRegion, false)
	if err == nil && strings.HasPrefix(n, WhatsAppPrefix) {
		err = fmt.Errorf("%s %q is a WhatsApp address; WhatsApp cannot place voice calls", FieldCallFrom, from)
	}
	if err != nil {
		return RequestFailure(&errs.Error{Code: errs.InvalidFromPhone, Field: FieldCallFrom, Message: err.Error() + " (calls need a phone number as caller id)"}), nil
	}
	call, preview, err := callContent(ctx, req)
	if err != nil {
		return RequestFailure(errs.As(err)), nil
	}
	call.From, call.StatusCallback = n, c.opts.StatusCallbackURL
	if conn.Provider == nil && !req.Testing {
		return RequestFailure(errNoCredentials()), nil
	}
	return fanOut(ctx, c.delivery, fanOutRequest{
		field: FieldCallTo, region: c.opts.DefaultRegion, to: req.To, key: req.IdempotencyKey,
		testing: req.Testing, preview: preview, directory: c.opts.Directory,
		addresses: addresses(conn), connection: conn.Name, provider: kind(conn),
	}, func(ctx context.Context, to string) (providers.Sent, error) {
		cc := call
		cc.To = to
		return caller.Call(ctx, cc)
	}, func(ctx context.Context, to string, since time.Time) (providers.Sent, bool, error) {
		cc := call
		cc.To = to
		return caller.FindCall(ctx, cc, since)
	})
}

// callContent turns the request's one content input into the Calls API's Url or Twiml, and the
// text testing mode shows.
func callContent(ctx context.Context, req CallRequest) (providers.Call, string, error) {
	switch {
	case req.TwimlURL != "":
		u, err := url.Parse(req.TwimlURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return providers.Call{}, "", errs.Invalid(FieldCallTwimlURL, "%s %q is not a public http(s) URL serving TwiML", FieldCallTwimlURL, req.TwimlURL)
		}
		return providers.Call{URL: req.TwimlURL}, req.TwimlURL, nil
	case req.Twiml != "":
		if err := checkTwiml(req.Twiml); err != nil {
			return providers.Call{}, "", err
		}
		return providers.Call{Twiml: req.Twiml}, req.Twiml, nil
	}
	text, err := render(ctx, FieldCallMessage, req.Message, req.Engine, req.Vars)
	if err != nil {
		return providers.Call{}, "", err
	}
	if strings.TrimSpace(text) == "" {
		return providers.Call{}, "", errs.Invalid(FieldCallMessage, "the rendered %s is empty: check the template and the variables it uses", FieldCallMessage)
	}
	twiml := sayTwiml(text, req.Voice, req.Language)
	if len(twiml) > MaxTwimlChars {
		return providers.Call{}, "", errs.Invalid(FieldCallMessage, "the spoken text makes a TwiML document of %d characters; Twilio accepts at most %d: shorten it or serve TwiML from callTwimlUrl", len(twiml), MaxTwimlChars)
	}
	return providers.Call{Twiml: twiml}, twiml, nil
}

// sayTwiml speaks text with <Say>; every value is XML-escaped.
func sayTwiml(text, voice, language string) string {
	var b strings.Builder
	b.WriteString("<Response><Say")
	for _, a := range []struct{ name, value string }{{"voice", voice}, {"language", language}} {
		if a.value != "" {
			b.WriteString(" " + a.name + `="`)
			xml.EscapeText(&b, []byte(a.value))
			b.WriteString(`"`)
		}
	}
	b.WriteString(">")
	xml.EscapeText(&b, []byte(text))
	b.WriteString("</Say></Response>")
	return b.String()
}

// checkTwiml accepts a well-formed XML document whose root is <Response>.
func checkTwiml(doc string) error {
	if len(doc) > MaxTwimlChars {
		return errs.Invalid(FieldCallTwiml, "%s has %d characters; Twilio accepts at most %d: serve it from callTwimlUrl instead", FieldCallTwiml, len(doc), MaxTwimlChars)
	}
	// encoding/xml reads a sequence of elements; a document has exactly one root and no text
	// outside it, so both are checked at depth 0.
	dec := xml.NewDecoder(strings.NewReader(doc))
	root, depth := "", 0
	for {
		tok, err := dec.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return errs.Invalid(FieldCallTwiml, "%s is not well-formed XML: %v", FieldCallTwiml, err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if depth == 0 && root != "" {
				return errs.Invalid(FieldCallTwiml, "%s is not well-formed XML: <%s> follows the root element <%s>; put everything inside one <Response>", FieldCallTwiml, tok.Name.Local, root)
			}
			if depth == 0 {
				root = tok.Name.Local
			}
			depth++
		case xml.EndElement:
			depth--
		case xml.CharData:
			if depth == 0 && len(bytes.TrimSpace(tok)) > 0 {
				return errs.Invalid(FieldCallTwiml, "%s is not well-formed XML: text outside the root element; put everything inside one <Response>", FieldCallTwiml)
			}
		}
	}
	if root != "Response" {
		return errs.Invalid(FieldCallTwiml, "%s must be a TwiML document with <Response> as its root element, such as <Response><Say>Hello</Say></Response>", FieldCallTwiml)
	}
	return nil
}
