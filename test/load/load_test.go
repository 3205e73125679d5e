package main

import (
	"testing"
	"time"
)

// The load tool's parts run end to end with tiny counts: every job completes and every
// request gets its 200 (the functions return an error otherwise). No timing is asserted.
func TestSmoke(t *testing.T) {
	w, err := newWorld(5 * time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer w.close()
	s := sendOptions{jobs: 20, warmup: 2, creators: 4, recipients: 2, store: "bolt"}
	for name, run := range map[string]func(sendOptions) (result, error){"send": w.runSend, "noop": w.runNoop, "engine": w.runEngine} {
		r, err := run(s)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if r.count != s.jobs || r.errors != 0 {
			t.Fatalf("%s: %d of %d jobs completed, %d errors", name, r.count, s.jobs, r.errors)
		}
	}
	// The backlog runs return an error unless every job completes.
	if _, err := w.runNoopBacklog(s); err != nil {
		t.Fatalf("no-op backlog: %v", err)
	}
	if _, err := w.runSendBacklog("send backlog", s); err != nil {
		t.Fatalf("send backlog: %v", err)
	}
	in := inboundOptions{requests: 50, warmup: 5, concurrency: 4, triggers: 20, bodyChars: 160, store: "bolt"}
	for name, run := range map[string]func(inboundOptions) (result, error){"webhook": w.runInbound, "bare": w.runBare} {
		r, err := run(in)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if r.count != in.requests || r.errors != 0 {
			t.Fatalf("%s: %d of %d requests answered 200, %d errors", name, r.count, in.requests, r.errors)
		}
	}
}

// The Go side of the template comparison renders the whole corpus.
func TestTemplateCases(t *testing.T) {
	tpls, data, err := benchCases("../../templates/testdata/corpus.json")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := goRenders(tpls, data, 0, time.Millisecond); err != nil {
		t.Fatal(err)
	}
}
