package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/camunda/zeebe/clients/go/v8/pkg/zbc"

	"github.com/twilio-connector/twilio-connector/config"
	"github.com/twilio-connector/twilio-connector/console"
	"github.com/twilio-connector/twilio-connector/store"
)

// Readiness bounds: each probe waits at most readyTimeout for a dependency, and answers within
// readyCacheFor reuse the last check, so probes do not load the gateway.
const (
	readyTimeout  = time.Second
	readyCacheFor = 500 * time.Millisecond
)

// dependency is one thing a replica needs to do its job; check returns why it is down.
type dependency struct {
	name  string
	check func(context.Context) error
}

// readiness answers /readyz: 200 when every dependency is up, else 503; the body names each
// dependency, up or down and why.
type readiness struct {
	deps []dependency
	log  *slog.Logger

	mu       sync.Mutex
	stopping bool
	checked  time.Time
	ok       bool
	body     string
	results  []console.Check
}

func newReadiness(log *slog.Logger, client zbc.Client, cfg config.Config, st store.Store) *readiness {
	return &readiness{log: log, deps: []dependency{
		{"zeebe", func(ctx context.Context) error {
			_, err := client.NewTopologyCommand().Send(ctx)
			return explainRefusal(cfg, err)
		}},
		{"store", func(ctx context.Context) error {
			_, _, err := st.Get(ctx, "readyz", "ping")
			return err
		}},
	}}
}

// add adds a dependency; probes may already be answered.
func (r *readiness) add(name string, check func(context.Context) error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.deps = append(r.deps, dependency{name, check})
	r.checked = time.Time{}
}

// stop makes every later answer 503: the replica is shutting down.
func (r *readiness) stop() {
	r.mu.Lock()
	r.stopping = true
	r.mu.Unlock()
}

func (r *readiness) ServeHTTP(rw http.ResponseWriter, req *http.Request) {
	ok, body, _ := r.state(req.Context())
	rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
	rw.Header().Set("Cache-Control", "no-store")
	if !ok {
		rw.WriteHeader(http.StatusServiceUnavailable)
	}
	fmt.Fprint(rw, body)
}

// checks are the last results of every dependency's check (the console's Health page).
func (r *readiness) checks(ctx context.Context) []console.Check {
	_, _, results := r.state(ctx)
	return results
}

// state checks every dependency at once, or reuses a check younger than readyCacheFor, and
// logs each change.
func (r *readiness) state(ctx context.Context) (bool, string, []console.Check) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.stopping {
		return false, "not ready: shutting down\n", []console.Check{{Name: "connector", Err: errors.New("shutting down")}}
	}
	if time.Since(r.checked) < readyCacheFor {
		return r.ok, r.body, r.results
	}
	errs := make([]error, len(r.deps))
	var wg sync.WaitGroup
	for i, d := range r.deps {
		wg.Go(func() {
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), readyTimeout)
			defer cancel()
			errs[i] = d.check(cctx)
		})
	}
	wg.Wait()
	ok := true
	var b strings.Builder
	results := make([]console.Check, len(r.deps))
	for i, d := range r.deps {
		results[i] = console.Check{Name: d.name, Err: errs[i]}
		if errs[i] != nil {
			ok = false
			fmt.Fprintf(&b, "%s: down: %v\n", d.name, errs[i])
		} else {
			fmt.Fprintf(&b, "%s: up\n", d.name)
		}
	}
	if ok != r.ok || r.checked.IsZero() {
		level := slog.LevelInfo
		if !ok {
			level = slog.LevelWarn
		}
		r.log.Log(ctx, level, "readiness changed", "ready", ok, "dependencies", strings.ReplaceAll(strings.TrimSpace(b.String()), "\n", "; "))
	}
	r.ok, r.body, r.results, r.checked = ok, b.String(), results, time.Now()
	return ok, r.body, results
}
