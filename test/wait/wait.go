// Package wait polls a condition in tests until it holds or time runs out.
package wait

import (
	"testing"
	"time"
)

// Until polls cond every 10 ms until it holds, failing the test when within has passed.
func Until(t testing.TB, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
