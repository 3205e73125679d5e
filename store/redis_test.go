package store

import (
	"context"
	"sort"
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

// The Store contract on a real Redis; expiry uses Redis's own clock, so short real TTLs.
func TestRedisContract(t *testing.T) {
	srv := redistest.Start(t)
	ctx := context.Background()
	s := openRedis(t, srv.URL, "test:")

	if _, ok, err := s.Get(ctx, "sends", "job1/+1"); err != nil || ok {
		t.Fatalf("get on empty store: ok=%v err=%v", ok, err)
	}
	if err := s.Put(ctx, "sends", "job1/+1", []byte("SM1"), 0); err != nil {
		t.Fatal(err)
	}
	if v, ok, err := s.Get(ctx, "sends", "job1/+1"); err != nil || !ok || string(v) != "SM1" {
		t.Fatalf("get after put = %q %v %v", v, ok, err)
	}
	if _, ok, _ := s.Get(ctx, "other", "job1/+1"); ok {
		t.Fatal("buckets are not separate")
	}
	if stored, err := s.PutIfAbsent(ctx, "claims", "k", []byte("a"), 150*time.Millisecond); err != nil || !stored {
		t.Fatalf("first PutIfAbsent = %v %v", stored, err)
	}
	if stored, _ := s.PutIfAbsent(ctx, "claims", "k", []byte("b"), time.Minute); stored {
		t.Fatal("second PutIfAbsent stored over a live entry")
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, ok, _ := s.Get(ctx, "claims", "k"); !ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("entry outlived its ttl")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if stored, _ := s.PutIfAbsent(ctx, "claims", "k", []byte("c"), time.Minute); !stored {
		t.Fatal("PutIfAbsent refused an expired entry")
	}

	for _, k := range []string{"x", "y", "z"} {
		if err := s.Put(ctx, "outbox", k, []byte(k+k), 0); err != nil {
			t.Fatal(err)
		}
	}
	s.Put(ctx, "outbox", "brief", []byte("b"), 50*time.Millisecond)
	if err := s.Delete(ctx, "outbox", "y"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "outbox", "absent"); err != nil {
		t.Fatalf("delete of absent key: %v", err)
	}
	time.Sleep(100 * time.Millisecond) // let "brief" expire: Scan must not return it
	var keys []string
	if err := s.Scan(ctx, "outbox", func(k string, v []byte) error {
		if string(v) != k+k {
			t.Errorf("scan %s = %q", k, v)
		}
		keys = append(keys, k)
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	sort.Strings(keys)
	if strings.Join(keys, ",") != "x,z" {
		t.Fatalf("scan keys = %v", keys)
	}

	// Another prefix is another deployment: it sees nothing of this one.
	other := openRedis(t, srv.URL, "other:")
	if _, ok, _ := other.Get(ctx, "sends", "job1/+1"); ok {
		t.Fatal("prefixes do not separate deployments")
	}

	s.Close()
	if _, _, err := s.Get(ctx, "outbox", "x"); err != ErrClosed {
		t.Fatalf("get on closed store: %v", err)
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
