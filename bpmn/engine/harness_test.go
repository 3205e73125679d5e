package engine

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/camunda/zeebe/clients/go/v8/pkg/entities"
	"github.com/camunda/zeebe/clients/go/v8/pkg/worker"
	"github.com/camunda/zeebe/clients/go/v8/pkg/zbc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// testEngine is an engine served over loopback with a real Zeebe client connected to it.
type testEngine struct {
	*Engine
	client zbc.Client
	addr   string
	srv    *Server
}

func startEngine(t *testing.T) *testEngine {
	t.Helper()
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	if testing.Verbose() {
		logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	e := New(Options{Logger: logger})
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := e.Serve(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	client, err := zbc.NewClient(&zbc.ClientConfig{GatewayAddress: srv.Addr(), UsePlaintextConnection: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = client.Close()
		cancel()
		_ = srv.Close()
	})
	return &testEngine{Engine: e, client: client, addr: srv.Addr(), srv: srv}
}

// openWorker opens a job worker closed at the end of the test. The handlers still running are
// awaited first (the engine applies a command before answering it, so a test can end while a
// handler waits for its response); then the server is stopped, since a worker's Close waits for
// its in-flight long poll, which the server ends at once.
func (te *testEngine) openWorker(t *testing.T, jobType string, handler worker.JobHandler) {
	var running sync.WaitGroup
	w := te.client.NewJobWorker().JobType(jobType).Handler(func(c worker.JobClient, job entities.Job) {
		running.Add(1)
		defer running.Done()
		handler(c, job)
	}).Name("test-worker").Open()
	t.Cleanup(func() {
		running.Wait()
		_ = te.srv.Close()
		w.Close()
	})
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// deploy deploys testdata files through the client.
func (te *testEngine) deploy(t *testing.T, files ...string) {
	t.Helper()
	cmd := te.client.NewDeployResourceCommand()
	for _, f := range files {
		data, err := os.ReadFile(filepath.Join("testdata", f))
		if err != nil {
			t.Fatal(err)
		}
		cmd = cmd.AddResource(data, f)
	}
	if _, err := cmd.Send(ctxFor(t, 5*time.Second)); err != nil {
		t.Fatalf("deploy %v: %v", files, err)
	}
}

func (te *testEngine) create(t *testing.T, processID string, vars map[string]any) int64 {
	t.Helper()
	cmd, err := te.client.NewCreateInstanceCommand().BPMNProcessId(processID).LatestVersion().VariablesFromMap(vars)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := cmd.Send(ctxFor(t, 5*time.Second))
	if err != nil {
		t.Fatalf("create instance of %s: %v", processID, err)
	}
	return resp.ProcessInstanceKey
}

// waitState returns the instance's snapshot once it is in state: at once for StateActive,
// else when it ends (failing if it ends in another state).
func (te *testEngine) waitState(t *testing.T, key int64, state string) InstanceInfo {
	t.Helper()
	if state == StateActive {
		info, _ := te.Instance(key)
		if info.State != state {
			t.Fatalf("instance %d is %s, want %s", key, info.State, state)
		}
		return info
	}
	info, err := te.WaitInstance(ctxFor(t, 5*time.Second), key)
	if err != nil {
		t.Fatal(err)
	}
	if info.State != state {
		t.Fatalf("instance %d ended %s, want %s", key, info.State, state)
	}
	return info
}

func wantCode(t *testing.T, err error, want codes.Code) {
	t.Helper()
	if got := status.Code(err); got != want {
		t.Fatalf("got code %v (%v), want %v", got, err, want)
	}
}

func decode(t *testing.T, doc string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(doc), &m); err != nil {
		t.Fatalf("decode %q: %v", doc, err)
	}
	return m
}
