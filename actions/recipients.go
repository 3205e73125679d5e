package actions

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/twilio-connector/twilio-connector/errs"
	"github.com/twilio-connector/twilio-connector/providers"
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

// WhatsAppPrefix marks a WhatsApp address ("whatsapp:+14155550100").
const WhatsAppPrefix = providers.WhatsAppPrefix

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
