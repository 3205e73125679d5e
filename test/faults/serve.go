package faults

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// Serve runs h, a stand-in named standIn, on a loopback server until the test ends. At the end
// it calls release (which lets hanging handlers return, as httptest waits for them), closes the
// server, and reports each rule in unused() as an error: the code under test made fewer
// requests than the test expected.
func Serve(t testing.TB, standIn string, h http.Handler, release func(), unused func() []string) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(func() {
		release()
		srv.CloseClientConnections()
		srv.Close()
		for _, u := range unused() {
			t.Errorf("%s: %s: the code under test made fewer requests than the test expected", standIn, u)
		}
	})
	return srv
}
