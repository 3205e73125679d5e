package test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twilio-connector/twilio-connector/actions"
	"github.com/twilio-connector/twilio-connector/bpmn/engine"
	"github.com/twilio-connector/twilio-connector/test/httpchanneltest"
	"github.com/twilio-connector/twilio-connector/test/pushovertest"
	"github.com/twilio-connector/twilio-connector/test/wait"
)

// One `twilio-connector run` with a connections file: the same Send SMS task, switched only by
// its connection header, delivers through Twilio (the TWILIO_* account, connection default),
// Pushover and the generic HTTP channel; the recipient user:sean resolves to his phone number
// for Twilio and the HTTP channel and to his Pushover key for Pushover; a task without smsTo
// goes to its connection's default_to. No token or header value reaches the logs or the
// process variables.
func TestOneTaskThreeConnections(t *testing.T) {
	w, _ := stoppableWorld(t)
	w.deploy(t, "testdata/connections.bpmn")
	pushover := pushovertest.New(t)
	gateway := httpchanneltest.New(t)
	const gatewayAuth = "Bearer gw-e2e-secret-5150"
	gateway.RequireHeader("Authorization", gatewayAuth)
	seanPhone, seanKey, teamKey := "+14155550142", pushover.NewUser(), pushover.NewUser()

	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "pushover-token")
	writeConfig(t, tokenFile, pushover.Token()+"\n")
	connections := filepath.Join(dir, "connections.yaml")
	writeConfig(t, connections, `connections:
  pager:
    provider: pushover
    token_file: `+tokenFile+`
    api_base_url: `+pushover.URL()+`
  gateway:
    provider: http
    url: `+gateway.URL()+`
    format: form
    headers:
      Authorization: "`+gatewayAuth+`"
    default_from: "+15005550006"
  team:
    provider: pushover
    token_file: `+tokenFile+`
    api_base_url: `+pushover.URL()+`
    default_to: ["`+teamKey+`"]
`)
	directory := filepath.Join(dir, "users.yaml")
	writeConfig(t, directory, "users:\n  sean: {phone: \""+seanPhone+"\", pushover: "+seanKey+"}\n")

	p := w.startRun(t, "CONNECTOR_CONNECTIONS_FILE="+connections, "CONNECTOR_DIRECTORY_FILE="+directory)
	p.waitReady(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd, err := w.client.NewCreateInstanceCommand().BPMNProcessId("notifyEverywhere").LatestVersion().
		VariablesFromMap(map[string]any{"who": "user:sean", "orderId": "A-7"})
	if err != nil {
		t.Fatal(err)
	}
	inst, err := cmd.Send(ctx)
	if err != nil {
		t.Fatal(err)
	}
	w.waitCompleted(t, 20*time.Second, []int64{inst.GetProcessInstanceKey()})
	info, _ := w.eng.Instance(inst.GetProcessInstanceKey())
	vars := info.Variables

	sid := func(name, wantTo string) string {
		t.Helper()
		var res []actions.RecipientResult
		raw, _ := json.Marshal(vars[name+"Sent"])
		if err := json.Unmarshal(raw, &res); err != nil || vars[name+"Failed"] != nil || len(res) != 1 || res[0].SID == nil || res[0].To != wantTo {
			t.Fatalf("%s: result %s, errors %s", name, raw, jsonOf(vars[name+"Failed"]))
		}
		return *res[0].SID
	}

	twilioSID := sid("twilio", seanPhone)
	if m, ok := w.twilio.Message(twilioSID); !ok || m.To != seanPhone || m.Body != "Order A-7 is ready" {
		t.Errorf("Twilio holds %+v for sid %s", m, twilioSID)
	}

	pushoverSID := sid("pushover", seanKey)
	sent := pushover.Sent()
	if len(sent) != 2 {
		t.Fatalf("Pushover got %d messages, want 2 (sean, then the team)", len(sent))
	}
	if m := sent[0]; m.Request != pushoverSID || m.User != seanKey || m.Title != "Your order" || m.Message != "Order A-7 is ready" {
		t.Errorf("Pushover got %+v, sid %s", m, pushoverSID)
	}

	gatewaySID := sid("gateway", seanPhone)
	got := gateway.Sent()
	if len(got) != 1 {
		t.Fatalf("the gateway got %d messages", len(got))
	}
	if f := got[0].Fields; got[0].GatewayID != gatewaySID || got[0].Format != "form" || f["to"] != seanPhone || f["to_no_plus"] != seanPhone[1:] ||
		f["from"] != "+15005550006" || f["text"] != "Order A-7 is ready" || f["channel"] != "gateway" || f["id"] == "" {
		t.Errorf("the gateway got %+v, sid %s", got[0], gatewaySID)
	}

	if teamSID := sid("team", teamKey); sent[1].User != teamKey || sent[1].Request != teamSID || sent[1].Message != "Order A-7 went out" {
		t.Errorf("default_to: Pushover got %+v, sid %s", sent[1], teamSID)
	}
	if n := len(w.twilio.Sent()); n != 1 {
		t.Errorf("Twilio got %d messages, want only the default connection's", n)
	}

	shown := p.stderr.String() + jsonOf(vars) + jsonOf(w.eng.Jobs())
	for _, secret := range []string{pushover.Token(), "gw-e2e-secret-5150", w.twilio.AuthToken} {
		if strings.Contains(shown, secret) {
			t.Errorf("a secret appears in the logs, variables or jobs")
		}
	}
	if info.State != engine.StateCompleted {
		t.Errorf("instance %s", info.State)
	}
}

// writeConfig writes a configuration file only the test user can read.
func writeConfig(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// A pushover connection without a token stops the start with a line naming the connection and
// the field.
func TestPushoverConnectionWithoutTokenStopsTheStart(t *testing.T) {
	w := newWorld(t)
	path := filepath.Join(t.TempDir(), "connections.yaml")
	writeConfig(t, path, "connections:\n  pager:\n    provider: pushover\n    api_base_url: https://api.pushover.net\n")
	p := w.startRun(t, "CONNECTOR_CONNECTIONS_FILE="+path)
	select {
	case <-p.exited:
	case <-time.After(15 * time.Second):
		t.Fatal("the connector started with a pushover connection without a token")
	}
	wait.Until(t, time.Second, "the error line", func() bool {
		out := p.stderr.String()
		return strings.Contains(out, "pager") && strings.Contains(out, "token")
	})
}
