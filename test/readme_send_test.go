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

// The README's template checks run as written on a machine with no Twilio settings, and show
// the segments the body takes.
func TestReadmeSendTestingRunsAsWritten(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	const prefix = "go run ./cmd/twilio-connector send --testing "
	var lines []string
	for _, l := range strings.Split(string(readme), "\n") {
		if strings.HasPrefix(l, prefix) {
			lines = append(lines, l)
		}
	}
	if len(lines) < 2 {
		t.Fatalf("README.md has %d lines starting %q, want the template check and the segments example", len(lines), prefix)
	}
	for _, line := range lines {
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
		if len(res.TwilioResult) != 1 || res.TwilioError != nil || res.TwilioResult[0].Status != actions.StatusTesting || res.TwilioResult[0].Segments != 1 {
			t.Errorf("%s: %s", line, out)
		}
		switch {
		case strings.Contains(line, "orderId"):
			if r := res.TwilioResult[0]; r.Body != "Order A-1042 is ready" || r.Encoding != "GSM-7" {
				t.Errorf("%s", out)
			}
		case strings.Contains(line, "Привет"):
			if r := res.TwilioResult[0]; r.Encoding != "UCS-2" {
				t.Errorf("%s", out)
			}
		default:
			t.Errorf("a README line this test does not know: %s", line)
		}
		if !strings.Contains(stderr.String(), "TWILIO_DEFAULT_FROM") {
			t.Errorf("no note about the preview sender: %q", stderr.String())
		}
	}
}
