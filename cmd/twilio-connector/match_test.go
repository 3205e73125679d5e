package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/twilio-connector/twilio-connector/triggers"
)

func runMatch(t *testing.T, args ...string) (tried triggers.Tried, err error) {
	t.Helper()
	var out, errOut bytes.Buffer
	err = matchCommand(context.Background(), args, &out, &errOut)
	if out.Len() > 0 {
		if jerr := json.Unmarshal(out.Bytes(), &tried); jerr != nil {
			t.Fatalf("match %q printed %q: %v", args, out.String(), jerr)
		}
	}
	return tried, err
}

// The FEEL properties of a trigger can be tried offline: match shows whether the
// activationCondition lets it fire and the message it would publish, with its key.
func TestMatchTriesTheFEELProperties(t *testing.T) {
	trigger := []string{"--pattern", "(?<answer>YES|NO) (?<ref>[A-Z0-9-]+)", "--kind", "catch", "--name", "orderConfirmed",
		"--activation-condition", `=matchGroups.answer = "YES"`,
		"--correlation-key-expression", "=matchGroups.ref",
		"--result-expression", "={reference: matchGroups.ref, phone: from}",
		"--message-id-expression", `="order-" + matchGroups.ref`,
		"--echo", "Thanks, ${ref} is confirmed", "--from", "+15550100"}

	tried, err := runMatch(t, append(trigger, "--message", "YES A-7")...)
	if err != nil {
		t.Fatalf("YES A-7: %v", err)
	}
	m := tried.Publishes
	if tried.Activated == nil || !*tried.Activated || m == nil {
		t.Fatalf("YES A-7 does not fire: %+v", tried)
	}
	if m.Name != "orderConfirmed" || m.CorrelationKey != "A-7" || m.MessageID != "order-A-7" || m.TTL != "0s" {
		t.Errorf("published %+v, want orderConfirmed with key A-7, id order-A-7, ttl 0s (a catch event)", m)
	}
	if len(m.Variables) != 2 || m.Variables["reference"] != "A-7" || m.Variables["phone"] != "+15550100" {
		t.Errorf("variables %v, want exactly reference A-7 and phone +15550100", m.Variables)
	}
	if tried.Echo == nil || *tried.Echo != "Thanks, A-7 is confirmed" {
		t.Errorf("echo %v", tried.Echo)
	}

	// NO matches the pattern but the activationCondition keeps the trigger from firing: no
	// message, no reply, exit status 1.
	tried, err = runMatch(t, append(trigger, "--message", "NO A-7")...)
	var ee exitError
	if !errors.As(err, &ee) || ee != 1 || !tried.Matched || tried.Activated == nil || *tried.Activated || tried.Publishes != nil || tried.Echo != nil {
		t.Errorf("NO A-7: err %v, tried %+v: want matched, activated false, nothing published, exit 1", err, tried)
	}

	// A property that fails on this message is named; the trigger does not fire.
	tried, err = runMatch(t, "--pattern", "(?<ref>.+)", "--correlation-key-expression", "=matchGroups.reference", "--message", "A-7")
	if !errors.As(err, &ee) || ee != 1 || tried.Publishes != nil || !strings.HasPrefix(tried.PropertyError, "correlationKeyExpression ") {
		t.Errorf("missing variable: err %v, tried %+v: want the correlationKeyExpression named, exit 1", err, tried)
	}

	// Without properties a start event publishes today's variables with no key.
	tried, err = runMatch(t, "--pattern", "Order Number (?<orderNumber>.+)", "--message", "Order Number 42")
	if err != nil || tried.Publishes == nil || tried.Publishes.CorrelationKey != "" || tried.Publishes.Variables["originalMessage"] != "Order Number 42" {
		t.Errorf("plain start event: err %v, tried %+v", err, tried)
	}

	// Outside the FEEL subset: a usage error naming the property.
	_, err = runMatch(t, "--pattern", "x", "--activation-condition", "=matches(x)", "--message", "x")
	var ue usageError
	if !errors.As(err, &ue) || !strings.Contains(err.Error(), "activationCondition") {
		t.Errorf("unsupported FEEL: err %v, want a usage error naming activationCondition", err)
	}
}
