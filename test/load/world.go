package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"time"

	"github.com/camunda/zeebe/clients/go/v8/pkg/zbc"

	"github.com/twilio-connector/twilio-connector/bpmn/engine"
	"github.com/twilio-connector/twilio-connector/sandbox"
)

// Job types of the load processes: the connector's send_sms, and the no-op baseline served by
// the same worker package under another prefix.
const (
	sendPrefix   = "twilioConnector"
	noopPrefix   = "loadNoop"
	engineJobTyp = "loadEngine.complete"
)

// world is the dev engine serving the Zeebe gateway API, a Zeebe client connected to it and a
// sandbox Twilio, all on 127.0.0.1.
type world struct {
	eng     *engine.Engine
	srv     *engine.Server
	client  zbc.Client
	twilio  *sandbox.Server
	twURL   string
	cancel  context.CancelFunc
	discard *slog.Logger
}

// newWorld starts the engine and the sandbox, and deploys the load processes.
func newWorld(twilioLatency time.Duration) (*world, error) {
	ctx, cancel := context.WithCancel(context.Background())
	w := &world{cancel: cancel, discard: slog.New(slog.NewTextHandler(io.Discard, nil))}
	w.eng = engine.New(engine.Options{Logger: w.discard})
	var err error
	if w.srv, err = w.eng.Serve(ctx, "127.0.0.1:0"); err != nil {
		cancel()
		return nil, err
	}
	w.client, err = zbc.NewClient(&zbc.ClientConfig{GatewayAddress: w.srv.Addr(), UsePlaintextConnection: true})
	if err != nil {
		w.close()
		return nil, err
	}
	if w.twilio, w.twURL, err = sandbox.Listen(ctx, "127.0.0.1:0", sandbox.Options{}); err != nil {
		w.close()
		return nil, err
	}
	w.twilio.SetLatency(twilioLatency)
	if _, _, err := w.eng.Deploy(engine.Resource{Name: "load.bpmn", Content: []byte(loadBPMN())}); err != nil {
		w.close()
		return nil, fmt.Errorf("deploy the load processes: %w", err)
	}
	return w, nil
}

func (w *world) close() {
	if w.client != nil {
		w.client.Close()
	}
	if w.twilio != nil {
		w.twilio.Close()
	}
	if w.srv != nil {
		w.srv.Close()
	}
	w.cancel()
}

// loadBPMN holds one process per job type: start -> service task -> end.
func loadBPMN() string {
	var b strings.Builder
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="load" targetNamespace="http://bpmn.io/schema/bpmn">
`)
	for _, p := range []struct{ id, jobType string }{
		{"loadSend", sendPrefix + ".send_sms"}, {"loadNoop", noopPrefix + ".send_sms"}, {"loadEngine", engineJobTyp},
	} {
		fmt.Fprintf(&b, `  <bpmn:process id="%[1]s" isExecutable="true">
    <bpmn:startEvent id="%[1]sStart" />
    <bpmn:sequenceFlow id="%[1]sF1" sourceRef="%[1]sStart" targetRef="%[1]sTask" />
    <bpmn:serviceTask id="%[1]sTask">
      <bpmn:extensionElements><zeebe:taskDefinition type="%[2]s" retries="3" /></bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:sequenceFlow id="%[1]sF2" sourceRef="%[1]sTask" targetRef="%[1]sEnd" />
    <bpmn:endEvent id="%[1]sEnd" />
  </bpmn:process>
`, p.id, p.jobType)
	}
	b.WriteString("</bpmn:definitions>\n")
	return b.String()
}
