package store

import (
	"context"
	"sync"
	"time"
)

// Memory is an in-process Store for tests and `send`: nothing survives a restart.
type Memory struct {
	mu        sync.Mutex
	buckets   map[string]map[string]memEntry
	retention time.Duration
	closed    bool
	now       func() time.Time
}

type memEntry struct {
	value   []byte
	expires time.Time
}

var _ Store = (*Memory)(nil)

// NewMemory returns an empty in-memory store; retention 0 means DefaultRetention.
func NewMemory(retention time.Duration) *Memory {
	if retention <= 0 {
		retention = DefaultRetention
	}
	return &Memory{buckets: map[string]map[string]memEntry{}, retention: retention, now: time.Now}
}

func (m *Memory) live(bucket, key string) (memEntry, bool) {
	e, ok := m.buckets[bucket][key]
	if !ok || !m.now().Before(e.expires) {
		return memEntry{}, false
	}
	return e, true
}

func (m *Memory) Get(_ context.Context, bucket, key string) ([]byte, bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, false, ErrClosed
	}
	e, ok := m.live(bucket, key)
	if !ok {
		return nil, false, nil
	}
	return append([]byte(nil), e.value...), true, nil
}

func (m *Memory) put(bucket, key string, value []byte, ttl time.Duration) {
	b := m.buckets[bucket]
	if b == nil {
		b = map[string]memEntry{}
		m.buckets[bucket] = b
	}
	b[key] = memEntry{value: append([]byte(nil), value...), expires: expiry(m.now(), ttl, m.retention)}
}

func (m *Memory) Put(_ context.Context, bucket, key string, value []byte, ttl time.Duration) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	m.put(bucket, key, value, ttl)
	return nil
}

func (m *Memory) PutIfAbsent(ctx context.Context, bucket, key string, value []byte, ttl time.Duration) (bool, error) {
	return m.ClaimWith(ctx, Entry{Bucket: bucket, Key: key, Value: value, TTL: ttl})
}

func (m *Memory) ClaimWith(_ context.Context, claim Entry, with ...Entry) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return false, ErrClosed
	}
	if _, ok := m.live(claim.Bucket, claim.Key); ok {
		return false, nil
	}
	for _, e := range with {
		m.put(e.Bucket, e.Key, e.Value, e.TTL)
	}
	m.put(claim.Bucket, claim.Key, claim.Value, claim.TTL)
	return true, nil
}

func (m *Memory) Delete(_ context.Context, bucket, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return ErrClosed
	}
	delete(m.buckets[bucket], key)
	return nil
}

func (m *Memory) Scan(_ context.Context, bucket string, fn func(key string, value []byte) error) error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return ErrClosed
	}
	type kv struct {
		k string
		v []byte
	}
	var entries []kv
	for k := range m.buckets[bucket] {
		if e, ok := m.live(bucket, k); ok {
			entries = append(entries, kv{k, append([]byte(nil), e.value...)})
		}
	}
	m.mu.Unlock()
	for _, e := range entries {
		if err := fn(e.k, e.v); err != nil {
			return err
		}
	}
	return nil
}

func (m *Memory) Close() error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.closed = true
	return nil
}
