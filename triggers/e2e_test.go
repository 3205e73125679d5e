package triggers_test

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/camunda/zeebe/clients/go/v8/pkg/zbc"

	"github.com/twilio-connector/twilio-connector/bpmn"
	"github.com/twilio-connector/twilio-connector/bpmn/engine"
	"github.com/twilio-connector/twilio-connector/store"
	"github.com/twilio-connector/twilio-connector/test/twiliotest"
	"github.com/twilio-connector/twilio-connector/triggers"
	"github.com/twilio-connector/twilio-connector/worker"
)

const (
	e2eToken   = "0123456789abcdef0123456789abcdef"
	e2eAccount = "AC0123456789abcdef0123456789abcdef"
	e2eNumber  = "+15005550006"
	e2eSender  = "+15005550101"
)

// A signed inbound SMS travels webhook → worker.Publisher → real Zeebe Go client → dev engine:
// it starts the process, the sender's reply continues it, and a redelivery publishes nothing.
// Triggers come from what is deployed to the engine (its OnDeploy hook), as in `dev`.
func TestEndToEndThroughZeebeClient(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}

	reg := triggers.NewRegistry()
	var loadErr error
	var mu sync.Mutex
	eng := engine.New(engine.Options{Logger: log, OnDeploy: func(defs *bpmn.Definitions) {
		ts, err := triggers.FromDefinitions(defs, 0)
		mu.Lock()
		loadErr = errors.Join(loadErr, err)
		mu.Unlock()
		reg.Set(defs.Name, ts)
	}})
	srv, err := eng.Serve(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	client, err := zbc.NewClient(&zbc.ClientConfig{GatewayAddress: srv.Addr(), UsePlaintextConnection: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = client.Close(); _ = srv.Close() })

	data, err := os.ReadFile(filepath.Join("testdata", "bpmn", "sms_order.bpmn"))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := client.NewDeployResourceCommand().AddResource(data, "sms_order.bpmn").Send(ctx); err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	err = loadErr
	mu.Unlock()
	if err != nil {
		t.Fatal(err)
	}
	if n := len(reg.Triggers()); n != 2 {
		t.Fatalf("%d triggers loaded from the deployment, want 2", n)
	}

	st := store.NewMemory(0)
	pub := worker.NewPublisher(client)
	outbox := triggers.NewOutbox(st, pub, triggers.OutboxOptions{Logger: log})
	mux := http.NewServeMux()
	mux.Handle("POST /twilio/sms", triggers.NewSMSReceived(triggers.Options{Triggers: reg, Publisher: pub, Store: st, Outbox: outbox,
		Verifier: triggers.Verifier{AuthToken: e2eToken}, MessageTTL: time.Minute, Logger: log}))
	web := httptest.NewServer(mux)
	defer web.Close()

	post := func(form map[string][]string) string {
		t.Helper()
		resp, err := twiliotest.PostForm(ctx, web.URL+"/twilio/sms", e2eToken, form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			t.Fatalf("webhook answered %d: %s", resp.StatusCode, b)
		}
		return string(b)
	}

	order := twiliotest.InboundForm(e2eAccount, e2eSender, e2eNumber, "order number 42")
	sid := order["MessageSid"][0]
	first := post(order)
	if want := `<?xml version="1.0" encoding="UTF-8"?><Response><Message>Your reference number is 42</Message></Response>`; first != want {
		t.Errorf("reply %s, want %s", first, want)
	}
	msgs := eng.PublishedMessages()
	if len(msgs) != 1 {
		t.Fatalf("engine received %d messages, want 1", len(msgs))
	}
	m := msgs[0]
	if m.Name != "sms-order-received" || m.CorrelationKey != "" || m.MessageID != sid+":start:sms-order-received" || len(m.Instances) != 1 {
		t.Errorf("published %+v", m)
	}
	vars := jsonRoundTrip(t, m.Variables)
	delete(vars, "receivedAt")
	want := map[string]any{"matchGroups": map[string]any{"orderNumber": "42"}, "originalMessage": "order number 42",
		"to": e2eNumber, "from": e2eSender, "messageSid": sid, "channel": "sms", "connection": "default"}
	if !reflect.DeepEqual(vars, want) {
		t.Errorf("variables %v, want %v", vars, want)
	}
	if _, ok := m.Variables["receivedAt"].(string); !ok {
		t.Errorf("receivedAt missing: %v", m.Variables)
	}
	instance := m.Instances[0]

	// Redelivery: same answer, nothing new reaches the engine.
	if again := post(order); again != first {
		t.Errorf("redelivery answered %s, want %s", again, first)
	}
	if n := len(eng.PublishedMessages()); n != 1 {
		t.Errorf("engine received %d messages after a redelivery, want 1", n)
	}

	// The customer answers: the catch event (correlation key =phoneNumber = from) continues.
	post(twiliotest.InboundForm(e2eAccount, e2eSender, e2eNumber, "Yes"))
	info, err := eng.WaitInstance(ctx, instance)
	if err != nil {
		t.Fatal(err)
	}
	if info.State != engine.StateCompleted || info.Variables["answer"] != "Yes" || info.Variables["phoneNumber"] != e2eSender {
		t.Errorf("instance %+v", info)
	}
	msgs = eng.PublishedMessages()
	if len(msgs) != 2 || msgs[1].Name != "sms-order-confirmation" || msgs[1].CorrelationKey != e2eSender {
		t.Errorf("reply message %+v", msgs[len(msgs)-1])
	}

	// The publisher maps ALREADY_EXISTS to success.
	if err := pub.Publish(ctx, triggers.Message{Name: m.Name, MessageID: m.MessageID, TTL: time.Minute}); err != nil {
		t.Errorf("publishing an id the engine holds: %v, want success", err)
	}
	// And a stopped engine is a temporary failure.
	_ = srv.Close()
	sctx, scancel := context.WithTimeout(ctx, 2*time.Second)
	defer scancel()
	err = pub.Publish(sctx, triggers.Message{Name: "x", MessageID: "y"})
	if err == nil || !triggers.IsTemporary(err) {
		t.Errorf("publishing to a stopped engine: %v, want a temporary PublishError", err)
	}
}

func jsonRoundTrip(t *testing.T, v map[string]any) map[string]any {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}
