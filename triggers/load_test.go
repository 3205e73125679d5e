package triggers

import (
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestLoadDir(t *testing.T) {
	ts, err := LoadDir("testdata/bpmn", 0)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, tr := range ts {
		got = append(got, strings.Join([]string{tr.Where(), string(tr.Kind), tr.MessageName, tr.To, strings.Join(tr.Pattern().Groups, ",")}, " | "))
	}
	slices.Sort(got)
	want := []string{
		filepath.Join("testdata/bpmn/nested/plain.bpmn") + ": status/statusSms | start | status-request |  | ref",
		filepath.Join("testdata/bpmn/sms_order.bpmn") + ": smsOrder/orderSms | start | sms-order-received | +15005550006 | orderNumber",
		filepath.Join("testdata/bpmn/sms_order.bpmn") + ": smsOrder/reply | catch | sms-order-confirmation |  | answer",
	}
	if !slices.Equal(got, want) {
		t.Errorf("triggers:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestLoadDirReportsEveryProblem(t *testing.T) {
	_, err := LoadDir("testdata/bad", 0)
	if err == nil {
		t.Fatal("no error")
	}
	msg := err.Error()
	wants := []string{
		"testdata/bad/bad_triggers.bpmn: orders/noMessageName: message: the trigger has no message name",
		"testdata/bad/bad_triggers.bpmn: orders/badRegex: pattern:",
		"testdata/bad/bad_triggers.bpmn: orders/receive: inbound.type is SMS_RECEIVED but the element is a receiveTask",
		"testdata/bad/bad_triggers.bpmn: orders/badTemplate: echo:",
	}
	for _, w := range wants {
		if !strings.Contains(msg, w) {
			t.Errorf("error does not contain %q:\n%s", w, msg)
		}
	}
}

func TestLoadFile(t *testing.T) {
	ts, err := LoadFile("testdata/triggers.yaml", 0)
	if err != nil {
		t.Fatal(err)
	}
	if len(ts) != 2 {
		t.Fatalf("%d triggers, want 2", len(ts))
	}
	a, b := ts[0], ts[1]
	if a.Element != "order-received" || a.Kind != StartEvent || a.MessageName != "order-received" || a.Echo == "" || a.EchoError == "" {
		t.Errorf("first trigger = %+v", a.Definition)
	}
	if b.Kind != CatchEvent || b.MessageName != "survey-answer" || b.To != "+15005550006" {
		t.Errorf("second trigger = %+v", b.Definition)
	}
	if groups, ok, _ := a.Pattern().Match("Order Number 42"); !ok || groups["orderNumber"] != "42" {
		t.Errorf("match = %v %v", groups, ok)
	}
}

func TestLoadFileErrors(t *testing.T) {
	for _, tc := range []struct {
		file  string
		wants []string
	}{
		{"testdata/bad/triggers.yaml", []string{
			"testdata/bad/triggers.yaml: one: pattern:",
			"testdata/bad/triggers.yaml: one: id is used twice",
			"testdata/bad/triggers.yaml: one: message: the trigger has no message name",
			"testdata/bad/triggers.yaml: triggers[2]: id is required",
			`testdata/bad/triggers.yaml: triggers[2]: kind: kind is "sometimes"`,
		}},
		{"testdata/bad/typo.yaml", []string{"testdata/bad/typo.yaml:", "echoErorr"}},
		{"testdata/missing.yaml", []string{"CONNECTOR_TRIGGERS_FILE", "missing.yaml"}},
	} {
		_, err := LoadFile(tc.file, 0)
		if err == nil {
			t.Errorf("%s: no error", tc.file)
			continue
		}
		for _, w := range tc.wants {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error does not contain %q:\n%v", tc.file, w, err)
			}
		}
	}
}

func TestParseYAMLEmpty(t *testing.T) {
	ts, err := ParseYAML("empty.yaml", nil, 0)
	if err != nil || len(ts) != 0 {
		t.Errorf("empty file: %v, %v", ts, err)
	}
}

func TestRegistryReplacesBySource(t *testing.T) {
	mk := func(src, el string) *Trigger {
		tr, err := Compile(Definition{Source: src, Element: el, MessageName: "m", Pattern: "x"}, 0)
		if err != nil {
			t.Fatal(err)
		}
		return tr
	}
	r := NewRegistry(mk("yaml", "a"))
	r.Set("b.bpmn", []*Trigger{mk("b.bpmn", "b1"), mk("b.bpmn", "b2")})
	r.Set("b.bpmn", []*Trigger{mk("b.bpmn", "b3")})
	var got []string
	for _, tr := range r.Triggers() {
		got = append(got, tr.Element)
	}
	if !slices.Equal(got, []string{"a", "b3"}) {
		t.Errorf("triggers %v", got)
	}
}
