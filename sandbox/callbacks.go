package sandbox

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
)

// SignatureHeader is the header carrying Twilio's request signature.
const SignatureHeader = "X-Twilio-Signature"

// Sign computes the X-Twilio-Signature Twilio sends with a form-encoded webhook to rawURL:
// base64(HMAC-SHA1(authToken, rawURL + k1 + v1 + k2 + v2 …)) over the keys in sorted order.
// A key sent several times contributes each of its distinct values, sorted, as key+value, which
// is what Twilio's own helper libraries (twilio-node's validateRequest) do; a verifier that
// uses only the first value of a repeated key rejects such requests. rawURL is used exactly as
// given, query string included.
func Sign(authToken, rawURL string, form url.Values) string {
	var b strings.Builder
	b.WriteString(rawURL)
	for _, k := range slices.Sorted(maps.Keys(form)) {
		vs := slices.Clone(form[k])
		slices.Sort(vs)
		for _, v := range slices.Compact(vs) {
			b.WriteString(k)
			b.WriteString(v)
		}
	}
	mac := hmac.New(sha1.New, []byte(authToken))
	mac.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// PostForm posts form to rawURL the way Twilio delivers a webhook: form-encoded, signed with
// authToken in X-Twilio-Signature, with Twilio's user agent. The caller closes the body.
func PostForm(ctx context.Context, rawURL, authToken string, form url.Values) (*http.Response, error) {
	return postForm(ctx, http.DefaultClient, rawURL, authToken, form)
}

func postForm(ctx context.Context, client *http.Client, rawURL, authToken string, form url.Values) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, rawURL, strings.NewReader(form.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("User-Agent", "TwilioProxy/1.1")
	req.Header.Set(SignatureHeader, Sign(authToken, rawURL, form))
	return client.Do(req)
}

// StatusForm is the form of Twilio's status callback for m reaching status ("sent",
// "delivered", "failed", "undelivered"…); errorCode 0 leaves ErrorCode out, as Twilio does for
// messages without an error.
func StatusForm(m Message, status string, errorCode int) url.Values {
	f := url.Values{
		"MessageSid":    {m.SID},
		"SmsSid":        {m.SID},
		"MessageStatus": {status},
		"SmsStatus":     {status},
		"AccountSid":    {m.AccountSID},
		"To":            {m.To},
		"ApiVersion":    {APIVersion},
	}
	if m.From != "" {
		f.Set("From", m.From)
	}
	if m.MessagingServiceSID != "" {
		f.Set("MessagingServiceSid", m.MessagingServiceSID)
	}
	if errorCode != 0 {
		f.Set("ErrorCode", strconv.Itoa(errorCode))
	}
	return f
}

// SendStatus delivers a status callback for the accepted message sid to the StatusCallback URL
// it was sent with, signed with the server's auth token. The caller closes the body.
func (s *Server) SendStatus(ctx context.Context, sid, status string, errorCode int) (*http.Response, error) {
	m, ok := s.Message(sid)
	if !ok {
		return nil, fmt.Errorf("sandbox: no accepted message %s", sid)
	}
	if m.StatusCallback == "" {
		return nil, fmt.Errorf("sandbox: message %s was sent without StatusCallback", sid)
	}
	return PostForm(ctx, m.StatusCallback, s.AuthToken, StatusForm(m, status, errorCode))
}

// InboundForm is the form Twilio posts to a number's messaging webhook when an SMS from from
// to to arrives, with a fresh MessageSid. Add or override fields (MessagingServiceSid,
// NumMedia/MediaUrl0…) before posting it with PostForm.
func InboundForm(accountSID, from, to, body string) url.Values {
	sid := NewSID("SM")
	return url.Values{
		"MessageSid":    {sid},
		"SmsMessageSid": {sid},
		"SmsSid":        {sid},
		"AccountSid":    {accountSID},
		"From":          {from},
		"To":            {to},
		"Body":          {body},
		"NumMedia":      {"0"},
		"NumSegments":   {"1"},
		"SmsStatus":     {"received"},
		"ApiVersion":    {APIVersion},
	}
}

// InboundSMS is the form and X-Twilio-Signature Twilio would send to the messaging webhook at
// publicURL (exactly as Twilio is configured to call it) for an SMS from from to to: what
// `twilio-connector dev` prints as a ready-to-paste curl.
func InboundSMS(publicURL, accountSID, authToken, from, to, body string) (form url.Values, signature string) {
	form = InboundForm(accountSID, from, to, body)
	return form, Sign(authToken, publicURL, form)
}
