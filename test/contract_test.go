package test

import (
	"context"
	"testing"
	"time"

	"github.com/twilio-connector/twilio-connector/actions"
	"github.com/twilio-connector/twilio-connector/errs"
	"github.com/twilio-connector/twilio-connector/providers"
	"github.com/twilio-connector/twilio-connector/providers/twilio"
	"github.com/twilio-connector/twilio-connector/store"
	"github.com/twilio-connector/twilio-connector/test/prism"
)

// The requests our Twilio client makes are checked against Twilio's OpenAPI description by
// the Prism mock, which answers 422 to a request that breaks it.
func TestTwilioContract(t *testing.T) {
	base := prism.Shared(t)
	const account = "AC0123456789abcdef0123456789abcdef"
	cases := []struct {
		name     string
		opts     actions.SMSOptions
		from     string // the default connection's default_from
		service  string // and its messaging_service_sid
		vars     map[string]any
		wantCode errs.Code // "" = accepted
	}{
		{name: "plain SMS", vars: map[string]any{"smsFrom": "+15005550006", "smsTo": []any{"+14155550101", "+14155550102"}, "smsBody": "Hello ${name} 👍", "name": "Ana"}},
		{name: "MMS with two media URLs and a status callback",
			opts: actions.SMSOptions{StatusCallbackURL: "https://connector.example.com/twilio/status"},
			vars: map[string]any{"smsFrom": "+15005550006", "smsTo": "+14155550101", "smsBody": "pics", "smsMediaUrl": []any{"https://example.com/a.png", "https://example.com/b.png"}}},
		{name: "messaging service as sender",
			vars: map[string]any{"smsFrom": "MG0123456789abcdef0123456789abcdef", "smsTo": "+14155550101", "smsBody": "hi"}},
		{name: "default sender and messaging service together",
			from: "ACME", service: "MG0123456789abcdef0123456789abcdef",
			vars: map[string]any{"smsTo": "+14155550101", "smsBody": "hi"}},
		{name: "content template with variables",
			vars: map[string]any{"smsFrom": "whatsapp:+15005550006", "smsTo": "whatsapp:+14155550101", "smsContentSid": "HX0123456789abcdef0123456789abcdef",
				"smsContentVariables": map[string]any{"1": "${name}"}, "name": "Ana"}},
		{name: "scheduled through a messaging service, with validity, smart encoding and link shortening",
			vars: map[string]any{"smsFrom": "MG0123456789abcdef0123456789abcdef", "smsTo": "+14155550101", "smsBody": "see https://example.com",
				"smsSendAt": time.Now().Add(time.Hour).UTC().Format(time.RFC3339), "smsValidityPeriod": 600.0, "smsSmartEncoded": true, "smsShortenUrls": true}},
		// The mock's 422 reaches the action as a rejected request: permanent, not retried.
		{name: "a request breaking the contract is rejected, not retried",
			opts:     actions.SMSOptions{StatusCallbackURL: "not a uri"},
			vars:     map[string]any{"smsFrom": "+15005550006", "smsTo": "+14155550101", "smsBody": "hi"},
			wantCode: errs.TwilioRequestRejected},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			tw, err := twilio.New(twilio.Options{AccountSID: account, AuthToken: "0123456789abcdef0123456789abcdef", BaseURL: base, Timeout: 10 * time.Second,
				MessagingServiceSID: c.service})
			if err != nil {
				t.Fatal(err)
			}
			conns := providers.Connections{providers.DefaultConnection: {Name: providers.DefaultConnection, Provider: tw, DefaultFrom: c.from}}
			sms := actions.NewSMS(conns, &actions.Delivery{Kind: "sms", Store: store.NewMemory(0), Attempts: 2}, c.opts)
			res, err := sms.Invoke(context.Background(), actions.Invocation{Vars: c.vars, IdempotencyKey: "contract"})
			if err != nil {
				t.Fatalf("transient error from the mock: %v", err)
			}
			if c.wantCode == "" {
				if res.TwilioError != nil {
					t.Fatalf("the mock rejected our request: %+v", res.TwilioError)
				}
				for _, r := range res.TwilioResult {
					if r.SID == nil || r.Status != "queued" {
						t.Errorf("%+v", r)
					}
				}
				return
			}
			if len(res.TwilioError) != 1 || res.TwilioError[0].Code != c.wantCode {
				t.Fatalf("twilioError %+v, want %s", res.TwilioError, c.wantCode)
			}
		})
	}
}

// The options reach Twilio as its OpenAPI description says: a malformed one (which the
// actions never let through) is rejected by the mock, the well-formed ones are accepted; a
// message can be fetched and canceled as the description says.
func TestTwilioContractMessageOptions(t *testing.T) {
	base := prism.Shared(t)
	const account = "AC0123456789abcdef0123456789abcdef"
	tw, err := twilio.New(twilio.Options{AccountSID: account, AuthToken: "0123456789abcdef0123456789abcdef", BaseURL: base, Timeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	yes := true
	base2 := providers.Message{To: "+14155550101", From: "MG0123456789abcdef0123456789abcdef", Body: "hi"}
	for _, tc := range []struct {
		name   string
		opts   providers.MessageOptions
		reject bool
	}{
		{"well-formed options", providers.MessageOptions{SendAt: time.Now().Add(time.Hour), ValidityPeriod: 60, SmartEncoded: &yes, ShortenURLs: &yes}, false},
		{"content template", providers.MessageOptions{ContentSID: "HX0123456789abcdef0123456789abcdef", ContentVariables: `{"1":"x"}`}, false},
		{"malformed content SID", providers.MessageOptions{ContentSID: "HX12"}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := base2
			m.Options = tc.opts
			_, err := tw.Send(ctx, m)
			if !tc.reject {
				if err != nil {
					t.Fatalf("the mock rejected our request: %v", err)
				}
				return
			}
			if e := errs.As(err); e == nil || e.Code != errs.TwilioRequestRejected {
				t.Fatalf("err = %v, want TWILIO_REQUEST_REJECTED", err)
			}
		})
	}
	const sid = "SM0123456789abcdef0123456789abcdef"
	if m, err := tw.Message(ctx, sid); err != nil || m.SID == "" {
		t.Fatalf("fetch: %+v %v", m, err)
	}
	if m, err := tw.Cancel(ctx, sid); err != nil || m.SID == "" {
		t.Fatalf("cancel: %+v %v", m, err)
	}
}
