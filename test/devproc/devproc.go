// Package devproc runs the built `twilio-connector dev` for end-to-end tests: on free loopback
// ports, in a clean environment, ready before the test goes on, stopped with Ctrl-C after.
package devproc

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/twilio-connector/twilio-connector/test/loopback"
	"github.com/twilio-connector/twilio-connector/test/syncbuf"
	"github.com/twilio-connector/twilio-connector/test/wait"
)

// Dev is a running dev: its gateway and HTTP addresses and its output.
type Dev struct {
	Gateway, HTTP  string
	Stdout, Stderr *syncbuf.Buffer
}

// Start runs bin's dev with flags and env added to a clean environment, waits until it is
// ready (/readyz answers 200 and it printed "Try it:") and stops it at the end of the test,
// failing the test if it does not exit cleanly within 15 s.
func Start(t testing.TB, bin string, flags []string, env ...string) *Dev {
	t.Helper()
	d := &Dev{
		Gateway: fmt.Sprintf("127.0.0.1:%d", loopback.FreePort(t)), HTTP: fmt.Sprintf("127.0.0.1:%d", loopback.FreePort(t)),
		Stdout: &syncbuf.Buffer{}, Stderr: &syncbuf.Buffer{},
	}
	cmd := exec.Command(bin, append([]string{"dev", "--gateway-addr", d.Gateway, "--http-addr", d.HTTP}, flags...)...)
	cmd.Env = append([]string{"PATH=/usr/bin:/bin", "HOME=" + t.TempDir(), "CONNECTOR_POLL_INTERVAL=20ms", "CONNECTOR_REQUEST_TIMEOUT=1s"}, env...)
	cmd.Stdout, cmd.Stderr = d.Stdout, d.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		select {
		case err := <-exited:
			if err != nil {
				t.Errorf("dev exited with %v after Ctrl-C", err)
			}
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			t.Errorf("dev did not stop within 15s of Ctrl-C")
		}
		if t.Failed() {
			t.Logf("dev stderr:\n%s", d.Stderr.String())
		}
	})
	wait.Until(t, 30*time.Second, "dev to be ready", func() bool {
		code, _ := loopback.Get("http://" + d.HTTP + "/readyz")
		return code == 200 && strings.Contains(d.Stdout.String(), "Try it:")
	})
	return d
}
