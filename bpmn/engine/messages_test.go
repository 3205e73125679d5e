package engine

import (
	"encoding/json"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/twilio-connector/twilio-connector/test/wait"
	"google.golang.org/grpc/codes"
)

func (te *testEngine) publish(t *testing.T, name, correlationKey, messageID string, ttl time.Duration, vars map[string]any) error {
	t.Helper()
	cmd, err := te.client.NewPublishMessageCommand().MessageName(name).CorrelationKey(correlationKey).
		MessageId(messageID).TimeToLive(ttl).VariablesFromMap(vars)
	if err != nil {
		t.Fatal(err)
	}
	_, err = cmd.Send(ctxFor(t, 5*time.Second))
	return err
}

func (te *testEngine) instancesOf(processID string) []InstanceInfo {
	var out []InstanceInfo
	for _, i := range te.Instances() {
		if i.BpmnProcessID == processID {
			out = append(out, i)
		}
	}
	return out
}

func TestPublishMessageStartsInstance(t *testing.T) {
	te := startEngine(t)
	te.deploy(t, "message_start.bpmn")
	vars := map[string]any{"originalMessage": "Order Number 42", "from": "+15550100"}
	for range 2 {
		// No correlation key: every message starts an instance, buffered or not.
		if err := te.publish(t, "sms-received", "", "", 0, vars); err != nil {
			t.Fatal(err)
		}
	}
	if err := te.publish(t, "some-other-message", "", "", 0, nil); err != nil {
		t.Fatal(err)
	}
	insts := te.instancesOf("sms-order")
	if len(insts) != 2 {
		t.Fatalf("%d instances started, want 2", len(insts))
	}
	for _, inst := range insts {
		if !reflect.DeepEqual(inst.Variables, vars) || !reflect.DeepEqual(inst.ActiveElements, []string{"handle"}) {
			t.Errorf("instance = %+v", inst)
		}
	}
	msgs := te.PublishedMessages()
	if len(msgs) != 3 || !reflect.DeepEqual(msgs[0].Instances, []int64{insts[0].Key}) || len(msgs[2].Instances) != 0 {
		t.Errorf("published messages = %+v", msgs)
	}
}

func TestMessageStartOneInstancePerCorrelationKey(t *testing.T) {
	te := startEngine(t)
	te.deploy(t, "message_start.bpmn")
	if err := te.publish(t, "sms-received", "+15550100", "SM1", time.Minute, map[string]any{"n": 1}); err != nil {
		t.Fatal(err)
	}
	if err := te.publish(t, "sms-received", "+15550100", "SM2", time.Minute, map[string]any{"n": 2}); err != nil {
		t.Fatal(err)
	}
	if err := te.publish(t, "sms-received", "+15550199", "SM3", time.Minute, map[string]any{"n": 3}); err != nil {
		t.Fatal(err)
	}
	insts := te.instancesOf("sms-order")
	if len(insts) != 2 {
		t.Fatalf("%d instances, want 2 (one per correlation key)", len(insts))
	}
	// Completing the instance of +15550100 starts the next one from the buffered message.
	job := te.activate(t, ctxFor(t, 5*time.Second), "test.handle", time.Minute)
	var first int64
	for _, j := range job {
		vars := decode(t, j.Variables)
		if vars["n"] == 1.0 {
			first = j.Key
		}
	}
	if first == 0 {
		t.Fatalf("no job for the first message among %d jobs", len(job))
	}
	if _, err := te.client.NewCompleteJobCommand().JobKey(first).Send(ctxFor(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	insts = te.instancesOf("sms-order")
	if len(insts) != 3 {
		t.Fatalf("instances = %+v, want a third one", insts)
	}
	if got := insts[2].Variables["n"]; got != json.Number("2") {
		t.Errorf("next instance started with n=%v, want 2", got)
	}
}

// A message with TTL 0 is never buffered, as in Zeebe: one that a start event cannot take at
// publish time (an instance for its correlation key is active) starts nothing later.
func TestZeroTTLMessageIsNotKeptForTheNextInstance(t *testing.T) {
	te := startEngine(t)
	te.deploy(t, "message_start.bpmn")
	for i, id := range []string{"SM1", "SM2"} {
		if err := te.publish(t, "sms-received", "+15550100", id, 0, map[string]any{"n": i + 1}); err != nil {
			t.Fatal(err)
		}
	}
	if insts := te.instancesOf("sms-order"); len(insts) != 1 {
		t.Fatalf("%d instances, want 1", len(insts))
	}
	jobs := te.activate(t, ctxFor(t, 5*time.Second), "test.handle", time.Minute)
	if len(jobs) != 1 {
		t.Fatalf("%d jobs, want 1", len(jobs))
	}
	if _, err := te.client.NewCompleteJobCommand().JobKey(jobs[0].Key).Send(ctxFor(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	if insts := te.instancesOf("sms-order"); len(insts) != 1 {
		t.Errorf("instances = %+v: the TTL 0 message SM2 started one after the first ended", insts)
	}
	for _, m := range te.PublishedMessages() {
		if m.Buffered {
			t.Errorf("message %s is buffered with TTL 0", m.MessageID)
		}
	}
}

func TestPublishMessageIDUniqueness(t *testing.T) {
	tests := []struct {
		name       string
		first      time.Duration // TTL of the first message
		secondName string
		secondKey  string
		secondID   string
		want       codes.Code
	}{
		{"same id while buffered", time.Minute, "reply", "k", "SM1", codes.AlreadyExists},
		{"different id", time.Minute, "reply", "k", "SM2", codes.OK},
		{"same id, other correlation key", time.Minute, "reply", "other", "SM1", codes.OK},
		{"same id, other name", time.Minute, "other", "k", "SM1", codes.OK},
		{"same id after a zero TTL", 0, "reply", "k", "SM1", codes.OK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			te := startEngine(t)
			if err := te.publish(t, "reply", "k", "SM1", tt.first, nil); err != nil {
				t.Fatal(err)
			}
			wantCode(t, te.publish(t, tt.secondName, tt.secondKey, tt.secondID, time.Minute, nil), tt.want)
		})
	}
}

func TestMessageIDFreeAgainAfterTTL(t *testing.T) {
	te := startEngine(t)
	if err := te.publish(t, "reply", "k", "SM1", 200*time.Millisecond, nil); err != nil {
		t.Fatal(err)
	}
	wantCode(t, te.publish(t, "reply", "k", "SM1", time.Minute, nil), codes.AlreadyExists)
	wait.Until(t, 5*time.Second, "the message to expire", func() bool { return !te.PublishedMessages()[0].Buffered })
	if err := te.publish(t, "reply", "k", "SM1", time.Minute, nil); err != nil {
		t.Fatalf("publish after expiry: %v", err)
	}
}

func TestIntermediateCatchCorrelation(t *testing.T) {
	reply := map[string]any{"originalMessage": "YES", "from": "+15550100"}
	tests := []struct {
		name        string
		publishKey  string
		ttl         time.Duration
		before      bool // publish before the instance reaches the catch event
		waitExpiry  bool
		wantCorrels bool
	}{
		{"published while waiting", "+15550100", 0, false, false, true},
		{"buffered before the instance arrives", "+15550100", time.Minute, true, false, true},
		{"other correlation key", "+15550199", time.Minute, false, false, false},
		{"not buffered with zero TTL", "+15550100", 0, true, false, false},
		{"expired before the instance arrives", "+15550100", 100 * time.Millisecond, true, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			te := startEngine(t)
			te.deploy(t, "catch_reply.bpmn")
			if tt.before {
				if err := te.publish(t, "sms-reply", tt.publishKey, "", tt.ttl, reply); err != nil {
					t.Fatal(err)
				}
				if tt.waitExpiry {
					wait.Until(t, 5*time.Second, "message expiry", func() bool { return !te.PublishedMessages()[0].Buffered })
				}
			}
			key := te.create(t, "await-reply", map[string]any{"customer": map[string]any{"phone": "+15550100"}})
			if !tt.before {
				if err := te.publish(t, "sms-reply", tt.publishKey, "", tt.ttl, reply); err != nil {
					t.Fatal(err)
				}
			}
			info, _ := te.Instance(key)
			if !tt.wantCorrels {
				if info.State != StateActive || !reflect.DeepEqual(info.ActiveElements, []string{"reply"}) {
					t.Errorf("instance = %+v, want it waiting at reply", info)
				}
				return
			}
			if info.State != StateCompleted {
				t.Fatalf("instance = %+v, want completed", info)
			}
			// The catch event has an output mapping, so only its target reaches the process.
			want := map[string]any{"customer": map[string]any{"phone": "+15550100"}, "answer": "YES"}
			if !reflect.DeepEqual(info.Variables, want) {
				t.Errorf("variables = %v, want %v", info.Variables, want)
			}
		})
	}
}

func TestMessageCorrelatedOncePerProcess(t *testing.T) {
	te := startEngine(t)
	te.deploy(t, "catch_reply.bpmn")
	vars := map[string]any{"customer": map[string]any{"phone": "+15550100"}}
	a, b := te.create(t, "await-reply", vars), te.create(t, "await-reply", vars)
	if err := te.publish(t, "sms-reply", "+15550100", "", time.Minute, map[string]any{"originalMessage": "1"}); err != nil {
		t.Fatal(err)
	}
	ia, _ := te.Instance(a)
	ib, _ := te.Instance(b)
	if ia.State != StateCompleted || ib.State != StateActive {
		t.Fatalf("states = %s, %s; want the first waiting instance to take the message, the second to wait", ia.State, ib.State)
	}
	// The buffered message stays, but a later instance of the same process does not get it.
	c := te.create(t, "await-reply", vars)
	if ic, _ := te.Instance(c); ic.State != StateActive {
		t.Errorf("third instance took an already correlated message")
	}
	if err := te.publish(t, "sms-reply", "+15550100", "", 0, map[string]any{"originalMessage": "2"}); err != nil {
		t.Fatal(err)
	}
	ib, _ = te.Instance(b)
	ic, _ := te.Instance(c)
	if ib.State != StateCompleted || ic.State != StateActive || ib.Variables["answer"] != "2" {
		t.Errorf("after second message: b=%+v c=%+v", ib, ic)
	}
	if got := te.PublishedMessages(); !slices.Equal(got[0].Instances, []int64{a}) || !slices.Equal(got[1].Instances, []int64{b}) {
		t.Errorf("messages = %+v", got)
	}
}
