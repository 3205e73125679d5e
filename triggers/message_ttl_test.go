package triggers

import (
	"strings"
	"testing"
	"time"

	"github.com/twilio-connector/twilio-connector/bpmn"
)

// Catch events publish with TTL 0 unless their messageTtl says otherwise, so a stray reply
// cannot answer a question asked later; start events keep the configured default.
func TestMessageTTLPerTrigger(t *testing.T) {
	start := Definition{Element: "start", Kind: StartEvent, MessageName: "start", Pattern: "begin"}
	startTTL := Definition{Element: "startTTL", Kind: StartEvent, MessageName: "start-ttl", Pattern: "begin", MessageTTL: "PT10M"}
	catch := Definition{Element: "catch", Kind: CatchEvent, MessageName: "catch", Pattern: "catch"}
	catchTTL := Definition{Element: "catchTTL", Kind: CatchEvent, MessageName: "catch-ttl", Pattern: "catch", MessageTTL: " P1DT2H "}
	startZero := Definition{Element: "startZero", Kind: StartEvent, MessageName: "start-zero", Pattern: "begin", MessageTTL: "PT0S"}
	h := newHarness(t, []Definition{start, startTTL, catch, catchTTL, startZero}, harnessOptions{})
	h.send(inbound(customer, ourNumber, "begin"))
	h.send(inbound(customer, ourNumber, "catch"))
	want := map[string]time.Duration{
		"start": DefaultMessageTTL, "start-ttl": 10 * time.Minute, "start-zero": 0,
		"catch": 0, "catch-ttl": 26 * time.Hour,
	}
	got := map[string]time.Duration{}
	for _, m := range h.pub.messages() {
		got[m.Name] = m.TTL
	}
	if len(got) != len(want) {
		t.Fatalf("published %v, want %v", got, want)
	}
	for name, ttl := range want {
		if got[name] != ttl {
			t.Errorf("%s published with TTL %v, want %v", name, got[name], ttl)
		}
	}
}

func TestMessageTTLFromBPMNAndYAML(t *testing.T) {
	ts, err := surveyTriggers(t, "ttl.bpmn", `<zeebe:property name="inbound.pattern" value="survey" />`, `
        <zeebe:property name="inbound.pattern" value="yes|no" />
        <zeebe:property name="inbound.messageTtl" value="PT5M" />`)
	if err != nil || len(ts) != 2 {
		t.Fatalf("%d triggers, %v", len(ts), err)
	}
	if ttl := ts[0].TTL(time.Hour); ts[0].Element != "begin" || ttl != time.Hour {
		t.Errorf("%s: TTL %v, want the start default 1h", ts[0].Element, ttl)
	}
	if ttl := ts[1].TTL(time.Hour); ts[1].Element != "answer" || ttl != 5*time.Minute {
		t.Errorf("%s: TTL %v, want inbound.messageTtl PT5M", ts[1].Element, ttl)
	}

	ys, err := ParseYAML("triggers.yaml", []byte(`triggers:
  - id: answer
    message: survey-answer
    kind: catch
    pattern: 'yes|no'
    messageTtl: PT30M
  - id: late-answer
    message: late-answer
    kind: catch
    pattern: 'late'
`), 0)
	if err != nil {
		t.Fatal(err)
	}
	if a, b := ys[0].TTL(time.Hour), ys[1].TTL(time.Hour); a != 30*time.Minute || b != 0 {
		t.Errorf("YAML TTLs %v and %v, want 30m and 0 (the catch default)", a, b)
	}
}

func TestMessageTTLErrors(t *testing.T) {
	for _, ttl := range []string{"soon", "30", "=ttl", "-5m", "P1M", "PT"} {
		d := Definition{Source: "survey.bpmn", Process: "survey", Element: "answer", Kind: CatchEvent,
			MessageName: "survey-answer", Pattern: "yes|no", MessageTTL: ttl}
		_, err := Compile(d, 0)
		want := `survey.bpmn: survey/answer: messageTtl: messageTtl is "` + ttl + `": write a fixed ISO 8601 duration such as PT0S`
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("messageTtl %q: error %v, want it to contain %q", ttl, err, want)
		}
	}
	_, err := ParseYAML("triggers.yaml", []byte("triggers:\n  - {id: answer, message: a, kind: catch, pattern: 'yes', messageTtl: an hour}\n"), 0)
	if want := `triggers.yaml: answer: messageTtl: messageTtl is "an hour"`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("YAML error %v, want it to contain %q", err, want)
	}
}

// A plain receiving number also takes WhatsApp messages to it; a whatsapp: one only those.
func TestToFilterAndWhatsApp(t *testing.T) {
	for _, tc := range []struct {
		filter, to string
		want       bool
	}{
		{ourNumber, ourNumber, true},
		{ourNumber, "whatsapp:" + ourNumber, true},
		{"+1 (500) 555-0006", "whatsapp:" + ourNumber, true},
		{ourNumber, "whatsapp:" + otherNumber, false},
		{"whatsapp:" + ourNumber, "whatsapp:" + ourNumber, true},
		{"whatsapp:" + ourNumber, ourNumber, false},
		{"", "whatsapp:" + otherNumber, true},
	} {
		tr, err := Compile(Definition{Element: "e", MessageName: "m", Pattern: "x", To: tc.filter}, 0)
		if err != nil {
			t.Fatal(err)
		}
		if got := tr.accepts(tc.to); got != tc.want {
			t.Errorf("to %q, message to %q: accepts = %v, want %v", tc.filter, tc.to, got, tc.want)
		}
	}
	// Through the webhook: replyTrigger listens on ourNumber.
	h := newHarness(t, allTriggers(), harnessOptions{})
	if r := h.send(inbound("whatsapp:"+customer, "whatsapp:"+ourNumber, "yes")); r.body != reply("Thanks for answering yes") {
		t.Errorf("a WhatsApp reply to %s answered %q", ourNumber, r.body)
	}
}

// surveyTriggers loads the triggers of file, a process survey whose start event begin (a
// message start event when beginProps is not empty) and catch event answer (correlated on
// =ref) are SMS_RECEIVED triggers with the given zeebe:property elements besides inbound.type.
func surveyTriggers(t *testing.T, file, beginProps, answerProps string) ([]*Trigger, error) {
	t.Helper()
	begin := `<bpmn:startEvent id="begin" />`
	if beginProps != "" {
		begin = `<bpmn:startEvent id="begin">
      <bpmn:extensionElements><zeebe:properties>
        <zeebe:property name="inbound.type" value="SMS_RECEIVED" />
        ` + beginProps + `
      </zeebe:properties></bpmn:extensionElements>
      <bpmn:messageEventDefinition id="e1" messageRef="m1" />
    </bpmn:startEvent>`
	}
	defs, err := bpmn.Parse(file, []byte(`<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="d" targetNamespace="t">
  <bpmn:message id="m1" name="survey-start" />
  <bpmn:message id="m2" name="survey-answer"><bpmn:extensionElements><zeebe:subscription correlationKey="=ref" /></bpmn:extensionElements></bpmn:message>
  <bpmn:process id="survey" isExecutable="true">
    `+begin+`
    <bpmn:sequenceFlow id="f1" sourceRef="begin" targetRef="answer" />
    <bpmn:intermediateCatchEvent id="answer">
      <bpmn:extensionElements><zeebe:properties>
        <zeebe:property name="inbound.type" value="SMS_RECEIVED" />
        `+answerProps+`
      </zeebe:properties></bpmn:extensionElements>
      <bpmn:messageEventDefinition id="e2" messageRef="m2" />
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="answer" targetRef="end" />
    <bpmn:endEvent id="end" />
  </bpmn:process>
</bpmn:definitions>`))
	if err != nil {
		t.Fatal(err)
	}
	return FromDefinitions(defs, 0)
}
