package mqttapi

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/twilio-connector/twilio-connector/actions"
	"github.com/twilio-connector/twilio-connector/errs"
	"github.com/twilio-connector/twilio-connector/store"
	"github.com/twilio-connector/twilio-connector/test/fakeaction"
	"github.com/twilio-connector/twilio-connector/test/mosquittotest"
	"github.com/twilio-connector/twilio-connector/test/wait"
)

// statuses collects the status topic.
type statuses struct{ col *mosquittotest.Collector }

func subscribeStatuses(t *testing.T, url string) *statuses {
	return &statuses{mosquittotest.Subscribe(t, url, DefaultTopicPrefix+"/message/status")}
}

func (s *statuses) count() int { return s.col.Count() }

func (s *statuses) get(t *testing.T, i int) Status {
	t.Helper()
	var st Status
	if err := json.Unmarshal(s.col.Messages()[i], &st); err != nil {
		t.Fatalf("status %d is not JSON: %v", i, err)
	}
	return st
}

func start(t *testing.T, url string, sms actions.Action, st store.Store) *Client {
	t.Helper()
	c, err := Start(Options{URL: url, ClientID: "connector-" + t.Name(), SMS: sms, Calls: sms, Store: st,
		Timeout: 5 * time.Second, RetryBackoff: 10 * time.Millisecond, MaxReconnect: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	wait.Until(t, 5*time.Second, "the connection", c.Connected)
	return c
}

// The same request delivered twice is answered twice, identically, and invoked once.
func TestRedeliveredRequestAnswersFromTheRecord(t *testing.T) {
	b := mosquittotest.Start(t)
	st := store.NewMemory(0)
	act := &fakeaction.Action{}
	c := start(t, b.URL, act, st)
	defer c.Close(context.Background())
	got := subscribeStatuses(t, b.URL)

	mosquittotest.Publish(t, b.URL, "twilio/txt", seedText)
	mosquittotest.Publish(t, b.URL, "twilio/txt", seedText)
	wait.Until(t, 5*time.Second, "two statuses", func() bool { return got.count() == 2 })
	if n := len(act.Invocations()); n != 1 {
		t.Errorf("%d invocations for one request delivered twice", n)
	}
	if m := got.col.Messages(); string(m[0]) != string(m[1]) || got.get(t, 0).Response.Status != "success" {
		t.Errorf("statuses differ: %s / %s", m[0], m[1])
	}
	// The same id with another body is another request.
	mosquittotest.Publish(t, b.URL, "twilio/txt", `{"request": {"recipient": {"name": "Darla", "phone_number": "12345000000", "message": "Second"}}, "id": "request123"}`)
	wait.Until(t, 5*time.Second, "the third status", func() bool { return got.count() == 3 })
	if keys := act.Invocations(); len(keys) != 2 || keys[0] == keys[1] {
		t.Errorf("invocations %v", keys)
	}
}

// A request the connector did not finish is not acknowledged: the broker delivers it again to
// the next connection of the same session, which answers it.
func TestUnfinishedRequestIsDeliveredAgain(t *testing.T) {
	b := mosquittotest.Start(t)
	st := store.NewMemory(0)
	act := &fakeaction.Action{Block: make(chan struct{})}
	c := start(t, b.URL, act, st)
	got := subscribeStatuses(t, b.URL)

	mosquittotest.Publish(t, b.URL, "twilio/txt", seedText)
	wait.Until(t, 5*time.Second, "the request to be in progress", func() bool { return len(act.Invocations()) == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	c.Close(ctx) // gives up on the blocked request
	cancel()
	if got.count() != 0 {
		t.Fatalf("a status was published for a request cut off: %s", got.col.Messages())
	}

	close(act.Block)
	c = start(t, b.URL, act, st)
	defer c.Close(context.Background())
	wait.Until(t, 10*time.Second, "the redelivered request's status", func() bool { return got.count() == 1 })
	keys := act.Invocations()
	if len(keys) != 2 || keys[0] != keys[1] {
		t.Errorf("invocations %v: want the same request twice with one idempotency key", keys)
	}
	if s := got.get(t, 0).Response.Status; s != "success" {
		t.Errorf("status %s", s)
	}
}

// request.retries: a transient failure is retried that many times with the same idempotency
// key, then reported as a failure.
func TestRetries(t *testing.T) {
	b := mosquittotest.Start(t)
	act := &fakeaction.Action{Block: make(chan struct{})} // every attempt times out
	c, err := Start(Options{URL: b.URL, ClientID: "connector-retries", SMS: act, Calls: act, Store: store.NewMemory(0),
		Timeout: 50 * time.Millisecond, RetryBackoff: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	wait.Until(t, 5*time.Second, "the connection", c.Connected)
	got := subscribeStatuses(t, b.URL)
	mosquittotest.Publish(t, b.URL, "twilio/txt", seedText) // retries: 3
	wait.Until(t, 10*time.Second, "the failure status", func() bool { return got.count() == 1 })
	if keys := act.Invocations(); len(keys) != 4 || keys[0] != keys[3] {
		t.Errorf("invocations %v: want 1 + 3 retries with one key", keys)
	}
	if r := got.get(t, 0).Response; r.Status != "fail" || r.Error != string(errs.Connection) {
		t.Errorf("%+v", r)
	}
}
