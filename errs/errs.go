// Package errs is the connector's one error taxonomy (docs/design.md §6). Actions and triggers
// return *Error values; transports (the Zeebe worker, the webhook, the HTTP API) map them to their own
// answers. Messages never carry secrets: build them from field names and values a modeler set.
package errs

import (
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"
)

// Code is a taxonomy code. It appears in twilioError entries and as the BPMN error code.
type Code string

// The taxonomy. Retryable codes are the ones Retryable reports true for.
const (
	MissingInput          Code = "MISSING_INPUT"
	InvalidInput          Code = "INVALID_INPUT"
	InvalidToPhoneNumber  Code = "INVALID_TO_PHONE_NUMBER_ERROR"
	InvalidFromPhone      Code = "INVALID_FROM_PHONE_NUMBER_ERROR"
	RecipientOptedOut     Code = "SMS_RECIPIENT_OPTED_OUT"
	Authentication        Code = "AUTHENTICATION_CONNECTION_ERROR"
	RateLimited           Code = "TWILIO_RATE_LIMITED"
	Connection            Code = "TWILIO_CONNECTION_ERROR"
	TwilioRequestRejected Code = "TWILIO_REQUEST_REJECTED"
	StoreUnavailable      Code = "STATE_STORE_UNAVAILABLE"
	// DeliveryUncertain: an earlier attempt got no answer and the provider cannot be asked
	// whether it arrived; the connector does not send again.
	DeliveryUncertain Code = "DELIVERY_UNCERTAIN"
	Internal          Code = "INTERNAL_ERROR"

	// Codes of the HTTP API's own request-level refusals.
	APIKeyRejected           Code = "API_KEY_REJECTED"
	IdempotencyKeyInProgress Code = "IDEMPOTENCY_KEY_IN_PROGRESS"
	IdempotencyKeyReused     Code = "IDEMPOTENCY_KEY_REUSED"
)

var retryable = map[Code]bool{RateLimited: true, Connection: true, StoreUnavailable: true}

// Retryable reports whether an error of this code may succeed when tried again unchanged.
func (c Code) Retryable() bool { return retryable[c] }

// Error is one failure in the taxonomy.
type Error struct {
	Code Code
	// Field names the input the error is about (smsTo, smsBody, TWILIO_TOKEN, ...), if any.
	Field string
	// TwilioCode is Twilio's numeric error code when Twilio reported the failure, else 0.
	TwilioCode int
	// Message says what went wrong and, where possible, how to fix it.
	Message string
	// RetryAfter is the server's requested wait (HTTP 429 Retry-After), zero when not given.
	RetryAfter time.Duration
	// Uncertain means the request may have taken effect although it failed (it got no
	// answer): check before repeating it.
	Uncertain bool
	// Paced means nothing was attempted: the sender's pace (package pace) had no slot before
	// the deadline. Retrying after RetryAfter does not use up one of a job's retries.
	Paced bool
	// Err is the underlying cause, kept for errors.Is/As; it is not part of Error().
	Err error
}

func (e *Error) Error() string {
	s := string(e.Code)
	if e.Field != "" {
		s += " (" + e.Field + ")"
	}
	if e.TwilioCode != 0 {
		s += " [Twilio " + strconv.Itoa(e.TwilioCode) + "]"
	}
	return s + ": " + e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Retryable reports whether the failure is transient.
func (e *Error) Retryable() bool { return e.Code.Retryable() }

// New returns an error of code about field.
func New(code Code, field, format string, args ...any) *Error {
	return &Error{Code: code, Field: field, Message: fmt.Sprintf(format, args...)}
}

// Missing reports an absent required input.
func Missing(field, fix string) *Error {
	return &Error{Code: MissingInput, Field: field, Message: field + " is required: " + fix}
}

// Invalid reports an input of the wrong shape.
func Invalid(field, format string, args ...any) *Error {
	return &Error{Code: InvalidInput, Field: field, Message: fmt.Sprintf(format, args...)}
}

// As returns err as an *Error. Errors outside the taxonomy become INTERNAL_ERROR, which is not
// retryable: an unknown failure must not resend messages in a loop.
func As(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Code: Internal, Message: err.Error(), Err: err}
}

// IsRetryable reports whether err is a transient failure in the taxonomy.
func IsRetryable(err error) bool { return err != nil && As(err).Retryable() }

//go:embed twilio_codes.json
var twilioCodesJSON []byte

var twilioCodes = func() map[int]Code {
	var doc struct {
		Codes map[string]Code `json:"codes"`
	}
	if err := json.Unmarshal(twilioCodesJSON, &doc); err != nil {
		panic("errs: twilio_codes.json: " + err.Error())
	}
	m := make(map[int]Code, len(doc.Codes))
	for k, v := range doc.Codes {
		n, err := strconv.Atoi(k)
		if err != nil {
			panic("errs: twilio_codes.json: code " + k + " is not a number")
		}
		m[n] = v
	}
	return m
}()

// FromTwilio classifies a failed Twilio API answer: the Twilio error code when the table knows
// it, else the HTTP status (429 rate limited; 401/403 credentials; 5xx and unknown statuses
// transient; other 4xx a rejected request, not retried).
func FromTwilio(httpStatus, twilioCode int, message string) *Error {
	e := &Error{TwilioCode: twilioCode, Message: message}
	if c, ok := twilioCodes[twilioCode]; ok {
		e.Code = c
		return e
	}
	switch {
	case httpStatus == http.StatusTooManyRequests:
		e.Code = RateLimited
	case httpStatus == http.StatusUnauthorized || httpStatus == http.StatusForbidden:
		e.Code = Authentication
	case httpStatus >= 500 || httpStatus == 0:
		e.Code = Connection
	default:
		e.Code = TwilioRequestRejected
	}
	if e.Message == "" {
		e.Message = fmt.Sprintf("Twilio answered HTTP %d", httpStatus)
	}
	return e
}
