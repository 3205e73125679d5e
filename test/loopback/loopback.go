// Package loopback helps tests run servers on 127.0.0.1: a free port, and waiting until a
// started server listens.
package loopback

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/twilio-connector/twilio-connector/test/wait"
)

// FreePort returns a TCP port on 127.0.0.1 that was free a moment ago.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// WaitListening waits until something accepts connections on 127.0.0.1:port, failing the
// test after within.
func WaitListening(t testing.TB, port int, what string, within time.Duration) {
	t.Helper()
	wait.Until(t, within, fmt.Sprintf("%s to listen on %d", what, port), func() bool {
		c, err := net.Dial("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err == nil {
			c.Close()
		}
		return err == nil
	})
}

var client = &http.Client{Timeout: 10 * time.Second}

// Get fetches url and returns the status code and body; a request that fails gives 0 and the
// error's text.
func Get(url string) (int, string) {
	res, err := client.Get(url)
	if err != nil {
		return 0, err.Error()
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, string(b)
}
