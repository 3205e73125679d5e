package test

import (
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/twilio-connector/twilio-connector/test/redistest"
	"github.com/twilio-connector/twilio-connector/test/twiliotest"
	"github.com/twilio-connector/twilio-connector/test/wait"
)

// pingBPMN starts one instance per SMS "ping N" and ends at once.
const pingBPMN = `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="pingDefinitions" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:message id="pingMessage" name="pingReceived" />
  <bpmn:process id="inboundPing" isExecutable="true">
    <bpmn:startEvent id="pinged">
      <bpmn:extensionElements>
        <zeebe:properties>
          <zeebe:property name="inbound.type" value="SMS_RECEIVED" />
          <zeebe:property name="inbound.pattern" value="ping \d+" />
          <zeebe:property name="inbound.echo" value="pong" />
        </zeebe:properties>
      </bpmn:extensionElements>
      <bpmn:messageEventDefinition id="pingedDefinition" messageRef="pingMessage" />
    </bpmn:startEvent>
    <bpmn:sequenceFlow id="toDone" sourceRef="pinged" targetRef="done" />
    <bpmn:endEvent id="done" />
  </bpmn:process>
</bpmn:definitions>
`

// Inbound SMS from 16 concurrent senders while the connector is killed (kill -9) three times
// at random moments and restarted on the same state (the bbolt file, or Redis); like Twilio,
// every request that did not get a 200 is delivered again until it does. Every SMS starts
// exactly one process instance: none is lost between the MessageSid claim and the outbox,
// none is started twice.
func TestKillDashNineInboundSMS(t *testing.T) {
	t.Run("bolt", func(t *testing.T) {
		killDashNineInbound(t, "CONNECTOR_STATE_FILE="+filepath.Join(t.TempDir(), "state.db"))
	})
	t.Run("redis", func(t *testing.T) {
		killDashNineInbound(t, "CONNECTOR_STATE_STORE=redis", "CONNECTOR_REDIS_URL="+redistest.Start(t).URL)
	})
}

func killDashNineInbound(t *testing.T, state ...string) {
	const total, senders, kills = 3000, 16, 3
	const public = "https://connector.example.com"
	w := newWorld(t)
	dir := t.TempDir()
	model := filepath.Join(dir, "ping.bpmn")
	if err := os.WriteFile(model, []byte(pingBPMN), 0o600); err != nil {
		t.Fatal(err)
	}
	w.deploy(t, model)
	env := append(state, "CONNECTOR_BPMN_DIR="+dir, "CONNECTOR_PUBLIC_URL="+public, "CONNECTOR_LOG_LEVEL=info")

	forms := make([]url.Values, total)
	for i := range forms {
		forms[i] = twiliotest.InboundForm(w.twilio.AccountSID, fmt.Sprintf("+1415%07d", i), "+15005550006", fmt.Sprintf("ping %d", i))
	}
	var running atomic.Pointer[connectorProcess]
	client := &http.Client{Timeout: 10 * time.Second}
	post := func(form url.Values) int {
		req, _ := http.NewRequest("POST", "http://"+running.Load().httpAddr+"/twilio/sms", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Twilio-Signature", twiliotest.Sign(w.twilio.AuthToken, public+"/twilio/sms", form))
		res, err := client.Do(req)
		if err != nil {
			return 0
		}
		res.Body.Close()
		return res.StatusCode
	}

	p := w.startRun(t, env...)
	p.waitReady(t)
	running.Store(p)
	var answered, redelivered atomic.Int64
	stop := make(chan struct{}) // the test ended early: the senders give up
	t.Cleanup(func() { close(stop) })
	next := make(chan url.Values, total)
	for _, f := range forms {
		next <- f
	}
	close(next)
	var wg sync.WaitGroup
	for range senders {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f := range next {
				for post(f) != http.StatusOK {
					redelivered.Add(1)
					select {
					case <-stop:
						return
					case <-time.After(20 * time.Millisecond):
					}
				}
				answered.Add(1)
			}
		}()
	}

	// Each kill comes at a random point of its own stretch of the stream.
	stretch := total / (kills + 1)
	var killedAt []int64
	for k := range kills {
		at := int64(stretch*(k+1) - stretch/2 + rand.IntN(stretch))
		wait.Until(t, 60*time.Second, fmt.Sprintf("%d SMS answered", at), func() bool { return answered.Load() >= at })
		p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.exited
		killedAt = append(killedAt, answered.Load())
		p = w.startRun(t, env...)
		p.waitReady(t)
		running.Store(p)
	}
	wg.Wait()
	if killedAt[kills-1] >= total {
		t.Fatalf("the last kill came after every SMS was answered: the test proved nothing")
	}
	t.Logf("killed after %v of %d SMS were answered; %d deliveries were repeated", killedAt, total, redelivered.Load())

	started := func() map[string]int {
		n := map[string]int{}
		for _, inst := range w.eng.Instances() {
			if sid, ok := inst.Variables["messageSid"].(string); ok && inst.BpmnProcessID == "inboundPing" {
				n[sid]++
			}
		}
		return n
	}
	// The outbox publishes what the killed processes left on restart; give it a few passes.
	deadline := time.Now().Add(30 * time.Second)
	for len(started()) < total && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	n := started()
	var lost, doubled []string
	for _, f := range forms {
		switch sid := f.Get("MessageSid"); {
		case n[sid] == 0:
			lost = append(lost, sid)
		case n[sid] > 1:
			doubled = append(doubled, fmt.Sprintf("%s×%d", sid, n[sid]))
		}
	}
	if len(lost) > 0 || len(doubled) > 0 {
		t.Fatalf("of %d SMS, %d started no process (such as %v) and %d started more than one (such as %v)",
			total, len(lost), lost[:min(len(lost), 5)], len(doubled), doubled[:min(len(doubled), 5)])
	}
}
