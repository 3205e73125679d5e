package test

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/twilio-connector/twilio-connector/actions"
	"github.com/twilio-connector/twilio-connector/amqpapi"
	"github.com/twilio-connector/twilio-connector/test/rabbitmqtest"
	"github.com/twilio-connector/twilio-connector/test/twiliotest"
	"github.com/twilio-connector/twilio-connector/test/wait"
)

// amqpReply is one reply as a caller reads it: the HTTP API's answer and its status header.
type amqpReply struct {
	CorrelationID string
	Status        int
	Replayed      bool
	Result        actions.Result
}

func amqpReplies(t *testing.T, col *rabbitmqtest.Collector) []amqpReply {
	t.Helper()
	var out []amqpReply
	for _, d := range col.Messages() {
		r := amqpReply{CorrelationID: d.CorrelationId, Replayed: d.Headers[amqpapi.HeaderReplayed] == true}
		if s, ok := d.Headers[amqpapi.HeaderStatus].(int32); ok {
			r.Status = int(s)
		}
		if err := json.Unmarshal(d.Body, &r.Result); err != nil {
			t.Fatalf("reply is not the HTTP API's JSON answer: %v: %s", err, d.Body)
		}
		out = append(out, r)
	}
	return out
}

func amqpRequest(id, replyTo, body string) amqp.Publishing {
	return amqp.Publishing{MessageId: id, CorrelationId: "corr-" + id, ReplyTo: replyTo, ContentType: "application/json", Body: []byte(body)}
}

// The AMQP entry point against Debian's RabbitMQ, through the binary. One broker for the
// subtests: it takes seconds to start on a busy machine.
func TestAMQP(t *testing.T) {
	b := rabbitmqtest.StartWithManagement(t)
	t.Run("ReadmeExampleOnDev", func(t *testing.T) { testAMQPReadme(t, b) })
	t.Run("RequestsSendOnceAndReplyOnReplyTo", func(t *testing.T) { testAMQPRequests(t, b) })
	t.Run("BrokerRestartMidBatch", func(t *testing.T) { testAMQPBrokerRestart(t, b) })
}

// The README's rabbitmqadmin lines, as a reader runs them against dev (with the test broker's
// ports): the request sends one SMS and its reply is the one the README shows.
func testAMQPReadme(t *testing.T, b *rabbitmqtest.Broker) {
	fake := twiliotest.New(t)
	d := startDev(t, append(twilioEnv(fake), "CONNECTOR_AMQP_URL="+b.URL)...)
	wait.Until(t, 15*time.Second, "the AMQP entry point to consume", func() bool {
		return strings.Contains(d.stderr.String(), "AMQP connected; consuming")
	})
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var lines []string
	for _, l := range strings.Split(string(readme), "\n") {
		if strings.HasPrefix(l, "rabbitmqadmin ") {
			lines = append(lines, strings.Replace(l, "rabbitmqadmin ", fmt.Sprintf("rabbitmqadmin --port %d ", b.ManagementPort), 1))
		}
	}
	if len(lines) != 3 {
		t.Fatalf("README.md has %d rabbitmqadmin lines, want declare, publish and get", len(lines))
	}
	// dev prints the same lines.
	printed := d.stdout.String()
	if i := strings.Index(printed, "# an SMS over AMQP"); i < 0 {
		t.Fatalf("dev printed no AMQP lines:\n%s", printed)
	} else {
		printed = printed[i:]
	}
	for _, l := range lines {
		if !strings.Contains(printed, "\n  "+strings.Replace(l, fmt.Sprintf("--port %d ", b.ManagementPort), "", 1)+"\n") {
			t.Errorf("dev does not print the README's line %s", l)
		}
	}
	runShell(t, lines[0])
	runShell(t, lines[1])
	var got string
	wait.Until(t, 15*time.Second, "the reply on client.replies", func() bool {
		got = runShell(t, lines[2])
		return strings.Contains(got, "twilioResult")
	})
	var msgs []struct {
		Payload    string
		Properties struct {
			CorrelationID string `json:"correlation_id"`
			Headers       map[string]any
		}
	}
	if err := json.Unmarshal([]byte(got), &msgs); err != nil || len(msgs) != 1 {
		t.Fatalf("rabbitmqadmin get printed %s (%v)", got, err)
	}
	m := msgs[0]
	var res actions.Result
	if err := json.Unmarshal([]byte(m.Payload), &res); err != nil || m.Properties.CorrelationID != "4711" || m.Properties.Headers[amqpapi.HeaderStatus] != float64(200) ||
		res.TwilioError != nil || len(res.TwilioResult) != 1 || res.TwilioResult[0].To != "+14155550101" || res.TwilioResult[0].Status != "queued" {
		t.Fatalf("reply %s", got)
	}
	if sent := fake.Sent(); len(sent) != 1 || sent[0].Body != "Your order #4711 is ready for pickup." || sent[0].From != "+15005550006" {
		t.Errorf("sent %+v", sent)
	}
}

// A request published on the queue sends once at the Twilio stand-in and its reply arrives on
// reply_to with the correlation_id; the same message_id again answers from the record and
// sends nothing; make_call places a call; invalid input gets a reply naming the field.
func testAMQPRequests(t *testing.T, b *rabbitmqtest.Broker) {
	w := newWorld(t)
	p := w.startRun(t, "CONNECTOR_AMQP_URL="+b.URL)
	p.waitReady(t)
	wait.Until(t, 10*time.Second, "/readyz to name amqp", func() bool {
		_, body := httpGet("http://" + p.httpAddr + "/readyz")
		return strings.Contains(body, "amqp: up")
	})
	replies := rabbitmqtest.Collect(t, b.URL, "client.replies")
	const queue = amqpapi.DefaultQueue

	sms := `{"smsTo": ["+14155550100"], "smsBody": "Order ${orderId} is ready", "variables": {"orderId": "A-7"}}`
	rabbitmqtest.Publish(t, b.URL, queue, amqpRequest("order-A-7", "client.replies", sms))
	wait.Until(t, 15*time.Second, "the reply", func() bool { return replies.Count() == 1 })
	r := amqpReplies(t, replies)[0]
	if r.CorrelationID != "corr-order-A-7" || r.Status != 200 || r.Replayed || r.Result.TwilioError != nil ||
		len(r.Result.TwilioResult) != 1 || r.Result.TwilioResult[0].SID == nil || !strings.HasPrefix(*r.Result.TwilioResult[0].SID, "SM") {
		t.Fatalf("reply %+v", r)
	}
	if sent := w.twilio.Sent(); len(sent) != 1 || sent[0].To != "+14155550100" || sent[0].Body != "Order A-7 is ready" {
		t.Fatalf("sent %+v", sent)
	}

	// The same message_id again (the caller retrying): the same answer, nothing sent.
	rabbitmqtest.Publish(t, b.URL, queue, amqpRequest("order-A-7", "client.replies", sms))
	wait.Until(t, 15*time.Second, "the second reply", func() bool { return replies.Count() == 2 })
	again := amqpReplies(t, replies)[1]
	if !again.Replayed || again.Status != 200 || *again.Result.TwilioResult[0].SID != *r.Result.TwilioResult[0].SID {
		t.Errorf("repeat answered %+v, first %+v", again, r)
	}
	if n := len(w.twilio.Sent()); n != 1 {
		t.Errorf("%d SMS after the repeat, want 1", n)
	}

	rabbitmqtest.Publish(t, b.URL, queue,
		amqpRequest("call-1", "client.replies", `{"action": "make_call", "callTo": ["+14155550101"], "callMessage": "Your table is ready"}`),
		amqpRequest("bad-1", "client.replies", `{"action": "send_sms", "smsTo": ["+14155550102"], "smsBody": "hi", "smsFrm": "+15005550006"}`),
		amqpRequest("bad-2", "client.replies", `{"action": "send_fax"}`),
	)
	wait.Until(t, 15*time.Second, "three more replies", func() bool { return replies.Count() == 5 })
	byID := map[string]amqpReply{}
	for _, r := range amqpReplies(t, replies)[2:] {
		byID[r.CorrelationID] = r
	}
	if c := byID["corr-call-1"]; c.Status != 200 || len(c.Result.TwilioResult) != 1 || !strings.HasPrefix(*c.Result.TwilioResult[0].SID, "CA") {
		t.Errorf("make_call reply %+v", c)
	}
	if calls := w.twilio.Calls(); len(calls) != 1 || calls[0].To != "+14155550101" {
		t.Errorf("calls %+v", calls)
	}
	for id, field := range map[string]string{"corr-bad-1": "smsFrm", "corr-bad-2": "action"} {
		r := byID[id]
		if r.Status != 400 || len(r.Result.TwilioError) != 1 || r.Result.TwilioError[0].Field != field {
			t.Errorf("reply %s: %+v, want 400 naming %s", id, r, field)
		}
	}
	if n := w.twilio.CountTo("+14155550102"); n != 0 {
		t.Errorf("the invalid request sent %d messages", n)
	}
	if strings.Contains(p.stderr.String(), "guest:guest") {
		t.Errorf("the broker password is in the log")
	}
}

// The broker is killed (SIGKILL) in the middle of a batch of 40 requests and restarted: those
// in flight are not acknowledged, come back once the connector has reconnected, and every
// recipient still gets exactly one SMS and every request a reply.
func testAMQPBrokerRestart(t *testing.T, b *rabbitmqtest.Broker) {
	w := newWorld(t)
	w.twilio.SetLatency(300 * time.Millisecond)
	p := w.startRun(t, "CONNECTOR_AMQP_URL="+b.URL, "CONNECTOR_AMQP_QUEUE=batch.requests", "CONNECTOR_AMQP_PREFETCH=4")
	p.waitReady(t)
	wait.Until(t, 10*time.Second, "/readyz to name amqp", func() bool {
		_, body := httpGet("http://" + p.httpAddr + "/readyz")
		return strings.Contains(body, "amqp: up")
	})
	replies := rabbitmqtest.Collect(t, b.URL, "batch.replies")

	const n = 40
	var reqs []amqp.Publishing
	for i := range n {
		reqs = append(reqs, amqpRequest(fmt.Sprintf("batch-%d", i), "batch.replies",
			fmt.Sprintf(`{"smsTo": ["+141555501%02d"], "smsBody": "Batch %d"}`, 10+i, i)))
	}
	rabbitmqtest.Publish(t, b.URL, "batch.requests", reqs...)
	wait.Until(t, 30*time.Second, "the first replies", func() bool { return replies.Count() >= 3 })
	before := replies.Count()
	b.Kill()
	wait.Until(t, 15*time.Second, "/readyz to report amqp down", func() bool {
		code, body := httpGet("http://" + p.httpAddr + "/readyz")
		return code == 503 && strings.Contains(body, "amqp: down")
	})
	b.Restart(0)

	ids := map[string]bool{}
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("%d of %d requests answered; the connector's log:\n%s", len(ids), n, p.stderr.String())
		}
	})
	wait.Until(t, 90*time.Second, "a reply to every request", func() bool {
		for _, r := range amqpReplies(t, replies) {
			ids[r.CorrelationID] = true
		}
		return len(ids) == n
	})
	batchSentOnce(t, w, n, before)
	replayed := 0
	for _, r := range amqpReplies(t, replies) {
		if r.Status != 200 || r.Result.TwilioError != nil {
			t.Errorf("reply %+v", r)
		}
		if r.Replayed {
			replayed++
		}
	}
	// Each request ran its action once; redeliveries, even those arriving while the first
	// delivery was still sending, were answered from its record.
	_, metrics := httpGet("http://" + p.httpAddr + "/metrics")
	if !strings.Contains(metrics, fmt.Sprintf(`twilio_connector_amqp_requests_total{action="send_sms",outcome="success"} %d`, n)) {
		t.Errorf("requests handled more than once: %s", grepLines(metrics, "twilio_connector_amqp_requests_total"))
	}
	t.Logf("%d replies before the restart, %d in all (%d from the record) for %d requests; %s", before, replies.Count(), replayed, n,
		grepLines(metrics, "twilio_connector_amqp_requests_total"))
}
