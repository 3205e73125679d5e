package main

import (
	"bytes"
	"context"
	"encoding/json"
	"runtime"
	"runtime/debug"
	"strings"
	"testing"

	"github.com/twilio-connector/twilio-connector/actions"
)

func run(t *testing.T, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	for _, k := range []string{"TWILIO_ACCOUNT", "TWILIO_TOKEN", "TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_DEFAULT_FROM", "CONNECTOR_CONFIG_FILE", "CONNECTOR_CONNECTIONS_FILE", "TWILIO_API_BASE_URL"} {
		t.Setenv(k, "")
	}
	for k, v := range env {
		t.Setenv(k, v)
	}
	var out, errOut bytes.Buffer
	code := dispatch(context.Background(), args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestDispatch(t *testing.T) {
	cases := []struct {
		args     []string
		code     int
		inStdout string
		inStderr string
	}{
		{[]string{"help"}, 0, "Commands:", ""},
		{nil, 0, "send", ""},
		{[]string{"version"}, 0, "twilio-connector (devel) (commit ", ""},
		{[]string{"version", "extra"}, 2, "", "version takes no arguments"},
		{[]string{"frobnicate"}, 2, "", `unknown command "frobnicate"`},
		{[]string{"send", "--bogus"}, 2, "", "flag provided but not defined"},
		{[]string{"send", "--vars", "[1]", "--testing"}, 2, "", "--vars is not a JSON object"},
		{[]string{"send", "--to", "+14155550100", "--body", "hi"}, 1, "", "TWILIO_ACCOUNT: is not set"},
		{[]string{"run", "extra"}, 2, "", "run takes no arguments"},
	}
	for _, c := range cases {
		code, out, errOut := run(t, nil, c.args...)
		if code != c.code || !strings.Contains(out, c.inStdout) || !strings.Contains(errOut, c.inStderr) {
			t.Errorf("%v: code %d stdout %q stderr %q", c.args, code, out, errOut)
		}
	}
}

func TestSendTestingPrintsTheJobResult(t *testing.T) {
	code, out, errOut := run(t, map[string]string{"TWILIO_DEFAULT_FROM": "+15005550006"},
		"send", "--testing", "--to", "+14155550100", "--to", "+14155550101", "--body", "Order ${orderId} is ready", "--vars", `{"orderId": 1042}`)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var res actions.Result
	if err := json.Unmarshal([]byte(out), &res); err != nil {
		t.Fatalf("stdout is not the result JSON: %v\n%s", err, out)
	}
	if len(res.TwilioResult) != 2 || res.TwilioError != nil {
		t.Fatalf("%+v", res)
	}
	for _, r := range res.TwilioResult {
		if r.Status != actions.StatusTesting || r.Body != "Order 1,042 is ready" || r.SID != nil {
			t.Errorf("%+v", r)
		}
	}
}

func TestVersionLine(t *testing.T) {
	stamped := &debug.BuildInfo{Main: debug.Module{Version: "v1.4.0"}, Settings: []debug.BuildSetting{
		{Key: "vcs", Value: "git"}, {Key: "vcs.revision", Value: "c027d98e1f"}, {Key: "vcs.modified", Value: "true"}}}
	clean := &debug.BuildInfo{Main: debug.Module{Version: "v1.4.0"}, Settings: []debug.BuildSetting{
		{Key: "vcs.revision", Value: "c027d98e1f"}, {Key: "vcs.modified", Value: "false"}}}
	for _, c := range []struct {
		info                *debug.BuildInfo
		ldVersion, ldCommit string
		want                string
	}{
		{stamped, "", "", "twilio-connector v1.4.0 (commit c027d98e1f, modified; "},
		{clean, "", "", "twilio-connector v1.4.0 (commit c027d98e1f; "},
		{&debug.BuildInfo{Main: debug.Module{Version: "(devel)"}}, "", "", "twilio-connector (devel) (commit unknown; "},
		{nil, "", "", "twilio-connector (devel) (commit unknown; "},
		{&debug.BuildInfo{}, "v2.0.0", "0123abc", "twilio-connector v2.0.0 (commit 0123abc; "},
		{stamped, "v2.0.0", "0123abc", "twilio-connector v2.0.0 (commit 0123abc, modified; "},
	} {
		got := versionLine(c.info, c.ldVersion, c.ldCommit)
		if !strings.HasPrefix(got, c.want) || !strings.HasSuffix(got, runtime.Version()+" "+runtime.GOOS+"/"+runtime.GOARCH+")") {
			t.Errorf("versionLine(%+v, %q, %q) = %q, want %q…", c.info, c.ldVersion, c.ldCommit, got, c.want)
		}
	}
}
