package main

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twilio-connector/twilio-connector/actions"
	"github.com/twilio-connector/twilio-connector/config"
	"github.com/twilio-connector/twilio-connector/errs"
	"github.com/twilio-connector/twilio-connector/store"
	"github.com/twilio-connector/twilio-connector/test/twiliotest"
	"github.com/twilio-connector/twilio-connector/triggers"
)

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// The TWILIO_* account is the connection default; the file adds a second Twilio account with
// its own default sender and recipients, chosen by --connection.
func TestSendThroughNamedConnections(t *testing.T) {
	main, second := twiliotest.New(t), twiliotest.New(t)
	token := writeFile(t, "token", second.AuthToken+"\n")
	file := writeFile(t, "connections.yaml", `connections:
  marketing:
    provider: twilio
    account: `+second.AccountSID+`
    token_file: `+token+`
    api_base_url: `+second.URL()+`
    default_from: ACME
    default_to: ["+14155550101", "+14155550102"]
`)
	env := map[string]string{"TWILIO_ACCOUNT": main.AccountSID, "TWILIO_TOKEN": main.AuthToken, "TWILIO_API_BASE_URL": main.URL(),
		"TWILIO_DEFAULT_FROM": "+15005550006", "CONNECTOR_CONNECTIONS_FILE": file}

	code, out, errOut := run(t, env, "send", "--connection", "marketing", "--body", "hi")
	if code != 0 {
		t.Fatalf("exit %d: %s %s", code, out, errOut)
	}
	sent := second.Sent()
	if len(sent) != 2 || sent[0].From != "ACME" || len(main.Sent()) != 0 {
		t.Fatalf("second account got %+v; the default got %d", sent, len(main.Sent()))
	}
	if second.CountSentTo("+14155550101") != 1 || second.CountSentTo("+14155550102") != 1 {
		t.Fatalf("default_to not used: %+v", sent)
	}

	if code, out, errOut := run(t, env, "send", "--to", "+14155550103", "--body", "hi"); code != 0 || len(main.Sent()) != 1 || main.Sent()[0].From != "+15005550006" {
		t.Fatalf("default connection: exit %d %s %s; sent %+v", code, out, errOut, main.Sent())
	}

	code, out, _ = run(t, env, "send", "--connection", "nope", "--to", "+14155550103", "--body", "hi")
	var res actions.Result
	if err := json.Unmarshal([]byte(out), &res); err != nil || code != 1 {
		t.Fatalf("exit %d, %v: %s", code, err, out)
	}
	if f := res.Failure(); f == nil || f.Code != errs.InvalidInput || f.Field != "connection" || !strings.Contains(f.Message, "default, marketing") {
		t.Fatalf("unknown connection: %+v", f)
	}
}

// A bad connections file stops the start with one line naming the connection and the field,
// and never the secret.
func TestBadConnectionsFile(t *testing.T) {
	const account, secret = "AC0123456789abcdef0123456789abcdef", "sekret0123456789"
	tokenFile := writeFile(t, "token", secret)
	cases := []struct{ yaml, want string }{
		{"connections: {a: {provider: smoke}}", `connection a: provider is "smoke": give one of http, pushover, smpp, twilio`},
		{"connections: {a: {provider: twilio, account: " + account + "}}", "connection a: token is not set"},
		{"connections: {a: {provider: twilio, account: AC1, token: " + secret + "}}", "connection a: account is not an Account SID"},
		{"connections: {a: {provider: twilio, account: " + account + ", token: " + secret + ", token_file: " + tokenFile + "}}", "connection a: token is given twice"},
		{"connections: {a: {provider: twilio, account: " + account + ", token_file: /nonexistent/token}}", "connection a: token_file cannot be read"},
		{"connections: {a: {provider: twilio, account: " + account + ", token: " + secret + ", tokne: x}}", "connection a: tokne is not a field of a twilio connection"},
		{"connections: {a: {provider: twilio, account: " + account + ", token: " + secret + ", default_to: [\"+1\"]}}", "connection a: default_to has a bad recipient"},
		{"connections: {a: {provider: twilio, account: " + account + ", token: " + secret + ", default_from: \"12\"}}", "connection a: default_from is not a sender"},
		{"connections: {a: {provider: twilio, account: " + account + ", token: " + secret + ", messaging_service_sid: MG1}}", "connection a: messaging_service_sid is not a Messaging Service SID"},
		{"connections: {a: {provider: twilio, account: " + account + ", token: " + secret + ", api_base_url: nope}}", "connection a: api_base_url is not an absolute URL"},
		{"connections: {\"a b\": {provider: twilio}}", `connection "a b": the name may have only`},
		{"connections: [1]", "not YAML of the form connections"},
		// The fields indented as deep as the name: YAML's own error would quote the token.
		{"connections:\n  a:\n  provider: twilio\n  token: " + secret + "\n", "connection a (line 2) is not a map of fields"},
	}
	for _, c := range cases {
		file := writeFile(t, "connections.yaml", c.yaml)
		code, _, errOut := run(t, map[string]string{"CONNECTOR_CONNECTIONS_FILE": file}, "send", "--to", "+14155550100", "--body", "hi")
		line := strings.TrimSpace(errOut)
		if code == 0 || !strings.Contains(line, "CONNECTOR_CONNECTIONS_FILE: "+c.want) || strings.Contains(line, "\n") || strings.Contains(line, secret) {
			t.Errorf("%s:\nexit %d, stderr %q\nwant one line with %q", c.yaml, code, errOut, c.want)
		}
	}
	// The file may not redefine the TWILIO_* account.
	file := writeFile(t, "connections.yaml", "connections: {default: {provider: twilio, account: "+account+", token: "+secret+"}}")
	code, _, errOut := run(t, map[string]string{"CONNECTOR_CONNECTIONS_FILE": file, "TWILIO_ACCOUNT": account, "TWILIO_TOKEN": "tok"},
		"send", "--to", "+14155550100", "--body", "hi")
	if code == 0 || !strings.Contains(errOut, "connection default is the account of TWILIO_ACCOUNT") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
}

// Twilio's webhooks for every twilio connection verify with its own token and are its
// connection's, also when no TWILIO_* account is configured; other providers add no account.
func TestTwilioAccountsOfTheConnections(t *testing.T) {
	first, second := twiliotest.New(t), twiliotest.New(t)
	file := writeFile(t, "connections.yaml", `connections:
  first:
    provider: twilio
    account: `+first.AccountSID+`
    token: `+first.AuthToken+`
  second:
    provider: twilio
    account: `+second.AccountSID+`
    token: `+second.AuthToken+`
  push:
    provider: pushover
    token: azGDORePK8gMaC0QOYAMyEEuzJnyUi
`)
	cfg := config.Default()
	cfg.ConnectionsFile = file
	conns, err := newConnections(cfg, store.NewMemory(0))
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]triggers.Account{first.AccountSID: {Token: first.AuthToken, Connection: "first"},
		second.AccountSID: {Token: second.AuthToken, Connection: "second"}}
	if got := twilioAccounts(conns); !maps.Equal(got, want) {
		t.Errorf("accounts %v, want %v", got, want)
	}
}
