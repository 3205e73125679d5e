package bpmn

import (
	"errors"
	"os"
	"reflect"
	"strings"
	"testing"
)

func TestParseModelerFile(t *testing.T) {
	data, err := os.ReadFile("testdata/sms_order.bpmn")
	if err != nil {
		t.Fatal(err)
	}
	defs, err := Parse("sms_order.bpmn", data)
	if err != nil {
		t.Fatal(err)
	}
	if len(defs.Processes) != 1 {
		t.Fatalf("%d processes", len(defs.Processes))
	}
	p := defs.Processes[0]
	if p.ID != "sms-order" || p.Name != "SMS order" || !p.Executable {
		t.Errorf("process = %s %q executable=%v", p.ID, p.Name, p.Executable)
	}

	var ids []string
	for _, el := range p.Elements {
		ids = append(ids, el.ID+":"+string(el.Type))
	}
	wantIDs := []string{"smsReceived:startEvent", "confirm:sendTask", "optedOut:boundaryEvent", "anyError:boundaryEvent",
		"check:exclusiveGateway", "waitReply:intermediateCatchEvent", "done:endEvent", "review:userTask"}
	if !reflect.DeepEqual(ids, wantIDs) {
		t.Errorf("elements = %v, want %v", ids, wantIDs)
	}

	start := p.Element("smsReceived")
	if start.Event != MessageEvent || start.Message == nil || start.Message.Name != "sms-received" {
		t.Errorf("start event = %+v", start)
	}
	if start.ModelerTemplate != "io.twilio.connector.SmsReceived.v1" || start.ModelerTemplateVersion != "2" {
		t.Errorf("modeler template = %q version %q", start.ModelerTemplate, start.ModelerTemplateVersion)
	}
	if v, ok := start.Property("pattern"); !ok || v != "Order Number (?<orderNumber>.+)" {
		t.Errorf("pattern property = %q, %v", v, ok)
	}
	if len(start.Properties) != 3 || start.Properties[0] != (Property{Name: "inbound.type", Value: "SMS_RECEIVED"}) {
		t.Errorf("properties = %+v", start.Properties)
	}
	if want := []Mapping{{Source: "=matchGroups.orderNumber", Target: "orderNumber"}}; !reflect.DeepEqual(start.Outputs, want) {
		t.Errorf("start outputs = %+v", start.Outputs)
	}
	if !reflect.DeepEqual(start.Outgoing, []string{"Flow_1"}) || len(start.Incoming) != 0 {
		t.Errorf("start flows in=%v out=%v", start.Incoming, start.Outgoing)
	}

	task := p.Element("confirm")
	if *task.TaskDefinition != (TaskDefinition{Type: "twilioConnector.send_sms", Retries: "5"}) {
		t.Errorf("task definition = %+v", task.TaskDefinition)
	}
	if want := []Header{{Key: "errorMode", Value: "bpmnError"}}; !reflect.DeepEqual(task.TaskHeaders, want) {
		t.Errorf("headers = %+v", task.TaskHeaders)
	}
	if want := []Mapping{{"=from", "smsTo"}, {"Thanks for order ${orderNumber}", "smsBody"}}; !reflect.DeepEqual(task.Inputs, want) {
		t.Errorf("inputs = %+v", task.Inputs)
	}

	boundaries := p.BoundaryEvents("confirm")
	if len(boundaries) != 2 {
		t.Fatalf("boundary events on confirm: %d", len(boundaries))
	}
	opted, catchAll := boundaries[0], boundaries[1]
	if opted.Event != ErrorEvent || opted.Error == nil || opted.Error.ErrorCode != "SMS_RECIPIENT_OPTED_OUT" || opted.ErrorCatchAll || !opted.CancelActivity {
		t.Errorf("optedOut = %+v", opted)
	}
	if !catchAll.ErrorCatchAll || catchAll.Error != nil {
		t.Errorf("anyError = %+v", catchAll)
	}

	gw := p.Element("check")
	if gw.Default != "Flow_default" || !reflect.DeepEqual(gw.Outgoing, []string{"Flow_big", "Flow_default"}) {
		t.Errorf("gateway = %+v", gw)
	}
	if f := p.Flow("Flow_big"); f.Condition != "=amount > 100" || f.Name != "big" || f.Source != "check" || f.Target != "waitReply" {
		t.Errorf("Flow_big = %+v", f)
	}
	if c := p.Element("waitReply"); c.Message == nil || c.Message.CorrelationKey != "=from" {
		t.Errorf("waitReply = %+v", c)
	}
	if got := p.Element("done").Incoming; len(got) != 4 {
		t.Errorf("done incoming = %v", got)
	}
}

func TestParseErrors(t *testing.T) {
	const head = `<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" id="d">`
	tests := []struct {
		name, doc string
		element   string // "" when the error is about the file
		want      string
	}{
		{"not XML", "<bpmn:definitions", "", "not valid XML"},
		{"wrong root", `<definitions id="x"/>`, "", "expected bpmn:definitions"},
		{"no process", head + `</bpmn:definitions>`, "", "no bpmn:process"},
		{"duplicate id", head + `<bpmn:process id="p"><bpmn:startEvent id="a"/><bpmn:endEvent id="a"/></bpmn:process></bpmn:definitions>`, "a", "duplicate id"},
		{"unknown message", head + `<bpmn:process id="p"><bpmn:startEvent id="s"><bpmn:messageEventDefinition messageRef="m"/></bpmn:startEvent></bpmn:process></bpmn:definitions>`, "s", `messageRef "m"`},
		{"unknown error", head + `<bpmn:process id="p"><bpmn:boundaryEvent id="b" attachedToRef="s"><bpmn:errorEventDefinition errorRef="e"/></bpmn:boundaryEvent><bpmn:startEvent id="s"/></bpmn:process></bpmn:definitions>`, "b", `errorRef "e"`},
		{"dangling flow", head + `<bpmn:process id="p"><bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f" sourceRef="s" targetRef="nowhere"/></bpmn:process></bpmn:definitions>`, "f", `targetRef "nowhere"`},
		{"bad default", head + `<bpmn:process id="p"><bpmn:exclusiveGateway id="g" default="f"/><bpmn:startEvent id="s"/><bpmn:sequenceFlow id="f" sourceRef="s" targetRef="g"/></bpmn:process></bpmn:definitions>`, "g", "default flow"},
		{"unattached boundary", head + `<bpmn:process id="p"><bpmn:boundaryEvent id="b"><bpmn:errorEventDefinition/></bpmn:boundaryEvent></bpmn:process></bpmn:definitions>`, "b", "without attachedToRef"},
		{"receive task without message", head + `<bpmn:process id="p"><bpmn:receiveTask id="r"/></bpmn:process></bpmn:definitions>`, "r", "messageRef"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Parse("broken.bpmn", []byte(tt.doc))
			if err == nil {
				t.Fatal("no error")
			}
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not a *ParseError", err)
			}
			if pe.File != "broken.bpmn" || pe.Element != tt.element || !strings.Contains(pe.Msg, tt.want) {
				t.Errorf("error = %+v, want element %q and message containing %q", pe, tt.element, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "broken.bpmn: ") {
				t.Errorf("error %q does not start with the file name", err)
			}
		})
	}
}
