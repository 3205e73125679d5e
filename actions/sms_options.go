package actions

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/twilio-connector/twilio-connector/errs"
	"github.com/twilio-connector/twilio-connector/providers"
)

// Inputs of send_sms that are Twilio message options (Twilio's Messages API parameters).
const (
	// FieldSMSContentSID is an approved content template (HX…), required for WhatsApp
	// business-initiated messages; FieldSMSContentVariables its variables.
	FieldSMSContentSID       = "smsContentSid"
	FieldSMSContentVariables = "smsContentVariables"
	// FieldSMSSendAt schedules the message (ISO 8601 date-time).
	FieldSMSSendAt = "smsSendAt"
	// FieldSMSValidityPeriod is how long (seconds) the message may wait in Twilio's queue.
	FieldSMSValidityPeriod = "smsValidityPeriod"
	FieldSMSSmartEncoded   = "smsSmartEncoded"
	FieldSMSShortenURLs    = "smsShortenUrls"
)

// Limits of the message options.
const (
	// MinScheduleAhead and MaxScheduleAhead bound smsSendAt from the time of the send.
	MinScheduleAhead  = 15 * time.Minute
	MaxScheduleAhead  = 7 * 24 * time.Hour
	MaxValidityPeriod = 36000
)

// optionFields names the input of each option, for errors.
var optionFields = map[providers.Option]string{
	providers.OptionContent:        FieldSMSContentSID,
	providers.OptionSchedule:       FieldSMSSendAt,
	providers.OptionValidityPeriod: FieldSMSValidityPeriod,
	providers.OptionSmartEncoded:   FieldSMSSmartEncoded,
	providers.OptionShortenURLs:    FieldSMSShortenURLs,
}

var contentSIDPattern = regexp.MustCompile(`^HX[0-9a-fA-F]{32}$`)

// SMSMessageOptions are send_sms's message options as parsed; ContentVariables is rendered at
// send time.
type SMSMessageOptions struct {
	ContentSID string
	// ContentVariables is the input as given: an object whose text values are templates, or
	// a JSON object written as a string; nil when absent.
	ContentVariables map[string]any
	SendAt           time.Time
	ValidityPeriod   int
	SmartEncoded     *bool
	ShortenURLs      *bool
}

// parseSMSOptions reads the message options from the input variables.
func parseSMSOptions(vars map[string]any) (SMSMessageOptions, error) {
	var o SMSMessageOptions
	sid, err := optionalString(vars, FieldSMSContentSID)
	if err != nil {
		return o, err
	}
	if o.ContentSID = strings.TrimSpace(sid); o.ContentSID != "" && !contentSIDPattern.MatchString(o.ContentSID) {
		return o, errs.Invalid(FieldSMSContentSID, "%s %q is not a Content SID: give HX followed by 32 hex digits, from Twilio's Content Template Builder", FieldSMSContentSID, sid)
	}
	if o.ContentVariables, err = contentVariables(vars[FieldSMSContentVariables]); err != nil {
		return o, err
	}
	if o.ContentVariables != nil && o.ContentSID == "" {
		return o, errs.Invalid(FieldSMSContentVariables, "%s is given without %s: the variables fill a content template; give its SID too", FieldSMSContentVariables, FieldSMSContentSID)
	}
	if o.SendAt, err = sendAt(vars[FieldSMSSendAt]); err != nil {
		return o, err
	}
	if o.ValidityPeriod, err = validityPeriod(vars[FieldSMSValidityPeriod]); err != nil {
		return o, err
	}
	if o.SmartEncoded, err = optionalBoolPtr(vars, FieldSMSSmartEncoded); err != nil {
		return o, err
	}
	if o.ShortenURLs, err = optionalBoolPtr(vars, FieldSMSShortenURLs); err != nil {
		return o, err
	}
	return o, nil
}

func contentVariables(v any) (map[string]any, error) {
	bad := func(format string, args ...any) (map[string]any, error) {
		return nil, errs.Invalid(FieldSMSContentVariables, "%s %s: give an object of texts, such as {\"1\": \"${customer.name}\", \"2\": \"10:30\"}", FieldSMSContentVariables, fmt.Sprintf(format, args...))
	}
	switch x := v.(type) {
	case nil:
		return nil, nil
	case map[string]any:
		return x, nil
	case string:
		if strings.TrimSpace(x) == "" {
			return nil, nil
		}
		var m map[string]any
		dec := json.NewDecoder(strings.NewReader(x))
		dec.UseNumber()
		if err := dec.Decode(&m); err != nil || m == nil {
			return bad("is not a JSON object (%v)", err)
		}
		return m, nil
	}
	return bad("is %s", typeName(v))
}

// sendAt reads an ISO 8601 date-time with a zone offset. A FEEL date and time, as Zeebe writes
// it, may carry a zone id after the offset ("2026-05-04T09:00:00+02:00[Europe/Berlin]"), which
// is dropped, and leaves out zero seconds ("2026-05-04T09:00Z").
func sendAt(v any) (time.Time, error) {
	s, ok := v.(string)
	if v == nil || (ok && strings.TrimSpace(s) == "") {
		return time.Time{}, nil
	}
	if !ok {
		return time.Time{}, errs.Invalid(FieldSMSSendAt, "%s is %s: give an ISO 8601 date-time such as 2026-05-04T09:00:00Z", FieldSMSSendAt, typeName(v))
	}
	raw := strings.TrimSpace(s)
	if i := strings.IndexByte(raw, '['); i > 0 && strings.HasSuffix(raw, "]") {
		raw = raw[:i]
	}
	t, err := time.Parse(time.RFC3339, raw)
	if err != nil {
		t, err = time.Parse("2006-01-02T15:04Z07:00", raw)
	}
	if err != nil {
		return time.Time{}, errs.Invalid(FieldSMSSendAt, "%s %q is not an ISO 8601 date-time with a zone: write it as 2026-05-04T09:00:00Z or 2026-05-04T11:00:00+02:00", FieldSMSSendAt, s)
	}
	return t, nil
}

func validityPeriod(v any) (int, error) {
	var n float64
	switch x := v.(type) {
	case nil:
		return 0, nil
	case float64:
		n = x
	case int:
		n = float64(x)
	case int64:
		n = float64(x)
	case json.Number:
		f, err := x.Float64()
		if err != nil {
			return 0, errs.Invalid(FieldSMSValidityPeriod, "%s %q is not a number of seconds", FieldSMSValidityPeriod, x)
		}
		n = f
	case string:
		if strings.TrimSpace(x) == "" {
			return 0, nil
		}
		f, err := strconv.ParseFloat(strings.TrimSpace(x), 64)
		if err != nil {
			return 0, errs.Invalid(FieldSMSValidityPeriod, "%s %q is not a number of seconds", FieldSMSValidityPeriod, x)
		}
		n = f
	default:
		return 0, errs.Invalid(FieldSMSValidityPeriod, "%s is %s: give a number of seconds", FieldSMSValidityPeriod, typeName(v))
	}
	if n != float64(int(n)) || n < 1 || n > MaxValidityPeriod {
		return 0, errs.Invalid(FieldSMSValidityPeriod, "%s is %v: Twilio takes a whole number of seconds from 1 to %d (10 hours)", FieldSMSValidityPeriod, v, MaxValidityPeriod)
	}
	return int(n), nil
}

// checkSendAt checks that a message scheduled at at (zero: not scheduled) may be scheduled
// now.
func checkSendAt(at time.Time) error {
	if at.IsZero() {
		return nil
	}
	if ahead := time.Until(at); ahead < MinScheduleAhead || ahead > MaxScheduleAhead {
		return errs.Invalid(FieldSMSSendAt, "%s %s is %s from now: a message is scheduled at least %d minutes and at most %d days ahead",
			FieldSMSSendAt, at.Format(time.RFC3339), ahead.Round(time.Second), int(MinScheduleAhead.Minutes()), int(MaxScheduleAhead.Hours()/24))
	}
	return nil
}

// answersFromRecords reports whether req's recipients may be answered from the records of an
// earlier run of the same request (a retried job, a repeated Idempotency-Key).
func (s *SMS) answersFromRecords(req SMSRequest) bool {
	return !req.Testing && req.IdempotencyKey != "" && s.delivery != nil && s.delivery.Store != nil
}

// anySent reports whether a recipient of r was sent to (now or by an earlier run).
func (r Result) anySent() bool {
	for _, x := range r.TwilioResult {
		if x.SID != nil {
			return true
		}
	}
	return false
}

func optionalBoolPtr(vars map[string]any, field string) (*bool, error) {
	if v, ok := vars[field]; !ok || v == nil || v == "" {
		return nil, nil
	}
	b, err := optionalBool(vars, field)
	if err != nil {
		return nil, err
	}
	return &b, nil
}

// messageOptions checks the request's options against the rules and the connection, and
// renders the content variables. from is the sender as the provider normalised it.
func (s *SMS) messageOptions(ctx context.Context, conn *providers.Connection, from string, req SMSRequest) (providers.MessageOptions, error) {
	o := req.Options
	out := providers.MessageOptions{ContentSID: o.ContentSID, SendAt: o.SendAt, ValidityPeriod: o.ValidityPeriod,
		SmartEncoded: o.SmartEncoded, ShortenURLs: o.ShortenURLs}
	if o.ContentSID != "" {
		// Twilio sends the template's text and ignores Body and MediaUrl: say so rather than
		// send something else than the modeler wrote.
		for _, f := range []struct {
			field string
			given bool
		}{{FieldSMSBody, req.Body != ""}, {FieldSMSMediaURL, len(req.MediaURLs) > 0}} {
			if f.given {
				return out, errs.Invalid(FieldSMSContentSID, "%s and %s are both given: with a content template Twilio sends the template's text and media, not %s; remove %s (or %s)",
					FieldSMSContentSID, f.field, f.field, f.field, FieldSMSContentSID)
			}
		}
	}
	if o.ContentVariables != nil {
		rendered := make(map[string]string, len(o.ContentVariables))
		for _, k := range slices.Sorted(maps.Keys(o.ContentVariables)) {
			field := FieldSMSContentVariables + "." + k
			switch v := o.ContentVariables[k].(type) {
			case string:
				text, err := render(ctx, field, v, req.Engine, req.Vars)
				if err != nil {
					return out, err
				}
				rendered[k] = text
			case json.Number, float64, int, int64, bool:
				rendered[k] = fmt.Sprint(v)
			default:
				return out, errs.Invalid(FieldSMSContentVariables, "%s is %s: each variable is a text (or a number)", field, typeName(v))
			}
		}
		raw, _ := json.Marshal(rendered)
		out.ContentVariables = string(raw)
	}
	used := out.Used()
	if len(used) == 0 || conn.Provider == nil {
		// Without a provider (testing mode, lint) the default connection is Twilio's.
		return out, nil
	}
	op, ok := conn.Provider.(providers.OptionsProvider)
	for _, opt := range used {
		if !ok || !slices.Contains(op.Options(), opt) {
			return out, errs.Invalid(optionFields[opt], "%s is a Twilio option; connection %q (%s) does not support it: remove it, or send through a Twilio connection",
				optionFields[opt], conn.Name, conn.Provider.Kind())
		}
	}
	service := providers.IsMessagingService(from) || op.MessagingService()
	needs := func(field string) error {
		return errs.Invalid(field, "%s needs a Messaging Service: give its SID (MG…) as %s, or configure one on connection %q (TWILIO_MESSAGING_SERVICE_SID, messaging_service_sid)",
			field, FieldSMSFrom, conn.Name)
	}
	if !o.SendAt.IsZero() && !service {
		return out, needs(FieldSMSSendAt)
	}
	if o.ShortenURLs != nil && *o.ShortenURLs && !service {
		return out, needs(FieldSMSShortenURLs)
	}
	return out, nil
}
