package actions

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twilio-connector/twilio-connector/errs"
	"github.com/twilio-connector/twilio-connector/providers/twilio"
)

const contentSID = "HX0123456789abcdef0123456789abcdef"

func ahead(d time.Duration) string { return time.Now().Add(d).UTC().Format(time.RFC3339) }

// Each message option is checked locally, with an error naming the field and the rule, and
// reaches Twilio (the stand-in) as Twilio's parameter.
func TestSMSMessageOptions(t *testing.T) {
	cases := []struct {
		name string
		opts fixtureOpts
		vars map[string]any
		// form are the parameters Twilio must get ("" = absent); wantStatus the result's
		// status when accepted.
		form       map[string]string
		wantStatus string
		// wantField and wantRule: the request fails as a whole with INVALID_INPUT naming the
		// field, and its message contains wantRule; nothing is sent.
		wantField, wantRule string
	}{
		{name: "content template with rendered variables, no body sent",
			vars: vars("smsFrom", "whatsapp:"+fromNumber, "smsTo", "whatsapp:"+alice, "smsContentSid", contentSID,
				"smsContentVariables", map[string]any{"1": "${name}", "2": 3}, "name", "Ana"),
			form:       map[string]string{"ContentSid": contentSID, "ContentVariables": `{"1":"Ana","2":"3"}`, "Body": ""},
			wantStatus: "queued"},
		{name: "content variables as a JSON string",
			vars:       vars("smsFrom", fromNumber, "smsTo", alice, "smsContentSid", contentSID, "smsContentVariables", `{"1": "${name}"}`, "name", "Bo"),
			form:       map[string]string{"ContentVariables": `{"1":"Bo"}`},
			wantStatus: "queued"},
		{name: "content template and body", vars: vars("smsFrom", fromNumber, "smsTo", alice, "smsContentSid", contentSID, "smsBody", "hi"),
			wantField: FieldSMSContentSID, wantRule: "smsContentSid and smsBody are both given"},
		{name: "content template and media", vars: vars("smsFrom", fromNumber, "smsTo", alice, "smsContentSid", contentSID, "smsMediaUrl", "https://example.com/a.png"),
			wantField: FieldSMSContentSID, wantRule: "smsContentSid and smsMediaUrl are both given"},
		{name: "malformed content sid", vars: vars("smsFrom", fromNumber, "smsTo", alice, "smsContentSid", "HX123"),
			wantField: FieldSMSContentSID, wantRule: "HX followed by 32 hex digits"},
		{name: "content variables without a content sid", vars: vars("smsFrom", fromNumber, "smsTo", alice, "smsBody", "hi", "smsContentVariables", map[string]any{"1": "x"}),
			wantField: FieldSMSContentVariables, wantRule: "without smsContentSid"},
		{name: "content variables not an object", vars: vars("smsFrom", fromNumber, "smsTo", alice, "smsContentSid", contentSID, "smsContentVariables", "[1]"),
			wantField: FieldSMSContentVariables, wantRule: "not a JSON object"},
		{name: "a content variable that is not text", vars: vars("smsFrom", fromNumber, "smsTo", alice, "smsContentSid", contentSID, "smsContentVariables", map[string]any{"1": []any{"x"}}),
			wantField: FieldSMSContentVariables, wantRule: "smsContentVariables.1 is a list"},

		{name: "scheduled through a Messaging Service sender",
			vars:       vars("smsFrom", service, "smsTo", alice, "smsBody", "reminder", "smsSendAt", ahead(time.Hour)),
			form:       map[string]string{"ScheduleType": "fixed", "MessagingServiceSid": service},
			wantStatus: StatusScheduled},
		{name: "scheduled through the configured Messaging Service", opts: fixtureOpts{MessagingServiceSID: service},
			vars:       vars("smsFrom", fromNumber, "smsTo", alice, "smsBody", "reminder", "smsSendAt", ahead(48*time.Hour)),
			form:       map[string]string{"ScheduleType": "fixed", "From": fromNumber},
			wantStatus: StatusScheduled},
		{name: "a FEEL date and time with a zone id and no seconds",
			vars:       vars("smsFrom", service, "smsTo", alice, "smsBody", "x", "smsSendAt", time.Now().Add(3*time.Hour).In(time.FixedZone("", 7200)).Format("2006-01-02T15:04-07:00")+"[Europe/Berlin]"),
			form:       map[string]string{"ScheduleType": "fixed"},
			wantStatus: StatusScheduled},
		{name: "scheduling without a Messaging Service", vars: vars("smsFrom", fromNumber, "smsTo", alice, "smsBody", "x", "smsSendAt", ahead(time.Hour)),
			wantField: FieldSMSSendAt, wantRule: "needs a Messaging Service"},
		{name: "scheduled too soon", vars: vars("smsFrom", service, "smsTo", alice, "smsBody", "x", "smsSendAt", ahead(5*time.Minute)),
			wantField: FieldSMSSendAt, wantRule: "at least 15 minutes and at most 7 days ahead"},
		{name: "scheduled too late", vars: vars("smsFrom", service, "smsTo", alice, "smsBody", "x", "smsSendAt", ahead(8*24*time.Hour)),
			wantField: FieldSMSSendAt, wantRule: "at most 7 days ahead"},
		{name: "send time without a zone", vars: vars("smsFrom", service, "smsTo", alice, "smsBody", "x", "smsSendAt", "2030-01-01T10:00:00"),
			wantField: FieldSMSSendAt, wantRule: "not an ISO 8601 date-time with a zone"},

		{name: "validity period", vars: vars("smsFrom", fromNumber, "smsTo", alice, "smsBody", "x", "smsValidityPeriod", "600"),
			form: map[string]string{"ValidityPeriod": "600"}, wantStatus: "queued"},
		{name: "validity period 0", vars: vars("smsFrom", fromNumber, "smsTo", alice, "smsBody", "x", "smsValidityPeriod", 0.0),
			wantField: FieldSMSValidityPeriod, wantRule: "from 1 to 36000"},
		{name: "validity period over 10 hours", vars: vars("smsFrom", fromNumber, "smsTo", alice, "smsBody", "x", "smsValidityPeriod", 36001.0),
			wantField: FieldSMSValidityPeriod, wantRule: "from 1 to 36000"},
		{name: "validity period not whole", vars: vars("smsFrom", fromNumber, "smsTo", alice, "smsBody", "x", "smsValidityPeriod", 1.5),
			wantField: FieldSMSValidityPeriod, wantRule: "whole number"},

		{name: "smart encoding on", vars: vars("smsFrom", fromNumber, "smsTo", alice, "smsBody", "x", "smsSmartEncoded", true),
			form: map[string]string{"SmartEncoded": "true", "ShortenUrls": ""}, wantStatus: "queued"},
		{name: "smart encoding off is sent too", vars: vars("smsFrom", fromNumber, "smsTo", alice, "smsBody", "x", "smsSmartEncoded", "false"),
			form: map[string]string{"SmartEncoded": "false"}, wantStatus: "queued"},
		{name: "smart encoding not a boolean", vars: vars("smsFrom", fromNumber, "smsTo", alice, "smsBody", "x", "smsSmartEncoded", "yes"),
			wantField: FieldSMSSmartEncoded, wantRule: "give true or false"},
		{name: "link shortening through a Messaging Service", vars: vars("smsFrom", service, "smsTo", alice, "smsBody", "https://example.com/x", "smsShortenUrls", true),
			form: map[string]string{"ShortenUrls": "true"}, wantStatus: "accepted"},
		{name: "link shortening without a Messaging Service", vars: vars("smsFrom", fromNumber, "smsTo", alice, "smsBody", "x", "smsShortenUrls", true),
			wantField: FieldSMSShortenURLs, wantRule: "needs a Messaging Service"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := newFixture(t, tc.opts, nil)
			res, err := f.sms.Invoke(context.Background(), Invocation{Vars: tc.vars, IdempotencyKey: "k"})
			if err != nil {
				t.Fatal(err)
			}
			if tc.wantField != "" {
				e := res.Failure()
				if e == nil || e.Code != errs.InvalidInput || e.Field != tc.wantField || !strings.Contains(e.Message, tc.wantRule) {
					t.Fatalf("failure %+v, want INVALID_INPUT on %s saying %q", e, tc.wantField, tc.wantRule)
				}
				if n := len(f.fake.Requests()); n != 0 {
					t.Fatalf("%d requests reached Twilio", n)
				}
				return
			}
			if res.TwilioError != nil || len(res.TwilioResult) != 1 || res.TwilioResult[0].Status != tc.wantStatus {
				t.Fatalf("result %+v errors %+v, want status %s", res.TwilioResult, res.TwilioError, tc.wantStatus)
			}
			sent := f.fake.Sent()
			if len(sent) != 1 {
				t.Fatalf("%d sent", len(sent))
			}
			for k, want := range tc.form {
				if got := sent[0].Form.Get(k); got != want {
					t.Errorf("%s = %q, want %q", k, got, want)
				}
			}
		})
	}
}

// A provider that does not take an option refuses it, naming the field and the connection:
// the option is never dropped silently.
func TestMessageOptionsRefusedByOtherProviders(t *testing.T) {
	_, kp, sms, _ := keysFixture(t)
	for field, v := range map[string]any{
		FieldSMSContentSID:     contentSID,
		FieldSMSSendAt:         ahead(time.Hour),
		FieldSMSValidityPeriod: 60.0,
		FieldSMSSmartEncoded:   false,
		FieldSMSShortenURLs:    true,
	} {
		vs := vars("smsTo", "uAbc", field, v)
		if field != FieldSMSContentSID {
			vs["smsBody"] = "hi"
		}
		res, err := sms.Invoke(context.Background(), Invocation{Connection: "keys", Vars: vs})
		e := res.Failure()
		if err != nil || e == nil || e.Code != errs.InvalidInput || e.Field != field || !strings.Contains(e.Message, `connection "keys" (keys) does not support it`) {
			t.Errorf("%s: err=%v failure=%+v", field, err, e)
		}
	}
	if n := len(kp.messages()); n != 0 {
		t.Fatalf("%d messages sent", n)
	}
}

// Results carry Twilio's num_segments; testing mode counts them locally and names the encoding.
func TestSegmentsInResults(t *testing.T) {
	f := newFixture(t, fixtureOpts{}, nil)
	long := strings.Repeat("a", 161)
	res, err := f.sms.Invoke(context.Background(), Invocation{Vars: vars("smsFrom", fromNumber, "smsTo", alice, "smsBody", long), IdempotencyKey: "seg"})
	if err != nil || res.TwilioError != nil || res.TwilioResult[0].Segments != 2 || res.TwilioResult[0].Encoding != "" {
		t.Fatalf("err=%v %+v %+v", err, res.TwilioResult, res.TwilioError)
	}
	// A repeat answers from the record, segments included.
	again, _ := f.sms.Invoke(context.Background(), Invocation{Vars: vars("smsFrom", fromNumber, "smsTo", alice, "smsBody", long), IdempotencyKey: "seg"})
	if again.TwilioResult[0].Segments != 2 || len(f.fake.Sent()) != 1 {
		t.Fatalf("repeat %+v, %d sent", again.TwilioResult, len(f.fake.Sent()))
	}
	res, _ = f.sms.Invoke(context.Background(), Invocation{Vars: vars("smsFrom", fromNumber, "smsTo", alice, "smsBody", strings.Repeat("ж", 71), "smsTesting", true)})
	if r := res.TwilioResult[0]; r.Status != StatusTesting || r.Segments != 2 || r.Encoding != "UCS-2" {
		t.Fatalf("testing %+v", r)
	}
}

// A content template's text is Twilio's, not the request's body: an attempt whose answer was
// lost is still found (same recipient and sender, since the attempt) and not sent again.
func TestLostAnswerOfAContentMessageIsLookedUpNotResent(t *testing.T) {
	f := newFixture(t, fixtureOpts{}, func(d *Delivery, _ *twilio.Options) { d.Attempts = 3 })
	f.fake.AcceptThenDrop(alice, 1)
	res, err := f.sms.Invoke(context.Background(), Invocation{Vars: vars("smsFrom", fromNumber, "smsTo", alice, "smsContentSid", contentSID), IdempotencyKey: "job:2"})
	if err != nil || res.TwilioError != nil {
		t.Fatalf("err=%v errors=%+v", err, res.TwilioError)
	}
	if sent := f.fake.Sent(); len(sent) != 1 || *res.TwilioResult[0].SID != sent[0].SID {
		t.Fatalf("Twilio holds %d messages; result %+v", len(sent), res.TwilioResult)
	}
}

// A retried request whose message was scheduled on an earlier attempt answers from its record,
// even once smsSendAt is less than 15 minutes away (here: the same job's variables with the
// clock moved on, as sendAt written 5 minutes ahead); a new request with that sendAt is
// refused naming the field, and nothing more reaches Twilio.
func TestRetryOfAScheduledSendAnswersFromTheRecord(t *testing.T) {
	f := newFixture(t, fixtureOpts{}, nil)
	inv := Invocation{Vars: vars("smsFrom", service, "smsTo", list(alice, bob), "smsBody", "reminder", "smsSendAt", ahead(time.Hour)), IdempotencyKey: "job:9"}
	first, err := f.sms.Invoke(context.Background(), inv)
	if err != nil || first.TwilioError != nil || first.TwilioResult[0].Status != StatusScheduled {
		t.Fatalf("first attempt: err=%v result=%+v errors=%+v", err, first.TwilioResult, first.TwilioError)
	}
	inv.Vars["smsSendAt"] = ahead(5 * time.Minute)
	retry, err := f.sms.Invoke(context.Background(), inv)
	if err != nil || retry.TwilioError != nil || len(retry.TwilioResult) != 2 {
		t.Fatalf("retry: err=%v result=%+v errors=%+v", err, retry.TwilioResult, retry.TwilioError)
	}
	for i := range 2 {
		if r := retry.TwilioResult[i]; r.Status != StatusScheduled || *r.SID != *first.TwilioResult[i].SID {
			t.Errorf("retry answered %+v, first %+v", r, first.TwilioResult[i])
		}
	}
	// A new request (another job) with that sendAt is refused as a whole (HTTP: 400).
	inv.IdempotencyKey = "job:10"
	res, err := f.sms.Invoke(context.Background(), inv)
	if e := res.Failure(); err != nil || e == nil || e.Code != errs.InvalidInput || e.Field != FieldSMSSendAt || !strings.Contains(e.Message, "at least 15 minutes") ||
		res.TwilioError[0].To != nil {
		t.Fatalf("a new request 5 minutes ahead: err=%v result %+v errors %+v", err, res.TwilioResult, res.TwilioError)
	}
	if n := len(f.fake.Sent()); n != 2 {
		t.Fatalf("%d messages reached Twilio, want the first attempt's 2", n)
	}
}

// A retry whose first run scheduled one recipient and failed transiently for the other
// answers the first from its record and refuses only the other, once sendAt is too close.
func TestRetryOfAPartlyScheduledSend(t *testing.T) {
	f := newFixture(t, fixtureOpts{}, func(d *Delivery, _ *twilio.Options) { d.Attempts = 1 })
	f.fake.FailTimes(bob, 1, 500, 0)
	inv := Invocation{Vars: vars("smsFrom", service, "smsTo", list(alice, bob), "smsBody", "reminder", "smsSendAt", ahead(time.Hour)), IdempotencyKey: "job:11"}
	if _, err := f.sms.Invoke(context.Background(), inv); err == nil {
		t.Fatal("the first run did not fail transiently for bob")
	}
	inv.Vars["smsSendAt"] = ahead(5 * time.Minute)
	res, err := f.sms.Invoke(context.Background(), inv)
	if err != nil || len(res.TwilioResult) != 2 || res.TwilioResult[0].Status != StatusScheduled || res.TwilioResult[1].Status != StatusFailed ||
		len(res.TwilioError) != 1 || *res.TwilioError[0].To != bob || res.TwilioError[0].Field != FieldSMSSendAt {
		t.Fatalf("retry: err=%v result %+v errors %+v", err, res.TwilioResult, res.TwilioError)
	}
	if a, b := f.fake.CountSentTo(alice), f.fake.CountSentTo(bob); a != 1 || b != 0 {
		t.Fatalf("accepted: alice %d, bob %d; want 1 and 0", a, b)
	}
}
