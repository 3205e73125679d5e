package store

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"runtime/debug"
	"strings"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"
	berrors "go.etcd.io/bbolt/errors"
)

// Bolt is the default Store: one file on local disk (go.etcd.io/bbolt), nothing to install,
// for a single replica. Each value is stored with its expiry in front (8 bytes, Unix nanoseconds);
// expired entries read as absent and are removed by Open and by Sweep.
//
// Writes are group-committed: each bbolt transaction is fsync'd, so concurrent writes wait for
// the commit in progress and then go together in the next transaction (one fsync for all).
// Every write is still durable when its method returns.
type Bolt struct {
	db        *bolt.DB
	retention time.Duration
	now       func() time.Time

	mu         sync.Mutex
	queue      []write // writes waiting for the next commit
	committing bool    // a goroutine is committing the queue
}

// write is one Put, PutIfAbsent or Delete waiting for its commit.
type write struct {
	fn   func(*bolt.Tx) error
	done chan error
}

var _ Store = (*Bolt)(nil)

// OpenBolt opens (or creates) the database file at path and checks it. Only one process may
// open a file at a time; a second one fails after LockTimeout with an error saying so. A
// damaged file (truncated, overwritten pages) gives an error saying what to do, never a panic.
func OpenBolt(path string, retention time.Duration) (*Bolt, error) {
	if retention <= 0 {
		retention = DefaultRetention
	}
	b := &Bolt{retention: retention, now: time.Now}
	if err := b.openChecked(path); err != nil {
		return nil, err
	}
	return b, nil
}

// LockTimeout is how long OpenBolt waits for another process to release the file.
const LockTimeout = time.Second

// openChecked opens path, reads every page reachable from its meta pages and sweeps expired
// entries. bbolt trusts its file: a damaged one makes it panic, or fault on a page outside the
// mapped file, which would crash the process at every start; here both become an error.
func (b *Bolt) openChecked(path string) (err error) {
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			if b.db != nil {
				b.db.Close()
				b.db = nil
			}
			err = damaged(path, fmt.Sprint(r))
		}
	}()
	db, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: LockTimeout})
	var pathErr *fs.PathError
	switch {
	case errors.Is(err, berrors.ErrTimeout):
		return fmt.Errorf("another process holds %s (waited %v for its lock): stop it, or give this replica its own file (replicas sharing the work use CONNECTOR_STATE_STORE=redis)", path, LockTimeout)
	case errors.As(err, &pathErr):
		return fmt.Errorf("cannot open %s: %v", path, pathErr.Err)
	case err != nil:
		return damaged(path, err.Error())
	}
	b.db = db
	if err := db.View(checkTx); err != nil {
		db.Close()
		b.db = nil
		return damaged(path, err.Error())
	}
	if err := b.Sweep(); err != nil {
		db.Close()
		b.db = nil
		return damaged(path, err.Error())
	}
	return nil
}

// checkTx reads every key of every bucket (each page reachable from the root, in this
// goroutine, so a fault is recovered), then lets bbolt check the page accounting. Both take
// about 0.2 s for a file of 200,000 entries (100 MB) on a small machine.
func checkTx(tx *bolt.Tx) error {
	if err := tx.ForEach(func(_ []byte, bk *bolt.Bucket) error {
		return bk.ForEach(func(_, _ []byte) error { return nil })
	}); err != nil {
		return err
	}
	var first error
	for err := range tx.Check() { // drained: Check's goroutine sends every problem it finds
		if first == nil {
			first = err
		}
	}
	return first
}

// damaged is the error for a state file bbolt cannot use.
func damaged(path, reason string) error {
	reason = strings.Join(strings.Fields(reason), " ")
	return fmt.Errorf("%s is damaged (%s): move it aside (mv %s %s.damaged) and start again with a new file. "+
		"Only what it records is lost: which recipients of jobs and requests still being retried were already sent to (a retry may send to them again) "+
		"and inbound SMS not yet published to Zeebe", path, reason, path, path)
}

func encode(value []byte, expires time.Time) []byte {
	out := make([]byte, 8+len(value))
	binary.BigEndian.PutUint64(out, uint64(expires.UnixNano()))
	copy(out[8:], value)
	return out
}

func (b *Bolt) decode(raw []byte) ([]byte, bool) {
	if len(raw) < 8 {
		return nil, false
	}
	if b.now().UnixNano() >= int64(binary.BigEndian.Uint64(raw)) {
		return nil, false
	}
	return append([]byte(nil), raw[8:]...), true
}

func mapClosed(err error) error {
	if errors.Is(err, berrors.ErrDatabaseNotOpen) {
		return ErrClosed
	}
	return err
}

func (b *Bolt) Get(_ context.Context, bucket, key string) (value []byte, ok bool, err error) {
	err = b.db.View(func(tx *bolt.Tx) error {
		bk := tx.Bucket([]byte(bucket))
		if bk == nil {
			return nil
		}
		value, ok = b.decode(bk.Get([]byte(key)))
		return nil
	})
	return value, ok, mapClosed(err)
}

// update runs fn in a write transaction shared with the writes queued meanwhile and returns
// once it is committed. fn may run twice (see commit), so it must set its results afresh.
func (b *Bolt) update(fn func(*bolt.Tx) error) error {
	w := write{fn: fn, done: make(chan error, 1)}
	b.mu.Lock()
	b.queue = append(b.queue, w)
	if !b.committing {
		b.committing = true
		go b.commitQueued()
	}
	b.mu.Unlock()
	return mapClosed(<-w.done)
}

// commitQueued commits the queue, batch after batch, until it is empty.
func (b *Bolt) commitQueued() {
	for {
		b.mu.Lock()
		batch := b.queue
		b.queue = nil
		if len(batch) == 0 {
			b.committing = false
			b.mu.Unlock()
			return
		}
		b.mu.Unlock()
		b.commit(batch)
	}
}

// commit runs a batch of writes in one transaction. If one of them fails, the transaction is
// rolled back and each write runs again in its own, so a write fails only for its own error.
func (b *Bolt) commit(batch []write) {
	if len(batch) == 1 {
		batch[0].done <- b.db.Update(batch[0].fn)
		return
	}
	failed := false
	err := b.db.Update(func(tx *bolt.Tx) error {
		for _, w := range batch {
			if err := w.fn(tx); err != nil {
				failed = true
				return err
			}
		}
		return nil
	})
	for _, w := range batch {
		if failed {
			w.done <- b.db.Update(w.fn)
		} else {
			w.done <- err
		}
	}
}

func (b *Bolt) put(tx *bolt.Tx, e Entry) error {
	bk, err := tx.CreateBucketIfNotExists([]byte(e.Bucket))
	if err != nil {
		return err
	}
	return bk.Put([]byte(e.Key), encode(e.Value, expiry(b.now(), e.TTL, b.retention)))
}

func (b *Bolt) Put(_ context.Context, bucket, key string, value []byte, ttl time.Duration) error {
	return b.update(func(tx *bolt.Tx) error {
		return b.put(tx, Entry{Bucket: bucket, Key: key, Value: value, TTL: ttl})
	})
}

func (b *Bolt) PutIfAbsent(ctx context.Context, bucket, key string, value []byte, ttl time.Duration) (bool, error) {
	return b.ClaimWith(ctx, Entry{Bucket: bucket, Key: key, Value: value, TTL: ttl})
}

// ClaimWith writes the claim and its entries in one transaction: all are committed or none.
func (b *Bolt) ClaimWith(_ context.Context, claim Entry, with ...Entry) (stored bool, err error) {
	err = b.update(func(tx *bolt.Tx) error {
		stored = false
		if bk := tx.Bucket([]byte(claim.Bucket)); bk != nil {
			if _, live := b.decode(bk.Get([]byte(claim.Key))); live {
				return nil
			}
		}
		for _, e := range with {
			if err := b.put(tx, e); err != nil {
				return err
			}
		}
		if err := b.put(tx, claim); err != nil {
			return err
		}
		stored = true
		return nil
	})
	return stored && err == nil, err
}

func (b *Bolt) Delete(_ context.Context, bucket, key string) error {
	return b.update(func(tx *bolt.Tx) error {
		bk := tx.Bucket([]byte(bucket))
		if bk == nil {
			return nil
		}
		return bk.Delete([]byte(key))
	})
}

func (b *Bolt) Scan(_ context.Context, bucket string, fn func(key string, value []byte) error) error {
	type kv struct {
		k string
		v []byte
	}
	var entries []kv
	err := b.db.View(func(tx *bolt.Tx) error {
		bk := tx.Bucket([]byte(bucket))
		if bk == nil {
			return nil
		}
		return bk.ForEach(func(k, raw []byte) error {
			if v, ok := b.decode(raw); ok {
				entries = append(entries, kv{string(k), v})
			}
			return nil
		})
	})
	if err != nil {
		return mapClosed(err)
	}
	for _, e := range entries {
		if err := fn(e.k, e.v); err != nil {
			return err
		}
	}
	return nil
}

// Sweep deletes expired entries from every bucket.
func (b *Bolt) Sweep() error {
	return mapClosed(b.db.Update(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, bk *bolt.Bucket) error {
			c := bk.Cursor()
			for k, raw := c.First(); k != nil; k, raw = c.Next() {
				if _, ok := b.decode(raw); !ok {
					if err := c.Delete(); err != nil {
						return err
					}
				}
			}
			return nil
		})
	}))
}

func (b *Bolt) Close() error { return b.db.Close() }
