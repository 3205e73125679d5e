package mqttapi

import (
	"bytes"
	"encoding/json"
	"errors"
	"regexp"
	"strings"

	"github.com/nyaruka/phonenumbers"

	"github.com/twilio-connector/twilio-connector/actions"
	"github.com/twilio-connector/twilio-connector/errs"
)

// The message shapes of the AWS IoT Greengrass Twilio Notifications connector (as AWS's
// documentation of that connector describes them): a request on <prefix>/txt or <prefix>/call, a status on
// <prefix>/message/status.

// Kinds of request, named after their topics.
const (
	KindText = "txt"
	KindCall = "call"
)

// MaxRetries bounds request.retries: each retry may wait for a backoff and a Twilio timeout.
const MaxRetries = 10

// request is the input message: {"request": {...}, "id": "..."}.
type request struct {
	Request *struct {
		Recipient *struct {
			Name                 *string `json:"name"`
			PhoneNumber          *string `json:"phone_number"`
			Message              *string `json:"message"`
			VoiceMessageLocation *string `json:"voice_message_location"`
			// The message options of send_sms (our addition, on the txt topic).
			ContentSID       *string `json:"content_sid"`
			ContentVariables any     `json:"content_variables"`
			SendAt           *string `json:"send_at"`
			ValidityPeriod   *int    `json:"validity_period"`
			SmartEncoded     *bool   `json:"smart_encoded"`
			ShortenURLs      *bool   `json:"shorten_urls"`
		} `json:"recipient"`
		FromNumber *string `json:"from_number"`
		Retries    *int    `json:"retries"`
		// Connection names the connection to send through (our addition; default "default").
		Connection *string `json:"connection"`
	} `json:"request"`
	ID json.RawMessage `json:"id"`
}

// parsed is a valid request, ready for an action.
type parsed struct {
	id      string
	name    string
	to      string // as given, echoed in the status
	from    string // as given; "" means the connector's default sender
	retries int
	// connection is the request's connection, "" for the default.
	connection string
	vars       map[string]any
}

// Status is the output message. Response.Payload is null on failure, as in the documented failure example.
type Status struct {
	Response Response `json:"response"`
	// ID echoes the request's id as it was given (null when it had none).
	ID json.RawMessage `json:"id"`
}

// Response is a status's "response" object: the documented fields, then the connector's own
// additions (code, twilio_code) that name the taxonomy code of a failure.
type Response struct {
	Status       string   `json:"status"` // success or fail
	Payload      *Payload `json:"payload"`
	Error        string   `json:"error,omitempty"`
	ErrorMessage string   `json:"error_message,omitempty"`
	Code         string   `json:"code,omitempty"`
	TwilioCode   *int     `json:"twilio_code,omitempty"`
}

// Payload is the documented success payload; Messages.SID is the connector's addition.
type Payload struct {
	FromNumber string `json:"from_number"`
	Messages   struct {
		Name          string `json:"name"`
		ToNumber      string `json:"to_number"`
		MessageStatus string `json:"message_status"`
		SID           string `json:"sid,omitempty"`
	} `json:"messages"`
}

// errorInvalidParameter is the documented error name for input the connector refuses.
const errorInvalidParameter = "InvalidParameter"

// greengrassNumber is the documented phone number form: E.164 digits without the plus.
var greengrassNumber = regexp.MustCompile(`^[1-9][0-9]{5,14}$`)

// e164 adds the plus to a Greengrass number, keeping a whatsapp: prefix; other forms are left
// for the action to check. With a default region, digits that are no valid international
// number but a valid national one of that region ("4255550101" in US) stay as written, for the
// action to read in that region as it does for every other entry point.
func e164(n, region string) string {
	n = strings.TrimSpace(n)
	rest, wa := strings.CutPrefix(n, actions.WhatsAppPrefix)
	if greengrassNumber.MatchString(rest) && !nationalOnly(rest, region) {
		rest = "+" + rest
	}
	if wa {
		return actions.WhatsAppPrefix + rest
	}
	return rest
}

// nationalOnly reports whether digits are a valid number of region but not, with a plus, a
// valid international one.
func nationalOnly(digits, region string) bool {
	if region == "" {
		return false
	}
	if n, err := phonenumbers.Parse("+"+digits, ""); err == nil && phonenumbers.IsValidNumber(n) {
		return false
	}
	n, err := phonenumbers.Parse(digits, region)
	return err == nil && phonenumbers.IsValidNumber(n)
}

// MaxIDChars is the longest request id taken: the id is part of the state store's keys.
const MaxIDChars = 255

// parse checks a message against the documented input shape for kind; region is
// CONNECTOR_DEFAULT_REGION. The error is
// INVALID_INPUT or MISSING_INPUT naming the field; id is the raw id for the failure status.
func parse(kind string, payload []byte, region string) (p parsed, id json.RawMessage, e *errs.Error) {
	var r request
	dec := json.NewDecoder(bytes.NewReader(payload))
	if err := dec.Decode(&r); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			return p, r.ID, errs.Invalid(te.Field, "%s must be a %s, not a JSON %s", te.Field, jsonType(te.Type.Kind().String()), te.Value)
		}
		return p, nil, errs.Invalid("message", `the message is not a JSON object (%v): publish {"request": {"recipient": {...}}, "id": "..."}`, err)
	}
	id = r.ID
	if len(bytes.TrimSpace(r.ID)) == 0 || string(r.ID) == "null" {
		return p, nil, errs.Missing("id", "give an id (a string) to find this request's status on the status topic")
	}
	if err := json.Unmarshal(r.ID, &p.id); err != nil || p.id == "" {
		return p, id, errs.Invalid("id", "id must be a non-empty string")
	}
	if len(p.id) > MaxIDChars {
		return p, id, errs.Invalid("id", "id is longer than %d characters: a UUID is a good choice", MaxIDChars)
	}
	if r.Request == nil {
		return p, id, errs.Missing("request", `give "request": {"recipient": {...}}`)
	}
	rc := r.Request.Recipient
	if rc == nil {
		return p, id, errs.Missing("request.recipient", "give the recipient: {\"name\": ..., \"phone_number\": ...}")
	}
	switch {
	case rc.Name == nil:
		return p, id, errs.Missing("request.recipient.name", "give the recipient's name")
	case kind == KindCall && strings.TrimSpace(*rc.Name) == "":
		return p, id, errs.Invalid("request.recipient.name", "Recipient name cannot be empty on the call topic")
	case rc.PhoneNumber == nil || strings.TrimSpace(*rc.PhoneNumber) == "":
		return p, id, errs.Missing("request.recipient.phone_number", "give the recipient's number with its country code, such as 14155550100")
	case rc.Message != nil && rc.VoiceMessageLocation != nil:
		return p, id, errs.Invalid("request.recipient", "give message (on the txt topic) or voice_message_location (on the call topic), not both")
	}
	p.name, p.to = *rc.Name, *rc.PhoneNumber
	if f := r.Request.FromNumber; f != nil {
		p.from = strings.TrimSpace(*f)
	}
	if c := r.Request.Connection; c != nil {
		p.connection = strings.TrimSpace(*c)
	}
	if n := r.Request.Retries; n != nil {
		if *n < 0 || *n > MaxRetries {
			return p, id, errs.Invalid("request.retries", "request.retries is %d: give 0 to %d", *n, MaxRetries)
		}
		p.retries = *n
	}
	to := []any{e164(p.to, region)}
	// The message options, as send_sms's inputs.
	options := []struct {
		field string
		value any
		given bool
	}{
		{actions.FieldSMSContentSID, deref(rc.ContentSID), rc.ContentSID != nil},
		{actions.FieldSMSContentVariables, rc.ContentVariables, rc.ContentVariables != nil},
		{actions.FieldSMSSendAt, deref(rc.SendAt), rc.SendAt != nil},
		{actions.FieldSMSValidityPeriod, deref(rc.ValidityPeriod), rc.ValidityPeriod != nil},
		{actions.FieldSMSSmartEncoded, deref(rc.SmartEncoded), rc.SmartEncoded != nil},
		{actions.FieldSMSShortenURLs, deref(rc.ShortenURLs), rc.ShortenURLs != nil},
	}
	switch kind {
	case KindText:
		if rc.VoiceMessageLocation != nil {
			return p, id, errs.Invalid("request.recipient.voice_message_location", "voice messages go to the call topic; this is the txt topic, which takes message")
		}
		p.vars = map[string]any{actions.FieldSMSTo: to}
		for _, o := range options {
			if o.given {
				p.vars[o.field] = o.value
			}
		}
		message, template := rc.Message != nil && *rc.Message != "", rc.ContentSID != nil && strings.TrimSpace(*rc.ContentSID) != ""
		switch {
		case message && template:
			return p, id, errs.Invalid("request.recipient.content_sid", "give message or content_sid, not both: with a content template Twilio sends the template's text")
		case message:
			p.vars[actions.FieldSMSBody] = *rc.Message
		case !template:
			return p, id, errs.Missing("request.recipient.message", "give the text to send (or content_sid, an approved content template)")
		}
		if p.from != "" {
			p.vars[actions.FieldSMSFrom] = e164(p.from, region)
		}
	case KindCall:
		if rc.Message != nil {
			return p, id, errs.Invalid("request.recipient.message", "text messages go to the txt topic; this is the call topic, which takes voice_message_location")
		}
		for _, o := range options {
			if o.given {
				return p, id, errs.Invalid(optionFields[o.field], "%s is a message option of the txt topic; this is the call topic: remove it", optionFields[o.field])
			}
		}
		if rc.VoiceMessageLocation == nil || strings.TrimSpace(*rc.VoiceMessageLocation) == "" {
			return p, id, errs.Missing("request.recipient.voice_message_location", "give the URL of the TwiML the call plays")
		}
		p.vars = map[string]any{actions.FieldCallTo: to, actions.FieldCallTwimlURL: strings.TrimSpace(*rc.VoiceMessageLocation)}
		if p.from != "" {
			p.vars[actions.FieldCallFrom] = e164(p.from, region)
		}
	default:
		panic("mqttapi: unknown kind " + kind)
	}
	return p, id, nil
}

// deref is the value p points to.
func deref[T any](p *T) T {
	var v T
	if p != nil {
		v = *p
	}
	return v
}

// optionFields are the request fields of send_sms's message options, named in the errors of
// the action.
var optionFields = map[string]string{
	actions.FieldSMSContentSID:       "request.recipient.content_sid",
	actions.FieldSMSContentVariables: "request.recipient.content_variables",
	actions.FieldSMSSendAt:           "request.recipient.send_at",
	actions.FieldSMSValidityPeriod:   "request.recipient.validity_period",
	actions.FieldSMSSmartEncoded:     "request.recipient.smart_encoded",
	actions.FieldSMSShortenURLs:      "request.recipient.shorten_urls",
}

// jsonType names a Go kind as JSON calls it.
func jsonType(kind string) string {
	switch {
	case kind == "string":
		return "string"
	case strings.HasPrefix(kind, "int"):
		return "whole number"
	case kind == "struct" || kind == "ptr":
		return "JSON object"
	case kind == "bool":
		return "boolean (true or false)"
	}
	return kind
}

// inputCodes are the taxonomy codes reported as InvalidParameter.
var inputCodes = map[errs.Code]bool{errs.MissingInput: true, errs.InvalidInput: true,
	errs.InvalidToPhoneNumber: true, errs.InvalidFromPhone: true}

// failure is the status of a request that was refused or failed.
func failure(id json.RawMessage, e *errs.Error) Status {
	name := string(e.Code)
	if inputCodes[e.Code] {
		name = errorInvalidParameter
	}
	msg, field := e.Message, e.Field
	if f, ok := optionFields[field]; ok {
		field = f
	}
	if field != "" && !strings.Contains(msg, field) {
		msg = field + ": " + msg
	}
	r := Response{Status: "fail", Error: name, ErrorMessage: msg, Code: string(e.Code)}
	if e.TwilioCode != 0 {
		c := e.TwilioCode
		r.TwilioCode = &c
	}
	return Status{Response: r, ID: nullable(id)}
}

// statusOf maps an action's result for the one recipient to the documented shapes. from is the
// sender to report when the request named none.
func statusOf(p parsed, id json.RawMessage, res actions.Result, defaultFrom string) Status {
	if f := res.Failure(); f != nil {
		return failure(id, f)
	}
	if len(res.TwilioResult) != 1 {
		return failure(id, errs.New(errs.Internal, "", "the action reported %d results for one recipient", len(res.TwilioResult)))
	}
	out := res.TwilioResult[0]
	pl := &Payload{FromNumber: p.from}
	if pl.FromNumber == "" {
		pl.FromNumber = strings.TrimPrefix(defaultFrom, "+")
	}
	pl.Messages.Name, pl.Messages.ToNumber, pl.Messages.MessageStatus = p.name, p.to, out.Status
	if out.SID != nil {
		pl.Messages.SID = *out.SID
	}
	return Status{Response: Response{Status: "success", Payload: pl}, ID: id}
}

func nullable(id json.RawMessage) json.RawMessage {
	if len(bytes.TrimSpace(id)) == 0 {
		return json.RawMessage("null")
	}
	return id
}
