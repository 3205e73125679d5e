package errs

import (
	"errors"
	"fmt"
	"testing"
)

var taxonomy = map[Code]bool{MissingInput: true, InvalidInput: true, InvalidToPhoneNumber: true, InvalidFromPhone: true,
	RecipientOptedOut: true, Authentication: true, RateLimited: true, Connection: true, TwilioRequestRejected: true,
	StoreUnavailable: true, Internal: true}

func TestTwilioCodeTableUsesTheTaxonomy(t *testing.T) {
	if len(twilioCodes) < 20 {
		t.Fatalf("only %d codes loaded from twilio_codes.json", len(twilioCodes))
	}
	for n, c := range twilioCodes {
		if !taxonomy[c] {
			t.Errorf("twilio_codes.json maps %d to %q, which is not a taxonomy code", n, c)
		}
	}
}

func TestFromTwilio(t *testing.T) {
	cases := []struct {
		status, code int
		want         Code
		retry        bool
	}{
		{400, 21211, InvalidToPhoneNumber, false},
		{400, 21614, InvalidToPhoneNumber, false},
		{400, 21606, InvalidFromPhone, false},
		{400, 21610, RecipientOptedOut, false},
		{400, 21611, RateLimited, true}, // the sender's queue is full: retry later
		{401, 20003, Authentication, false},
		{429, 20429, RateLimited, true},
		{429, 0, RateLimited, true},
		{500, 0, Connection, true},
		{503, 99999, Connection, true},
		{403, 0, Authentication, false},
		{400, 12345, TwilioRequestRejected, false},
		{422, 0, TwilioRequestRejected, false},
	}
	for _, c := range cases {
		e := FromTwilio(c.status, c.code, "")
		if e.Code != c.want || e.Retryable() != c.retry || e.TwilioCode != c.code {
			t.Errorf("FromTwilio(%d, %d) = %s retryable=%v", c.status, c.code, e.Code, e.Retryable())
		}
	}
}

func TestAsAndMessages(t *testing.T) {
	wrapped := fmt.Errorf("send: %w", Invalid("smsBody", "too long"))
	if e := As(wrapped); e.Code != InvalidInput || e.Field != "smsBody" {
		t.Fatalf("As lost the taxonomy error: %+v", e)
	}
	if e := As(errors.New("boom")); e.Code != Internal || e.Retryable() {
		t.Fatalf("an unknown error must be INTERNAL_ERROR and not retried: %+v", e)
	}
	if As(nil) != nil || IsRetryable(nil) {
		t.Fatal("nil handling")
	}
	if got := (&Error{Code: InvalidToPhoneNumber, Field: "smsTo", TwilioCode: 21211, Message: "bad"}).Error(); got != "INVALID_TO_PHONE_NUMBER_ERROR (smsTo) [Twilio 21211]: bad" {
		t.Fatalf("Error() = %q", got)
	}
}
