// Package models checks that every BPMN model shipped in the repository opens in Camunda
// Modeler and passes Camunda's lint (bpmnlint with .bpmnlintrc), by running layout.mjs and
// lint.mjs of this directory with Node.
package models

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/twilio-connector/twilio-connector/bpmn"
)

// root is the repository, seen from this package's directory.
const root = "../.."

// excluded are the .bpmn files that are not meant to pass bpmnlint, relative to the root with
// slashes, and why. Every other .bpmn file of the repository is linted.
var excluded = map[string]string{
	"bpmn/lint/testdata/bad_call.bpmn":        "twilio-connector lint fixture: Make call inputs broken on purpose",
	"bpmn/lint/testdata/bad_header.bpmn":      "twilio-connector lint fixture: task headers broken on purpose",
	"bpmn/lint/testdata/bad_literals.bpmn":    "twilio-connector lint fixture: Send SMS inputs broken on purpose",
	"bpmn/lint/testdata/bad_regex.bpmn":       "twilio-connector lint fixture: SMS received patterns broken on purpose",
	"bpmn/lint/testdata/bad_template.bpmn":    "twilio-connector lint fixture: message template broken on purpose",
	"bpmn/lint/testdata/bad_trigger.bpmn":     "twilio-connector lint fixture: triggers without message name or correlation key on purpose",
	"bpmn/lint/testdata/missing_sms_to.bpmn":  "twilio-connector lint fixture: Send SMS tasks without smsTo, on their own, on purpose",
	"bpmn/lint/testdata/unknown_type.bpmn":    "twilio-connector lint fixture: tasks of unknown job types, on their own, on purpose",
	"bpmn/lint/testdata/not_bpmn.bpmn":        "twilio-connector lint fixture: not BPMN at all",
	"triggers/testdata/bad/bad_triggers.bpmn": "trigger loading fixture: triggers broken on purpose",
	"bpmn/testdata/sms_order.bpmn": "parser fixture: a disconnected user task and an end event joining four flows " +
		"without a gateway, which Zeebe deploys and bpmnlint flags, so the parser is tested on them",
}

// models returns the .bpmn files of the repository that must pass the lint, relative to root.
func models(t *testing.T) []string {
	t.Helper()
	seen := map[string]bool{}
	var files []string
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "node_modules" || d.Name() == ".git") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.EqualFold(filepath.Ext(p), ".bpmn") {
			return nil
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		seen[rel] = true
		if _, skip := excluded[rel]; !skip {
			files = append(files, rel)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for f := range excluded {
		if !seen[f] {
			t.Errorf("excluded model %s does not exist: remove it from the exclusions", f)
		}
	}
	if len(files) == 0 {
		t.Fatal("no .bpmn files found under the repository")
	}
	return files
}

// node returns the node binary once bpmnlint is installed; without them the test is skipped,
// or fails when $CI is set.
func node(t *testing.T) string {
	t.Helper()
	bin, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join(root, "test", "node_modules", "bpmnlint"))
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("node or test/node_modules/bpmnlint missing (CI is set): run bash test/setup.sh: %v", err)
		}
		t.Skipf("node or test/node_modules/bpmnlint missing: run bash test/setup.sh: %v", err)
	}
	return bin
}

// runNode runs a script of this directory in the repository root. It fails the test when the
// script could not do its work (exit status other than 0 and 1).
func runNode(t *testing.T, script string, args ...string) (string, bool) {
	t.Helper()
	abs, err := filepath.Abs(script)
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(node(t), append([]string{abs}, args...)...)
	cmd.Dir = root
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err = cmd.Run()
	var exit *exec.ExitError
	if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 1) {
		t.Fatalf("node %s: %v\n%s", script, err, out.String())
	}
	return out.String(), err == nil
}

func TestModelsPassBpmnlint(t *testing.T) {
	files := models(t)
	if out, ok := runNode(t, "lint.mjs", files...); !ok {
		t.Errorf("bpmnlint findings (fix the model; after adding elements run node test/bpmn/layout.mjs FILE):\n%s", out)
	}
}

// A model as the examples were before they had diagrams: no BPMNDI, no incoming/outgoing,
// Zeebe extensions of every kind, two boundary events on one task, two processes.
const bare = `<?xml version="1.0" encoding="UTF-8"?>
<bpmn:definitions xmlns:bpmn="http://www.omg.org/spec/BPMN/20100524/MODEL" xmlns:zeebe="http://camunda.org/schema/zeebe/1.0" id="bare" targetNamespace="http://bpmn.io/schema/bpmn">
  <bpmn:message id="reply" name="reply">
    <bpmn:extensionElements><zeebe:subscription correlationKey="=phone" /></bpmn:extensionElements>
  </bpmn:message>
  <bpmn:error id="optedOut" name="Opted out" errorCode="SMS_RECIPIENT_OPTED_OUT" />
  <bpmn:process id="notify" name="Notify" isExecutable="true">
    <bpmn:startEvent id="start" name="Start" />
    <bpmn:sequenceFlow id="f1" sourceRef="start" targetRef="send" />
    <bpmn:serviceTask id="send" name="Send SMS" zeebe:modelerTemplate="io.github.twilio-connector.SendSms" zeebe:modelerTemplateVersion="1">
      <bpmn:extensionElements>
        <zeebe:taskDefinition type="twilioConnector.send_sms" retries="3" />
        <zeebe:ioMapping>
          <zeebe:input source="=[phone]" target="smsTo" />
          <zeebe:input source="Reply YES" target="smsBody" />
          <zeebe:output source="=twilioError = null" target="sent" />
        </zeebe:ioMapping>
        <zeebe:taskHeaders><zeebe:header key="errorMode" value="bpmnError" /></zeebe:taskHeaders>
      </bpmn:extensionElements>
    </bpmn:serviceTask>
    <bpmn:boundaryEvent id="caught" name="Opted out" attachedToRef="send">
      <bpmn:errorEventDefinition errorRef="optedOut" />
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f2" sourceRef="send" targetRef="wait" />
    <bpmn:intermediateCatchEvent id="wait" name="Reply received">
      <bpmn:extensionElements>
        <zeebe:properties>
          <zeebe:property name="inbound.type" value="SMS_RECEIVED" />
          <zeebe:property name="inbound.pattern" value="(?i)(?&lt;answer&gt;yes|no)" />
        </zeebe:properties>
      </bpmn:extensionElements>
      <bpmn:messageEventDefinition messageRef="reply" />
    </bpmn:intermediateCatchEvent>
    <bpmn:sequenceFlow id="f3" sourceRef="wait" targetRef="done" />
    <bpmn:boundaryEvent id="failed" name="Failed" attachedToRef="send">
      <bpmn:errorEventDefinition />
    </bpmn:boundaryEvent>
    <bpmn:sequenceFlow id="f4" sourceRef="caught" targetRef="notSent" />
    <bpmn:sequenceFlow id="f5" sourceRef="failed" targetRef="failedEnd" />
    <bpmn:endEvent id="done" name="Done" />
    <bpmn:endEvent id="notSent" name="Not sent" />
    <bpmn:endEvent id="failedEnd" name="Failed" />
  </bpmn:process>
  <bpmn:process id="other" name="Other" isExecutable="true">
    <bpmn:startEvent id="start2" name="Start" />
    <bpmn:sequenceFlow id="g1" sourceRef="start2" targetRef="end2" />
    <bpmn:endEvent id="end2" name="End" />
  </bpmn:process>
</bpmn:definitions>
`

// TestLayoutMakesModelsLintClean: the lint rejects a model without diagram, layout.mjs gives it
// one without changing what the model means (as our parser reads it), and a second run changes
// nothing.
func TestLayoutMakesModelsLintClean(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "bare.bpmn")
	if err := os.WriteFile(file, []byte(bare), 0o644); err != nil {
		t.Fatal(err)
	}
	out, ok := runNode(t, "lint.mjs", file)
	for _, want := range []string{"element bare: diagram: has no diagram", "element send: no-bpmndi", "element send: incoming-outgoing"} {
		if ok || !strings.Contains(out, want) {
			t.Errorf("lint of a model without diagram: ok=%v, want a finding %q in:\n%s", ok, want, out)
		}
	}

	if out, ok := runNode(t, "layout.mjs", file); !ok {
		t.Fatalf("layout.mjs: %s", out)
	}
	saved, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if out, ok := runNode(t, "lint.mjs", file); !ok {
		t.Errorf("lint after layout.mjs:\n%s\n%s", out, saved)
	}
	for _, want := range []string{`modeler:executionPlatform="Camunda Cloud"`, `modeler:executionPlatformVersion="8.8.0"`,
		`<bpmn:participant id="Participant_other"`, `<bpmn:outgoing>f1</bpmn:outgoing>`} {
		if !bytes.Contains(saved, []byte(want)) {
			t.Errorf("saved model lacks %s:\n%s", want, saved)
		}
	}

	before, err := bpmn.Parse("bare.bpmn", []byte(bare))
	if err != nil {
		t.Fatal(err)
	}
	after, err := bpmn.Parse("bare.bpmn", saved)
	if err != nil {
		t.Fatalf("parsing the saved model: %v", err)
	}
	if !reflect.DeepEqual(before, after) {
		t.Errorf("layout.mjs changed the model:\nbefore %+v\nafter  %+v", before.Processes[0], after.Processes[0])
	}

	if out, ok := runNode(t, "layout.mjs", file); !ok || out != "" {
		t.Errorf("second layout.mjs run: ok=%v output %q", ok, out)
	}
	again, _ := os.ReadFile(file)
	if !bytes.Equal(again, saved) {
		t.Errorf("second layout.mjs run changed the file:\n%s", again)
	}
}

// The exclusions are meant to be broken: one that passes the lint belongs in the checked set.
func TestExcludedModelsStillFail(t *testing.T) {
	var files []string
	for f := range excluded {
		files = append(files, f)
	}
	out, _ := runNode(t, "lint.mjs", files...)
	for _, f := range files {
		if !strings.Contains("\n"+out, "\n"+f+": ") {
			t.Errorf("%s passes the lint: remove it from the exclusions", f)
		}
	}
}
