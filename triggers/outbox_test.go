package triggers

import (
	"context"
	"errors"
	"path/filepath"
	"testing"
	"time"

	"github.com/twilio-connector/twilio-connector/store"
)

// signalPublisher reports every successful publish on a channel.
type signalPublisher struct{ got chan Message }

func (p signalPublisher) Publish(_ context.Context, m Message) error { p.got <- m; return nil }

type downPublisher struct{}

func (downPublisher) Publish(context.Context, Message) error {
	return &PublishError{Temporary: true, Err: errors.New("UNAVAILABLE")}
}

// A message kept while the engine was down survives a restart (bbolt) and is published by the
// next process's Run at once, without waiting for its backoff.
func TestOutboxSurvivesRestart(t *testing.T) {
	path := filepath.Join(t.TempDir(), "state.db")
	st, err := store.OpenBolt(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	ob := NewOutbox(st, downPublisher{}, OutboxOptions{MinBackoff: time.Hour})
	m := Message{Name: "order-received", MessageID: "SM1:start:order-received", TTL: time.Minute,
		Variables: map[string]any{"matchGroups": map[string]any{"n": "1"}, "from": customer}}
	if err := ob.put(ctx, outboxEntry{Message: m, NextAttempt: time.Now().Add(time.Hour), Created: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, pending, _ := ob.Flush(ctx, true); pending != 1 {
		t.Fatalf("pending %d after a failed pass", pending)
	}
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}

	st, err = store.OpenBolt(path, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	pub := signalPublisher{got: make(chan Message, 1)}
	ob = NewOutbox(st, pub, OutboxOptions{Interval: time.Hour})
	runCtx, cancel := context.WithCancel(ctx)
	done := make(chan error)
	go func() { done <- ob.Run(runCtx) }()
	got := <-pub.got
	cancel()
	if err := <-done; err != nil {
		t.Errorf("Run: %v", err)
	}
	if got.MessageID != m.MessageID || got.TTL != m.TTL || got.Variables["from"] != customer {
		t.Errorf("published %+v, want %+v", got, m)
	}
	if n, _ := ob.Pending(ctx); n != 0 {
		t.Errorf("%d entries left", n)
	}
}

func TestOutboxBackoff(t *testing.T) {
	ob := NewOutbox(store.NewMemory(0), downPublisher{}, OutboxOptions{MinBackoff: time.Second, MaxBackoff: 10 * time.Second})
	var got []time.Duration
	for i := 1; i <= 6; i++ {
		got = append(got, ob.backoff(i))
	}
	want := []time.Duration{1, 2, 4, 8, 10, 10}
	for i := range want {
		if got[i] != want[i]*time.Second {
			t.Fatalf("backoffs %v, want %v s", got, want)
		}
	}
}
