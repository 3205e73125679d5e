package test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twilio-connector/twilio-connector/test/wait"
)

// gatewayBPMN starts one instance per message "Order Number N" of the connection gateway and
// echoes the number back.
const gatewayBPMN = `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="gatewayDefinitions" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:message id="gatewayOrderMessage" name="gatewayOrder" />
  <bpmn:process id="gatewayOrders" isExecutable="true">
    <bpmn:startEvent id="orderReceived">
      <bpmn:extensionElements>
        <zeebe:properties>
          <zeebe:property name="inbound.type" value="SMS_RECEIVED" />
          <zeebe:property name="inbound.pattern" value="Order Number (?&lt;orderNumber&gt;\d+)" />
          <zeebe:property name="inbound.echo" value="Got order ${orderNumber}" />
          <zeebe:property name="inbound.connection" value="gateway" />
        </zeebe:properties>
      </bpmn:extensionElements>
      <bpmn:messageEventDefinition id="orderReceivedDefinition" messageRef="gatewayOrderMessage" />
    </bpmn:startEvent>
    <bpmn:sequenceFlow id="toDone" sourceRef="orderReceived" targetRef="done" />
    <bpmn:endEvent id="done" />
  </bpmn:process>
</bpmn:definitions>
`

// gatewayStub is an HTTP gateway on loopback recording the messages the connector sends it.
type gatewayStub struct {
	srv  *httptest.Server
	mu   sync.Mutex
	sent []map[string]any
}

func newGatewayStub(t *testing.T) *gatewayStub {
	g := &gatewayStub{}
	g.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var m map[string]any
		body, _ := io.ReadAll(r.Body)
		if err := json.Unmarshal(body, &m); err != nil {
			http.Error(w, "not JSON", http.StatusBadRequest)
			return
		}
		g.mu.Lock()
		g.sent = append(g.sent, m)
		g.mu.Unlock()
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(g.srv.Close)
	return g
}

func (g *gatewayStub) messages() []map[string]any {
	g.mu.Lock()
	defer g.mu.Unlock()
	return append([]map[string]any(nil), g.sent...)
}

// An inbound message on the HTTP channel, through the built binary: a wrong secret is refused,
// the message starts the process of its connection's trigger with channel and connection among
// the variables, the echo goes back to the sender through the same connection's gateway, and
// a redelivery (same id) starts nothing and sends nothing again. The secret stays out of the
// logs.
func TestHTTPChannelInboundEndToEnd(t *testing.T) {
	const secret = "gw-inbound-e2e-secret-7781"
	w, _ := stoppableWorld(t)
	dir := t.TempDir()
	model := filepath.Join(dir, "gateway.bpmn")
	if err := os.WriteFile(model, []byte(gatewayBPMN), 0o600); err != nil {
		t.Fatal(err)
	}
	w.deploy(t, model)
	gw := newGatewayStub(t)
	connections := filepath.Join(t.TempDir(), "connections.yaml")
	if err := os.WriteFile(connections, []byte("connections:\n  gateway:\n    provider: http\n    url: "+gw.srv.URL+
		"\n    inbound_secret: "+secret+"\n    default_from: \"+15005550006\"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := w.startRun(t, "CONNECTOR_CONNECTIONS_FILE="+connections, "CONNECTOR_BPMN_DIR="+dir)
	var exited bool
	wait.Until(t, 15*time.Second, "connector "+p.httpAddr+" to be ready", func() bool {
		select {
		case <-p.exited:
			exited = true
			return true
		default:
		}
		code, _ := httpGet("http://" + p.httpAddr + "/readyz")
		return code == 200
	})
	if exited {
		t.Fatalf("the connector exited: %s", p.stderr.String())
	}

	receive := func(auth, body string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, "http://"+p.httpAddr+"/http/gateway/receive", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", auth)
		res, err := httpClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(b)
	}
	const msg = `{"from":"+14155550142","text":"Order Number 42","id":"gw-1"}`
	if code, body := receive("Bearer wrong", msg); code != http.StatusUnauthorized {
		t.Fatalf("wrong secret: %d %s", code, body)
	}
	if code, body := receive("Bearer "+secret, msg); code != http.StatusOK || !strings.Contains(body, `"published"`) {
		t.Fatalf("receive: %d %s", code, body)
	}

	started := func() int {
		n := 0
		for _, inst := range w.eng.Instances() {
			if inst.BpmnProcessID == "gatewayOrders" {
				n++
				v := inst.Variables
				if v["channel"] != "http" || v["connection"] != "gateway" || v["messageSid"] != "gw-1" || v["from"] != "+14155550142" {
					t.Errorf("instance variables %v", v)
				}
			}
		}
		return n
	}
	wait.Until(t, 10*time.Second, "the process to start", func() bool { return started() == 1 })
	wait.Until(t, 10*time.Second, "the echo at the gateway", func() bool { return len(gw.messages()) == 1 })
	if m := gw.messages()[0]; m["to"] != "+14155550142" || m["text"] != "Got order 42" || m["from"] != "+15005550006" || m["channel"] != "gateway" {
		t.Errorf("echo sent to the gateway: %v", m)
	}

	// The gateway delivers the same message again: the answer comes after the pipeline ran, so
	// nothing more may have happened by then.
	if code, body := receive("Bearer "+secret, msg); code != http.StatusOK || !strings.Contains(body, `"duplicate"`) {
		t.Fatalf("redelivery: %d %s", code, body)
	}
	if n, echoes := started(), len(gw.messages()); n != 1 || echoes != 1 {
		t.Errorf("after the redelivery: %d instances, %d echoes; want 1 and 1", n, echoes)
	}
	if strings.Contains(p.stderr.String(), secret) {
		t.Error("the inbound secret appears in the logs")
	}
}
