package main

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twilio-connector/twilio-connector/actions"
	"github.com/twilio-connector/twilio-connector/config"
	"github.com/twilio-connector/twilio-connector/errs"
	"github.com/twilio-connector/twilio-connector/providers"
	"github.com/twilio-connector/twilio-connector/store"
	"github.com/twilio-connector/twilio-connector/triggers"
)

// recordingProvider records what it sends; while down, sends fail as a 503 would.
type recordingProvider struct {
	providers.Phone
	mu   sync.Mutex
	down bool
	sent []providers.Message
}

func (p *recordingProvider) Kind() string { return "http" }
func (p *recordingProvider) Send(_ context.Context, m providers.Message) (providers.Sent, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.down {
		return providers.Sent{}, errs.New(errs.Connection, "", "gateway answered 503")
	}
	p.sent = append(p.sent, m)
	return providers.Sent{SID: m.ID, Status: "sent"}, nil
}
func (p *recordingProvider) Find(context.Context, providers.Message, time.Time) (providers.Sent, bool, error) {
	return providers.Sent{}, false, providers.ErrNoLookup
}

// The HTTP channel's replies go out with send_sms through their connection, from its
// default_from (or the reply's From), verbatim (no template), once per reply id even when tried again; a transient
// failure is returned so the outbox keeps the reply.
func TestReplierSendsThroughTheConnectionOnce(t *testing.T) {
	p := &recordingProvider{}
	conns := providers.Connections{"gw": {Name: "gw", Provider: p, DefaultFrom: "+15005550006"}}
	sms := actions.NewSMS(conns, &actions.Delivery{Kind: "sms", Store: store.NewMemory(0), Attempts: 1}, actions.SMSOptions{})
	reply := replier(sms, slog.New(slog.NewTextHandler(io.Discard, nil)))
	r := triggers.Reply{ID: "http:gw:id:7:reply:0", Connection: "gw", To: "+15005550101", Text: "Got ${x} 100%"}

	p.down = true
	if err := reply(context.Background(), r); err == nil {
		t.Fatal("a 503 was not returned: the outbox would drop the reply")
	}
	p.down = false
	for range 2 {
		if err := reply(context.Background(), r); err != nil {
			t.Fatal(err)
		}
	}
	if len(p.sent) != 1 {
		t.Fatalf("sent %d messages, want 1: %+v", len(p.sent), p.sent)
	}
	if m := p.sent[0]; m.To != r.To || m.From != "+15005550006" || m.Body != r.Text {
		t.Errorf("sent %+v", m)
	}
	// A reply with From (an SMPP MO's recipient) goes out from that number.
	if err := reply(context.Background(), triggers.Reply{ID: "smpp:gw:mo:1:reply:0", Connection: "gw", To: r.To, From: "+15005550010", Text: "hi"}); err != nil {
		t.Fatal(err)
	}
	if m := p.sent[len(p.sent)-1]; m.From != "+15005550010" {
		t.Errorf("a reply with From: sent from %q, want +15005550010", m.From)
	}
	// A permanent refusal is dropped (nil), not retried forever.
	if err := reply(context.Background(), triggers.Reply{ID: "x", Connection: "nope", To: r.To, Text: "hi"}); err != nil {
		t.Errorf("unknown connection: %v, want nil (dropped)", err)
	}
}

// A trigger on a connection that is not configured, or that takes no inbound messages, is
// reported at start: it would never fire. An smpp connection takes them (deliver_sm).
func TestTriggerOnConnectionWithoutInboundWarns(t *testing.T) {
	file := filepath.Join(t.TempDir(), "connections.yaml")
	doc := "connections:\n  second:\n    provider: twilio\n    account: AC0123456789abcdef0123456789abcdef\n    token: 0123456789abcdef0123456789abcdef\n" +
		"  smsc:\n    provider: smpp\n    address: 127.0.0.1:2775\n    system_id: esme\n"
	if err := os.WriteFile(file, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	var ts []*triggers.Trigger
	for _, conn := range []string{"", "default", "second", "typo", "smsc"} {
		tr, err := triggers.Compile(triggers.Definition{Element: "on-" + conn, MessageName: "m", Pattern: "x", Connection: conn}, 0)
		if err != nil {
			t.Fatal(err)
		}
		ts = append(ts, tr)
	}
	var logs bytes.Buffer
	conns, err := newConnections(config.Config{ConnectionsFile: file}, nil)
	if err != nil {
		t.Fatal(err)
	}
	secrets := inboundSecrets(conns, triggers.NewRegistry(ts...), slog.New(slog.NewTextHandler(&logs, nil)))
	if _, ok := secrets("second"); ok {
		t.Error("a twilio connection takes HTTP channel messages")
	}
	out := logs.String()
	if strings.Count(out, "level=WARN") != 2 || !strings.Contains(out, "trigger=on-second connection=second") ||
		!strings.Contains(out, "trigger=on-typo connection=typo") || !strings.Contains(out, "not configured") {
		t.Errorf("warnings:\n%s", out)
	}
}
