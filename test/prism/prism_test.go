package prism

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestMain(m *testing.M) { os.Exit(Run(m)) }

const accountSID = "AC0123456789abcdef0123456789abcdef"

type answer struct {
	status int
	ctype  string
	body   map[string]any
}

func post(t *testing.T, base, path string, auth bool, form url.Values) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if auth {
		req.SetBasicAuth(accountSID, "0123456789abcdef0123456789abcdef")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	a := answer{status: resp.StatusCode, ctype: resp.Header.Get("Content-Type")}
	if err := json.NewDecoder(resp.Body).Decode(&a.body); err != nil {
		t.Fatalf("decode answer (HTTP %d): %v", a.status, err)
	}
	return a
}

func TestContract(t *testing.T) {
	base := Shared(t)
	messages := "/2010-04-01/Accounts/" + accountSID + "/Messages.json"
	calls := "/2010-04-01/Accounts/" + accountSID + "/Calls.json"
	tests := []struct {
		name   string
		path   string
		auth   bool
		form   url.Values
		status int
		// violation is a substring of the 422 validation message.
		violation string
	}{
		{name: "valid message", path: messages, auth: true,
			form: url.Values{"To": {"+15550100"}, "From": {"+15005550006"}, "Body": {"hello"}}, status: 201},
		{name: "message without To", path: messages, auth: true,
			form: url.Values{"From": {"+15005550006"}, "Body": {"hello"}}, status: 422, violation: "required property 'To'"},
		{name: "message without auth", path: messages,
			form: url.Values{"To": {"+15550100"}, "From": {"+15005550006"}, "Body": {"hello"}}, status: 401},
		{name: "StatusCallback not a URI", path: messages, auth: true,
			form: url.Values{"To": {"+15550100"}, "From": {"+15005550006"}, "Body": {"x"}, "StatusCallback": {"not a url"}}, status: 422, violation: "StatusCallback"},
		{name: "malformed MessagingServiceSid", path: messages, auth: true,
			form: url.Values{"To": {"+15550100"}, "MessagingServiceSid": {"MG123"}, "Body": {"x"}}, status: 422, violation: "MessagingServiceSid"},
		{name: "repeated MediaUrl, as Twilio clients send it", path: messages, auth: true,
			form: url.Values{"To": {"+15550100"}, "From": {"+15005550006"}, "MediaUrl": {"https://example.com/a.png", "https://example.com/b.png"}}, status: 201},
		{name: "bad account SID in path", path: "/2010-04-01/Accounts/AC123/Messages.json", auth: true,
			form: url.Values{"To": {"+15550100"}, "From": {"+15005550006"}, "Body": {"x"}}, status: 422, violation: "accountsid"},
		{name: "message options", path: messages, auth: true,
			form: url.Values{"To": {"+15550100"}, "MessagingServiceSid": {"MG0123456789abcdef0123456789abcdef"}, "Body": {"x"}, "ScheduleType": {"fixed"},
				"SendAt": {"2030-01-02T03:04:05Z"}, "ValidityPeriod": {"600"}, "SmartEncoded": {"true"}, "ShortenUrls": {"true"},
				"ContentSid": {"HX0123456789abcdef0123456789abcdef"}, "ContentVariables": {`{"1":"x"}`}}, status: 201},
		{name: "malformed ContentSid", path: messages, auth: true,
			form: url.Values{"To": {"+15550100"}, "From": {"+15005550006"}, "ContentSid": {"HX12"}}, status: 422, violation: "ContentSid"},
		{name: "SendAt not a date-time", path: messages, auth: true,
			form: url.Values{"To": {"+15550100"}, "MessagingServiceSid": {"MG0123456789abcdef0123456789abcdef"}, "Body": {"x"}, "ScheduleType": {"fixed"}, "SendAt": {"tomorrow"}}, status: 422, violation: "SendAt"},
		{name: "unknown ScheduleType", path: messages, auth: true,
			form: url.Values{"To": {"+15550100"}, "MessagingServiceSid": {"MG0123456789abcdef0123456789abcdef"}, "Body": {"x"}, "ScheduleType": {"later"}}, status: 422, violation: "ScheduleType"},
		{name: "ValidityPeriod not a number", path: messages, auth: true,
			form: url.Values{"To": {"+15550100"}, "From": {"+15005550006"}, "Body": {"x"}, "ValidityPeriod": {"soon"}}, status: 422, violation: "ValidityPeriod"},
		{name: "cancel a message", path: "/2010-04-01/Accounts/" + accountSID + "/Messages/SM0123456789abcdef0123456789abcdef.json", auth: true,
			form: url.Values{"Status": {"canceled"}}, status: 200},
		{name: "an unknown status for a message", path: "/2010-04-01/Accounts/" + accountSID + "/Messages/SM0123456789abcdef0123456789abcdef.json", auth: true,
			form: url.Values{"Status": {"stopped"}}, status: 422, violation: "Status"},
		{name: "call with repeated StatusCallbackEvent", path: calls, auth: true,
			form: url.Values{"To": {"+15550100"}, "From": {"+15005550006"}, "Url": {"https://example.com/t.xml"}, "StatusCallbackEvent": {"initiated", "completed"}}, status: 201},
		{name: "call without From", path: calls, auth: true,
			form: url.Values{"To": {"+15550100"}, "Url": {"https://example.com/t.xml"}}, status: 422, violation: "required property 'From'"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := post(t, base, tc.path, tc.auth, tc.form)
			if a.status != tc.status {
				t.Fatalf("HTTP %d, want %d: %v", a.status, tc.status, a.body)
			}
			switch tc.status {
			case 200, 201:
				if sid, _ := a.body["sid"].(string); len(sid) != 34 {
					t.Errorf("no sid in %v", a.body)
				}
			case 422:
				v, _ := json.Marshal(a.body["validation"])
				if a.ctype != "application/problem+json" || !strings.Contains(string(v), tc.violation) {
					t.Errorf("422 %s %s, want a violation mentioning %q", a.ctype, v, tc.violation)
				}
			}
		})
	}
}

func TestStartStopsPrismAtCleanup(t *testing.T) {
	var base string
	t.Run("instance", func(t *testing.T) {
		base = Start(t)
		if base == Shared(t) {
			t.Fatal("Start reused the shared instance")
		}
	})
	if base == "" {
		t.Skip("prism not installed")
	}
	client := &http.Client{Timeout: 2 * time.Second}
	if resp, err := client.Get(base + "/"); err == nil {
		resp.Body.Close()
		t.Fatalf("Prism at %s still answers after its test ended", base)
	}
}

// The spec is in the repository: a fresh clone needs nothing beside it.
func TestSpecPathInRepo(t *testing.T) {
	t.Setenv(SpecEnv, "")
	p, err := SpecPath()
	if err != nil {
		t.Fatal(err)
	}
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	if rel, err := filepath.Rel(root, p); err != nil || strings.HasPrefix(rel, "..") {
		t.Fatalf("SpecPath = %s, outside the repository %s", p, root)
	}
	raw, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		OpenAPI string         `json:"openapi"`
		Paths   map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatalf("%s: %v", p, err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") || doc.Paths["/2010-04-01/Accounts/{AccountSid}/Messages.json"] == nil {
		t.Errorf("%s is not Twilio's v2010 OpenAPI description (openapi %q, %d paths)", p, doc.OpenAPI, len(doc.Paths))
	}
	if _, err := os.Stat(filepath.Join(filepath.Dir(p), "LICENSE")); err != nil {
		t.Errorf("the spec's license is not beside it: %v", err)
	}
}

func TestSpecPathFromEnv(t *testing.T) {
	t.Setenv(SpecEnv, "/nonexistent/twilio.json")
	if _, err := SpecPath(); err == nil || !strings.Contains(err.Error(), SpecEnv) {
		t.Errorf("SpecPath with a missing $%s: %v", SpecEnv, err)
	}
	spec := t.TempDir() + "/spec.json"
	if err := os.WriteFile(spec, []byte("{}"), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Setenv(SpecEnv, spec)
	if got, err := SpecPath(); err != nil || got != spec {
		t.Errorf("SpecPath = %q, %v; want %q", got, err, spec)
	}
}
