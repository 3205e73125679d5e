package actions

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/nyaruka/phonenumbers"

	"github.com/twilio-connector/twilio-connector/errs"
)

// recipientList accepts what modelers put in smsTo/callTo: a JSON list of strings, a single
// string, a comma-separated string, or a string holding a JSON list (a FEEL mapping that
// produced text). Empty entries are dropped; an empty result is MISSING_INPUT.
func recipientList(field string, v any) ([]string, error) {
	var raw []string
	switch x := v.(type) {
	case nil:
	case string:
		s := strings.TrimSpace(x)
		if strings.HasPrefix(s, "[") {
			if err := json.Unmarshal([]byte(s), &raw); err != nil {
				return nil, errs.Invalid(field, "%s looks like a JSON list but is not one: %v", field, err)
			}
		} else {
			raw = strings.Split(s, ",")
		}
	case []any:
		for i, e := range x {
			s, ok := e.(string)
			if !ok {
				return nil, errs.Invalid(field, "%s[%d] is %s: every recipient must be a string such as \"+14155550100\"", field, i, typeName(e))
			}
			raw = append(raw, s)
		}
	case []string:
		raw = x
	default:
		return nil, errs.Invalid(field, "%s is %s: give a list of phone numbers such as [\"+14155550100\"]", field, typeName(v))
	}
	var out []string
	for _, s := range raw {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil, errs.Missing(field, "give at least one recipient phone number in E.164 form, such as \"+14155550100\"")
	}
	return out, nil
}

// WhatsAppPrefix marks a WhatsApp address ("whatsapp:+14155550100"), sent through the same
// Messages API as SMS.
const WhatsAppPrefix = "whatsapp:"

// normalizeRecipient checks a recipient's number with libphonenumber (a number it knows to be
// assigned) and returns its E.164 form, keeping a whatsapp: prefix. Without a default region
// only international numbers (+country code) are accepted.
func normalizeRecipient(field, number, region string) (string, error) {
	return normalizeNumber(field, number, region, true)
}

// normalizeSender checks a sender's number only for a possible length: whether the number is
// one of the account's is Twilio's to say (21606), and libphonenumber's ranges lag behind new
// and test numbers such as the Greengrass examples' 19999999999.
func normalizeSender(field, number, region string) (string, error) {
	return normalizeNumber(field, number, region, false)
}

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

// normalizeNumber checks number as a valid (strict) or a possible number and returns its
// E.164 form.
func normalizeNumber(field, number, region string, strict bool) (string, error) {
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

var (
	messagingServicePattern = regexp.MustCompile(`^MG[0-9a-fA-F]{32}$`)
	// Twilio's alphanumeric sender ids: up to 11 of A-Z a-z 0-9 and space, at least one letter.
	alphaSenderPattern = regexp.MustCompile(`^[A-Za-z0-9 ]{1,11}$`)
	hasLetter          = regexp.MustCompile(`[A-Za-z]`)
)

// sender is a resolved From: a number, an alphanumeric sender id, or a Messaging Service.
type sender struct {
	from, service string
}

// resolveSender applies the precedence: the task's own value, then the configured default
// sender and Messaging Service (Twilio accepts both together: the service picks, From pins).
func resolveSender(field, given, defaultFrom, defaultService, region string) (sender, error) {
	given = strings.TrimSpace(given)
	if given == "" {
		if defaultFrom == "" && defaultService == "" {
			return sender{}, errs.Missing(field, "set it on the task, or configure TWILIO_DEFAULT_FROM or TWILIO_MESSAGING_SERVICE_SID on the connector")
		}
		given = defaultFrom
		if given == "" {
			return sender{service: defaultService}, nil
		}
	}
	switch {
	case messagingServicePattern.MatchString(given):
		return sender{service: given}, nil
	case strings.HasPrefix(given, "+") || strings.HasPrefix(given, WhatsAppPrefix) || !hasLetter.MatchString(given):
		n, err := normalizeSender(field, given, region)
		if err != nil {
			return sender{}, &errs.Error{Code: errs.InvalidFromPhone, Field: field, Message: err.Error()}
		}
		return sender{from: n, service: defaultService}, nil
	case alphaSenderPattern.MatchString(given):
		return sender{from: given, service: defaultService}, nil
	}
	return sender{}, &errs.Error{Code: errs.InvalidFromPhone, Field: field, Message: fmt.Sprintf(
		"%s %q is neither a phone number, an alphanumeric sender id (up to 11 letters, digits or spaces) nor a Messaging Service SID (MG…)", field, given)}
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case float64, json.Number, int, int64:
		return "a number"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}
