package test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twilio-connector/twilio-connector/actions"
	"github.com/twilio-connector/twilio-connector/test/loopback"
	"github.com/twilio-connector/twilio-connector/test/wait"
)

func freeAddr(t *testing.T) string {
	return fmt.Sprintf("127.0.0.1:%d", loopback.FreePort(t))
}

// connectorEnv is the environment of a connector process talking to the world.
func (w *world) connectorEnv(t *testing.T, httpAddr string) []string {
	return []string{
		"PATH=/usr/bin:/bin",
		"TWILIO_ACCOUNT=" + w.twilio.AccountSID,
		"TWILIO_TOKEN=" + w.twilio.AuthToken,
		"TWILIO_API_BASE_URL=" + w.twilio.URL(),
		"TWILIO_DEFAULT_FROM=+15005550006",
		"ZEEBE_ADDRESS=" + w.addr,
		"ZEEBE_INSECURE_CONNECTION=true",
		"CONNECTOR_HTTP_ADDR=" + httpAddr,
		"CONNECTOR_STATE_FILE=" + filepath.Join(t.TempDir(), "state.db"),
		"CONNECTOR_POLL_INTERVAL=20ms",
		"CONNECTOR_REQUEST_TIMEOUT=1s",
		"CONNECTOR_SHUTDOWN_GRACE=10s",
		"CONNECTOR_LOG_LEVEL=debug",
	}
}

// httpGet fetches a URL of a connector under test (status code, body).
var httpGet = loopback.Get

// `twilio-connector run` as an operator starts it: it becomes ready, serves jobs, exposes
// metrics, and stops cleanly on SIGTERM without logging the token.
func TestRunBinary(t *testing.T) {
	w := newWorld(t)
	p := w.startRun(t)
	p.waitReady(t)
	httpAddr := p.httpAddr
	if code, body := httpGet("http://" + httpAddr + "/healthz"); code != 200 {
		t.Fatalf("/healthz %d %s", code, body)
	}

	vars := w.runProcess(t, "notify", map[string]any{"smsTo": []string{alice, "nope"}, "smsBody": "Table for ${n}", "n": 2})
	res := resultOf(t, vars)
	if res.TwilioResult[0].SID == nil || len(res.TwilioError) != 1 || res.TwilioError[0].Code != "INVALID_TO_PHONE_NUMBER_ERROR" {
		t.Fatalf("%+v", res)
	}
	if m := w.twilio.Sent(); len(m) != 1 || m[0].Body != "Table for 2" || m[0].From != "+15005550006" {
		t.Fatalf("sent %+v", m)
	}
	// The engine answers CreateInstanceWithResult before the worker's CompleteJob call
	// returns, so the job count may lag the result by a moment.
	var metrics string
	wants := []string{
		`twilio_connector_jobs_total{outcome="completed",type="twilioConnector.send_sms"} 1`,
		`twilio_connector_sends_total{connection="default",kind="sms",outcome="sent",provider="twilio"} 1`,
	}
	wait.Until(t, 5*time.Second, "the job and the send in /metrics", func() bool {
		_, metrics = httpGet("http://" + httpAddr + "/metrics")
		for _, want := range wants {
			if !strings.Contains(metrics, want) {
				return false
			}
		}
		return true
	})

	p.stop(t)
	logs := p.stderr.String()
	if strings.Contains(logs, w.twilio.AuthToken) || strings.Contains(metrics, w.twilio.AuthToken) {
		t.Fatal("the auth token appears in the logs or metrics")
	}
	if !strings.Contains(logs, `"msg":"stopped"`) {
		t.Errorf("no clean stop in the logs:\n%s", logs)
	}
}

func TestRunBinaryConfigurationErrors(t *testing.T) {
	for _, c := range []struct {
		env  []string
		want string
	}{
		{[]string{"ZEEBE_ADDRESS=127.0.0.1:1"}, "configuration: TWILIO_ACCOUNT: is not set"},
		{[]string{"TWILIO_ACCOUNT=AC0123456789abcdef0123456789abcdef", "TWILIO_TOKEN=abc", "ZEEBE_ADDRESS=127.0.0.1:1", "CONNECTOR_JOB_TIMEOUT=soon"}, "configuration: CONNECTOR_JOB_TIMEOUT:"},
		{[]string{"TWILIO_ACCOUNT=AC0123456789abcdef0123456789abcdef", "TWILIO_TOKEN=abc"}, "configuration: ZEEBE_ADDRESS: is not set"},
	} {
		cmd := exec.Command(binary, "run")
		cmd.Env = append([]string{"PATH=/usr/bin:/bin"}, c.env...)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		err := cmd.Run()
		if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
			t.Errorf("%v: exit %v, want status 1", c.env, err)
		}
		lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
		if len(lines) != 1 || !strings.Contains(lines[0], c.want) {
			t.Errorf("%v: stderr %q, want one line with %q", c.env, stderr.String(), c.want)
		}
	}
}

// `twilio-connector send` prints the job's result JSON for a real send.
func TestSendBinary(t *testing.T) {
	w := newWorld(t)
	cmd := exec.Command(binary, "send", "--to", alice, "--to", bob, "--body", "Hi ${who}", "--vars", `{"who":"there"}`)
	cmd.Env = w.connectorEnv(t, "127.0.0.1:0")
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	var res actions.Result
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(res.TwilioResult) != 2 || res.TwilioError != nil || w.twilio.CountSentTo(alice) != 1 || w.twilio.CountSentTo(bob) != 1 {
		t.Fatalf("%s", out)
	}
}
