// Package providers is the seam between the connector's actions and the networks that carry
// messages. A Provider sends one message to one recipient (Send) and, when an earlier attempt
// got no answer, says whether that attempt arrived (Find; a provider that cannot be asked
// returns ErrNoLookup and the delivery then refuses to send again rather than risk a
// duplicate). It validates the sender and recipient addresses it takes (From, To) and names
// the directory field a user:NAME recipient is resolved through (DirectoryField: "phone" for
// Twilio and the generic HTTP channel, "pushover" for Pushover). A provider that can place
// calls also implements Caller. Everything else (idempotency records, retries and backoff,
// fan-out, templates, testing mode, results, metrics) is the actions' and the same for every
// provider. Failures are *errs.Error of the one taxonomy (package errs): transient ones
// retryable, ones that may have taken effect marked Uncertain; messages name fields, never
// secrets. A Connection is a named, configured provider with its defaults; each provider kind
// registers a Constructor that builds it from the connection's YAML fields.
package providers

import (
	"context"
	"errors"
	"time"
)

// Message is one outbound message to one recipient.
type Message struct {
	// To is the recipient as To returned it; From the sender as From returned it ("" when
	// the provider needs none).
	To, From string
	// Subject is a title shown above the body where the provider has one (Pushover's title);
	// providers without one ignore it.
	Subject, Body string
	MediaURLs     []string
	// StatusCallback is where the provider should report delivery status, if it can ("" for
	// none).
	StatusCallback string
	// ID is the connector's own id of this message to this recipient, the same on every
	// attempt of one request (derived from its idempotency key): the generic HTTP channel's
	// id and a provider's dedupe key.
	ID string
	// Options are the provider-specific options of the message (content templates,
	// scheduling, …). A provider takes only those it lists in OptionsProvider.Options; the
	// actions refuse the others before anything is sent.
	Options MessageOptions
}

// Option names one message option.
type Option string

// The message options (Twilio's Messages API parameters).
const (
	OptionContent        Option = "content"         // ContentSid and ContentVariables
	OptionSchedule       Option = "schedule"        // SendAt with ScheduleType=fixed
	OptionValidityPeriod Option = "validity_period" // ValidityPeriod
	OptionSmartEncoded   Option = "smart_encoded"   // SmartEncoded
	OptionShortenURLs    Option = "shorten_urls"    // ShortenUrls
)

// MessageOptions are a message's options; the zero value is none.
type MessageOptions struct {
	// ContentSID is an approved content template (HX…); ContentVariables its variables as a
	// JSON object of strings. With a ContentSID the message has no Body or MediaURLs.
	ContentSID, ContentVariables string
	// SendAt, when set, schedules the message (a Messaging Service must send it).
	SendAt time.Time
	// ValidityPeriod is how long (seconds) the message may wait in the queue; 0 is the default.
	ValidityPeriod int
	// SmartEncoded and ShortenURLs are nil when not given.
	SmartEncoded, ShortenURLs *bool
}

// Used lists the options that are set.
func (o MessageOptions) Used() []Option {
	var out []Option
	if o.ContentSID != "" || o.ContentVariables != "" {
		out = append(out, OptionContent)
	}
	if !o.SendAt.IsZero() {
		out = append(out, OptionSchedule)
	}
	if o.ValidityPeriod != 0 {
		out = append(out, OptionValidityPeriod)
	}
	if o.SmartEncoded != nil {
		out = append(out, OptionSmartEncoded)
	}
	if o.ShortenURLs != nil {
		out = append(out, OptionShortenURLs)
	}
	return out
}

// OptionsProvider is implemented by providers that take message options. A provider without
// it takes none: a request with one is INVALID_INPUT naming the field and the connection.
type OptionsProvider interface {
	// Options lists the options the provider takes.
	Options() []Option
	// MessagingService reports whether the connection has a Messaging Service configured
	// (scheduling and link shortening need one, given as the sender or configured).
	MessagingService() bool
}

// MessageInfo is what a provider reports about one message it accepted.
type MessageInfo struct {
	SID, To, From, Status string
	// ErrorCode is the provider's error code of a failed message (0 for none).
	ErrorCode int
	// Segments is the number of segments billed; 0 when not known (yet).
	Segments int
	// Price is the amount billed (as the provider writes it, "-0.00750"), PriceUnit its
	// currency; both "" until known.
	Price, PriceUnit string
	// DateCreated, DateSent and DateUpdated are zero when unknown.
	DateCreated, DateSent, DateUpdated time.Time
}

// MessageManager is implemented by providers whose accepted messages can be looked up and a
// scheduled one canceled (get_message, cancel_message). Through a provider without it those
// actions are INVALID_INPUT naming the connection.
type MessageManager interface {
	// Message looks up the message sid.
	Message(ctx context.Context, sid string) (MessageInfo, error)
	// Cancel cancels the scheduled message sid. Canceling a message that is already canceled
	// succeeds, so a repeat of the request is harmless.
	Cancel(ctx context.Context, sid string) (MessageInfo, error)
}

// Call is one outbound call: exactly one of URL (serving TwiML) and Twiml is set.
type Call struct {
	To, From, URL, Twiml, StatusCallback string
}

// Sent is a provider's answer to an accepted message or call: its id (the result's sid) and
// status, and the ids of its parts when the network split it (SMPP's concatenated messages).
type Sent struct {
	SID    string
	Status string
	// Segments is the number of segments the provider reports for a message (0: not reported).
	Segments int
	// Parts are the ids of each part of a message the provider split (SMPP), in order; SID is
	// the first.
	Parts []string
}

// ErrNoLookup is what Find returns when the provider cannot be asked whether an earlier
// attempt arrived.
var ErrNoLookup = errors.New("this provider cannot be asked whether an earlier attempt arrived")

// Provider sends messages through one configured account of one network. It is safe for
// concurrent use.
type Provider interface {
	// Kind names the provider ("twilio", "pushover", "http"): metrics label it.
	Kind() string
	// Send sends m.
	Send(ctx context.Context, m Message) (Sent, error)
	// Find looks for a message like m that the provider accepted at or after since; it
	// returns ErrNoLookup when the provider cannot be asked.
	Find(ctx context.Context, m Message, since time.Time) (Sent, bool, error)
	// From validates and normalises a sender: the request's own, else the connection's
	// default_from ("" when neither is set). The error is an *errs.Error naming field
	// (MISSING_INPUT when the provider needs a sender, INVALID_FROM_PHONE_NUMBER_ERROR).
	// region lets phone numbers be written in national form ("" for none).
	From(field, given, region string) (string, error)
	// To validates and normalises one recipient; the error's message names field and says
	// how to write the address (the caller classifies it INVALID_TO_PHONE_NUMBER_ERROR).
	To(field, raw, region string) (string, error)
	// DirectoryField names the directory field a user:NAME recipient is resolved through.
	DirectoryField() string
}

// Caller is implemented by providers that place voice calls. make_call through a provider
// without it is INVALID_INPUT naming the connection.
type Caller interface {
	Call(ctx context.Context, c Call) (Sent, error)
	// FindCall looks for a call like c placed at or after since, as Find.
	FindCall(ctx context.Context, c Call, since time.Time) (Sent, bool, error)
}

// Connection is a named, configured provider.
type Connection struct {
	// Name is the connection's name ("default" for the TWILIO_* account).
	Name     string
	Provider Provider
	// DefaultFrom is the sender when a request gives none; DefaultTo the recipients when a
	// request gives none.
	DefaultFrom string
	DefaultTo   []string
}

// DefaultConnection is the connection a request without one uses: the Twilio account of the
// TWILIO_* variables.
const DefaultConnection = "default"

// FieldConnection is the task header, HTTP API and MQTT body field, and trigger field that
// chooses a connection.
const FieldConnection = "connection"
