// Package redistest runs Debian's redis-server on loopback for tests (installed by
// test/setup.sh).
package redistest

import (
	"fmt"

	"os"
	"os/exec"
	"strconv"
	"testing"
	"time"

	"github.com/twilio-connector/twilio-connector/test/loopback"
)

// Server is one redis-server process.
type Server struct {
	URL  string
	port int
	dir  string
	cmd  *exec.Cmd
}

// Start runs redis-server on a free 127.0.0.1 port without persistence and stops it when the
// test ends. Without redis-server the test is skipped, or fails when $CI is set.
func Start(t testing.TB) *Server {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("redis-server is not installed: run bash test/setup.sh")
		}
		t.Skip("redis-server is not installed: run bash test/setup.sh")
	}
	port := loopback.FreePort(t)
	s := &Server{URL: fmt.Sprintf("redis://127.0.0.1:%d/0", port), port: port, dir: t.TempDir()}
	s.cmd = exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", s.dir)
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.cmd.Process.Kill(); s.cmd.Wait() })
	loopback.WaitListening(t, port, "redis-server", 10*time.Second)
	return s
}
