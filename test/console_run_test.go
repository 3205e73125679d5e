package test

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

// `run` serves the console only with CONNECTOR_CONSOLE=true, and then only after a sign-in with
// the console password; the password never reaches the log.
func TestConsoleInRunNeedsASignIn(t *testing.T) {
	w := newWorld(t)
	off := w.startRun(t)
	off.waitReady(t)
	if code, _ := httpGet("http://" + off.httpAddr + "/console/send"); code != http.StatusNotFound {
		t.Fatalf("without CONNECTOR_CONSOLE: /console/send answered %d, want 404", code)
	}

	const password = "console-password-0123456789"
	p := w.startRun(t, "CONNECTOR_CONSOLE=true", "CONNECTOR_CONSOLE_PASSWORD="+password)
	p.waitReady(t)
	jar, _ := cookiejar.New(nil)
	client := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	base := "http://" + p.httpAddr + "/console/"
	do := func(res *http.Response, err error) (int, string, string) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, res.Header.Get("Location"), string(b)
	}
	if code, to, _ := do(client.Get(base + "send")); code != http.StatusSeeOther || to != "/console/login" {
		t.Fatalf("before signing in: %d to %q, want 303 to the sign-in page", code, to)
	}
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	_, _, page := do(client.Get(base + "login"))
	m := csrf.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no sign-in form:\n%s", page)
	}
	if code, to, _ := do(client.PostForm(base+"login", url.Values{"csrf": {m[1]}, "secret": {password}})); code != http.StatusSeeOther || to != "/console/send" {
		t.Fatalf("signing in: %d to %q", code, to)
	}
	_, _, page = do(client.Get(base + "send"))
	if m = csrf.FindStringSubmatch(page); m == nil {
		t.Fatalf("no Send form after signing in:\n%s", page)
	}
	code, _, page := do(client.PostForm(base+"send", url.Values{"csrf": {m[1]}, "to": {"+14155550100"}, "body": {"Hi ${name}"},
		"variables": {`{"name": "Ana"}`}, "testing": {"true"}}))
	if code != http.StatusOK || !strings.Contains(page, "&#34;status&#34;: &#34;testing&#34;") || !strings.Contains(page, "Hi Ana") {
		t.Fatalf("a testing send: %d\n%s", code, page)
	}
	if strings.Contains(p.stderr.String(), password) {
		t.Fatal("the console password appears in the log")
	}
}
