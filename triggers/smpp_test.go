package triggers

import (
	"context"
	"fmt"
	"log/slog"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/twilio-connector/twilio-connector/test/wait"
)

const smppConn = "smsc"

// smppTrigger listens on the SMPP connection smppConn.
var smppTrigger = Definition{Source: "smpp.bpmn", Process: "smpp", Element: "smppOrder", Kind: StartEvent,
	MessageName: "smpp-order", Pattern: `Order Number (?<orderNumber>.+)`, Connection: smppConn,
	Echo: `Got ${orderNumber} via ${channel}/${connection}`}

// smppChannel is the harness's store, engine and outbox behind an SMPP channel whose clock
// the test moves.
type smppChannel struct {
	*SMPPChannel
	h   *harness
	mu  sync.Mutex
	now time.Time
}

func newSMPPChannel(t *testing.T, defs ...Definition) *smppChannel {
	h := newHarness(t, nil, harnessOptions{})
	var ts []*Trigger
	for _, d := range defs {
		tr, err := Compile(d, 0)
		if err != nil {
			t.Fatal(err)
		}
		ts = append(ts, tr)
	}
	c := &smppChannel{h: h, now: time.Date(2026, 5, 3, 6, 1, 0, 0, time.UTC)}
	c.SMPPChannel = NewSMPPChannel(SMPPOptions{Options: Options{
		Triggers: NewRegistry(ts...), Publisher: h.pub, Store: h.store, Outbox: h.outbox,
		Logger: slog.New(slog.NewTextHandler(h.logs, nil)), Now: c.clock, Observer: h.seen,
	}})
	return c
}

func (c *smppChannel) clock() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *smppChannel) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func TestSMPPReceiveFeedsThePipelineOnce(t *testing.T) {
	c := newSMPPChannel(t, smppTrigger)
	ctx := context.Background()
	// SMSCs write international numbers as digits.
	if err := c.Receive(ctx, smppConn, "15005550101", "15005550006", "Order Number 42"); err != nil {
		t.Fatal(err)
	}
	msgs := c.h.pub.messages()
	if len(msgs) != 1 {
		t.Fatalf("published %d messages, want 1", len(msgs))
	}
	v := msgs[0].Variables
	if msgs[0].Name != "smpp-order" || v["channel"] != ChannelSMPP || v["connection"] != smppConn || v["from"] != customer || v["to"] != ourNumber ||
		fmt.Sprint(v["matchGroups"]) != "map[orderNumber:42]" {
		t.Fatalf("published %+v", msgs[0])
	}
	// The echo goes back through the connection, after Receive returned.
	wait.Until(t, 5*time.Second, "the echo reply", func() bool { return len(c.h.replies.replies()) == 1 })
	if r := c.h.replies.replies()[0]; r.Connection != smppConn || r.To != customer || r.From != ourNumber || r.Text != "Got 42 via smpp/smsc" {
		t.Fatalf("reply %+v", r)
	}

	// The SMSC delivers it again (its deliver_sm_resp got lost): a duplicate, also in the next
	// window; nothing more is published or replied.
	before := c.h.pub.callCount()
	for _, later := range []time.Duration{time.Second, MODedupeWindow} {
		c.advance(later)
		if err := c.Receive(ctx, smppConn, "15005550101", "15005550006", "Order Number 42"); err != nil {
			t.Fatal(err)
		}
	}
	// A different text, and the same text two windows later, are new messages.
	if err := c.Receive(ctx, smppConn, "15005550101", "15005550006", "Order Number 43"); err != nil {
		t.Fatal(err)
	}
	c.advance(2 * MODedupeWindow)
	if err := c.Receive(ctx, smppConn, "15005550101", "15005550006", "Order Number 42"); err != nil {
		t.Fatal(err)
	}
	if got := c.h.pub.callCount() - before; got != 2 || c.h.pub.published() != 3 {
		t.Fatalf("%d publishes after the redeliveries, %d messages held; want 2 and 3", got, c.h.pub.published())
	}
	wait.Until(t, 5*time.Second, "three replies", func() bool { return len(c.h.replies.replies()) == 3 })
	time.Sleep(50 * time.Millisecond)
	if n := len(c.h.replies.replies()); n != 3 {
		t.Fatalf("%d replies, want 3", n)
	}
}

// A deliver_sm is acknowledged only once recorded: a failing store is an error (the SMSC
// delivers again), and the redelivery is handled afresh.
func TestSMPPReceiveStoreDownIsAnError(t *testing.T) {
	c := newSMPPChannel(t, smppTrigger)
	c.h.store.setDown(true)
	if err := c.Receive(context.Background(), smppConn, "15005550101", "", "Order Number 7"); err == nil {
		t.Fatal("Receive succeeded with the store down: the deliver_sm would be acknowledged and lost")
	}
	if c.h.pub.callCount() != 0 {
		t.Fatal("published without a record")
	}
	c.h.store.setDown(false)
	if err := c.Receive(context.Background(), smppConn, "15005550101", "", "Order Number 7"); err != nil || c.h.pub.published() != 1 {
		t.Fatalf("redelivery: %v, %d published", err, c.h.pub.published())
	}
}

func TestSMPPReceiptPublishesFinalStatuses(t *testing.T) {
	c := newSMPPChannel(t)
	ctx := context.Background()
	for _, r := range []SMPPReceipt{
		{MessageID: "m1", Stat: "ENROUTE", To: "14155550100", From: "15005550006"},
		{MessageID: "m1", Stat: "DELIVRD", Err: "000", To: "14155550100", From: "15005550006"},
		{MessageID: "m1", Stat: "DELIVRD", Err: "000"}, // again: published once
		{MessageID: "m2", Stat: "UNDELIV", Err: "034"},
		{MessageID: "m3", Stat: "REJECTD", Err: "x1"},
		{MessageID: "m4", Stat: "WHATEVER"},
	} {
		if err := c.Receipt(ctx, smppConn, r); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for _, m := range c.h.pub.messages() {
		v := m.Variables
		got = append(got, fmt.Sprintf("%s %s %v %v %v %v %v", m.Name, m.CorrelationKey, v["messageStatus"], v["errorCode"], v["to"], v["from"], v["connection"]))
	}
	want := []string{
		"twilioMessageStatus m1 delivered <nil> +14155550100 +15005550006 smsc",
		"twilioMessageStatus m2 undelivered 34   smsc",
		"twilioMessageStatus m3 failed x1   smsc",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("published\n%q\nwant\n%q", got, want)
	}
	// The observer (the console's Activity) hears of every receipt with a known state, progress
	// and repeats included, as of Twilio's status callbacks.
	_, statuses := c.h.seen.snapshot()
	if want := []string{"smsc/m1/sent", "smsc/m1/delivered", "smsc/m1/delivered", "smsc/m2/undelivered", "smsc/m3/failed"}; !reflect.DeepEqual(statuses, want) {
		t.Errorf("observed statuses %q, want %q", statuses, want)
	}
	c.h.store.setDown(true)
	if err := c.Receipt(ctx, smppConn, SMPPReceipt{MessageID: "m5", Stat: "DELIVRD"}); err == nil {
		t.Fatal("a receipt was acknowledged with the store down")
	}
}

func TestSMPPAddress(t *testing.T) {
	for in, want := range map[string]string{"14155550100": "+14155550100", "+14155550100": "+14155550100", " 4915112345678 ": "+4915112345678",
		"12345": "12345", "ACME": "ACME", "": ""} {
		if got := SMPPAddress(in); got != want {
			t.Errorf("SMPPAddress(%q) = %q, want %q", in, got, want)
		}
	}
}
