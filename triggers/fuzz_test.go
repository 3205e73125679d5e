package triggers

import (
	"encoding/xml"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/twilio-connector/twilio-connector/store"
)

// FuzzWebhook feeds arbitrary bodies to the SMS_RECEIVED webhook. A body that parses as a form
// is signed, so the fuzzer reaches matching, publishing and the reply. The handler must answer
// one of its documented statuses, and every 200 must be well-formed TwiML.
func FuzzWebhook(f *testing.F) {
	for _, body := range []string{
		inbound(customer, ourNumber, "Order Number 42").Encode(),
		inbound(customer, ourNumber, "Order Number A&B=C+D%20 é 😀").Encode(),
		inbound(customer, ourNumber, "stop").Encode(),
		inbound(customer, ourNumber, "no").Encode(),
		"MessageSid=SM1&From=%2B1&To=%2B2&Body=Order+Number+%3C%2FMessage%3E",
		"MessageSid=SM1&MessageSid=SM2&From=a&To=b&Body=x",
		"Body=%zz", "", "&&&==", "a=1;b=2", "Body=\x00\xff",
	} {
		f.Add(body)
	}
	var ts []*Trigger
	for _, d := range allTriggers() {
		tr, err := Compile(d, 0)
		if err != nil {
			f.Fatal(err)
		}
		ts = append(ts, tr)
	}
	pub := &fakePublisher{}
	h := NewSMSReceived(Options{Triggers: NewRegistry(ts...), Publisher: pub, Store: store.NewMemory(0),
		Verifier: Verifier{AuthToken: testToken, PublicURL: "https://connector.example.com"},
		Logger:   slog.New(slog.NewTextHandler(io.Discard, nil))})

	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest(http.MethodPost, "/twilio/sms", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if form, err := url.ParseQuery(body); err == nil {
			req.Header.Set(SignatureHeader, Signature(testToken, "https://connector.example.com/twilio/sms", form))
		}
		rec := httptest.NewRecorder()
		before := pub.callCount()
		h.ServeHTTP(rec, req)
		switch rec.Code {
		case 200:
			var doc struct {
				XMLName  xml.Name `xml:"Response"`
				Messages []string `xml:"Message"`
			}
			if err := xml.Unmarshal(rec.Body.Bytes(), &doc); err != nil {
				t.Fatalf("200 with malformed TwiML %q: %v", rec.Body.String(), err)
			}
			if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/xml") {
				t.Fatalf("Content-Type %q", ct)
			}
		case 400, 403, 413:
		default:
			t.Fatalf("status %d for body %q", rec.Code, body)
		}
		if rec.Code != 200 && pub.callCount() != before {
			t.Fatalf("answered %d but published", rec.Code)
		}
		if n := pub.callCount() - before; n > len(ts) {
			t.Fatalf("published %d messages for one SMS with %d triggers", n, len(ts))
		}
	})
}
