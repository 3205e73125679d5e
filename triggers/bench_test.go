package triggers

import (
	"fmt"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// BenchmarkMatch20Patterns is the matching work of one inbound SMS with 20 triggers
// configured, the last of which matches.
func BenchmarkMatch20Patterns(b *testing.B) {
	var ps []*Pattern
	for i := 0; i < 19; i++ {
		p, err := CompilePattern(fmt.Sprintf(`(?i)keyword%d (?<ref>[A-Z0-9-]+)`, i), 0)
		if err != nil {
			b.Fatal(err)
		}
		ps = append(ps, p)
	}
	last, _ := CompilePattern(`Order Number (?<orderNumber>.+)`, 0)
	ps = append(ps, last)
	msg := "Order Number A-10427"
	b.ReportAllocs()
	for b.Loop() {
		matched := 0
		for _, p := range ps {
			if _, ok, _ := p.Match(msg); ok {
				matched++
			}
		}
		if matched != 1 {
			b.Fatalf("%d matches", matched)
		}
	}
}

// BenchmarkVerifySignature checks X-Twilio-Signature over a typical inbound SMS form.
func BenchmarkVerifySignature(b *testing.B) {
	const token = "0123456789abcdef0123456789abcdef"
	form := url.Values{"AccountSid": {"AC0123456789abcdef0123456789abcdef"}, "MessageSid": {"SM0123456789abcdef0123456789abcdef"},
		"From": {"+14155550100"}, "To": {"+15005550006"}, "Body": {"Order Number A-10427 & more = 100% sure"}, "NumMedia": {"0"},
		"ApiVersion": {"2010-04-01"}, "SmsStatus": {"received"}, "FromCountry": {"US"}, "ToCountry": {"US"}}
	const public = "https://connector.example.com"
	r := httptest.NewRequest("POST", "/twilio/sms", strings.NewReader(form.Encode()))
	r.Header.Set("X-Twilio-Signature", Signature(token, public+"/twilio/sms", form))
	v := &Verifier{AuthToken: token, PublicURL: public}
	b.ReportAllocs()
	for b.Loop() {
		if !v.Verify(r, form) {
			b.Fatal("signature rejected")
		}
	}
}
