package triggers

import (
	"maps"
	"slices"
	"sync"
	"sync/atomic"
)

// Registry holds the active triggers, grouped by the source they were loaded from, so that a
// source loaded again (a BPMN file redeployed to the dev engine) replaces its own triggers.
// It is safe for concurrent use; the webhook reads a snapshot per request.
type Registry struct {
	mu       sync.Mutex
	bySource map[string][]*Trigger
	all      atomic.Pointer[[]*Trigger]
}

// NewRegistry returns a registry holding ts under the source "".
func NewRegistry(ts ...*Trigger) *Registry {
	r := &Registry{bySource: map[string][]*Trigger{}}
	r.Set("", ts)
	return r
}

// Set replaces the triggers of source (nil or empty removes them).
func (r *Registry) Set(source string, ts []*Trigger) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(ts) == 0 {
		delete(r.bySource, source)
	} else {
		r.bySource[source] = slices.Clone(ts)
	}
	var all []*Trigger
	for _, src := range slices.Sorted(maps.Keys(r.bySource)) {
		all = append(all, r.bySource[src]...)
	}
	r.all.Store(&all)
}

// Triggers returns the active triggers, ordered by source.
func (r *Registry) Triggers() []*Trigger {
	if p := r.all.Load(); p != nil {
		return *p
	}
	return nil
}
