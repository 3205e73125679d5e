package triggers

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// A catch event correlated on a reference in the text instead of the sender, active only for
// YES: a NO passes to the next trigger, which correlates on the sender as before.
func TestCorrelationKeyExpressionAndActivationCondition(t *testing.T) {
	confirm := Definition{Element: "confirm", Kind: CatchEvent, MessageName: "confirmed", Pattern: `(?<answer>YES|NO) (?<ref>\w+)`,
		ActivationCondition: `=matchGroups.answer = "YES"`, CorrelationKeyExpression: "=matchGroups.ref", Echo: "Confirmed ${ref}"}
	other := Definition{Element: "other", Kind: CatchEvent, MessageName: "answered", Pattern: `(YES|NO) \w+`}
	h := newHarness(t, []Definition{confirm, other}, harnessOptions{})

	if r := h.send(inbound(customer, ourNumber, "YES A7")); r.body != reply("Confirmed A7") {
		t.Errorf("YES answered %q", r.body)
	}
	h.send(inbound(customer, ourNumber, "NO B8"))
	got := map[string]string{}
	for _, m := range h.pub.messages() {
		got[m.Name+" "+m.Variables["originalMessage"].(string)] = m.CorrelationKey
	}
	want := map[string]string{
		"confirmed YES A7": "A7",     // the expression
		"answered YES A7":  customer, // no expression: the sender, as before
		"answered NO B8":   customer, // activationCondition false: only the next trigger fires
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("published (name text: correlation key) %v, want %v", got, want)
	}
	if !strings.Contains(h.logs.String(), "activationCondition is not true") {
		t.Errorf("the trigger left out by its activationCondition is not logged:\n%s", h.logs)
	}
}

// A start event publishing its own variables under its own message id: a second SMS with the
// same reference is the same Zeebe message (Zeebe keeps one), and another trigger's message
// with that id is still published (ids are scoped by message name, as in Zeebe).
func TestResultExpressionAndMessageIDExpression(t *testing.T) {
	order := Definition{Element: "order", MessageName: "order", Pattern: `Order (?<ref>\w+)`,
		ResultExpression: `={reference: matchGroups.ref, phone: from, count: 2}`, MessageIDExpression: `="order-" + matchGroups.ref`}
	audit := Definition{Element: "audit", MessageName: "audit", Pattern: `Order (?<ref>\w+)`, MessageIDExpression: `="order-" + matchGroups.ref`}
	h := newHarness(t, []Definition{order, audit}, harnessOptions{})
	h.send(inbound(customer, ourNumber, "Order A7"))
	h.send(inbound(otherNumber, ourNumber, "Order A7"))

	var orders, audits []Message
	for _, m := range h.pub.messages() {
		switch m.Name {
		case "order":
			orders = append(orders, m)
		case "audit":
			audits = append(audits, m)
		}
	}
	if len(orders) != 2 || len(audits) != 2 {
		t.Fatalf("published %d order and %d audit messages, want 2 each (one per SMS)", len(orders), len(audits))
	}
	wantVars := map[string]any{"reference": "A7", "phone": customer, "count": json.Number("2")}
	if o := orders[0]; o.MessageID != "order-A7" || o.CorrelationKey != "" || !reflect.DeepEqual(o.Variables, wantVars) {
		t.Errorf("order message id %q key %q variables %v; want id order-A7, no key, variables %v", o.MessageID, o.CorrelationKey, o.Variables, wantVars)
	}
	if a := audits[0]; a.MessageID != "order-A7" || a.Variables["matchGroups"] == nil {
		t.Errorf("audit message id %q variables %v; want id order-A7 and the default variables", a.MessageID, a.Variables)
	}
	if orders[1].MessageID != "order-A7" {
		t.Errorf("the second SMS's message id is %q, want order-A7 (Zeebe drops it as a repeat)", orders[1].MessageID)
	}
	if n := h.pub.published(); n != 2 {
		t.Errorf("the engine holds %d messages, want 2 (order-A7 of order and of audit: the repeats are dropped)", n)
	}
	if n, err := h.outbox.Pending(t.Context()); err != nil || n != 0 {
		t.Errorf("outbox holds %d entries (%v), want 0: every published message is removed", n, err)
	}
}

// A property that fails on a message (null where a key is needed, not a context, not a
// boolean) keeps that trigger from firing, logged with the trigger and the property.
func TestInboundPropertyFailsAtRunTime(t *testing.T) {
	for _, tc := range []struct {
		name string
		d    Definition
		log  string
	}{
		{"key null", Definition{CorrelationKeyExpression: "=matchGroups.missing"}, `correlationKeyExpression \"=matchGroups.missing\" gave NULL`},
		{"id list", Definition{MessageIDExpression: "=[1, 2]"}, `messageIdExpression \"=[1, 2]\" gave ARRAY`},
		{"id empty", Definition{MessageIDExpression: `=""`}, `messageIdExpression \"=\\\"\\\"\" gave an empty string`},
		{"result string", Definition{ResultExpression: "=from"}, `resultExpression \"=from\" gave STRING: it must give a context`},
		{"condition string", Definition{ActivationCondition: "=from"}, `activationCondition \"=from\" gave STRING, not a boolean`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := tc.d
			d.Element, d.Kind, d.MessageName, d.Pattern = "answer", CatchEvent, "answer", "ok"
			h := newHarness(t, []Definition{d}, harnessOptions{})
			h.send(inbound(customer, ourNumber, "ok"))
			if n := h.pub.callCount(); n != 0 {
				t.Errorf("published %d messages, want none", n)
			}
			if logs := h.logs.String(); !strings.Contains(logs, "trigger=answer") || !strings.Contains(logs, tc.log) {
				t.Errorf("logs do not name the trigger and %s:\n%s", tc.log, logs)
			}
		})
	}
}

// Expressions outside the FEEL subset fail at load time naming the file, element and property,
// from BPMN and from YAML.
func TestInboundPropertiesLoadErrors(t *testing.T) {
	_, err := surveyTriggers(t, "answer.bpmn", "", `
        <zeebe:property name="inbound.pattern" value="(?&lt;ref&gt;\w+)" />
        <zeebe:property name="inbound.activationCondition" value="=matchGroups.ref ==" />
        <zeebe:property name="inbound.correlationKeyExpression" value="=matchGroups.ref" />
        <zeebe:property name="inbound.resultExpression" value="={ref: }" />
        <zeebe:property name="inbound.messageIdExpression" value="=messageSid" />`)
	for _, want := range []string{
		`answer.bpmn: survey/answer: activationCondition: expression "=matchGroups.ref ==" is outside the supported FEEL subset`,
		`answer.bpmn: survey/answer: resultExpression: expression "={ref: }" is outside the supported FEEL subset`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v, want it to contain %q", err, want)
		}
	}
	if err != nil && (strings.Contains(err.Error(), FieldCorrelationKey) || strings.Contains(err.Error(), FieldMessageID)) {
		t.Errorf("valid expressions reported: %v", err)
	}

	ys, err := ParseYAML("triggers.yaml", []byte(`triggers:
  - id: answer
    message: answer
    kind: catch
    pattern: '(?<answer>YES|NO) (?<ref>\w+)'
    activationCondition: '=matchGroups.answer = "YES"'
    correlationKeyExpression: '=matchGroups.ref'
    resultExpression: '={ref: matchGroups.ref}'
    messageIdExpression: '=messageSid'
`), 0)
	if err != nil {
		t.Fatal(err)
	}
	if d := ys[0].Definition; d.ActivationCondition == "" || d.CorrelationKeyExpression == "" || d.ResultExpression == "" || d.MessageIDExpression == "" {
		t.Errorf("YAML fields not read: %+v", d)
	}
	_, err = ParseYAML("triggers.yaml", []byte("triggers:\n  - {id: answer, message: a, kind: catch, pattern: 'yes', correlationKeyExpression: '=from +'}\n"), 0)
	if want := `triggers.yaml: answer: correlationKeyExpression: expression "=from +" is outside the supported FEEL subset`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("YAML error %v, want it to contain %q", err, want)
	}
}

// A message whose id comes from messageIdExpression is kept in the outbox under its own key
// while the engine is down, published from there, and removed; a redelivery of the SMS (same
// MessageSid) publishes nothing, as without the expression.
func TestMessageIDExpressionThroughTheOutbox(t *testing.T) {
	order := Definition{Element: "order", MessageName: "order", Pattern: `Order (?<ref>\w+)`, MessageIDExpression: `="order-" + ref`}
	h := newHarness(t, []Definition{order}, harnessOptions{})
	h.pub.failures = 1
	form := inbound(customer, ourNumber, "Order A7")
	h.send(form)
	if n, err := h.outbox.Pending(t.Context()); err != nil || n != 1 {
		t.Fatalf("outbox holds %d entries (%v) after a failed publish, want 1", n, err)
	}
	if published, pending, err := h.outbox.Flush(t.Context(), true); err != nil || published != 1 || pending != 0 {
		t.Fatalf("flush: published %d, pending %d, %v; want 1, 0", published, pending, err)
	}
	if n, err := h.outbox.Pending(t.Context()); err != nil || n != 0 {
		t.Errorf("outbox holds %d entries (%v) after the flush, want 0", n, err)
	}
	calls := h.pub.callCount()
	h.send(form)
	if n := h.pub.callCount(); n != calls {
		t.Errorf("a redelivered SMS made %d more publish calls, want none", n-calls)
	}
	if ms := h.pub.messages(); len(ms) == 0 || ms[len(ms)-1].MessageID != "order-A7" {
		t.Errorf("published %v, want message id order-A7", ms)
	}
}

// Camunda's inbound connectors name these properties without the inbound. prefix; an event
// modelled that way keeps its meaning, and both names with different values is an error.
func TestCamundaPropertyNames(t *testing.T) {
	ts, err := surveyTriggers(t, "camunda.bpmn", "", `
        <zeebe:property name="inbound.pattern" value="(?&lt;answer&gt;YES|NO) (?&lt;ref&gt;\w+)" />
        <zeebe:property name="activationCondition" value="=matchGroups.answer = &#34;YES&#34;" />
        <zeebe:property name="correlationKeyExpression" value="=matchGroups.ref" />
        <zeebe:property name="resultExpression" value="={reference: matchGroups.ref}" />
        <zeebe:property name="messageIdExpression" value="=messageSid" />
        <zeebe:property name="messageTtl" value="PT5M" />`)
	if err != nil || len(ts) != 1 {
		t.Fatalf("%d triggers, %v", len(ts), err)
	}
	want := Definition{ActivationCondition: `=matchGroups.answer = "YES"`, CorrelationKeyExpression: "=matchGroups.ref",
		ResultExpression: "={reference: matchGroups.ref}", MessageIDExpression: "=messageSid", MessageTTL: "PT5M"}
	if d := ts[0].Definition; d.ActivationCondition != want.ActivationCondition || d.CorrelationKeyExpression != want.CorrelationKeyExpression ||
		d.ResultExpression != want.ResultExpression || d.MessageIDExpression != want.MessageIDExpression || d.MessageTTL != want.MessageTTL {
		t.Errorf("definition %+v, want the Camunda-named properties %+v", d, want)
	}
	tried, err := Try(ts[0].Definition, "YES A7", "+15550100", "+15550199")
	if err != nil || tried.Publishes == nil || tried.Publishes.CorrelationKey != "A7" || tried.Publishes.TTL != "5m0s" {
		t.Errorf("tried %+v (%v): want it published with the key A7 and TTL 5m", tried, err)
	}

	_, err = surveyTriggers(t, "both.bpmn", "", `
        <zeebe:property name="inbound.pattern" value="(?&lt;ref&gt;\w+)" />
        <zeebe:property name="inbound.correlationKeyExpression" value="=matchGroups.ref" />
        <zeebe:property name="correlationKeyExpression" value="=from" />
        <zeebe:property name="inbound.messageTtl" value="PT5M" />
        <zeebe:property name="messageTtl" value="PT5M" />`)
	want2 := `both.bpmn: survey/answer: correlationKeyExpression: both inbound.correlationKeyExpression "=matchGroups.ref" and correlationKeyExpression "=from" are set`
	if err == nil || !strings.Contains(err.Error(), want2) || strings.Contains(err.Error(), "messageTtl") {
		t.Errorf("error %v, want it to contain %q (and not messageTtl, the same value under both names)", err, want2)
	}
}
