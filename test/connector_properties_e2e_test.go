package test

import (
	"encoding/json"
	"fmt"
	"regexp"
	"testing"

	"github.com/twilio-connector/twilio-connector/test/twiliotest"
)

// Camunda's connector properties on a Send SMS task, end to end through zbctl against `dev`:
// resultExpression maps the result to process variables, and errorExpression turns an
// opted-out recipient (Twilio 21610) into a BPMN error that a boundary event catches.
func TestConnectorPropertiesThroughZbctl(t *testing.T) {
	const optedOut = "+14155550199"
	fake := twiliotest.New(t)
	fake.Fail(optedOut, 400, 21610, "Attempt to send to unsubscribed recipient")
	d := startDev(t, twilioEnv(fake)...)
	z := &zbWorld{addr: d.gateway, bin: zbctl(t)}
	z.ok(t, "deploy", "testdata/connector_properties.bpmn")

	run := func(to string) map[string]any {
		t.Helper()
		out := z.ok(t, "create", "instance", "connectorProperties", "--withResult",
			"--variables", fmt.Sprintf(`{"smsTo": %q, "smsBody": "Your table is ready"}`, to))
		var vars map[string]any
		if s, ok := decode(t, out)["variables"].(string); !ok || json.Unmarshal([]byte(s), &vars) != nil {
			t.Fatalf("zbctl output has no variables: %s", out)
		}
		return vars
	}

	sent := run("+14155550101")
	if sid, _ := sent["smsSid"].(string); !regexp.MustCompile(`^SM[0-9a-f]{32}$`).MatchString(sid) || sent["smsStatus"] != "queued" {
		t.Errorf("resultExpression did not map the result: %v", sent)
	}
	if _, ok := sent["twilioResult"]; ok || sent["outcome"] != nil {
		t.Errorf("with a resultExpression only its entries become variables, and the task ends at Sent: %v", sent)
	}

	opted := run(optedOut)
	if opted["outcome"] != "optedOut" || opted["optedOutPhone"] != optedOut {
		t.Errorf("errorExpression did not throw OPTED_OUT to the boundary event with its variables: %v", opted)
	}
	if _, ok := opted["smsSid"]; ok {
		t.Errorf("a thrown task maps no result: %v", opted)
	}
	if m := fake.Sent(); len(m) != 1 || m[0].To != "+14155550101" {
		t.Errorf("sent %+v, want one message to +14155550101", m)
	}
}
