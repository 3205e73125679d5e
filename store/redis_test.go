package store

import (
	"context"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twilio-connector/twilio-connector/test/redistest"
)

func openRedis(t *testing.T, url, prefix string) *Redis {
	t.Helper()
	r, err := OpenRedis(context.Background(), url, prefix, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close() })
	return r
}

// The Store contract on a real Redis; expiry runs on Redis's own clock, in real time.
func TestRedisContract(t *testing.T) {
	srv := redistest.Start(t)
	r, err := OpenRedis(context.Background(), srv.URL, "test:", contractRetention)
	if err != nil {
		t.Fatal(err)
	}
	testContract(t, r, time.Sleep)

	// Another prefix is another deployment: it sees nothing of this one.
	ctx := context.Background()
	a, b := openRedis(t, srv.URL, "a:"), openRedis(t, srv.URL, "b:")
	if err := a.Put(ctx, "sends", "job1/+1", []byte("SM1"), 0); err != nil {
		t.Fatal(err)
	}
	if _, ok, _ := b.Get(ctx, "sends", "job1/+1"); ok {
		t.Fatal("prefixes do not separate deployments")
	}
}

// Two replicas racing to claim the same key: exactly one wins.
func TestRedisReplicasClaimOnce(t *testing.T) {
	srv := redistest.Start(t)
	a, b := openRedis(t, srv.URL, ""), openRedis(t, srv.URL, "")
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := 0; i < 64; i++ {
		s := a
		if i%2 == 1 {
			s = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := s.PutIfAbsent(context.Background(), "inbound", "SM123", []byte("1"), 0)
			if err != nil {
				t.Error(err)
			}
			if ok {
				wins.Add(1)
			}
		}()
	}
	wg.Wait()
	if wins.Load() != 1 {
		t.Fatalf("%d claims won, want 1", wins.Load())
	}
}

func TestRedisErrorsHideThePassword(t *testing.T) {
	_, err := OpenRedis(context.Background(), "redis://user:s3cretpassw0rd@127.0.0.1:1/0", "", 0)
	if err == nil || strings.Contains(err.Error(), "s3cretpassw0rd") {
		t.Fatalf("err = %v", err)
	}
}

func TestRedisDirectory(t *testing.T) {
	srv := redistest.Start(t)
	r := openRedis(t, srv.URL, "")
	ctx := context.Background()
	if err := r.client.HSet(ctx, "users.mary.major", "phone", "+14155550101", "email", "m@example.com").Err(); err != nil {
		t.Fatal(err)
	}
	d := RedisDirectory{R: r}
	if p, ok, err := d.Phone(ctx, "mary.major"); err != nil || !ok || p != "+14155550101" {
		t.Fatalf("mary.major = %q %v %v", p, ok, err)
	}
	if _, ok, err := d.Phone(ctx, "nobody"); err != nil || ok {
		t.Fatalf("nobody: %v %v", ok, err)
	}
}
