package metrics

import (
	"context"
	"errors"
	"testing"
)

// outboxGauge returns the outbox_pending value in a scrape of the registry, and whether it
// is there.
func outboxGauge(t *testing.T) (float64, bool) {
	t.Helper()
	families, err := Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range families {
		if f.GetName() == "twilio_connector_outbox_pending" {
			return f.GetMetric()[0].GetGauge().GetValue(), true
		}
	}
	return 0, false
}

func TestOutboxPending(t *testing.T) {
	if _, ok := outboxGauge(t); ok {
		t.Fatal("reported before the outbox is known")
	}
	n := 3
	SetOutboxPending(func(context.Context) (int, error) { return n, nil })
	if v, ok := outboxGauge(t); !ok || v != 3 {
		t.Fatalf("outbox_pending %v %v, want 3", v, ok)
	}
	n = 0
	if v, ok := outboxGauge(t); !ok || v != 0 {
		t.Fatalf("outbox_pending %v %v, want 0 (counted at each scrape)", v, ok)
	}
	SetOutboxPending(func(context.Context) (int, error) { return 0, errors.New("store down") })
	if _, ok := outboxGauge(t); ok {
		t.Fatal("reported although counting failed")
	}
}
