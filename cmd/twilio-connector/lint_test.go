package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"strings"
	"testing"

	"github.com/twilio-connector/twilio-connector/bpmn/lint"
)

var lintTestdata = filepath.Join("..", "..", "bpmn", "lint", "testdata")

func runLint(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	t.Setenv("CONNECTOR_CONFIG_FILE", "")
	t.Setenv("CONNECTOR_JOB_TYPE_PREFIX", "")
	var out, errOut bytes.Buffer
	err = lintCommand(context.Background(), args, &out, &errOut)
	return out.String(), errOut.String(), err
}

func TestLintCommand(t *testing.T) {
	good := filepath.Join(lintTestdata, "good.bpmn")
	badHeader := filepath.Join(lintTestdata, "bad_header.bpmn")
	missingTo := filepath.Join(lintTestdata, "missing_sms_to.bpmn")

	out, errOut, err := runLint(t, good)
	if err != nil || out != "" || !strings.Contains(errOut, "1 file checked, 0 errors, 0 warnings") {
		t.Errorf("good model: err %v stdout %q stderr %q", err, out, errOut)
	}

	// Warnings alone do not fail; flags may follow the files.
	out, _, err = runLint(t, good, missingTo, "--prefix", "twilioConnector")
	if err == nil {
		t.Errorf("missing_sms_to has an error finding (smsTo mapped to nothing), want exit 1")
	}
	if !strings.Contains(out, missingTo+": element notifyCustomer (Text the customer): smsTo: warning: ") {
		t.Errorf("stdout lacks the smsTo warning line:\n%s", out)
	}

	out, _, err = runLint(t, "--json", badHeader)
	var ee exitError
	if !errors.As(err, &ee) || ee != 1 {
		t.Errorf("bad header: err %v, want exitError(1)", err)
	}
	var findings []lint.Finding
	if jerr := json.Unmarshal([]byte(out), &findings); jerr != nil || len(findings) == 0 || findings[0].Element != "sendSms" {
		t.Errorf("--json output %q: %v", out, jerr)
	}

	// Another deployment's prefix: the same model's tasks are someone else's.
	_, errOut, err = runLint(t, "--prefix", "acme", badHeader)
	if err != nil || !strings.Contains(errOut, "0 errors") {
		t.Errorf("--prefix acme: err %v stderr %q", err, errOut)
	}

	var ue usageError
	if _, _, err := runLint(t); !errors.As(err, &ue) {
		t.Errorf("no files: err %v, want a usage error", err)
	}
	if _, _, err := runLint(t, "--bogus", good); !errors.As(err, &ee) || ee != 2 {
		t.Errorf("unknown flag: err %v, want exitError(2)", err)
	}
}
