package twiliotest

import (
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/twilio/twilio-go/client"
)

func TestSign(t *testing.T) {
	const docURL = "https://mycompany.com/myapp.php?foo=1&bar=2"
	tests := []struct {
		name  string
		token string
		url   string
		form  url.Values
		want  string
	}{
		{
			// twilio-go v1.31.0 client/request_validator_test.go
			name:  "twilio-go validator vector",
			token: "12345",
			url:   docURL,
			form: url.Values{
				"Digits": {"1234"}, "CallSid": {"CA1234567890ABCDE"}, "To": {"+18005551212"}, "Caller": {"+14158675309"},
				"From": {"+14158675309"}, "ReasonConferenceEnded": {"test"}, "Reason": {"Participant"},
			},
			want: "vOEb5UThFn24KEfnOFLQY2AE5FY=",
		},
		{
			// twilio.com/docs/usage/security#validating-requests
			name:  "Twilio docs vector",
			token: "12345",
			url:   docURL,
			form: url.Values{
				"CallSid": {"CA1234567890ABCDE"}, "Caller": {"+12349013030"}, "Digits": {"1234"},
				"From": {"+12349013030"}, "To": {"+18005551212"},
			},
			want: "0/KCTR6DLpKmkAf8muzZqo1nDgQ=",
		},
		{
			// twilio-php's validation guide
			name:  "twilio-php docs vector",
			token: "12345",
			url:   docURL,
			form: url.Values{
				"CallSid": {"CA1234567890ABCDE"}, "Caller": {"+14158675309"}, "Digits": {"1234"},
				"From": {"+14158675309"}, "To": {"+18005551212"},
			},
			want: "RSOYDt4T1cUTdK1PDd93/VVr8B8=",
		},
		{
			name:  "no parameters signs the URL alone",
			token: "12345",
			url:   docURL,
			form:  url.Values{},
			want:  hmacSHA1("12345", docURL),
		},
		{
			name:  "repeated key: every distinct value, sorted",
			token: "12345",
			url:   "https://example.com/hook",
			form:  url.Values{"MediaUrl": {"https://b", "https://a", "https://b"}, "Body": {"x"}},
			want:  hmacSHA1("12345", "https://example.com/hookBodyxMediaUrlhttps://aMediaUrlhttps://b"),
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := Sign(tc.token, tc.url, tc.form); got != tc.want {
				t.Errorf("Sign = %s, want %s", got, tc.want)
			}
		})
	}
}

func hmacSHA1(key, data string) string {
	mac := hmac.New(sha1.New, []byte(key))
	mac.Write([]byte(data))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// For single-valued forms Sign must agree with the validator the connector may use.
func TestSignAgreesWithTwilioGo(t *testing.T) {
	form := InboundForm(NewSID("AC"), "+15550100", "+15005550006", "Order Number 42 & ünïcode")
	params := map[string]string{}
	for k := range form {
		params[k] = form.Get(k)
	}
	const token = "0123456789abcdef0123456789abcdef"
	rawURL := "https://connector.example.com/inbound/sms?tenant=a"
	validator, other := client.NewRequestValidator(token), client.NewRequestValidator("another-token")
	if !validator.Validate(rawURL, params, Sign(token, rawURL, form)) {
		t.Fatal("twilio-go rejects the signature")
	}
	if other.Validate(rawURL, params, Sign(token, rawURL, form)) {
		t.Fatal("twilio-go accepts the signature under another token")
	}
}

type received struct {
	form      url.Values
	signature string
	ctype     string
	url       string
}

func receiver(t *testing.T) (*httptest.Server, chan received) {
	ch := make(chan received, 10)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_ = r.ParseForm()
		ch <- received{form: r.PostForm, signature: r.Header.Get(SignatureHeader), ctype: r.Header.Get("Content-Type"), url: r.URL.String()}
		io.WriteString(w, "<Response/>")
	}))
	t.Cleanup(srv.Close)
	return srv, ch
}

func TestPostForm(t *testing.T) {
	srv, ch := receiver(t)
	rawURL := srv.URL + "/inbound/sms?x=1"
	form := InboundForm("AC0123456789abcdef0123456789abcdef", "+15550100", "+15005550006", "hello")
	form.Add("MediaUrl0", "https://example.com/a.png")
	resp, err := PostForm(context.Background(), rawURL, "token", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	got := <-ch
	if got.ctype != "application/x-www-form-urlencoded" || got.url != "/inbound/sms?x=1" {
		t.Errorf("received %+v", got)
	}
	if got.form.Encode() != form.Encode() {
		t.Errorf("form %v, want %v", got.form, form)
	}
	if got.signature != Sign("token", rawURL, got.form) {
		t.Errorf("signature %q does not verify over the received form", got.signature)
	}
}

func TestSendStatus(t *testing.T) {
	hook, ch := receiver(t)
	s := New(t)
	callback := hook.URL + "/status?job=7"
	tests := []struct {
		name      string
		status    string
		errorCode int
	}{
		{"delivered", "delivered", 0},
		{"undelivered with error", "undelivered", 30003},
	}
	form := sms("+15550101")
	form.Set("StatusCallback", callback)
	r := sendSMS(t, s, form)
	sid := r.body["sid"].(string)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := s.SendStatus(context.Background(), sid, tc.status, tc.errorCode)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			got := <-ch
			want := url.Values{
				"MessageSid": {sid}, "SmsSid": {sid}, "MessageStatus": {tc.status}, "SmsStatus": {tc.status},
				"AccountSid": {s.AccountSID}, "To": {"+15550101"}, "From": {"+15005550006"}, "ApiVersion": {"2010-04-01"},
			}
			if tc.errorCode != 0 {
				want.Set("ErrorCode", "30003")
			}
			if got.form.Encode() != want.Encode() {
				t.Errorf("callback form\n%v\nwant\n%v", got.form, want)
			}
			if got.signature != Sign(s.AuthToken, callback, want) {
				t.Error("callback signature does not verify with the server's auth token and callback URL")
			}
		})
	}

	noCallback := sendSMS(t, s, sms("+15550102")).body["sid"].(string)
	for _, sid := range []string{noCallback, NewSID("SM")} {
		if _, err := s.SendStatus(context.Background(), sid, "delivered", 0); err == nil {
			t.Errorf("SendStatus(%s) succeeded without a callback URL", sid)
		}
	}
}
