package mqttapi

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/twilio-connector/twilio-connector/actions"
	"github.com/twilio-connector/twilio-connector/errs"
	"github.com/twilio-connector/twilio-connector/store"
	"github.com/twilio-connector/twilio-connector/test/mosquittotest"
)

// fakeAction records invocations; block, when set, holds each one until it is closed or the
// context ends.
type fakeAction struct {
	mu    sync.Mutex
	keys  []string
	block chan struct{}
}

func (f *fakeAction) Invoke(ctx context.Context, inv actions.Invocation) (actions.Result, error) {
	f.mu.Lock()
	f.keys = append(f.keys, inv.IdempotencyKey)
	block := f.block
	f.mu.Unlock()
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			e := &errs.Error{Code: errs.Connection, Message: "cut off"}
			return actions.Result{TwilioError: []actions.RecipientError{{Code: e.Code, Message: e.Message}}}, e
		}
	}
	sid := "SM00000000000000000000000000000001"
	return actions.Result{TwilioResult: []actions.RecipientResult{{To: "+12345000000", SID: &sid, Status: "queued"}}}, nil
}

func (f *fakeAction) invocations() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.keys...)
}

// statuses subscribes to the status topic and collects what arrives.
type statuses struct {
	mu  sync.Mutex
	got []Status
}

func subscribeStatuses(t *testing.T, url string) *statuses {
	t.Helper()
	s := &statuses{}
	c := paho.NewClient(paho.NewClientOptions().AddBroker(url).SetClientID("test-status-" + t.Name()))
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	tok := c.Subscribe(DefaultTopicPrefix+"/message/status", 1, func(_ paho.Client, m paho.Message) {
		var st Status
		if err := json.Unmarshal(m.Payload(), &st); err != nil {
			t.Errorf("status is not JSON: %s", m.Payload())
		}
		s.mu.Lock()
		s.got = append(s.got, st)
		s.mu.Unlock()
	})
	if !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(0) })
	return s
}

func (s *statuses) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.got)
}

func publish(t *testing.T, url, topic, payload string) {
	t.Helper()
	c := paho.NewClient(paho.NewClientOptions().AddBroker(url).SetClientID(fmt.Sprintf("test-pub-%d", time.Now().UnixNano())))
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
	defer c.Disconnect(0)
	if tok := c.Publish(topic, 1, false, payload); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatal(tok.Error())
	}
}

func waitFor(t *testing.T, within time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(within)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", within, what)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func start(t *testing.T, url string, sms actions.Action, st store.Store) *Client {
	t.Helper()
	c, err := Start(Options{URL: url, ClientID: "connector-" + t.Name(), SMS: sms, Calls: sms, Store: st,
		Timeout: 5 * time.Second, RetryBackoff: 10 * time.Millisecond, MaxReconnect: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	waitFor(t, 5*time.Second, "the connection", c.Connected)
	return c
}

// The same request delivered twice is answered twice, identically, and invoked once.
func TestRedeliveredRequestAnswersFromTheRecord(t *testing.T) {
	b := mosquittotest.Start(t)
	st := store.NewMemory(0)
	act := &fakeAction{}
	c := start(t, b.URL, act, st)
	defer c.Close(context.Background())
	got := subscribeStatuses(t, b.URL)

	publish(t, b.URL, "twilio/txt", seedText)
	publish(t, b.URL, "twilio/txt", seedText)
	waitFor(t, 5*time.Second, "two statuses", func() bool { return got.count() == 2 })
	if n := len(act.invocations()); n != 1 {
		t.Errorf("%d invocations for one request delivered twice", n)
	}
	a, _ := json.Marshal(got.got[0])
	z, _ := json.Marshal(got.got[1])
	if string(a) != string(z) || got.got[0].Response.Status != "success" {
		t.Errorf("statuses differ: %s / %s", a, z)
	}
	// The same id with another body is another request.
	publish(t, b.URL, "twilio/txt", `{"request": {"recipient": {"name": "Darla", "phone_number": "12345000000", "message": "Second"}}, "id": "request123"}`)
	waitFor(t, 5*time.Second, "the third status", func() bool { return got.count() == 3 })
	if keys := act.invocations(); len(keys) != 2 || keys[0] == keys[1] {
		t.Errorf("invocations %v", keys)
	}
}

// A request the connector did not finish is not acknowledged: the broker delivers it again to
// the next connection of the same session, which answers it.
func TestUnfinishedRequestIsDeliveredAgain(t *testing.T) {
	b := mosquittotest.Start(t)
	st := store.NewMemory(0)
	act := &fakeAction{block: make(chan struct{})}
	c := start(t, b.URL, act, st)
	got := subscribeStatuses(t, b.URL)

	publish(t, b.URL, "twilio/txt", seedText)
	waitFor(t, 5*time.Second, "the request to be in progress", func() bool { return len(act.invocations()) == 1 })
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	c.Close(ctx) // gives up on the blocked request
	cancel()
	if got.count() != 0 {
		t.Fatalf("a status was published for a request cut off: %+v", got.got)
	}

	close(act.block)
	c = start(t, b.URL, act, st)
	defer c.Close(context.Background())
	waitFor(t, 10*time.Second, "the redelivered request's status", func() bool { return got.count() == 1 })
	keys := act.invocations()
	if len(keys) != 2 || keys[0] != keys[1] {
		t.Errorf("invocations %v: want the same request twice with one idempotency key", keys)
	}
	if s := got.got[0].Response.Status; s != "success" {
		t.Errorf("status %s", s)
	}
}

// request.retries: a transient failure is retried that many times with the same idempotency
// key, then reported as a failure.
func TestRetries(t *testing.T) {
	b := mosquittotest.Start(t)
	act := &fakeAction{block: make(chan struct{})} // every attempt times out
	c, err := Start(Options{URL: b.URL, ClientID: "connector-retries", SMS: act, Calls: act, Store: store.NewMemory(0),
		Timeout: 50 * time.Millisecond, RetryBackoff: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	waitFor(t, 5*time.Second, "the connection", c.Connected)
	got := subscribeStatuses(t, b.URL)
	publish(t, b.URL, "twilio/txt", seedText) // retries: 3
	waitFor(t, 10*time.Second, "the failure status", func() bool { return got.count() == 1 })
	if keys := act.invocations(); len(keys) != 4 || keys[0] != keys[3] {
		t.Errorf("invocations %v: want 1 + 3 retries with one key", keys)
	}
	if r := got.got[0].Response; r.Status != "fail" || r.Error != string(errs.Connection) {
		t.Errorf("%+v", r)
	}
}
