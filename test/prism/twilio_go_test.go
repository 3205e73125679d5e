package prism

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twilio/twilio-go/client"
	api "github.com/twilio/twilio-go/rest/api/v2010"
)

// rewrite sends twilio-go's requests, which always go to https://api.twilio.com, to base.
type rewrite struct{ base *url.URL }

func (r rewrite) RoundTrip(req *http.Request) (*http.Response, error) {
	req = req.Clone(req.Context())
	req.URL.Scheme, req.URL.Host = r.base.Scheme, r.base.Host
	return http.DefaultTransport.RoundTrip(req)
}

// The requests twilio-go builds, repeated MediaUrl included, must satisfy the contract.
func TestTwilioGoRequestsPass(t *testing.T) {
	base, err := url.Parse(Shared(t))
	if err != nil {
		t.Fatal(err)
	}
	c := &client.Client{
		Credentials: client.NewCredentials(accountSID, "0123456789abcdef0123456789abcdef"),
		HTTPClient:  &http.Client{Transport: rewrite{base}},
	}
	c.SetAccountSid(accountSID)
	svc := api.NewApiServiceWithClient(c)

	msg, err := svc.CreateMessage((&api.CreateMessageParams{}).
		SetTo("+15550100").SetFrom("+15005550006").SetBody("hello").
		SetMediaUrl([]string{"https://example.com/a.png", "https://example.com/b.png"}).
		SetStatusCallback("https://connector.example.com/status"))
	if err != nil {
		t.Fatalf("CreateMessage: %v", err)
	}
	if msg.Sid == nil || !strings.HasPrefix(*msg.Sid, "SM") {
		t.Errorf("message without SM sid: %+v", msg)
	}

	call, err := svc.CreateCall((&api.CreateCallParams{}).
		SetTo("+15550100").SetFrom("+15005550006").SetTwiml("<Response><Say>hi</Say></Response>").
		SetStatusCallbackEvent([]string{"initiated", "completed"}))
	if err != nil {
		t.Fatalf("CreateCall: %v", err)
	}
	if call.Sid == nil || !strings.HasPrefix(*call.Sid, "CA") {
		t.Errorf("call without CA sid: %+v", call)
	}

	_, err = svc.CreateMessage((&api.CreateMessageParams{}).SetFrom("+15005550006").SetBody("no To"))
	if err == nil {
		t.Fatal("a message without To passed the contract")
	}
}

func TestNotInstalled(t *testing.T) {
	root := t.TempDir()
	if err := os.WriteFile(filepath.Join(root, "go.mod"), []byte("module x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Chdir(root)
	_, err := start(t.TempDir())
	if _, ok := err.(notInstalledError); !ok || !strings.Contains(err.Error(), "run bash test/setup.sh") {
		t.Fatalf("start without prism: %v", err)
	}
}
