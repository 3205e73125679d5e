package store

import (
	"context"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// contractRetention is the default retention the contract opens stores with.
const contractRetention = time.Second

func implementations(t *testing.T) map[string]func(*clock) Store {
	return map[string]func(*clock) Store{
		"memory": func(c *clock) Store { m := NewMemory(contractRetention); m.now = c.now; return m },
		"bolt": func(c *clock) Store {
			b, err := OpenBolt(filepath.Join(t.TempDir(), "state.db"), contractRetention)
			if err != nil {
				t.Fatal(err)
			}
			b.now = c.now
			return b
		},
	}
}

func TestStoreContract(t *testing.T) {
	for name, open := range implementations(t) {
		t.Run(name, func(t *testing.T) {
			c := &clock{t: time.Unix(1_700_000_000, 0)}
			testContract(t, open(c), c.advance)
		})
	}
}

// testContract checks what every Store promises. s is opened with contractRetention; wait
// lets time pass (a fake clock, or Redis's own clock in real time).
func testContract(t *testing.T, s Store, wait func(time.Duration)) {
	t.Helper()
	ctx := context.Background()
	defer s.Close()
	const ttl = 200 * time.Millisecond
	past := func(d time.Duration) { wait(d + 100*time.Millisecond) }

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

	if stored, err := s.PutIfAbsent(ctx, "claims", "k", []byte("a"), ttl); err != nil || !stored {
		t.Fatalf("first PutIfAbsent = %v %v", stored, err)
	}
	if stored, _ := s.PutIfAbsent(ctx, "claims", "k", []byte("b"), time.Minute); stored {
		t.Fatal("second PutIfAbsent stored over a live entry")
	}
	past(ttl)
	if _, ok, _ := s.Get(ctx, "claims", "k"); ok {
		t.Fatal("entry outlived its ttl")
	}
	if stored, _ := s.PutIfAbsent(ctx, "claims", "k", []byte("c"), time.Minute); !stored {
		t.Fatal("PutIfAbsent refused an expired entry")
	}

	// ClaimWith stores the claim and the entries with it together, or nothing.
	get := func(bucket, key string) string {
		t.Helper()
		v, ok, err := s.Get(ctx, bucket, key)
		if err != nil {
			t.Fatal(err)
		}
		if !ok {
			return "(absent)"
		}
		return string(v)
	}
	work := func(key, value string) Entry {
		return Entry{Bucket: "work", Key: key, Value: []byte(value), TTL: time.Minute}
	}
	sm1 := func(value string) Entry { return Entry{Bucket: "inbound", Key: "SM1", Value: []byte(value), TTL: ttl} }
	if stored, err := s.ClaimWith(ctx, sm1("pending"), work("m1", "first"), work("m2", "first")); err != nil || !stored {
		t.Fatalf("first ClaimWith = %v %v", stored, err)
	}
	if got := get("inbound", "SM1") + " " + get("work", "m1") + " " + get("work", "m2"); got != "pending first first" {
		t.Fatalf("after ClaimWith: %s", got)
	}
	if stored, err := s.ClaimWith(ctx, sm1("again"), work("m1", "second"), work("m3", "second")); err != nil || stored {
		t.Fatalf("ClaimWith over a live claim = %v %v", stored, err)
	}
	if got := get("inbound", "SM1") + " " + get("work", "m1") + " " + get("work", "m3"); got != "pending first (absent)" {
		t.Fatalf("a refused ClaimWith wrote: %s", got)
	}
	past(ttl)
	if stored, err := s.ClaimWith(ctx, sm1("third"), work("m1", "third")); err != nil || !stored {
		t.Fatalf("ClaimWith over an expired claim = %v %v", stored, err)
	}
	if got := get("inbound", "SM1") + " " + get("work", "m1"); got != "third third" {
		t.Fatalf("after ClaimWith over an expired claim: %s", got)
	}

	for _, k := range []string{"x", "y", "z"} {
		if err := s.Put(ctx, "outbox", k, []byte(k+k), time.Minute); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Put(ctx, "outbox", "brief", []byte("b"), ttl); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "outbox", "y"); err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "outbox", "absent"); err != nil {
		t.Fatalf("delete of absent key: %v", err)
	}
	past(ttl) // "brief" expires: Scan must not return it
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

	// The default retention applies when ttl is 0.
	past(contractRetention)
	if _, ok, _ := s.Get(ctx, "sends", "job1/+1"); ok {
		t.Fatal("entry outlived the default retention")
	}

	s.Close()
	if _, _, err := s.Get(ctx, "outbox", "x"); err != ErrClosed {
		t.Fatalf("get on closed store: %v", err)
	}
}

func TestBoltSurvivesReopen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "state.db")
	b, err := OpenBolt(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Put(ctx, "sends", "job/+1", []byte(`{"sid":"SM1"}`), 0); err != nil {
		t.Fatal(err)
	}
	if err := b.Put(ctx, "sends", "short", []byte("x"), time.Nanosecond); err != nil {
		t.Fatal(err)
	}
	b.Close()

	b, err = OpenBolt(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	v, ok, err := b.Get(ctx, "sends", "job/+1")
	if err != nil || !ok || string(v) != `{"sid":"SM1"}` {
		t.Fatalf("after reopen: %q %v %v", v, ok, err)
	}
	n := 0
	b.db.View(func(tx *bolt.Tx) error { n = tx.Bucket([]byte("sends")).Stats().KeyN; return nil })
	if n != 1 {
		t.Fatalf("sweep on open left %d keys, want 1", n)
	}
}

func TestPutIfAbsentIsAtomic(t *testing.T) {
	ctx := context.Background()
	for name, open := range implementations(t) {
		t.Run(name, func(t *testing.T) {
			s := open(&clock{t: time.Now()})
			defer s.Close()
			var wg sync.WaitGroup
			var mu sync.Mutex
			wins := 0
			for i := 0; i < 32; i++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					ok, err := s.PutIfAbsent(ctx, "claims", "same", []byte("v"), 0)
					if err != nil {
						t.Error(err)
					}
					if ok {
						mu.Lock()
						wins++
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			if wins != 1 {
				t.Fatalf("%d goroutines claimed the same key, want 1", wins)
			}
		})
	}
}

// Racing ClaimWith calls on one key: one wins, and the entries stored are the winner's.
func TestClaimWithIsAtomic(t *testing.T) {
	for name, open := range implementations(t) {
		t.Run(name, func(t *testing.T) {
			s := open(&clock{t: time.Now()})
			defer s.Close()
			testClaimWithRace(t, s, s)
		})
	}
}

// testClaimWithRace runs 32 ClaimWith calls on one key, alternating between a and b (two
// replicas of one store, or the same one twice).
func testClaimWithRace(t *testing.T, a, b Store) {
	t.Helper()
	ctx := context.Background()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var winners []string
	for i := range 32 {
		s := a
		if i%2 == 1 {
			s = b
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			v := []byte(strconv.Itoa(i))
			ok, err := s.ClaimWith(ctx, Entry{Bucket: "claims", Key: "same", Value: v},
				Entry{Bucket: "work", Key: "w1", Value: v}, Entry{Bucket: "work", Key: "w2", Value: v})
			if err != nil {
				t.Error(err)
			}
			if ok {
				mu.Lock()
				winners = append(winners, string(v))
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	if len(winners) != 1 {
		t.Fatalf("%d calls claimed the same key (%v), want 1", len(winners), winners)
	}
	for _, k := range []struct{ bucket, key string }{{"claims", "same"}, {"work", "w1"}, {"work", "w2"}} {
		if v, _, err := a.Get(ctx, k.bucket, k.key); err != nil || string(v) != winners[0] {
			t.Errorf("%s/%s = %q %v, want the winner's %s", k.bucket, k.key, v, err, winners[0])
		}
	}
}

// A ClaimWith whose entries cannot all be written stores nothing, the claim least of all: a
// claim must never mark work taken that was not recorded.
func TestBoltClaimWithIsAllOrNothing(t *testing.T) {
	ctx := context.Background()
	b, err := OpenBolt(filepath.Join(t.TempDir(), "state.db"), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	stored, err := b.ClaimWith(ctx, Entry{Bucket: "inbound", Key: "SM1", Value: []byte("pending")},
		Entry{Bucket: "work", Key: "m1", Value: []byte("v")},
		Entry{Bucket: "work", Key: strings.Repeat("k", bolt.MaxKeySize+1), Value: []byte("v")})
	if err == nil || stored {
		t.Fatalf("ClaimWith with a key over bbolt's limit = %v %v, want an error", stored, err)
	}
	for _, k := range []string{"inbound/SM1", "work/m1"} {
		bucket, key, _ := strings.Cut(k, "/")
		if _, ok, _ := b.Get(ctx, bucket, key); ok {
			t.Errorf("%s was stored by a failed ClaimWith", k)
		}
	}
	if stored, err := b.ClaimWith(ctx, Entry{Bucket: "inbound", Key: "SM1", Value: []byte("pending")}); err != nil || !stored {
		t.Fatalf("the claim after a failed ClaimWith = %v %v", stored, err)
	}
}

// Concurrent bolt writes share transactions (group commit); one write failing must fail only
// itself, not the writes committed with it.
func TestBoltGroupCommitIsolatesFailures(t *testing.T) {
	ctx := context.Background()
	b, err := OpenBolt(filepath.Join(t.TempDir(), "state.db"), time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var wg sync.WaitGroup
	for i := 0; i < 64; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := string(rune('a'+i%26)) + string(rune('0'+i/26))
			if i%8 == 0 {
				key = "" // bbolt refuses an empty key
			}
			err := b.Put(ctx, "group", key, []byte("v"), 0)
			if (err != nil) != (key == "") {
				t.Errorf("Put(%q): %v", key, err)
			}
		}()
	}
	wg.Wait()
	n := 0
	if err := b.Scan(ctx, "group", func(string, []byte) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if n != 56 {
		t.Fatalf("%d keys stored, want 56", n)
	}
}
