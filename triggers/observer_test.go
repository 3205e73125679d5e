package triggers

import (
	"fmt"
	"net/url"
	"reflect"
	"sync"
	"testing"
)

// recordingObserver records what the endpoints report.
type recordingObserver struct {
	mu       sync.Mutex
	received []Observed
	statuses []string // connection/id/status
}

func (o *recordingObserver) Received(ob Observed) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.received = append(o.received, ob)
}

func (o *recordingObserver) Status(connection, id, status string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.statuses = append(o.statuses, connection+"/"+id+"/"+status)
}

func (o *recordingObserver) snapshot() ([]Observed, []string) {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]Observed(nil), o.received...), append([]string(nil), o.statuses...)
}

// The observer hears of every inbound message handled (not of redeliveries), with the
// triggers it matched and whether each was published, and of every status callback, progress
// included, from Twilio and the HTTP channel.
func TestObserverSeesInboundAndStatuses(t *testing.T) {
	h := newHarness(t, []Definition{{Source: "orders.bpmn", Process: "p", Element: "start", MessageName: "orderStatus", Pattern: `Order Number (?<n>\d+)`}}, harnessOptions{})
	sms := inbound(customer, ourNumber, "Order Number 7")
	h.send(sms)
	h.send(sms) // a redelivery: not reported again
	h.pub.failures = 1
	h.send(inbound(customer, ourNumber, "Order Number 8"))
	h.send(inbound(customer, ourNumber, "hello"))
	h.receive(url.Values{"from": {customer}, "text": {"Order Number 9"}, "id": {"m9"}})
	h.post("/twilio/status", statusForm("SM0001", "sent", 0), "", testToken, nil)
	h.post("/twilio/status", statusForm("SM0001", "delivered", 0), "", testToken, nil)
	h.postHTTP("/http/"+httpConn+"/status", formType, url.Values{"id": {"g1"}, "status": {"delivered"}}.Encode(), "Bearer "+httpSecret)

	received, statuses := h.seen.snapshot()
	var got []string
	for _, o := range received {
		line := fmt.Sprintf("%s %s %q %s:", o.Connection, o.Channel, o.Text, o.Outcome)
		for _, m := range o.Matches {
			line += fmt.Sprintf(" %s→%s published=%v", m.Trigger, m.MessageName, m.Published)
		}
		got = append(got, line)
	}
	want := []string{
		`default sms "Order Number 7" published: orders.bpmn: p/start→orderStatus published=true`,
		`default sms "Order Number 8" engine_failed: orders.bpmn: p/start→orderStatus published=false`,
		`default sms "hello" no_match:`,
		`rapidpro http "Order Number 9" no_match:`, // the trigger listens on the default connection
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("received\n%q\nwant\n%q", got, want)
	}
	if len(received) > 1 && len(received[1].Matches) == 1 {
		if _, found, _ := h.store.Get(t.Context(), OutboxBucket, received[1].Matches[0].MessageID); !found {
			t.Errorf("the unpublished message's id %q is not its outbox key", received[1].Matches[0].MessageID)
		}
	}
	if want := []string{"default/SM0001/sent", "default/SM0001/delivered", httpConn + "/g1/delivered"}; !reflect.DeepEqual(statuses, want) {
		t.Errorf("statuses %q, want %q", statuses, want)
	}
}
