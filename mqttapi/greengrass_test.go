package mqttapi

import (
	"encoding/json"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/twilio-connector/twilio-connector/actions"
	"github.com/twilio-connector/twilio-connector/errs"
)

// The example inputs of AWS's documentation of the Greengrass Twilio Notifications connector,
// verbatim (test/testdata/greengrass holds the same two).
const (
	seedText = `{
    "request": {
        "recipient": {
            "name": "Darla",
            "phone_number": "12345000000",
            "message": "Hello from the edge"
        },
        "from_number": "19999999999",
        "retries": 3
    },
    "id": "request123"
}`
	seedCall = `{
    "request": {
        "recipient": {
            "name": "Darla",
            "phone_number": "12345000000",
            "voice_message_location": "https://some-public-TwiML"
        },
        "from_number": "19999999999",
        "retries": 3
    },
    "id": "request123"
}`
)

func TestSeedInputsBecomeActionRequests(t *testing.T) {
	p, _, e := parse(KindText, []byte(seedText), "")
	if e != nil {
		t.Fatal(e)
	}
	want := map[string]any{"smsTo": []any{"+12345000000"}, "smsBody": "Hello from the edge", "smsFrom": "+19999999999"}
	if !reflect.DeepEqual(p.vars, want) || p.id != "request123" || p.retries != 3 || p.name != "Darla" {
		t.Errorf("txt: %+v", p)
	}
	p, _, e = parse(KindCall, []byte(seedCall), "")
	if e != nil {
		t.Fatal(e)
	}
	want = map[string]any{"callTo": []any{"+12345000000"}, "callTwimlUrl": "https://some-public-TwiML", "callFrom": "+19999999999"}
	if !reflect.DeepEqual(p.vars, want) {
		t.Errorf("call: %+v", p.vars)
	}
}

// Numbers are written as in Greengrass (digits with the country code) or in E.164, also
// behind whatsapp:.
func TestNumbers(t *testing.T) {
	for in, want := range map[string]string{"14155550100": "+14155550100", "+14155550100": "+14155550100",
		" 14155550100 ": "+14155550100", "whatsapp:14155550100": "whatsapp:+14155550100",
		"whatsapp:+14155550100": "whatsapp:+14155550100", "0044 20 7946 0958": "0044 20 7946 0958"} {
		if got := e164(in, ""); got != want {
			t.Errorf("e164(%q) = %q, want %q", in, got, want)
		}
	}
	// With a default region, national digits stay national unless they are a valid
	// international number.
	for in, want := range map[string]string{"4255550101": "4255550101", "14255550101": "+14255550101",
		"442071838750": "+442071838750", "whatsapp:4255550101": "whatsapp:4255550101"} {
		if got := e164(in, "US"); got != want {
			t.Errorf("e164(%q, US) = %q, want %q", in, got, want)
		}
	}
}

// keys returns the nested key paths of a JSON document, sorted.
func keys(t *testing.T, doc []byte) []string {
	t.Helper()
	var v any
	if err := json.Unmarshal(doc, &v); err != nil {
		t.Fatalf("%v: %s", err, doc)
	}
	var out []string
	var walk func(prefix string, v any)
	walk = func(prefix string, v any) {
		if m, ok := v.(map[string]any); ok {
			for k, x := range m {
				out = append(out, prefix+k)
				walk(prefix+k+".", x)
			}
		}
	}
	walk("", v)
	slices.Sort(out)
	return out
}

// The statuses have the documented shapes: the documented keys, plus the connector's sid on
// success and code on failure.
func TestStatusShapesMatchTheSeed(t *testing.T) {
	p, id, _ := parse(KindText, []byte(seedText), "")
	sid := "SM0123456789abcdef0123456789abcdef"
	ok := statusOf(p, id, actions.Result{TwilioResult: []actions.RecipientResult{{To: "+12345000000", SID: &sid, Status: "queued"}}}, "")
	raw, _ := json.Marshal(ok)
	wantOK := []string{"id", "response", "response.payload", "response.payload.from_number", "response.payload.messages",
		"response.payload.messages.message_status", "response.payload.messages.name", "response.payload.messages.sid",
		"response.payload.messages.to_number", "response.status"}
	if got := keys(t, raw); !slices.Equal(got, wantOK) {
		t.Errorf("success keys %v\nwant %v", got, wantOK)
	}
	want := `{"response":{"status":"success","payload":{"from_number":"19999999999","messages":{"name":"Darla","to_number":"12345000000","message_status":"queued","sid":"` + sid + `"}}},"id":"request123"}`
	if string(raw) != want {
		t.Errorf("success\n got %s\nwant %s", raw, want)
	}

	// The documentation's failure example: a recipient without a name.
	_, id, e := parse(KindText, []byte(`{"request": {"recipient": {"phone_number": "12345000000", "message": "Hello"}}, "id": "request123"}`), "")
	if e == nil {
		t.Fatal("a recipient without a name was accepted")
	}
	raw, _ = json.Marshal(failure(id, e))
	wantFail := []string{"code", "error", "error_message", "payload", "status"}
	var f struct {
		Response map[string]any `json:"response"`
		ID       string         `json:"id"`
	}
	json.Unmarshal(raw, &f)
	if got := slices.Sorted(func(yield func(string) bool) {
		for k := range f.Response {
			if !yield(k) {
				return
			}
		}
	}); !slices.Equal(got, wantFail) {
		t.Errorf("failure keys %v, want %v", got, wantFail)
	}
	if f.ID != "request123" || f.Response["status"] != "fail" || f.Response["error"] != "InvalidParameter" || f.Response["payload"] != nil ||
		!strings.Contains(f.Response["error_message"].(string), "request.recipient.name") {
		t.Errorf("failure %s", raw)
	}
}

func TestDefaultSenderIsReported(t *testing.T) {
	p, id, e := parse(KindText, []byte(`{"request": {"recipient": {"name": "D", "phone_number": "12345000000", "message": "hi"}}, "id": "a"}`), "")
	if e != nil {
		t.Fatal(e)
	}
	if _, has := p.vars[actions.FieldSMSFrom]; has {
		t.Errorf("smsFrom set without from_number: %v", p.vars)
	}
	st := statusOf(p, id, actions.Result{TwilioResult: []actions.RecipientResult{{Status: "queued"}}}, "+15005550006")
	if st.Response.Payload.FromNumber != "15005550006" {
		t.Errorf("from_number %q", st.Response.Payload.FromNumber)
	}
}

// Every refused input gets a failure naming the field, never silence; the id is echoed when
// there was one, whatever its type.
func TestInvalidInputs(t *testing.T) {
	for _, tc := range []struct {
		name, kind, msg, field, id string
	}{
		{"not JSON", KindText, `Hello`, "message", "null"},
		{"no id", KindText, `{"request": {"recipient": {"name": "D", "phone_number": "1234", "message": "hi"}}}`, "id", "null"},
		{"numeric id", KindText, `{"request": {}, "id": 7}`, "id", "7"},
		{"no request", KindText, `{"id": "a"}`, "request", `"a"`},
		{"no recipient", KindText, `{"request": {}, "id": "a"}`, "request.recipient", `"a"`},
		{"no phone", KindText, `{"request": {"recipient": {"name": "D", "message": "hi"}}, "id": "a"}`, "request.recipient.phone_number", `"a"`},
		{"phone as number", KindText, `{"request": {"recipient": {"name": "D", "phone_number": 12345000000, "message": "hi"}}, "id": "a"}`, "request.recipient.phone_number", `"a"`},
		{"no message", KindText, `{"request": {"recipient": {"name": "D", "phone_number": "12345000000"}}, "id": "a"}`, "request.recipient.message", `"a"`},
		{"voice on txt", KindText, `{"request": {"recipient": {"name": "D", "phone_number": "12345000000", "voice_message_location": "https://x"}}, "id": "a"}`, "request.recipient.voice_message_location", `"a"`},
		{"both", KindCall, `{"request": {"recipient": {"name": "D", "phone_number": "12345000000", "message": "m", "voice_message_location": "https://x"}}, "id": "a"}`, "request.recipient", `"a"`},
		{"text on call", KindCall, `{"request": {"recipient": {"name": "D", "phone_number": "12345000000", "message": "m"}}, "id": "a"}`, "request.recipient.message", `"a"`},
		{"empty name on call", KindCall, `{"request": {"recipient": {"name": "", "phone_number": "12345000000", "voice_message_location": "https://x"}}, "id": "a"}`, "request.recipient.name", `"a"`},
		{"retries too many", KindText, `{"request": {"recipient": {"name": "D", "phone_number": "12345000000", "message": "m"}, "retries": 99}, "id": "a"}`, "request.retries", `"a"`},
		{"id too long", KindText, `{"request": {"recipient": {"name": "D", "phone_number": "12345000000", "message": "m"}}, "id": "` + strings.Repeat("x", MaxIDChars+1) + `"}`, "id", `"` + strings.Repeat("x", MaxIDChars+1) + `"`},
		{"options on call", KindCall, `{"request": {"recipient": {"name": "D", "phone_number": "12345000000", "voice_message_location": "https://x", "send_at": "2030-01-01T00:00:00Z"}}, "id": "a"}`, "request.recipient.send_at", `"a"`},
		{"validity not a number", KindText, `{"request": {"recipient": {"name": "D", "phone_number": "12345000000", "message": "m", "validity_period": "600"}}, "id": "a"}`, "request.recipient.validity_period", `"a"`},
		{"smart_encoded not a boolean", KindText, `{"request": {"recipient": {"name": "D", "phone_number": "12345000000", "message": "m", "smart_encoded": "yes"}}, "id": "a"}`, "request.recipient.smart_encoded", `"a"`},
		{"message and content_sid", KindText, `{"request": {"recipient": {"name": "D", "phone_number": "12345000000", "message": "m", "content_sid": "HX0123456789abcdef0123456789abcdef"}}, "id": "a"}`, "request.recipient.content_sid", `"a"`},
		{"neither message nor content_sid", KindText, `{"request": {"recipient": {"name": "D", "phone_number": "12345000000", "send_at": "2030-01-01T00:00:00Z"}}, "id": "a"}`, "request.recipient.message", `"a"`},
		{"retries not a number", KindText, `{"request": {"recipient": {"name": "D", "phone_number": "12345000000", "message": "m"}, "retries": "3"}, "id": "a"}`, "request.retries", `"a"`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, id, e := parse(tc.kind, []byte(tc.msg), "")
			if e == nil {
				t.Fatal("accepted")
			}
			if e.Field != tc.field || (e.Code != errs.InvalidInput && e.Code != errs.MissingInput) {
				t.Errorf("field %q code %s: %s", e.Field, e.Code, e.Message)
			}
			st := failure(id, e)
			if string(st.ID) != tc.id || st.Response.Error != "InvalidParameter" || !strings.Contains(st.Response.ErrorMessage, tc.field) {
				t.Errorf("status %+v id %s", st.Response, st.ID)
			}
		})
	}
}

// A failure the action reports (Twilio refused the recipient) keeps the taxonomy code as the
// error name, with Twilio's own code.
func TestTwilioFailure(t *testing.T) {
	p, id, _ := parse(KindText, []byte(seedText), "")
	to := "+12345000000"
	code := 21610
	res := actions.Result{TwilioResult: []actions.RecipientResult{{To: to, Status: actions.StatusFailed}},
		TwilioError: []actions.RecipientError{{To: &to, Code: errs.RecipientOptedOut, TwilioCode: &code, Message: "Attempt to send to unsubscribed recipient"}}}
	st := statusOf(p, id, res, "")
	if st.Response.Status != "fail" || st.Response.Error != string(errs.RecipientOptedOut) || st.Response.TwilioCode == nil || *st.Response.TwilioCode != code || st.Response.Payload != nil {
		t.Errorf("%+v", st.Response)
	}
}

// The message options beside message become send_sms's inputs; with content_sid, message
// may be left out. The action's errors about them name the request's field.
func TestMessageOptions(t *testing.T) {
	p, _, e := parse(KindText, []byte(`{"request": {"recipient": {"name": "D", "phone_number": "12345000000", "content_sid": "HX0123456789abcdef0123456789abcdef",
		"content_variables": {"1": "Ana"}, "send_at": "2030-01-01T00:00:00Z", "validity_period": 600, "smart_encoded": true, "shorten_urls": false},
		"from_number": "MG0123456789abcdef0123456789abcdef"}, "id": "a"}`), "")
	if e != nil {
		t.Fatal(e)
	}
	want := map[string]any{"smsTo": []any{"+12345000000"}, "smsFrom": "MG0123456789abcdef0123456789abcdef",
		"smsContentSid": "HX0123456789abcdef0123456789abcdef", "smsContentVariables": map[string]any{"1": "Ana"},
		"smsSendAt": "2030-01-01T00:00:00Z", "smsValidityPeriod": 600, "smsSmartEncoded": true, "smsShortenUrls": false}
	if !reflect.DeepEqual(p.vars, want) {
		t.Errorf("vars %#v\nwant %#v", p.vars, want)
	}
	st := failure(nil, errs.Invalid(actions.FieldSMSValidityPeriod, "smsValidityPeriod is 0: give 1 to 36000"))
	if !strings.HasPrefix(st.Response.ErrorMessage, "request.recipient.validity_period: ") {
		t.Errorf("error_message %q does not name the request's field", st.Response.ErrorMessage)
	}
}

// request.connection chooses the connection; without it the request goes to the default.
func TestConnectionField(t *testing.T) {
	p, _, e := parse(KindText, []byte(strings.Replace(seedText, `"retries": 3`, `"retries": 3, "connection": "alerts"`, 1)), "")
	if e != nil || p.connection != "alerts" {
		t.Fatalf("connection %q, err %v", p.connection, e)
	}
	if p, _, _ := parse(KindText, []byte(seedText), ""); p.connection != "" {
		t.Fatalf("connection %q without the field", p.connection)
	}
}
