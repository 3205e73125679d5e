package rabbitmqtest

import (
	"fmt"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/twilio-connector/twilio-connector/test/wait"
)

// The broker starts, keeps durable queues and persistent messages across Restart, and
// rabbitmqctl reaches it (Stop and Restart would otherwise time out and kill it).
func TestBrokerRestartKeepsPersistentMessages(t *testing.T) {
	b := Start(t)
	col := Collect(t, b.URL, "rabbitmqtest.collected")
	Publish(t, b.URL, "rabbitmqtest.collected", amqp.Publishing{Body: []byte("before")})
	wait.Until(t, 10*time.Second, "the first message", func() bool { return col.Count() == 1 })

	// Published while nobody consumes; waits in the durable queue across the restart.
	conn, err := amqp.Dial(b.URL)
	if err != nil {
		t.Fatal(err)
	}
	ch, _ := conn.Channel()
	if _, err := ch.QueueDeclare("rabbitmqtest.kept", true, false, false, false, nil); err != nil {
		t.Fatal(err)
	}
	conn.Close()
	Publish(t, b.URL, "rabbitmqtest.kept", amqp.Publishing{Body: []byte("kept")})

	stopped := time.Now()
	b.Restart(0)
	if d := time.Since(stopped); d > StartTimeout {
		t.Fatalf("restart took %v", d)
	}
	Publish(t, b.URL, "rabbitmqtest.collected", amqp.Publishing{Body: []byte("after")})
	wait.Until(t, 20*time.Second, "the collector to reconnect and get the second message", func() bool { return col.Count() == 2 })
	kept := Collect(t, b.URL, "rabbitmqtest.kept")
	wait.Until(t, 10*time.Second, "the message kept across the restart", func() bool { return kept.Count() == 1 })
	if got := fmt.Sprintf("%s %s %s", col.Messages()[0].Body, col.Messages()[1].Body, kept.Messages()[0].Body); got != "before after kept" {
		t.Fatalf("messages %q", got)
	}
}
