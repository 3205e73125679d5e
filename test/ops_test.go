package test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/twilio-connector/twilio-connector/bpmn/engine"
	"github.com/twilio-connector/twilio-connector/test/syncbuf"
	"github.com/twilio-connector/twilio-connector/test/wait"
)

// stop sends SIGTERM and returns how long the process took to exit cleanly.
func (p *connectorProcess) stop(t *testing.T) time.Duration {
	t.Helper()
	start := time.Now()
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case err := <-p.exited:
		if err != nil {
			t.Fatalf("exit after SIGTERM: %v\n%s", err, p.stderr.String())
		}
	case <-time.After(20 * time.Second):
		t.Fatalf("did not exit within 20s of SIGTERM\n%s", p.stderr.String())
	}
	return time.Since(start)
}

// An idle `run` with the default long-poll timeout stops at once on SIGTERM: the job poller's
// pending ActivateJobs long poll is cancelled instead of waited for.
func TestIdleRunStopsPromptly(t *testing.T) {
	w := newWorld(t)
	p := w.startRun(t, "CONNECTOR_REQUEST_TIMEOUT=10s", "CONNECTOR_POLL_INTERVAL=100ms")
	p.waitReady(t)
	time.Sleep(300 * time.Millisecond) // the poller is in a long poll
	// A correctness bound with a wide margin: the old stop waited for the long poll (10 s).
	took := p.stop(t)
	t.Logf("stopped %v after SIGTERM", took)
	if took > 5*time.Second {
		t.Fatalf("an idle run took %v to stop after SIGTERM\n%s", took, p.stderr.String())
	}
	if !strings.Contains(p.stderr.String(), `"msg":"stopped"`) {
		t.Errorf("no clean stop in the logs:\n%s", p.stderr.String())
	}
	for _, line := range strings.Split(p.stderr.String(), "\n") {
		if strings.Contains(line, "zeebe-client") && !strings.Contains(line, `"level":"DEBUG"`) {
			t.Errorf("the ended long poll is reported above debug: %s", line)
		}
	}
}

// /readyz answers 503 naming the gateway soon after the gateway goes away, and 200 with every
// dependency named while all are up.
func TestReadyzReportsTheGatewayDown(t *testing.T) {
	w, stopEngine := stoppableWorld(t)
	p := w.startRun(t)
	p.waitReady(t)
	if code, body := httpGet("http://" + p.httpAddr + "/readyz"); code != 200 || !strings.Contains(body, "zeebe") || !strings.Contains(body, "store") {
		t.Fatalf("/readyz %d %q, want 200 naming each dependency", code, body)
	}
	stopEngine()
	stopped := time.Now()
	var body string
	wait.Until(t, 4*time.Second, "/readyz to report the gateway down", func() bool {
		var code int
		code, body = httpGet("http://" + p.httpAddr + "/readyz")
		return code == 503
	})
	t.Logf("/readyz answered 503 %v after the engine stopped: %q", time.Since(stopped), body)
	if !strings.Contains(body, "zeebe: down") {
		t.Fatalf("/readyz body %q does not name the gateway", body)
	}
}

// With CONNECTOR_LOG_FORMAT=json every line on stderr is JSON, also those of the Zeebe client
// and gRPC, which log on their own while the gateway is unreachable.
func TestJSONLogsOnlyWhileTheGatewayIsUnreachable(t *testing.T) {
	w := newWorld(t)
	p := w.startRun(t, "ZEEBE_ADDRESS="+freeAddr(t), "CONNECTOR_LOG_FORMAT=json")
	wait.Until(t, 15*time.Second, "the Zeebe client to log a failed activation", func() bool {
		return strings.Contains(p.stderr.String(), "failed to open job stream")
	})
	p.stop(t)
	sc := bufio.NewScanner(strings.NewReader(p.stderr.String()))
	for sc.Scan() {
		var v map[string]any
		if err := json.Unmarshal(sc.Bytes(), &v); err != nil {
			t.Errorf("not a JSON line: %q", sc.Text())
		}
	}
}

// runOnce runs `twilio-connector run` with env until it exits, returning its exit code and
// stderr.
func runOnce(t *testing.T, env ...string) (int, string) {
	t.Helper()
	cmd := exec.Command(binary, "run")
	cmd.Env = append([]string{"PATH=/usr/bin:/bin", "TWILIO_ACCOUNT=AC0123456789abcdef0123456789abcdef", "TWILIO_TOKEN=abc",
		"ZEEBE_ADDRESS=" + freeAddr(t), "CONNECTOR_HTTP_ADDR=" + freeAddr(t)}, env...)
	var stderr syncbuf.Buffer
	cmd.Stderr = &stderr
	done := make(chan error, 1)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		ee, ok := err.(*exec.ExitError)
		if !ok {
			t.Fatalf("run exited with %v, want an error status\n%s", err, stderr.String())
		}
		return ee.ExitCode(), stderr.String()
	case <-time.After(15 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("run did not stop on its own within 15s\n%s", stderr.String())
		return 0, ""
	}
}

// wantOneLine checks a start failure: status 1 and one line naming want, no Go crash dump.
func wantOneLine(t *testing.T, code int, stderr string, want ...string) {
	t.Helper()
	lines := strings.Split(strings.TrimSpace(stderr), "\n")
	if code != 1 || len(lines) != 1 || strings.Contains(stderr, "goroutine") || strings.Contains(stderr, "panic") {
		t.Fatalf("exit %d, stderr:\n%s\nwant status 1 and one line", code, stderr)
	}
	for _, w := range want {
		if !strings.Contains(lines[0], w) {
			t.Errorf("%q does not say %q", lines[0], w)
		}
	}
}

func TestRunNeverEchoesTheRedisPassword(t *testing.T) {
	code, stderr := runOnce(t, "CONNECTOR_STATE_STORE=redis", "CONNECTOR_REDIS_URL=redis://:s3cr%tPW@host/0")
	wantOneLine(t, code, stderr, "CONNECTOR_REDIS_URL")
	if strings.Contains(stderr, "s3cr") {
		t.Fatalf("the password is in the output: %s", stderr)
	}
}

// A damaged state file, or one another connector holds, stops `run` with one line naming
// CONNECTOR_STATE_FILE and what to do.
func TestRunWithADamagedOrHeldStateFile(t *testing.T) {
	w := newWorld(t)
	dir := t.TempDir()
	good := filepath.Join(dir, "good.db")
	first := w.startRun(t, "CONNECTOR_STATE_FILE="+good)
	first.waitReady(t)
	data, err := os.ReadFile(good)
	if err != nil {
		t.Fatal(err)
	}
	code, stderr := runOnce(t, "CONNECTOR_STATE_FILE="+good)
	wantOneLine(t, code, stderr, "CONNECTOR_STATE_FILE", "another process holds "+good, "its own file")
	first.stop(t)

	truncated := filepath.Join(dir, "truncated.db")
	os.WriteFile(truncated, data[:len(data)/2], 0o600)
	code, stderr = runOnce(t, "CONNECTOR_STATE_FILE="+truncated)
	wantOneLine(t, code, stderr, "CONNECTOR_STATE_FILE", truncated+" is damaged", "move it aside")

	overwritten := filepath.Join(dir, "overwritten.db")
	pageSize := os.Getpagesize()
	garbage := append([]byte(nil), data...)
	for i := 2 * pageSize; i < len(garbage); i++ {
		garbage[i] = byte(i * 7)
	}
	os.WriteFile(overwritten, garbage, 0o600)
	code, stderr = runOnce(t, "CONNECTOR_STATE_FILE="+overwritten)
	wantOneLine(t, code, stderr, "CONNECTOR_STATE_FILE", overwritten+" is damaged", "move it aside")
}

// A slow-loris client, sending a request body a byte a second, is cut off by the read
// timeout instead of holding a connection and a goroutine for ever.
func TestSlowClientIsCutOffByTheReadTimeout(t *testing.T) {
	w := newWorld(t)
	p := w.startRun(t, "CONNECTOR_HTTP_READ_TIMEOUT=2s")
	p.waitReady(t)
	conn, err := net.Dial("tcp", p.httpAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	fmt.Fprintf(conn, "POST /twilio/sms HTTP/1.1\r\nHost: %s\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n", p.httpAddr)
	closed := make(chan struct{})
	go func() { io.Copy(io.Discard, conn); close(closed) }() // returns when the server closes
	for i := 0; ; i++ {
		select {
		case <-closed:
			return
		case <-time.After(time.Second):
		}
		if i == 15 {
			t.Fatal("the connection is still open after 15 s of a byte a second")
		}
		conn.Write([]byte("a"))
	}
}

// MQTT with a broker that does not answer: each failed connection attempt is logged (without
// the password) and /readyz names MQTT.
func TestRunReportsAnUnreachableMQTTBroker(t *testing.T) {
	w := newWorld(t)
	p := w.startRun(t, "CONNECTOR_MQTT_URL=tcp://edge:s3cretPW@"+freeAddr(t))
	wait.Until(t, 15*time.Second, "two failed MQTT connection attempts in the log", func() bool {
		return strings.Count(p.stderr.String(), "MQTT connection attempt failed") >= 2
	})
	code, body := httpGet("http://" + p.httpAddr + "/readyz")
	if code != 503 || !strings.Contains(body, "mqtt: down") || !strings.Contains(body, "zeebe: up") {
		t.Fatalf("/readyz %d %q, want 503 naming MQTT as down", code, body)
	}
	t.Logf("stopped %v after SIGTERM", p.stop(t))
	if strings.Contains(p.stderr.String(), "s3cretPW") {
		t.Fatalf("the broker password is in the logs:\n%s", p.stderr.String())
	}
}

// SIGTERM with a job in flight and an idle long poll pending: the long poll ends at once, the
// job still finishes and completes before the process exits.
func TestRunStopDrainsTheJobInFlight(t *testing.T) {
	w := newWorld(t)
	w.twilio.SetLatency(time.Second)
	p := w.startRun(t, "CONNECTOR_REQUEST_TIMEOUT=10s")
	p.waitReady(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	cmd, _ := w.client.NewCreateInstanceCommand().BPMNProcessId("notify").LatestVersion().VariablesFromMap(map[string]any{"smsTo": []string{alice}, "smsBody": "hi"})
	inst, err := cmd.Send(ctx)
	if err != nil {
		t.Fatal(err)
	}
	wait.Until(t, 5*time.Second, "the send to start", func() bool { return len(w.twilio.Requests()) == 1 })
	p.stop(t)
	if info, _ := w.eng.Instance(inst.GetProcessInstanceKey()); info.State != engine.StateCompleted {
		t.Fatalf("instance after the stop: %+v\n%s", info, p.stderr.String())
	}
	if n := w.twilio.CountSentTo(alice); n != 1 {
		t.Fatalf("alice got %d messages", n)
	}
}
