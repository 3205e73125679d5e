package actions

import (
	"github.com/twilio-connector/twilio-connector/errs"
)

// Result is what every action reports, whatever the transport: it becomes the job's
// completion variables, the HTTP API's answer and the MQTT status payload.
type Result struct {
	// TwilioResult has one entry per distinct recipient, in input order.
	TwilioResult []RecipientResult `json:"twilioResult"`
	// TwilioError is null when every recipient succeeded.
	TwilioError []RecipientError `json:"twilioError"`
}

// RecipientResult is one recipient's outcome; SID is null when nothing was sent.
type RecipientResult struct {
	To string `json:"to"`
	// User is the directory name the recipient was given as (user:NAME), if any.
	User   string  `json:"user,omitempty"`
	SID    *string `json:"sid"`
	Status string  `json:"status"`
	// Parts are the provider's ids of the parts of a message it split (SMPP), if any.
	Parts []string `json:"parts,omitempty"`
	// Body is the rendered message, reported only in testing (dry-run) mode.
	Body string `json:"body,omitempty"`
	// Segments is the number of SMS segments: Twilio's num_segments for a sent message (absent
	// while a Messaging Service has not picked a sender), the connector's count in testing
	// mode, where Encoding (GSM-7 or UCS-2) says why.
	Segments int    `json:"segments,omitempty"`
	Encoding string `json:"encoding,omitempty"`
	// What get_message reports besides: the error code of a failed message, the price (as
	// Twilio writes it, "-0.00790") in PriceUnit, and the dates (RFC 3339); absent when unknown.
	ErrorCode   *int   `json:"errorCode,omitempty"`
	Price       string `json:"price,omitempty"`
	PriceUnit   string `json:"priceUnit,omitempty"`
	DateCreated string `json:"dateCreated,omitempty"`
	DateSent    string `json:"dateSent,omitempty"`
	DateUpdated string `json:"dateUpdated,omitempty"`
}

// Statuses of RecipientResult beyond Twilio's own (queued, accepted, ...).
const (
	StatusFailed  = "failed"
	StatusTesting = "testing"
	// StatusScheduled is Twilio's status of a message with smsSendAt; StatusCanceled of one
	// canceled by cancel_message.
	StatusScheduled = "scheduled"
	StatusCanceled  = "canceled"
)

// RecipientError is one failure. To is null for a failure of the whole request (a missing
// input, a template error).
type RecipientError struct {
	To         *string   `json:"to"`
	Code       errs.Code `json:"code"`
	TwilioCode *int      `json:"twilioCode"`
	Field      string    `json:"field,omitempty"`
	Message    string    `json:"message"`
}

func newRecipientError(to string, e *errs.Error) RecipientError {
	re := RecipientError{Code: e.Code, Field: e.Field, Message: e.Message}
	if to != "" {
		re.To = &to
	}
	if e.TwilioCode != 0 {
		c := e.TwilioCode
		re.TwilioCode = &c
	}
	return re
}

// RequestFailure is the Result of a request that failed as a whole (bad input, bad headers).
func RequestFailure(e *errs.Error) Result {
	return Result{TwilioResult: []RecipientResult{}, TwilioError: []RecipientError{newRecipientError("", e)}}
}

// Failure returns the first error of the result as a taxonomy error (nil on full success):
// the BPMN error a boundary event catches in errorMode bpmnError.
func (r Result) Failure() *errs.Error {
	if len(r.TwilioError) == 0 {
		return nil
	}
	f := r.TwilioError[0]
	e := &errs.Error{Code: f.Code, Field: f.Field, Message: f.Message}
	if f.TwilioCode != nil {
		e.TwilioCode = *f.TwilioCode
	}
	return e
}
