package test

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/twilio-connector/twilio-connector/triggers"
)

// The README's offline try of a trigger's FEEL properties runs as written and prints what the
// README says; with NO instead of YES the activationCondition keeps it from firing (exit 1).
func TestReadmeMatchRunsAsWritten(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	const prefix = "go run ./cmd/twilio-connector match "
	_, rest, ok := strings.Cut(string(readme), "\n"+prefix)
	if !ok {
		t.Fatalf("README.md has no line starting %q", prefix)
	}
	command, _, _ := strings.Cut(rest, "\n```")
	command = strings.ReplaceAll(command, "\\\n", " ")
	if !strings.Contains(command, "--correlation-key-expression") || !strings.Contains(command, "--message 'YES A-7'") {
		t.Fatalf("the README's match example no longer tries the FEEL properties on YES A-7: %s", command)
	}
	run := func(args string) (triggers.Tried, error) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, "bash", "-c", binary+" match "+args)
		cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + t.TempDir()}
		out, err := cmd.Output()
		var tried triggers.Tried
		if jerr := json.Unmarshal(out, &tried); jerr != nil {
			t.Fatalf("match %s: not the JSON of match (%v, %v):\n%s", args, jerr, err, out)
		}
		return tried, err
	}

	tried, err := run(command)
	m := tried.Publishes
	if err != nil || m == nil || m.CorrelationKey != "A-7" || m.MessageID != triggers.TryExample+":catch:match" || m.TTL != "0s" ||
		len(m.Variables) != 2 || m.Variables["reference"] != "A-7" || m.Variables["phone"] != "+15005550101" ||
		tried.Activated == nil || !*tried.Activated || tried.Echo == nil || *tried.Echo != "Thanks, A-7 is confirmed" {
		t.Errorf("%s\n(%v) printed %+v %+v, not what the README says", command, err, tried, m)
	}

	tried, err = run(strings.Replace(command, "'YES A-7'", "'NO A-7'", 1))
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 1 || tried.Activated == nil || *tried.Activated || tried.Publishes != nil {
		t.Errorf("with NO A-7: exit %v, %+v; want activated false, nothing published, exit status 1", err, tried)
	}
}
