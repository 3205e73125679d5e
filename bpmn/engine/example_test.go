package engine_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/camunda/zeebe/clients/go/v8/pkg/entities"
	"github.com/camunda/zeebe/clients/go/v8/pkg/worker"
	"github.com/camunda/zeebe/clients/go/v8/pkg/zbc"

	"github.com/twilio-connector/twilio-connector/bpmn/engine"
)

const greetProcess = `<?xml version="1.0"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="d">
  <bpmn:process id="greet" isExecutable="true">
    <bpmn:startEvent id="start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="work" />
    <bpmn:serviceTask id="work">
      <bpmn:extensionElements><zeebe:taskDefinition type="greet" /></bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:sequenceFlow id="f2" sourceRef="work" targetRef="end" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>`

// The dev engine serves the Zeebe gateway API; the real Zeebe client and job workers use it.
func Example() {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	e := engine.New(engine.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	srv, err := e.Serve(ctx, "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer srv.Close()
	if _, _, err := e.Deploy(engine.Resource{Name: "greet.bpmn", Content: []byte(greetProcess)}); err != nil {
		panic(err)
	}

	client, err := zbc.NewClient(&zbc.ClientConfig{GatewayAddress: srv.Addr(), UsePlaintextConnection: true})
	if err != nil {
		panic(err)
	}
	defer client.Close()
	w := client.NewJobWorker().JobType("greet").Handler(func(c worker.JobClient, job entities.Job) {
		vars, _ := job.GetVariablesAsMap()
		cmd, _ := c.NewCompleteJobCommand().JobKey(job.Key).VariablesFromMap(map[string]any{"greeting": "Hello " + vars["name"].(string)})
		_, _ = cmd.Send(ctx)
	}).Open()
	defer func() { _ = srv.Close(); w.Close() }() // stopping the server first ends the worker's long poll

	cmd, _ := client.NewCreateInstanceCommand().BPMNProcessId("greet").LatestVersion().VariablesFromMap(map[string]any{"name": "Ada"})
	result, err := cmd.WithResult().FetchVariables("greeting").Send(ctx)
	if err != nil {
		panic(err)
	}
	fmt.Println(result.Variables)
	info, _ := e.Instance(result.ProcessInstanceKey)
	fmt.Println(info.State, info.CompletedElements)
	// Output:
	// {"greeting":"Hello Ada"}
	// COMPLETED [start work end]
}
