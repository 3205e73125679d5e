// Package store is the connector's durable state (docs/design.md §7): what was sent per job and
// recipient, inbound MessageSids with their replies, and the outbox of unpublished events.
// Every implementation keeps entries for a retention window and then forgets them.
package store

import (
	"context"
	"errors"
	"time"
)

// Store is a small key-value interface over buckets. Implementations must be safe for
// concurrent use; PutIfAbsent must be atomic across every process sharing the store, because
// replicas use it to claim work.
type Store interface {
	// Get returns the value of key in bucket, and false when it is absent or expired.
	Get(ctx context.Context, bucket, key string) ([]byte, bool, error)
	// Put stores value under key for ttl (0 means the store's default retention).
	Put(ctx context.Context, bucket, key string, value []byte, ttl time.Duration) error
	// PutIfAbsent stores value only when key is absent or expired and reports whether it did.
	PutIfAbsent(ctx context.Context, bucket, key string, value []byte, ttl time.Duration) (bool, error)
	// ClaimWith is PutIfAbsent of claim that also stores every entry of with (overwriting
	// them) in the same atomic write, and reports whether it did. Neither a crash nor a failed
	// write can leave the claim stored without the entries that go with it: a claim marks work
	// as taken only once the work is recorded.
	ClaimWith(ctx context.Context, claim Entry, with ...Entry) (bool, error)
	// Delete removes key; deleting an absent key is not an error.
	Delete(ctx context.Context, bucket, key string) error
	// Scan calls fn for every live entry of bucket, in no particular order. fn must not call
	// back into the store.
	Scan(ctx context.Context, bucket string, fn func(key string, value []byte) error) error
	Close() error
}

// Entry is one key and value of ClaimWith; TTL 0 means the store's default retention.
type Entry struct {
	Bucket, Key string
	Value       []byte
	TTL         time.Duration
}

// DefaultRetention is how long entries live when Put is given no ttl: long enough to cover
// Zeebe's job timeouts and retries and Twilio's webhook redelivery.
const DefaultRetention = 7 * 24 * time.Hour

// ErrClosed is returned by every operation on a closed store.
var ErrClosed = errors.New("store: closed")

func expiry(now time.Time, ttl, def time.Duration) time.Time {
	if ttl <= 0 {
		ttl = def
	}
	return now.Add(ttl)
}
