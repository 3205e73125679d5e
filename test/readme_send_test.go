package test

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/twilio-connector/twilio-connector/actions"
)

// The README's template check runs as written on a machine with no Twilio settings.
func TestReadmeSendTestingRunsAsWritten(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	const prefix = "go run ./cmd/twilio-connector send --testing "
	var line string
	for _, l := range strings.Split(string(readme), "\n") {
		if strings.HasPrefix(l, prefix) {
			line = l
		}
	}
	if line == "" {
		t.Fatalf("README.md has no line starting %q", prefix)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "bash", "-c", binary+" "+strings.TrimPrefix(line, "go run ./cmd/twilio-connector "))
	cmd.Env = []string{"PATH=/usr/bin:/bin", "HOME=" + t.TempDir()}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s\nfailed: %v\n%s%s", line, err, out, stderr.String())
	}
	var res actions.Result
	if err := json.Unmarshal(out, &res); err != nil {
		t.Fatalf("not the result JSON: %v\n%s", err, out)
	}
	if len(res.TwilioResult) != 1 || res.TwilioError != nil || res.TwilioResult[0].Body != "Order A-1042 is ready" || res.TwilioResult[0].Status != actions.StatusTesting {
		t.Errorf("%s", out)
	}
	if !strings.Contains(stderr.String(), "TWILIO_DEFAULT_FROM") {
		t.Errorf("no note about the preview sender: %q", stderr.String())
	}
}
