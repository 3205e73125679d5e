package test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/twilio-connector/twilio-connector/bpmn/engine"
	"github.com/twilio-connector/twilio-connector/test/syncbuf"
)

// nodeSDK returns node and the script driving Camunda's Node SDK (@camunda8/sdk, installed by
// test/setup.sh); without them the test is skipped, or fails when $CI is set.
func nodeSDK(t *testing.T) (node, script string) {
	t.Helper()
	missing := func(what, fix string) {
		t.Helper()
		if os.Getenv("CI") != "" {
			t.Fatalf("%s (CI is set): %s", what, fix)
		}
		t.Skip(what + ": " + fix)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node is not on the PATH", "install Node.js 20 or later")
	}
	sdk, err := filepath.Abs("node_modules/@camunda8/sdk/package.json")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(sdk); err != nil {
		missing("Camunda's Node SDK missing at "+sdk, "run bash test/setup.sh")
	}
	script, err = filepath.Abs("nodesdk/sdk.mjs")
	if err != nil {
		t.Fatal(err)
	}
	return node, script
}

// Camunda's official Node SDK against the dev engine: deploy, a polling job worker that
// completes jobs, and create-with-result, all through its gRPC client (which compresses calls
// with gzip).
func TestNodeSDKDeployWorkerAndCreateWithResult(t *testing.T) {
	node, script := nodeSDK(t)
	logs := &syncbuf.Buffer{}
	eng := engine.New(engine.Options{Logger: slog.New(slog.NewTextHandler(logs, nil))})
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	srv, err := eng.Serve(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()

	resultFile := filepath.Join(t.TempDir(), "result.json")
	cmd := exec.CommandContext(ctx, node, script, srv.Addr(), resultFile)
	// No CAMUNDA_* / ZEEBE_* settings of the developer may redirect the SDK (or add OAuth).
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir()}
	cmd.WaitDelay = 5 * time.Second
	if output, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("node %s %s: %v\noutput: %s\nengine log:\n%s", filepath.Base(script), srv.Addr(), err, output, logs.String())
	}
	result, err := os.ReadFile(resultFile)
	if err != nil {
		t.Fatal(err)
	}

	var out struct {
		ProcessInstanceKey string         `json:"processInstanceKey"`
		Variables          map[string]any `json:"variables"`
	}
	if err := json.Unmarshal(result, &out); err != nil {
		t.Fatalf("script result %q: %v", result, err)
	}
	key, err := strconv.ParseInt(out.ProcessInstanceKey, 10, 64)
	if err != nil {
		t.Fatalf("processInstanceKey %q: %v", out.ProcessInstanceKey, err)
	}
	info, ok := eng.Instance(key)
	if !ok || info.State != engine.StateCompleted {
		t.Fatalf("instance %d: %+v, want completed", key, info)
	}
	// The engine's own view matches what the SDK received: the worker's variables are there.
	for name, want := range map[string]string{"n": "21", "doubled": "42", "worker": "node-sdk"} {
		if fmt.Sprint(info.Variables[name]) != want || fmt.Sprint(out.Variables[name]) != want {
			t.Errorf("variable %s: engine %v, SDK result %v, want %v", name, info.Variables[name], out.Variables[name], want)
		}
	}
	if n := len(info.CompletedElements); n == 0 || info.CompletedElements[n-1] != "done" {
		t.Errorf("instance ended at %v, want done", info.CompletedElements)
	}
}
