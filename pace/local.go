package pace

import (
	"context"
	"sync"
	"time"
)

// Local is the Limiter of one process (the memory and bolt stores): the buckets are in memory.
type Local struct {
	mu  sync.Mutex
	now func() time.Time
	// free is when each bucket is free again (the theoretical arrival time of the next send).
	free map[string]time.Time
}

// NewLocal returns an empty in-process Limiter.
func NewLocal() *Local { return &Local{now: time.Now, free: map[string]time.Time{}} }

// sweepAt is the bucket count above which Reserve forgets buckets that are free anyway.
const sweepAt = 1024

// Reserve implements Limiter.
func (l *Local) Reserve(_ context.Context, claims []Claim, maxWait time.Duration) (Booking, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	if len(l.free) > sweepAt {
		for k, t := range l.free {
			if !t.After(now) {
				delete(l.free, k)
			}
		}
	}
	start := now
	for _, c := range claims {
		if t := l.free[c.Key]; t.After(start) {
			start = t
		}
	}
	wait := start.Sub(now)
	if wait > maxWait {
		return Booking{Wait: wait}, nil
	}
	before := make([]time.Time, len(claims))
	booked := make([]time.Time, len(claims))
	for i, c := range claims {
		before[i], booked[i] = l.free[c.Key], start.Add(c.Hold)
		l.free[c.Key] = booked[i]
	}
	cancel := func() {
		l.mu.Lock()
		defer l.mu.Unlock()
		for i, c := range claims {
			if l.free[c.Key].Equal(booked[i]) {
				l.free[c.Key] = before[i]
			}
		}
	}
	return Booking{Wait: wait, OK: true, Cancel: cancel}, nil
}
