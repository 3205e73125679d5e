// Package smpp is the SMPP provider: a connection with provider smpp sends through an
// operator's SMSC as an SMPP 3.4 ESME, over one bind_transceiver session (package smpp at the
// repository root speaks the protocol). Each message is one Submit (split into concatenated
// parts when long): the result's sid is the first part's message_id and Parts holds them all.
// ESME_RTHROTTLED and ESME_RMSGQFUL are retried; other command statuses are permanent,
// mapped to the taxonomy; a submit that got no response is uncertain and, as the SMSC cannot
// be asked about it (Find returns providers.ErrNoLookup), never sent again for that request.
// The same session receives the SMSC's deliver_sm: Start hands them to the inbound pipeline.
package smpp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/twilio-connector/twilio-connector/errs"
	"github.com/twilio-connector/twilio-connector/providers"
	esme "github.com/twilio-connector/twilio-connector/smpp"
)

// Kind is the provider's name in connections files and metrics.
const Kind = "smpp"

// FieldBody is the input the text comes from, named in errors.
const FieldBody = "smsBody"

// Type of number values of the SMPP 3.4 specification (section 5.2.5) the provider uses.
const (
	TONInternational   byte = 1
	TONAlphanumeric    byte = 5
	NPIISDN            byte = 1
	maxTON             byte = 6
	maxNPI             byte = 18
	defaultWindow           = 10
	defaultEnquire          = 30 * time.Second
	maxSystemIDChars        = 15 // C-Octet strings of bind_transceiver (section 4.1.1), without the NUL
	maxPasswordChars        = 8
	minTPS                  = 0.001 // one submit_sm in 1000 s: slower is a typo, and a tiny rate overflows the pause
	maxSystemTypeChars      = 12
)

// Session is what the provider needs of an SMPP session (*smpp.Session; tests use fakes).
type Session interface {
	Submit(ctx context.Context, from, to, text string) (esme.Submitted, error)
	Bound(ctx context.Context) error
	Close() error
}

// Options configures a Provider.
type Options struct {
	// Config is the session's; its Name is the connection's name.
	Config esme.Config
	// Open opens the session (nil: smpp.Open).
	Open func(esme.Config, esme.Handler) Session
}

// Provider sends through one SMSC. It is safe for concurrent use. Its addresses are phone
// numbers (directory field "phone"); with source_ton 5 the sender may be alphanumeric.
type Provider struct {
	providers.Phone
	cfg  esme.Config
	open func(esme.Config, esme.Handler) Session

	mu      sync.Mutex
	handler esme.Handler
	session Session
	closed  bool
}

// New checks opts and returns a provider; the session is opened by Start or the first Send.
// Errors are *providers.FieldError naming the connection's field, never a value.
func New(opts Options) (*Provider, error) {
	c := opts.Config
	bad := func(field, format string, args ...any) error {
		return &providers.FieldError{Connection: c.Name, Field: field, Problem: fmt.Sprintf(format, args...)}
	}
	if c.Address == "" {
		return nil, bad("address", "is required: the SMSC's host:port")
	}
	if host, port, err := net.SplitHostPort(c.Address); err != nil || host == "" || port == "" {
		return nil, bad("address", "%q is not host:port (e.g. smsc.example.com:2775)", c.Address)
	}
	switch {
	case c.SystemID == "":
		return nil, bad("system_id", "is required: the ESME account the SMSC gave you")
	case len(c.SystemID) > maxSystemIDChars:
		return nil, bad("system_id", "has more than %d characters (SMPP 3.4 allows no more)", maxSystemIDChars)
	case len(c.Password) > maxPasswordChars:
		return nil, bad("password", "has more than %d characters (SMPP 3.4 allows no more)", maxPasswordChars)
	case len(c.SystemType) > maxSystemTypeChars:
		return nil, bad("system_type", "has more than %d characters (SMPP 3.4 allows no more)", maxSystemTypeChars)
	case c.Window < 0:
		return nil, bad("window", "is negative: give the number of submits awaiting a response at once (default %d)", defaultWindow)
	case c.MaxTPS < 0:
		return nil, bad("max_tps", "is negative: give submits per second, or leave it out for no limit")
	case c.EnquireLink != 0 && c.EnquireLink < time.Second:
		return nil, bad("enquire_link", "is shorter than 1s: give e.g. 30s")
	}
	if c.Window == 0 {
		c.Window = defaultWindow
	}
	if c.EnquireLink == 0 {
		c.EnquireLink = defaultEnquire
	}
	open := opts.Open
	if open == nil {
		open = func(cfg esme.Config, h esme.Handler) Session { return esme.Open(cfg, h) }
	}
	return &Provider{Phone: providers.Phone{SenderOptional: true}, cfg: c, open: open}, nil
}

// Kind is "smpp".
func (p *Provider) Kind() string { return Kind }

// errNoInbound is the answer to a deliver_sm before Start: temporary, so the SMSC delivers it
// again once the connector takes inbound messages.
var errNoInbound = errors.New("this connector does not take inbound messages yet")

// Start opens the session (binding in the background), logging to log, with h receiving the
// SMSC's deliver_sm. Without Start the first Send opens it, and every deliver_sm is refused
// for now (the SMSC delivers it again later).
func (p *Provider) Start(log *slog.Logger, h esme.Handler) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.handler = h
	if p.session == nil {
		p.cfg.Logger = log
	}
	p.sessionLocked()
}

func (p *Provider) sessionLocked() Session {
	if p.session == nil && !p.closed {
		p.session = p.open(p.cfg, p.deliver)
	}
	return p.session
}

func (p *Provider) sessionOrNil() Session {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.sessionLocked()
}

func (p *Provider) deliver(ctx context.Context, d esme.Deliver) error {
	p.mu.Lock()
	h := p.handler
	p.mu.Unlock()
	if h == nil {
		return errNoInbound
	}
	return h(ctx, d)
}

// Bound is nil when the session is bound now, else why not (for /readyz).
func (p *Provider) Bound(ctx context.Context) error {
	s := p.sessionOrNil()
	if s == nil {
		return fmt.Errorf("connection %s is closed", p.cfg.Name)
	}
	return s.Bound(ctx)
}

// Close unbinds and closes the session; Send fails afterwards.
func (p *Provider) Close() error {
	p.mu.Lock()
	s := p.session
	p.session, p.closed = nil, true
	p.mu.Unlock()
	if s == nil {
		return nil
	}
	return s.Close()
}

// Find cannot ask the SMSC about earlier submits.
func (p *Provider) Find(context.Context, providers.Message, time.Time) (providers.Sent, bool, error) {
	return providers.Sent{}, false, providers.ErrNoLookup
}

// alphaSender is an alphanumeric sender id: up to 11 letters, digits or spaces, one letter at
// least (GSM 03.40's alphanumeric address).
var (
	alphaSender = regexp.MustCompile(`^[A-Za-z0-9 ]{1,11}$`)
	hasLetter   = regexp.MustCompile(`[A-Za-z]`)
)

// From checks a sender: a phone number, or with source_ton 5 an alphanumeric sender id. None
// at all is fine: the SMSC then sets the account's own.
func (p *Provider) From(field, given, region string) (string, error) {
	given = strings.TrimSpace(given)
	if given != "" && hasLetter.MatchString(given) && !strings.HasPrefix(given, providers.WhatsAppPrefix) {
		switch {
		case p.cfg.SourceTON != TONAlphanumeric:
			return "", &errs.Error{Code: errs.InvalidFromPhone, Field: field, Message: fmt.Sprintf(
				"%s %q is not a phone number: an alphanumeric sender needs source_ton: 5 on connection %s", field, given, p.cfg.Name)}
		case !alphaSender.MatchString(given):
			return "", &errs.Error{Code: errs.InvalidFromPhone, Field: field, Message: fmt.Sprintf(
				"%s %q is not an alphanumeric sender id: use up to 11 letters, digits or spaces", field, given)}
		}
		return given, nil
	}
	if strings.HasPrefix(given, providers.WhatsAppPrefix) {
		return "", &errs.Error{Code: errs.InvalidFromPhone, Field: field, Message: fmt.Sprintf(
			"%s %q is a WhatsApp address: an SMSC sends SMS only, give a phone number", field, given)}
	}
	return p.Phone.From(field, given, region)
}

// To checks a recipient's number (WhatsApp addresses are refused: an SMSC sends SMS only).
func (p *Provider) To(field, raw, region string) (string, error) {
	if strings.HasPrefix(strings.TrimSpace(raw), providers.WhatsAppPrefix) {
		return "", fmt.Errorf("%s %q is a WhatsApp address: connection %s sends SMS through an SMSC, give a phone number", field, raw, p.cfg.Name)
	}
	return p.Phone.To(field, raw, region)
}

// Send submits one message: its text, then each media URL on a line of its own (SMS carries
// no attachments).
func (p *Provider) Send(ctx context.Context, m providers.Message) (providers.Sent, error) {
	text := m.Body
	for _, u := range m.MediaURLs {
		if text != "" {
			text += "\n"
		}
		text += u
	}
	if strings.TrimSpace(text) == "" {
		return providers.Sent{}, errs.Missing(FieldBody, "an SMS needs a text")
	}
	s := p.sessionOrNil()
	if s == nil {
		return providers.Sent{}, &errs.Error{Code: errs.Connection, Message: "connection " + p.cfg.Name + " is closed (the connector is stopping)"}
	}
	sub, err := s.Submit(ctx, address(m.From), address(m.To), text)
	if err != nil {
		return providers.Sent{}, p.classify(err, len(sub.MessageIDs))
	}
	if len(sub.MessageIDs) == 0 {
		return providers.Sent{}, &errs.Error{Code: errs.Internal, Message: "the SMSC of connection " + p.cfg.Name + " accepted the message without an id"}
	}
	return providers.Sent{SID: sub.MessageIDs[0], Status: "sent", Parts: sub.MessageIDs}, nil
}

// address is a number as SMPP carries it with TON international: digits without "+".
func address(a string) string { return strings.TrimPrefix(a, "+") }

// classify maps a failed Submit into the taxonomy. accepted parts of a split message went out
// already: sending again would repeat them, so such a failure is uncertain whatever its cause.
func (p *Provider) classify(err error, accepted int) *errs.Error {
	e := &errs.Error{Err: err, Message: "connection " + p.cfg.Name + ": " + err.Error()}
	var se *esme.StatusError
	switch {
	case errors.As(err, &se) && errors.Is(err, esme.ErrNotBound):
		// The bind was refused: nothing was written.
		e.Code = errs.Connection
		if c := statusCode(se); c == errs.Authentication {
			e.Code, e.Field = c, "password"
		}
	case errors.As(err, &se):
		e.Code = statusCode(se)
		switch e.Code {
		case errs.InvalidToPhoneNumber:
			e.Field = "smsTo"
		case errs.InvalidFromPhone:
			e.Field = "smsFrom"
		case errs.InvalidInput:
			e.Field = FieldBody
		case errs.Authentication:
			e.Field = "password"
			e.Message += ": check system_id and password of the connection"
		}
		if se.Retryable() {
			e.RetryAfter = time.Second
		}
	case errors.Is(err, esme.ErrUncertain):
		// Written, and no response came: it may have been accepted.
		e.Code, e.Uncertain = errs.Connection, true
	default:
		// Not bound, or the deadline passed while waiting for the window or the pace: the
		// package wrote nothing (it reports every written submit without response as
		// ErrUncertain), so sending again is safe.
		e.Code = errs.Connection
	}
	if accepted > 0 {
		e.Uncertain = true
		e.Message += fmt.Sprintf(" (after %d part(s) of the message were accepted: not sent again, to avoid repeating them)", accepted)
		if e.Code.Retryable() {
			e.Code = errs.DeliveryUncertain
		}
	}
	return e
}

// statusCode maps a command_status into the taxonomy (SMPP 3.4 section 5.1.3).
func statusCode(se *esme.StatusError) errs.Code {
	if se.Retryable() {
		return errs.RateLimited
	}
	switch se.Status {
	case 0x0B, 0x50, 0x51, 0x33: // ESME_RINVDSTADR, ESME_RINVDSTTON, ESME_RINVDSTNPI, ESME_RINVNUMDESTS
		return errs.InvalidToPhoneNumber
	case 0x0A, 0x48, 0x49: // ESME_RINVSRCADR, ESME_RINVSRCTON, ESME_RINVSRCNPI
		return errs.InvalidFromPhone
	case 0x01: // ESME_RINVMSGLEN
		return errs.InvalidInput
	case 0x0D, 0x0E, 0x0F: // ESME_RBINDFAIL, ESME_RINVPASWD, ESME_RINVSYSID
		return errs.Authentication
	}
	return errs.TwilioRequestRejected
}

// Construct builds a provider from a connection's fields: address, system_id, password (or
// password_file), system_type, tls, source_ton, source_npi, dest_ton, dest_npi, window,
// max_tps, enquire_link.
func Construct(s providers.Settings) (providers.Provider, error) {
	f := s.Fields
	c := esme.Config{Name: s.Name}
	var err error
	if c.Address, err = f.String("address"); err != nil {
		return nil, err
	}
	if c.SystemID, err = f.String("system_id"); err != nil {
		return nil, err
	}
	if c.Password, err = f.Secret("password"); err != nil {
		return nil, err
	}
	if c.SystemType, err = f.String("system_type"); err != nil {
		return nil, err
	}
	if c.TLS, err = boolean(f, "tls"); err != nil {
		return nil, err
	}
	for _, b := range []struct {
		name string
		to   *byte
		def  byte
		max  byte
	}{
		{"source_ton", &c.SourceTON, TONInternational, maxTON}, {"source_npi", &c.SourceNPI, NPIISDN, maxNPI},
		{"dest_ton", &c.DestTON, TONInternational, maxTON}, {"dest_npi", &c.DestNPI, NPIISDN, maxNPI},
	} {
		v, err := f.String(b.name)
		if err != nil {
			return nil, err
		}
		*b.to = b.def
		if v == "" {
			continue
		}
		n, err := strconv.ParseUint(v, 10, 8)
		if err != nil || byte(n) > b.max {
			return nil, f.Errorf(b.name, "is %q: give a number from 0 to %d (SMPP 3.4 section 5.2.5)", v, b.max)
		}
		*b.to = byte(n)
	}
	if v, err := f.String("window"); err != nil {
		return nil, err
	} else if v != "" {
		if c.Window, err = strconv.Atoi(v); err != nil || c.Window < 1 {
			return nil, f.Errorf("window", "is %q: give a whole number of submits awaiting a response at once, 1 or more (default %d)", v, defaultWindow)
		}
	}
	if v, err := f.String("max_tps"); err != nil {
		return nil, err
	} else if v != "" {
		// !(>= min) refuses NaN too, which would pace nothing.
		if c.MaxTPS, err = strconv.ParseFloat(v, 64); err != nil || !(c.MaxTPS >= minTPS) || math.IsInf(c.MaxTPS, 0) {
			return nil, f.Errorf("max_tps", "is %q: give submits per second from %g (e.g. 50), or leave it out for no limit", v, minTPS)
		}
	}
	if v, err := f.String("enquire_link"); err != nil {
		return nil, err
	} else if v != "" {
		if c.EnquireLink, err = time.ParseDuration(v); err != nil || c.EnquireLink <= 0 {
			return nil, f.Errorf("enquire_link", "is %q: give a duration such as 30s", v)
		}
	}
	return New(Options{Config: c})
}

// boolean reads a true/false field (false when absent).
func boolean(f *providers.Fields, name string) (bool, error) {
	v, err := f.String(name)
	if err != nil || v == "" {
		return false, err
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		return false, f.Errorf(name, "is %q: give true or false", v)
	}
	return b, nil
}
