package store

import (
	"context"
	"strings"
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

// Two replicas racing to claim the same key: exactly one wins, and its entries are stored.
func TestRedisReplicasClaimOnce(t *testing.T) {
	srv := redistest.Start(t)
	testClaimWithRace(t, openRedis(t, srv.URL, ""), openRedis(t, srv.URL, ""))
}

// A script that fails half-way keeps its earlier writes in Redis; ClaimWith writes the claim
// last, so a failure never leaves the claim without its entries.
func TestRedisClaimWithNeverStoresTheClaimAlone(t *testing.T) {
	srv := redistest.Start(t)
	r := openRedis(t, srv.URL, "")
	ctx := context.Background()
	// The index of bucket "work" is not a sorted set: writing an entry of that bucket fails.
	if err := r.client.Set(ctx, r.index("work"), "not a sorted set", 0).Err(); err != nil {
		t.Fatal(err)
	}
	stored, err := r.ClaimWith(ctx, Entry{Bucket: "inbound", Key: "SM1", Value: []byte("pending")},
		Entry{Bucket: "outbox", Key: "m1", Value: []byte("v")}, Entry{Bucket: "work", Key: "m2", Value: []byte("v")})
	if err == nil || stored {
		t.Fatalf("ClaimWith = %v %v, want the WRONGTYPE error", stored, err)
	}
	if _, ok, _ := r.Get(ctx, "inbound", "SM1"); ok {
		t.Fatal("the claim was stored although an entry with it failed")
	}
	if err := r.client.Del(ctx, r.index("work")).Err(); err != nil {
		t.Fatal(err)
	}
	if stored, err := r.ClaimWith(ctx, Entry{Bucket: "inbound", Key: "SM1", Value: []byte("pending")},
		Entry{Bucket: "work", Key: "m2", Value: []byte("v")}); err != nil || !stored {
		t.Fatalf("ClaimWith once the index is repaired = %v %v", stored, err)
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
	if p, ok, err := d.Lookup(ctx, "mary.major", "phone"); err != nil || !ok || p != "+14155550101" {
		t.Fatalf("mary.major = %q %v %v", p, ok, err)
	}
	if _, ok, err := d.Lookup(ctx, "nobody", "phone"); err != nil || ok {
		t.Fatalf("nobody: %v %v", ok, err)
	}
}
