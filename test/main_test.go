package test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/twilio-connector/twilio-connector/test/prism"
)

// binary is the connector built once for the tests that run it as a user would.
var binary string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "twilio-connector-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binary = filepath.Join(dir, "twilio-connector")
	build := exec.Command("go", "build", "-o", binary, "../cmd/twilio-connector")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building the connector:", err)
		os.Exit(1)
	}
	code := prism.Run(m)
	os.RemoveAll(dir)
	os.Exit(code)
}
