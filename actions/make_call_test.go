package actions

import (
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/twilio-connector/twilio-connector/store"
)

func newCalls(t *testing.T, opts CallOptions, defaultFrom string) (*Calls, fixture) {
	f := newFixture(t, fixtureOpts{DefaultFrom: defaultFrom}, nil)
	return NewCalls(f.sms.conns, &Delivery{Kind: "call", Store: store.NewMemory(0), Attempts: 2}, opts), f
}

func TestMakeCall(t *testing.T) {
	cases := []struct {
		name     string
		opts     CallOptions
		from     string // the connection's default_from
		vars     map[string]any
		wantErrs []string
		check    func(t *testing.T, f fixture, r Result)
	}{
		{
			name: "spoken message is rendered, escaped and wrapped in Say",
			vars: vars("callFrom", fromNumber, "callTo", list(alice, bob), "callMessage", "Hello ${name}, R&D <lab> says hi", "name", "Ana", "callVoice", "Polly.Joanna", "callLanguage", "en-US"),
			check: func(t *testing.T, f fixture, r Result) {
				calls := f.fake.Calls()
				if len(calls) != 2 {
					t.Fatalf("%d calls", len(calls))
				}
				want := `<Response><Say voice="Polly.Joanna" language="en-US">Hello Ana, R&amp;D &lt;lab&gt; says hi</Say></Response>`
				if calls[0].Twiml != want || calls[0].From != fromNumber {
					t.Errorf("twiml %q", calls[0].Twiml)
				}
				for _, e := range r.TwilioResult {
					if e.SID == nil || !strings.HasPrefix(*e.SID, "CA") {
						t.Errorf("%+v", e)
					}
				}
			},
		},
		{
			name: "TwiML document and status callback events",
			opts: CallOptions{StatusCallbackURL: "https://connector.example.com/twilio/status"},
			vars: vars("callFrom", fromNumber, "callTo", alice, "callTwiml", `<?xml version="1.0"?><Response><Play>https://example.com/a.mp3</Play></Response>`),
			check: func(t *testing.T, f fixture, r Result) {
				c := f.fake.Calls()[0]
				if !strings.Contains(c.Twiml, "<Play>") || c.StatusCallback == "" || !slices.Equal(c.StatusCallbackEvents, []string{"initiated", "ringing", "answered", "completed"}) {
					t.Errorf("%+v", c)
				}
			},
		},
		{
			name: "TwiML URL and the default caller id",
			from: fromNumber,
			vars: vars("callTo", alice, "callTwimlUrl", "https://example.com/twiml.xml"),
			check: func(t *testing.T, f fixture, r Result) {
				if c := f.fake.Calls()[0]; c.URL != "https://example.com/twiml.xml" || c.From != fromNumber {
					t.Errorf("%+v", c)
				}
			},
		},
		{
			name: "testing mode places nothing and shows the TwiML",
			vars: vars("callFrom", fromNumber, "callTo", alice, "callMessage", "Hi", "callTesting", "true"),
			check: func(t *testing.T, f fixture, r Result) {
				if len(f.fake.Requests()) != 0 || r.TwilioResult[0].Body != "<Response><Say>Hi</Say></Response>" {
					t.Errorf("%+v", r.TwilioResult[0])
				}
			},
		},
		{name: "no content", vars: vars("callFrom", fromNumber, "callTo", alice), wantErrs: []string{"-:MISSING_INPUT"}},
		{name: "two contents", vars: vars("callFrom", fromNumber, "callTo", alice, "callMessage", "a", "callTwimlUrl", "https://x.example"), wantErrs: []string{"-:INVALID_INPUT"}},
		{name: "malformed TwiML", vars: vars("callFrom", fromNumber, "callTo", alice, "callTwiml", "<Response><Say>hi</Response>"), wantErrs: []string{"-:INVALID_INPUT"}},
		{name: "TwiML with two root elements", vars: vars("callFrom", fromNumber, "callTo", alice, "callTwiml", "<Response><Say>hi</Say></Response><Response/>"), wantErrs: []string{"-:INVALID_INPUT"}},
		{name: "TwiML with text after the root", vars: vars("callFrom", fromNumber, "callTo", alice, "callTwiml", "<Response><Say>hi</Say></Response> bye"), wantErrs: []string{"-:INVALID_INPUT"}},
		{name: "TwiML without Response root", vars: vars("callFrom", fromNumber, "callTo", alice, "callTwiml", "<Say>hi</Say>"), wantErrs: []string{"-:INVALID_INPUT"}},
		{name: "alphanumeric caller id", vars: vars("callFrom", "ACME", "callTo", alice, "callMessage", "hi"), wantErrs: []string{"-:INVALID_FROM_PHONE_NUMBER_ERROR"}},
		{name: "WhatsApp cannot call", vars: vars("callFrom", "whatsapp:"+fromNumber, "callTo", alice, "callMessage", "hi"), wantErrs: []string{"-:INVALID_FROM_PHONE_NUMBER_ERROR"}},
		{name: "no call to a WhatsApp address", vars: vars("callFrom", fromNumber, "callTo", "whatsapp:"+alice, "callMessage", "hi"), wantErrs: []string{"whatsapp:" + alice + ":INVALID_TO_PHONE_NUMBER_ERROR"}},
		{name: "missing caller id", vars: vars("callTo", alice, "callMessage", "hi"), wantErrs: []string{"-:MISSING_INPUT"}},
		{
			name: "bad and refused recipients", vars: vars("callFrom", fromNumber, "callTo", list("+1", alice, carol), "callMessage", "hi"),
			wantErrs: []string{"+1:INVALID_TO_PHONE_NUMBER_ERROR", carol + ":INVALID_TO_PHONE_NUMBER_ERROR"},
		},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			calls, f := newCalls(t, c.opts, c.from)
			f.fake.Fail(carol, 400, 21217, "Phone number does not appear to be valid")
			res, err := calls.Invoke(context.Background(), Invocation{Vars: c.vars, IdempotencyKey: "job:1"})
			if err != nil {
				t.Fatal(err)
			}
			if got := errorCodes(res); strings.Join(got, " ") != strings.Join(c.wantErrs, " ") {
				t.Fatalf("twilioError %v, want %v: %+v", got, c.wantErrs, res.TwilioError)
			}
			if c.check != nil {
				c.check(t, f, res)
			}
		})
	}
}

func TestRepeatedCallRequestPlacesNothingTwice(t *testing.T) {
	calls, f := newCalls(t, CallOptions{}, "")
	inv := Invocation{Vars: vars("callFrom", fromNumber, "callTo", list(alice, bob), "callMessage", "hi"), IdempotencyKey: "job:9"}
	first, _ := calls.Invoke(context.Background(), inv)
	second, _ := calls.Invoke(context.Background(), inv)
	if len(f.fake.Calls()) != 2 || *first.TwilioResult[1].SID != *second.TwilioResult[1].SID {
		t.Fatalf("%d calls placed; sids %v %v", len(f.fake.Calls()), *first.TwilioResult[1].SID, *second.TwilioResult[1].SID)
	}
}
