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

// threeConnections is a world with a Pushover and an HTTP gateway stand-in, a connections file
// naming them (pager, gateway, and team: Pushover with default_to) and a directory where sean
// has a phone number and a Pushover key.
type threeConnections struct {
	*world
	pushover                    *pushovertest.Server
	gateway                     *httpchanneltest.Server
	seanPhone, seanKey, teamKey string
	env                         []string
}

const gatewayAuth = "Bearer gw-e2e-secret-5150"

func newThreeConnections(t *testing.T) *threeConnections {
	t.Helper()
	w, _ := stoppableWorld(t)
	w.deploy(t, "testdata/connections.bpmn")
	c := &threeConnections{world: w, pushover: pushovertest.New(t), gateway: httpchanneltest.New(t), seanPhone: "+14155550142"}
	c.gateway.RequireHeader("Authorization", gatewayAuth)
	c.seanKey, c.teamKey = c.pushover.NewUser(), c.pushover.NewUser()

	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "pushover-token")
	writeConfig(t, tokenFile, c.pushover.Token()+"\n")
	connections := filepath.Join(dir, "connections.yaml")
	writeConfig(t, connections, `connections:
  pager:
    provider: pushover
    token_file: `+tokenFile+`
    api_base_url: `+c.pushover.URL()+`
  gateway:
    provider: http
    url: `+c.gateway.URL()+`
    format: form
    headers:
      Authorization: "`+gatewayAuth+`"
    default_from: "+15005550006"
  team:
    provider: pushover
    token_file: `+tokenFile+`
    api_base_url: `+c.pushover.URL()+`
    default_to: ["`+c.teamKey+`"]
`)
	directory := filepath.Join(dir, "users.yaml")
	writeConfig(t, directory, "users:\n  sean: {phone: \""+c.seanPhone+"\", pushover: "+c.seanKey+"}\n")
	c.env = []string{"CONNECTOR_CONNECTIONS_FILE=" + connections, "CONNECTOR_DIRECTORY_FILE=" + directory}
	return c
}

// run starts the connector, runs notifyEverywhere for user:sean and returns the completed
// instance's variables and the connector's stderr.
func (c *threeConnections) run(t *testing.T) (vars map[string]any, stderr string) {
	t.Helper()
	p := c.startRun(t, c.env...)
	p.waitReady(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd, err := c.client.NewCreateInstanceCommand().BPMNProcessId("notifyEverywhere").LatestVersion().
		VariablesFromMap(map[string]any{"who": "user:sean", "orderId": "A-7"})
	if err != nil {
		t.Fatal(err)
	}
	inst, err := cmd.Send(ctx)
	if err != nil {
		t.Fatal(err)
	}
	c.waitCompleted(t, 20*time.Second, []int64{inst.GetProcessInstanceKey()})
	info, _ := c.eng.Instance(inst.GetProcessInstanceKey())
	if info.State != engine.StateCompleted {
		t.Fatalf("instance %s", info.State)
	}
	return info.Variables, p.stderr.String()
}

// sid returns the one sid of the task whose outputs are NAMESent and NAMEFailed, failing the
// test unless it was sent to wantTo.
func sid(t *testing.T, vars map[string]any, name, wantTo string) string {
	t.Helper()
	var res []actions.RecipientResult
	raw, _ := json.Marshal(vars[name+"Sent"])
	if err := json.Unmarshal(raw, &res); err != nil || vars[name+"Failed"] != nil || len(res) != 1 || res[0].SID == nil || res[0].To != wantTo {
		t.Fatalf("%s: result %s, errors %s", name, raw, jsonOf(vars[name+"Failed"]))
	}
	return *res[0].SID
}

// One `twilio-connector run` with a connections file: the same Send SMS task, switched only by
// its connection header, delivers through Twilio (the TWILIO_* account, connection default),
// Pushover and the generic HTTP channel; the recipient user:sean resolves to his phone number
// for Twilio and the HTTP channel and to his Pushover key for Pushover; a task without smsTo
// goes to its connection's default_to. No token or header value reaches the logs or the
// process variables.
func TestOneTaskThreeConnections(t *testing.T) {
	c := newThreeConnections(t)
	vars, stderr := c.run(t)

	twilioSID := sid(t, vars, "twilio", c.seanPhone)
	if m, ok := c.twilio.Message(twilioSID); !ok || m.To != c.seanPhone || m.Body != "Order A-7 is ready" {
		t.Errorf("Twilio holds %+v for sid %s", m, twilioSID)
	}

	pushoverSID := sid(t, vars, "pushover", c.seanKey)
	sent := c.pushover.Sent()
	if len(sent) != 2 {
		t.Fatalf("Pushover got %d messages, want 2 (sean, then the team)", len(sent))
	}
	if m := sent[0]; m.Request != pushoverSID || m.User != c.seanKey || m.Title != "Your order" || m.Message != "Order A-7 is ready" {
		t.Errorf("Pushover got %+v, sid %s", m, pushoverSID)
	}

	gatewaySID := sid(t, vars, "gateway", c.seanPhone)
	got := c.gateway.Sent()
	if len(got) != 1 {
		t.Fatalf("the gateway got %d messages", len(got))
	}
	if f := got[0].Fields; got[0].GatewayID != gatewaySID || got[0].Format != "form" || f["to"] != c.seanPhone || f["to_no_plus"] != c.seanPhone[1:] ||
		f["from"] != "+15005550006" || f["text"] != "Order A-7 is ready" || f["channel"] != "gateway" || f["id"] == "" {
		t.Errorf("the gateway got %+v, sid %s", got[0], gatewaySID)
	}

	if teamSID := sid(t, vars, "team", c.teamKey); sent[1].User != c.teamKey || sent[1].Request != teamSID || sent[1].Message != "Order A-7 went out" {
		t.Errorf("default_to: Pushover got %+v, sid %s", sent[1], teamSID)
	}
	if n := len(c.twilio.Sent()); n != 1 {
		t.Errorf("Twilio got %d messages, want only the default connection's", n)
	}

	shown := stderr + jsonOf(vars) + jsonOf(c.eng.Jobs())
	for _, secret := range []string{c.pushover.Token(), "gw-e2e-secret-5150", c.twilio.AuthToken} {
		if strings.Contains(shown, secret) {
			t.Errorf("a secret appears in the logs, variables or jobs")
		}
	}
}

// Faults through the binary: Pushover's answer lost (it did queue the message) is not repeated
// but reported DELIVERY_UNCERTAIN, since Pushover cannot be asked; a gateway's 503 is retried
// with the same id, and the gateway gets the message once.
func TestThreeConnectionsUnderFaults(t *testing.T) {
	c := newThreeConnections(t)
	c.pushover.AcceptThenDrop(c.seanKey, 1)
	c.gateway.FailTimes(c.seanPhone, 1, 503)
	vars, _ := c.run(t)

	sid(t, vars, "twilio", c.seanPhone)
	var failed []actions.RecipientError
	raw, _ := json.Marshal(vars["pushoverFailed"])
	if err := json.Unmarshal(raw, &failed); err != nil || len(failed) != 1 || failed[0].Code != "DELIVERY_UNCERTAIN" {
		t.Errorf("Pushover's lost answer: errors %s", raw)
	}
	if n := c.pushover.CountTo(c.seanKey); n != 1 {
		t.Errorf("sean got %d Pushover requests, want 1: an attempt that may have arrived is not repeated", n)
	}

	gatewaySID := sid(t, vars, "gateway", c.seanPhone)
	var ids []string
	for _, r := range c.gateway.Requests() {
		ids = append(ids, r.Fields["id"])
	}
	if len(ids) != 2 || ids[0] != ids[1] || len(c.gateway.Sent()) != 1 || c.gateway.Sent()[0].GatewayID != gatewaySID {
		t.Errorf("gateway requests with ids %v, %d accepted; want two with one id, one accepted", ids, len(c.gateway.Sent()))
	}
	sid(t, vars, "team", c.teamKey)
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
