package providers

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/nyaruka/phonenumbers"

	"github.com/twilio-connector/twilio-connector/errs"
)

// WhatsAppPrefix marks a WhatsApp address ("whatsapp:+14155550100"), sent through the same
// Messages API as SMS.
const WhatsAppPrefix = "whatsapp:"

// DirectoryPhone is the directory field of phone numbers.
const DirectoryPhone = "phone"

// Phone is the addressing of phone networks (Twilio, the generic HTTP channel): recipients are
// numbers libphonenumber knows to be valid, in E.164 form (or whatsapp: addresses), looked up
// by name in the directory field "phone". Providers embed it.
type Phone struct {
	// TwilioSenders also accepts Twilio's alphanumeric sender ids and Messaging Service SIDs
	// (MG…) as the sender.
	TwilioSenders bool
	// SenderOptional: the provider sends without a sender (a Messaging Service picks one).
	SenderOptional bool
	// MissingSender says how to configure a sender when none is given.
	MissingSender string
}

var (
	messagingServicePattern = regexp.MustCompile(`^MG[0-9a-fA-F]{32}$`)
	// Twilio's alphanumeric sender ids: up to 11 of A-Z a-z 0-9 and space, at least one letter.
	alphaSenderPattern = regexp.MustCompile(`^[A-Za-z0-9 ]{1,11}$`)
	hasLetter          = regexp.MustCompile(`[A-Za-z]`)
)

// IsMessagingService reports whether s is a Messaging Service SID.
func IsMessagingService(s string) bool { return messagingServicePattern.MatchString(s) }

// From checks a sender: a number (checked only for a possible length: whether it is the
// account's is the provider's to say), or with TwilioSenders an alphanumeric sender id or a
// Messaging Service SID.
func (p Phone) From(field, given, region string) (string, error) {
	given = strings.TrimSpace(given)
	switch {
	case given == "" && p.SenderOptional:
		return "", nil
	case given == "":
		fix := p.MissingSender
		if fix == "" {
			fix = "set it on the task, or default_from on the connection"
		}
		return "", errs.Missing(field, fix)
	case p.TwilioSenders && IsMessagingService(given):
		return given, nil
	case !p.TwilioSenders || strings.HasPrefix(given, "+") || strings.HasPrefix(given, WhatsAppPrefix) || !hasLetter.MatchString(given):
		n, err := PhoneNumber(field, given, region, false)
		if err != nil {
			return "", &errs.Error{Code: errs.InvalidFromPhone, Field: field, Message: err.Error()}
		}
		return n, nil
	case alphaSenderPattern.MatchString(given):
		return given, nil
	}
	return "", &errs.Error{Code: errs.InvalidFromPhone, Field: field, Message: fmt.Sprintf(
		"%s %q is neither a phone number, an alphanumeric sender id (up to 11 letters, digits or spaces) nor a Messaging Service SID (MG…)", field, given)}
}

// To checks a recipient's number.
func (Phone) To(field, raw, region string) (string, error) {
	return PhoneNumber(field, raw, region, true)
}

// DirectoryField is "phone".
func (Phone) DirectoryField() string { return DirectoryPhone }

// numberCache remembers numbers already accepted: parsing with libphonenumber took 5% of the
// CPU of a send job (go run ./test/load -only send -cpuprofile), and the same customers and
// senders come back. It is emptied when full.
var (
	numberCache       sync.Map // numberKey -> string (E.164)
	numberCacheFilled atomic.Int64
)

const maxCachedNumbers = 1 << 16

type numberKey struct {
	number, region string
	strict         bool
}

// PhoneNumber checks number as a valid (strict: libphonenumber knows it to be assigned) or a
// possible number and returns its E.164 form, keeping a whatsapp: prefix. Without a region only
// international numbers (+country code) are accepted. The error names field and the fix.
func PhoneNumber(field, number, region string, strict bool) (string, error) {
	// Only accepted numbers are cached: an error must name the field it came from.
	k := numberKey{number, region, strict}
	if n, found := numberCache.Load(k); found {
		return n.(string), nil
	}
	n, err := parseNumber(field, number, region, strict)
	if err == nil {
		if numberCacheFilled.Add(1) > maxCachedNumbers {
			numberCache.Clear()
			numberCacheFilled.Store(1)
		}
		numberCache.Store(k, n)
	}
	return n, err
}

func parseNumber(field, number, region string, strict bool) (string, error) {
	if rest, found := strings.CutPrefix(number, WhatsAppPrefix); found {
		n, err := parseNumber(field, strings.TrimSpace(rest), region, strict)
		if err != nil {
			return "", err
		}
		return WhatsAppPrefix + n, nil
	}
	ok := phonenumbers.IsPossibleNumber
	if strict {
		ok = phonenumbers.IsValidNumber
	}
	n, err := phonenumbers.Parse(number, region)
	if err != nil || !ok(n) {
		fix := "write it in E.164 form with the country code, such as +14155550100"
		if region != "" {
			fix = "write it in E.164 form (+14155550100) or as a valid " + region + " number"
		}
		return "", fmt.Errorf("%s %q is not a valid phone number: %s", field, number, fix)
	}
	return phonenumbers.Format(n, phonenumbers.E164), nil
}
