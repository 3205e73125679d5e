package amqpapi

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/twilio-connector/twilio-connector/actions"
	"github.com/twilio-connector/twilio-connector/store"
	"github.com/twilio-connector/twilio-connector/test/fakeaction"
	"github.com/twilio-connector/twilio-connector/test/rabbitmqtest"
	"github.com/twilio-connector/twilio-connector/test/syncbuf"
	"github.com/twilio-connector/twilio-connector/test/wait"
)

func TestDecode(t *testing.T) {
	for _, c := range []struct {
		name, body, kind, field string // field: the one the error names; "" means valid
	}{
		{"send_sms by default", `{"smsTo": ["+14155550100"], "smsBody": "hi"}`, ActionSendSMS, ""},
		{"send_sms named", `{"action": "send_sms", "smsTo": "+14155550100", "smsBody": "hi", "variables": {"a": 1}}`, ActionSendSMS, ""},
		{"make_call", `{"action": "make_call", "callTo": ["+14155550100"], "callMessage": "hello"}`, ActionMakeCall, ""},
		{"unknown action", `{"action": "send_fax", "smsTo": "+14155550100"}`, "", FieldAction},
		{"action not a string", `{"action": 1}`, "", FieldAction},
		{"not JSON", `smsTo=+14155550100`, "", "body"},
		{"a JSON list", `[1]`, "", "body"},
		{"data after the object", `{"smsBody": "hi"} {}`, "", "body"},
		{"an SMS field in a call", `{"action": "make_call", "smsBody": "hi"}`, "", "smsBody"},
		{"unknown field", `{"smsBdy": "hi"}`, "", "smsBdy"},
	} {
		t.Run(c.name, func(t *testing.T) {
			kind, req, e := decode([]byte(c.body))
			if c.field != "" {
				if e == nil || e.Field != c.field {
					t.Fatalf("error %v, want one naming %s", e, c.field)
				}
				return
			}
			if e != nil || kind != c.kind || req.Hash == "" {
				t.Fatalf("kind %q, error %v; want %q", kind, e, c.kind)
			}
			if _, ok := req.Vars[FieldAction]; ok {
				t.Fatalf("action reached the action's variables: %v", req.Vars)
			}
		})
	}
}

type reply struct {
	Status        int
	Replayed      bool
	CorrelationID string
	Body          actions.Result
}

func replies(t *testing.T, col *rabbitmqtest.Collector) []reply {
	t.Helper()
	var out []reply
	for _, d := range col.Messages() {
		r := reply{CorrelationID: d.CorrelationId, Replayed: d.Headers[HeaderReplayed] == true}
		if s, ok := d.Headers[HeaderStatus].(int32); ok {
			r.Status = int(s)
		}
		if err := json.Unmarshal(d.Body, &r.Body); err != nil {
			t.Fatalf("reply is not the HTTP API's JSON: %v: %s", err, d.Body)
		}
		out = append(out, r)
	}
	return out
}

// One broker for the package (it takes seconds to start); the subtests use their own queues.
func TestAgainstRabbitMQ(t *testing.T) {
	b := rabbitmqtest.Start(t)
	t.Run("WrongPasswordIsLoggedWithoutIt", func(t *testing.T) { testWrongPassword(t, b) })
	t.Run("RequestRepliesAndRedeliveryAnswersFromTheRecord", func(t *testing.T) { testReplyAndRedelivery(t, b) })
	t.Run("InvalidRequestsGetAReplyNamingTheFieldAndAreAcknowledged", func(t *testing.T) { testInvalid(t, b) })
	t.Run("ExistingQuorumQueueIsUsedAsItIs", func(t *testing.T) { testExistingQueue(t, b) })
	t.Run("UnrecordedResultIsNeitherRepliedNorAcknowledged", func(t *testing.T) { testStoreDown(t, b) })
	t.Run("BrokerRestartMidRequestSendsOnceAndReplies", func(t *testing.T) { testRestart(t, b) })
}

func start(t *testing.T, b *rabbitmqtest.Broker, queue string, act actions.Action) *Client {
	t.Helper()
	return startWith(t, b, queue, act, store.NewMemory(0))
}

func startWith(t *testing.T, b *rabbitmqtest.Broker, queue string, act actions.Action, st store.Store) *Client {
	t.Helper()
	c, err := Start(Options{URL: b.URL, Queue: queue, SMS: act, Calls: act, Store: st,
		Timeout: 10 * time.Second, MaxReconnect: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close(context.Background()) })
	wait.Until(t, 10*time.Second, "the AMQP connection", func() bool { return c.Health() == nil })
	return c
}

func request(id, correlation, replyTo, body string) amqp.Publishing {
	return amqp.Publishing{MessageId: id, CorrelationId: correlation, ReplyTo: replyTo, ContentType: "application/json", Body: []byte(body)}
}

func testWrongPassword(t *testing.T, b *rabbitmqtest.Broker) {
	logs := &syncbuf.Buffer{}
	act := &fakeaction.Action{}
	url := strings.Replace(b.URL, "guest:guest@", "guest:s3cretPW@", 1)
	c, err := Start(Options{URL: url, SMS: act, Calls: act, Store: store.NewMemory(0),
		MaxReconnect: time.Second, Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	wait.Until(t, 20*time.Second, "two failed attempts in the log", func() bool {
		return strings.Count(logs.String(), "AMQP connection failed") >= 2
	})
	if err := c.Health(); err == nil || !strings.Contains(err.Error(), "403") {
		t.Errorf("Health: %v, want the broker's refusal (403)", err)
	}
	if !strings.Contains(logs.String(), "password not allowed") || strings.Contains(logs.String(), "s3cretPW") {
		t.Errorf("logs without the reason, or with the password:\n%s", logs.String())
	}
}

func testReplyAndRedelivery(t *testing.T, b *rabbitmqtest.Broker) {
	act := &fakeaction.Action{}
	start(t, b, "requests.reply", act)
	col := rabbitmqtest.Collect(t, b.URL, "replies.reply")
	body := `{"smsTo": ["+12345000000"], "smsBody": "hi"}`
	rabbitmqtest.Publish(t, b.URL, "requests.reply", request("m-1", "c-1", "replies.reply", body))
	wait.Until(t, 10*time.Second, "the reply", func() bool { return col.Count() == 1 })
	// The same message_id again (a publisher retrying, or the broker redelivering).
	rabbitmqtest.Publish(t, b.URL, "requests.reply", request("m-1", "c-2", "replies.reply", body))
	wait.Until(t, 10*time.Second, "the second reply", func() bool { return col.Count() == 2 })
	rs := replies(t, col)
	if got := act.Invocations(); len(got) != 1 || got[0] != "amqp/m-1" {
		t.Fatalf("invocations %v, want one with key amqp/m-1", got)
	}
	for i, want := range []reply{{Status: 200, CorrelationID: "c-1"}, {Status: 200, CorrelationID: "c-2", Replayed: true}} {
		r := rs[i]
		if r.Status != want.Status || r.CorrelationID != want.CorrelationID || r.Replayed != want.Replayed ||
			len(r.Body.TwilioResult) != 1 || r.Body.TwilioResult[0].Status != "queued" || r.Body.TwilioError != nil {
			t.Errorf("reply %d: %+v, want %+v with the queued result", i, r, want)
		}
	}
}

func testInvalid(t *testing.T, b *rabbitmqtest.Broker) {
	act := &fakeaction.Action{}
	c := start(t, b, "requests.invalid", act)
	col := rabbitmqtest.Collect(t, b.URL, "replies.invalid")
	rabbitmqtest.Publish(t, b.URL, "requests.invalid",
		// Invalid and without reply_to: no one to tell, but acknowledged all the same.
		request("m-9", "", "", `{"action": "send_fax"}`),
		request("", "no-id", "replies.invalid", `{"smsTo": ["+12345000000"], "smsBody": "hi"}`),
		request("m-2", "bad-action", "replies.invalid", `{"action": "send_fax"}`),
		request("m-3", "bad-json", "replies.invalid", `{"smsTo": `),
		request("m-4", "first", "replies.invalid", `{"smsTo": ["+12345000000"], "smsBody": "hi"}`),
		request("m-6", "too-large", "replies.invalid", `{"smsTo": ["+12345000000"], "smsBody": "`+strings.Repeat("x", 70<<10)+`"}`),
	)
	wait.Until(t, 10*time.Second, "five replies", func() bool { return col.Count() == 5 })
	// Once m-4 is answered, the same message_id with another body.
	rabbitmqtest.Publish(t, b.URL, "requests.invalid", request("m-4", "reused", "replies.invalid", `{"smsTo": ["+12345000000"], "smsBody": "another"}`))
	wait.Until(t, 10*time.Second, "six replies", func() bool { return col.Count() == 6 })
	want := map[string]struct {
		status int
		field  string
	}{"no-id": {400, FieldMessageID}, "bad-action": {400, FieldAction}, "bad-json": {400, "body"}, "first": {200, ""}, "reused": {422, FieldMessageID}, "too-large": {413, "body"}}
	for _, r := range replies(t, col) {
		w := want[r.CorrelationID]
		field := ""
		if len(r.Body.TwilioError) > 0 {
			field = r.Body.TwilioError[0].Field
		}
		if r.Status != w.status || field != w.field {
			t.Errorf("reply %s: status %d, field %q; want %d naming %q", r.CorrelationID, r.Status, field, w.status, w.field)
		}
	}
	if got := act.Invocations(); len(got) != 1 {
		t.Errorf("invocations %v, want one (m-4 first)", got)
	}
	// Acknowledged: nothing left in the queue, nothing redelivered.
	conn, err := amqp.Dial(b.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ch, _ := conn.Channel()
	wait.Until(t, 5*time.Second, "the queue to be empty and acknowledged", func() bool {
		q, err := ch.QueueDeclarePassive("requests.invalid", true, false, false, false, nil)
		return err == nil && q.Messages == 0
	})
	time.Sleep(500 * time.Millisecond)
	if n := col.Count(); n != 6 {
		t.Errorf("%d replies, want 6: a refused request came back", n)
	}
	// A request held unacknowledged (or put back) is ready again once the consumer is gone.
	c.Close(context.Background())
	time.Sleep(300 * time.Millisecond)
	if q, err := ch.QueueDeclarePassive("requests.invalid", true, false, false, false, nil); err != nil || q.Messages != 0 {
		t.Errorf("after the consumer closed: %d requests in the queue (%v), want 0: a refused one was not acknowledged", q.Messages, err)
	}
}

// A queue the operator created with other arguments (here a quorum queue) is consumed as it
// is: declaring it again as a plain durable queue would fail with PRECONDITION_FAILED.
func testExistingQueue(t *testing.T, b *rabbitmqtest.Broker) {
	conn, err := amqp.Dial(b.URL)
	if err != nil {
		t.Fatal(err)
	}
	ch, _ := conn.Channel()
	if _, err := ch.QueueDeclare("requests.quorum", true, false, false, false, amqp.Table{"x-queue-type": "quorum"}); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	act := &fakeaction.Action{}
	start(t, b, "requests.quorum", act)
	col := rabbitmqtest.Collect(t, b.URL, "replies.quorum")
	rabbitmqtest.Publish(t, b.URL, "requests.quorum", request("m-7", "c-7", "replies.quorum", `{"smsTo": ["+12345000000"], "smsBody": "hi"}`))
	wait.Until(t, 10*time.Second, "the reply", func() bool { return col.Count() == 1 })
	if r := replies(t, col)[0]; r.Status != 200 || r.CorrelationID != "c-7" {
		t.Errorf("reply %+v", r)
	}
}

// failingPuts is a store whose writes fail while down is set.
type failingPuts struct {
	store.Store
	down atomic.Bool
}

func (f *failingPuts) Put(ctx context.Context, bucket, key string, value []byte, ttl time.Duration) error {
	if f.down.Load() {
		return errors.New("store down")
	}
	return f.Store.Put(ctx, bucket, key, value, ttl)
}

// A result that cannot be recorded is not replied to nor acknowledged: the request goes back
// to the queue and is answered once the store takes the record.
func testStoreDown(t *testing.T, b *rabbitmqtest.Broker) {
	st := &failingPuts{Store: store.NewMemory(0)}
	st.down.Store(true)
	act := &fakeaction.Action{}
	startWith(t, b, "requests.storedown", act, st)
	col := rabbitmqtest.Collect(t, b.URL, "replies.storedown")
	rabbitmqtest.Publish(t, b.URL, "requests.storedown", request("m-8", "c-8", "replies.storedown", `{"smsTo": ["+12345000000"], "smsBody": "hi"}`))
	wait.Until(t, 10*time.Second, "the request to come back", func() bool { return len(act.Invocations()) >= 2 })
	if n := col.Count(); n != 0 {
		t.Fatalf("%d replies while the result could not be recorded, want none", n)
	}
	st.down.Store(false)
	wait.Until(t, 10*time.Second, "the reply once recorded", func() bool { return col.Count() == 1 })
	if r := replies(t, col)[0]; r.Status != 200 || r.CorrelationID != "c-8" {
		t.Errorf("reply %+v", r)
	}
}

// The broker goes away while a request is being sent: the reply cannot be published nor the
// request acknowledged, so the broker delivers it again after the restart, and the redelivery
// is answered from the record without a second invocation.
func testRestart(t *testing.T, b *rabbitmqtest.Broker) {
	act := &fakeaction.Action{Block: make(chan struct{})}
	c := start(t, b, "requests.restart", act)
	col := rabbitmqtest.Collect(t, b.URL, "replies.restart")
	rabbitmqtest.Publish(t, b.URL, "requests.restart", request("m-5", "c-5", "replies.restart", `{"smsTo": ["+12345000000"], "smsBody": "hi"}`))
	wait.Until(t, 10*time.Second, "the invocation", func() bool { return len(act.Invocations()) == 1 })
	b.Stop()
	wait.Until(t, 10*time.Second, "the connector to notice", func() bool { return c.Health() != nil })
	close(act.Block) // the send finishes while the broker is down
	time.Sleep(500 * time.Millisecond)
	b.Restart(0)
	wait.Until(t, 30*time.Second, "the reply after the restart", func() bool { return col.Count() >= 1 })
	rs := replies(t, col)
	if got := act.Invocations(); len(got) != 1 {
		t.Fatalf("invocations %v, want one: the redelivery must answer from the record", got)
	}
	if r := rs[0]; r.Status != 200 || r.CorrelationID != "c-5" || !r.Replayed {
		t.Errorf("reply %+v, want 200 for c-5 from the record", r)
	}
	if err := c.Health(); err != nil {
		t.Errorf("Health after the restart: %v", err)
	}
}
