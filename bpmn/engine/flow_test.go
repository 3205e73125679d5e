package engine

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

func TestExclusiveGatewayRouting(t *testing.T) {
	tests := []struct {
		name  string
		order map[string]any
		want  string
	}{
		{"first condition", map[string]any{"amount": 150, "status": "paid"}, "big"},
		{"second condition", map[string]any{"amount": 150, "status": "open"}, "check"},
		{"second condition, missing status", map[string]any{"amount": 5}, "check"},
		{"default flow", map[string]any{"amount": 5, "status": "paid"}, "small"},
	}
	te := startEngine(t)
	te.deploy(t, "gateway.bpmn")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := te.create(t, "route", map[string]any{"order": tt.order})
			info := te.waitState(t, key, StateCompleted)
			if want := []string{"start", "decide", tt.want}; !reflect.DeepEqual(info.CompletedElements, want) {
				t.Errorf("path = %v, want %v", info.CompletedElements, want)
			}
		})
	}
}

func TestConditionIncidentResolvedAfterSetVariables(t *testing.T) {
	te := startEngine(t)
	te.deploy(t, "gateway.bpmn")
	// amount is a string: "amount > 100" is null, so the first condition is not a boolean.
	key := te.create(t, "route", map[string]any{"order": map[string]any{"amount": "lots", "status": "paid"}})
	incidents := te.Incidents()
	if len(incidents) != 1 || incidents[0].Type != IncidentConditionError || incidents[0].ElementID != "decide" {
		t.Fatalf("incidents = %+v", incidents)
	}
	if !strings.Contains(incidents[0].Message, "order.amount > 100") {
		t.Errorf("incident message %q does not name the expression", incidents[0].Message)
	}
	ctx := ctxFor(t, 5*time.Second)
	cmd, err := te.client.NewSetVariablesCommand().ElementInstanceKey(key).VariablesFromMap(map[string]any{"order": map[string]any{"amount": 500, "status": "paid"}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cmd.Send(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := te.client.NewResolveIncidentCommand().IncidentKey(incidents[0].Key).Send(ctx); err != nil {
		t.Fatal(err)
	}
	info := te.waitState(t, key, StateCompleted)
	if want := []string{"start", "decide", "big"}; !reflect.DeepEqual(info.CompletedElements, want) {
		t.Errorf("path = %v, want %v", info.CompletedElements, want)
	}
}

func TestOutputMappingsAndVariableScopes(t *testing.T) {
	te := startEngine(t)
	te.deploy(t, "mapped_task.bpmn", "one_task.bpmn")
	ctx := ctxFor(t, 5*time.Second)

	t.Run("outputs replace the result", func(t *testing.T) {
		key := te.create(t, "mapped", map[string]any{"customer": map[string]any{"phone": "+15550100"}, "delivery": map[string]any{"note": "kept"}})
		job := te.activateJob(t, "test.send")
		if got := decode(t, job.Variables)["smsTo"]; got != "+15550100" {
			t.Errorf("input mapping smsTo = %v", got)
		}
		cmd, _ := te.client.NewCompleteJobCommand().JobKey(job.Key).VariablesFromString(`{"twilioResult":[{"sid":"SM1","to":"+15550100"}],"twilioError":null}`)
		if _, err := cmd.Send(ctx); err != nil {
			t.Fatal(err)
		}
		info := te.waitState(t, key, StateCompleted)
		want := map[string]any{
			"customer": map[string]any{"phone": "+15550100"},
			"delivery": map[string]any{"note": "kept", "sid": "SM1", "ok": true},
		}
		if !reflect.DeepEqual(info.Variables, want) {
			t.Errorf("variables = %v, want %v", info.Variables, want)
		}
	})

	t.Run("without outputs the result is propagated", func(t *testing.T) {
		key := te.create(t, "one-task", map[string]any{"amount": 2})
		job := te.activateJob(t, "test.work")
		// A local variable (from SetVariables local) keeps a same-named result local, as in Zeebe.
		setLocal, _ := te.client.NewSetVariablesCommand().ElementInstanceKey(job.ElementInstanceKey).VariablesFromMap(map[string]any{"scratch": 1})
		if _, err := setLocal.Local(true).Send(ctx); err != nil {
			t.Fatal(err)
		}
		cmd, _ := te.client.NewCompleteJobCommand().JobKey(job.Key).VariablesFromString(`{"result":12345678901234567890,"scratch":2,"doubled":0}`)
		if _, err := cmd.Send(ctx); err != nil {
			t.Fatal(err)
		}
		info := te.waitState(t, key, StateCompleted)
		want := map[string]any{"amount": json.Number("2"), "result": json.Number("12345678901234567890")}
		if !reflect.DeepEqual(info.Variables, want) {
			t.Errorf("variables = %v, want %v", info.Variables, want)
		}
	})
}

func TestCancelProcessInstance(t *testing.T) {
	te := startEngine(t)
	te.deploy(t, "one_task.bpmn", "catch_reply.bpmn")
	ctx := ctxFor(t, 5*time.Second)
	key := te.create(t, "one-task", map[string]any{"amount": 1})
	job := te.activateJob(t, "test.work")
	waiting := te.create(t, "await-reply", map[string]any{"customer": map[string]any{"phone": "+1"}})

	for _, k := range []int64{key, waiting} {
		if _, err := te.client.NewCancelInstanceCommand().ProcessInstanceKey(k).Send(ctx); err != nil {
			t.Fatal(err)
		}
		if info, _ := te.Instance(k); info.State != StateTerminated || len(info.ActiveElements) != 0 {
			t.Errorf("instance after cancel = %+v", info)
		}
	}
	_, err := te.client.NewCompleteJobCommand().JobKey(job.Key).Send(ctx)
	wantCode(t, err, codes.NotFound)
	_, err = te.client.NewCancelInstanceCommand().ProcessInstanceKey(key).Send(ctx)
	wantCode(t, err, codes.NotFound)
	// The cancelled instance's subscription is closed: the message is only buffered.
	if err := te.publish(t, "sms-reply", "+1", "", time.Minute, nil); err != nil {
		t.Fatal(err)
	}
	if msgs := te.PublishedMessages(); len(msgs[0].Instances) != 0 {
		t.Errorf("message correlated to a cancelled instance: %+v", msgs[0])
	}
}

func TestDeployRejectsUnsupportedModels(t *testing.T) {
	const head = `<?xml version="1.0"?><bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="d">`
	tests := []struct {
		name, body, want string
	}{
		{"user task", `<bpmn:process id="p" isExecutable="true"><bpmn:startEvent id="s"/><bpmn:userTask id="approve"/></bpmn:process>`, `"approve": userTask is not supported`},
		{"timer event", `<bpmn:process id="p" isExecutable="true"><bpmn:startEvent id="s"><bpmn:timerEventDefinition/></bpmn:startEvent></bpmn:process>`, `"s": timer start events are not supported`},
		{"missing task type", `<bpmn:process id="p" isExecutable="true"><bpmn:startEvent id="s"/><bpmn:serviceTask id="t"/></bpmn:process>`, `"t": missing zeebe:taskDefinition type`},
		{"unsupported FEEL", `<bpmn:process id="p" isExecutable="true"><bpmn:startEvent id="s"/><bpmn:serviceTask id="t"><bpmn:extensionElements><zeebe:taskDefinition type="x"/><zeebe:ioMapping><zeebe:input source="=foo(name)" target="n"/></zeebe:ioMapping></bpmn:extensionElements></bpmn:serviceTask></bpmn:process>`, `"t": mapping to "n": expression "=foo(name)"`},
		{"condition out of a task", `<bpmn:process id="p" isExecutable="true"><bpmn:startEvent id="s"/><bpmn:sequenceFlow id="c" sourceRef="s" targetRef="e"><bpmn:conditionExpression>=true</bpmn:conditionExpression></bpmn:sequenceFlow><bpmn:endEvent id="e"/></bpmn:process>`, `"c": conditional sequence flows are only supported out of exclusive gateways`},
		{"broken XML", `<bpmn:process id="p">`, "not valid XML"},
	}
	te := startEngine(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := te.client.NewDeployResourceCommand().AddResource([]byte(head+tt.body+`</bpmn:definitions>`), "bad.bpmn").Send(ctxFor(t, 5*time.Second))
			wantCode(t, err, codes.InvalidArgument)
			if msg := status.Convert(err).Message(); !strings.Contains(msg, "bad.bpmn") || !strings.Contains(msg, tt.want) {
				t.Errorf("message %q does not contain the file name and %q", msg, tt.want)
			}
		})
	}
}

func TestRedeployVersions(t *testing.T) {
	te := startEngine(t)
	ctx := ctxFor(t, 5*time.Second)
	deploy := func(name, processName string) int32 {
		data := `<?xml version="1.0"?><bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d"><bpmn:process id="p" name="` + processName + `" isExecutable="true"><bpmn:startEvent id="s"/></bpmn:process></bpmn:definitions>`
		resp, err := te.client.NewDeployResourceCommand().AddResource([]byte(data), name).Send(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return resp.Deployments[0].GetProcess().Version
	}
	if v := deploy("p.bpmn", "one"); v != 1 {
		t.Errorf("first version = %d", v)
	}
	if v := deploy("p.bpmn", "one"); v != 1 {
		t.Errorf("unchanged redeploy created version %d", v)
	}
	if v := deploy("p.bpmn", "two"); v != 2 {
		t.Errorf("changed redeploy got version %d, want 2", v)
	}
	key := te.create(t, "p", nil)
	if info := te.waitState(t, key, StateCompleted); info.Version != 2 {
		t.Errorf("latest version used = %d", info.Version)
	}
	if defs := te.Definitions(); len(defs) != 1 || defs[0].Processes[0].Name != "two" {
		t.Errorf("Definitions() = %d resources, want only the latest", len(defs))
	}
}
