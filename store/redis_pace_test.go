package store

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/twilio-connector/twilio-connector/pace"
	"github.com/twilio-connector/twilio-connector/test/redistest"
)

// near reports whether got is want within the real time a test's Redis calls take.
func near(got, want time.Duration) bool { return got > want-5*time.Second && got <= want }

// Two replicas booking one sender's bucket at once: every booking gets its own slot, one hold
// after the other, as one process would give them. Holds of an hour make the real time the
// calls take negligible.
func TestRedisPaceSharedByReplicas(t *testing.T) {
	srv := redistest.Start(t)
	replicas := []*Redis{openRedis(t, srv.URL, "p:"), openRedis(t, srv.URL, "p:")}
	ctx := context.Background()
	claim := []pace.Claim{{Key: "pace:AC1:+15005550006", Hold: time.Hour}}
	const n = 20
	waits := make([]time.Duration, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b, err := replicas[i%2].Reserve(ctx, claim, 100*time.Hour)
			if err != nil || !b.OK {
				t.Errorf("booking %d: %+v %v", i, b, err)
			}
			waits[i] = b.Wait
		}()
	}
	wg.Wait()
	slices.Sort(waits)
	for i, w := range waits {
		if !near(w, time.Duration(i)*time.Hour) {
			t.Fatalf("waits %v: booking %d waits %v, want %dh (each booking its own slot)", waits, i, w, i)
		}
	}

	// Beyond maxWait nothing is booked, and the answer says how far the slot is.
	r := replicas[0]
	b, err := r.Reserve(ctx, claim, 30*time.Minute)
	if err != nil || b.OK || !near(b.Wait, n*time.Hour) {
		t.Fatalf("booking past maxWait = %+v %v, want not booked, wait %dh", b, err, n)
	}
	// Giving back the latest booking frees its slot; one under a later booking stays taken.
	last, _ := r.Reserve(ctx, claim, 100*time.Hour)
	last.Cancel()
	mid, _ := r.Reserve(ctx, claim, 100*time.Hour)
	if !near(mid.Wait, n*time.Hour) {
		t.Fatalf("after giving back the latest booking the next waits %v, want %dh", mid.Wait, n)
	}
	r.Reserve(ctx, claim, 100*time.Hour)
	mid.Cancel()
	if next, _ := r.Reserve(ctx, claim, 100*time.Hour); !near(next.Wait, (n+2)*time.Hour) {
		t.Fatalf("after giving back a booking under a later one the next waits %v, want %dh", next.Wait, n+2)
	}
	// Keys live in the deployment's prefix and expire once the bucket is free again.
	ttl, err := r.client.PTTL(ctx, "p:pace:AC1:+15005550006").Result()
	if err != nil || !near(ttl, (n+3)*time.Hour+time.Second) {
		t.Fatalf("bucket key TTL %v %v, want about %dh", ttl, err, n+3)
	}
}

// An account cap and a sender are booked together, at the later of the two.
func TestRedisPaceSeveralBuckets(t *testing.T) {
	srv := redistest.Start(t)
	r := openRedis(t, srv.URL, "")
	ctx := context.Background()
	acct := pace.Claim{Key: "pace:AC1", Hold: 2 * time.Hour}
	sender := pace.Claim{Key: "pace:AC1:+15005550006", Hold: time.Hour}
	for i, c := range []struct {
		claims []pace.Claim
		want   time.Duration
	}{
		{[]pace.Claim{acct}, 0},
		{[]pace.Claim{sender, acct}, 2 * time.Hour},
		{[]pace.Claim{sender}, 3 * time.Hour},
		{[]pace.Claim{acct}, 4 * time.Hour},
	} {
		b, err := r.Reserve(ctx, c.claims, 100*time.Hour)
		if err != nil || !b.OK || !near(b.Wait, c.want) {
			t.Fatalf("booking %d = %+v %v, want wait %v", i, b, err, c.want)
		}
	}
}
