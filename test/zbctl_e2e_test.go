package test

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/twilio-connector/twilio-connector/bpmn/engine"
	"github.com/twilio-connector/twilio-connector/test/syncbuf"
	"github.com/twilio-connector/twilio-connector/test/wait"
)

// zbctlPath is the real zbctl v8.3.0 built by test/setup.sh.
const zbctlPath = "bin/zbctl"

type zbWorld struct {
	eng  *engine.Engine
	addr string
	bin  string
}

// zbctl returns the absolute path of zbctl; without it the test is skipped, or fails when
// $CI is set.
func zbctl(t *testing.T) string {
	t.Helper()
	bin, err := filepath.Abs(zbctlPath)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(bin); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("zbctl missing at %s (CI is set): run bash test/setup.sh", bin)
		}
		t.Skip("zbctl missing: run bash test/setup.sh")
	}
	return bin
}

// newZbWorld starts a bare dev engine (no Twilio, no Go client) and locates zbctl.
func newZbWorld(t *testing.T) *zbWorld {
	t.Helper()
	bin := zbctl(t)
	logs := &syncbuf.Buffer{}
	eng := engine.New(engine.Options{Logger: slog.New(slog.NewTextHandler(logs, nil))})
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := eng.Serve(ctx, "127.0.0.1:0")
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); srv.Close() })
	z := &zbWorld{eng: eng, addr: srv.Addr(), bin: bin}
	z.ok(t, "deploy", "testdata/zbctl/zbctl.bpmn")
	return z
}

// run executes zbctl with a hard timeout and returns its stdout, stderr and error.
func (z *zbWorld) run(t *testing.T, args ...string) (string, string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	full := append([]string{"--insecure", "--address", z.addr}, args...)
	cmd := exec.CommandContext(ctx, z.bin, full...)
	// A developer's ZEEBE_* settings (address, OAuth) must not redirect zbctl away from the engine.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ZEEBE_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	var out, errb strings.Builder
	cmd.Stdout, cmd.Stderr = &out, &errb
	err := cmd.Run()
	return out.String(), errb.String(), err
}

func (z *zbWorld) ok(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, err := z.run(t, args...)
	if err != nil {
		t.Fatalf("zbctl %v: %v\nstdout: %s\nstderr: %s", args, err, out, errOut)
	}
	return out
}

func decode(t *testing.T, s string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(s), &m); err != nil {
		t.Fatalf("zbctl output is not JSON: %v\n%s", err, s)
	}
	return m
}

func keyOf(t *testing.T, m map[string]any, field string) int64 {
	t.Helper()
	switch v := m[field].(type) {
	case string:
		k, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			t.Fatal(err)
		}
		return k
	case float64:
		return int64(v)
	}
	t.Fatalf("no %s in %v", field, m)
	return 0
}

func (z *zbWorld) createInstance(t *testing.T, process, vars string) int64 {
	t.Helper()
	return keyOf(t, decode(t, z.ok(t, "create", "instance", process, "--variables", vars)), "processInstanceKey")
}

// activate activates at most one job of the type and returns it (nil when none).
func (z *zbWorld) activate(t *testing.T, timeout string) map[string]any {
	t.Helper()
	return z.activateWithin(t, timeout, "1s")
}

// activateWithin is activate with the long-poll request timeout given.
func (z *zbWorld) activateWithin(t *testing.T, timeout, requestTimeout string) map[string]any {
	t.Helper()
	out := z.ok(t, "activate", "jobs", "zb.work", "--maxJobsToActivate", "1", "--timeout", timeout, "--requestTimeout", requestTimeout, "--worker", "zbctl-e2e")
	m := decode(t, out)
	jobs, _ := m["jobs"].([]any)
	if len(jobs) == 0 {
		return nil
	}
	return jobs[0].(map[string]any)
}

func (z *zbWorld) waitDone(t *testing.T, key int64, state, endElement string) engine.InstanceInfo {
	t.Helper()
	var info engine.InstanceInfo
	wait.Until(t, 5*time.Second, "instance "+state, func() bool {
		var ok bool
		info, ok = z.eng.Instance(key)
		return ok && info.State == state
	})
	if endElement != "" {
		if n := len(info.CompletedElements); n == 0 || info.CompletedElements[n-1] != endElement {
			t.Fatalf("instance ended at %v, want %s", info.CompletedElements, endElement)
		}
	}
	return info
}

func TestZbctlDeployStatusAndCreateWithResult(t *testing.T) {
	z := newZbWorld(t)
	status := z.ok(t, "status")
	if !strings.Contains(status, "Gateway version") || !strings.Contains(status, "Partition 1") {
		t.Fatalf("status:\n%s", status)
	}
	out := z.ok(t, "create", "instance", "zbPlain", "--variables", `{"a":1,"b":"x"}`, "--withResult")
	m := decode(t, out)
	var vars map[string]any
	if err := json.Unmarshal([]byte(m["variables"].(string)), &vars); err != nil {
		t.Fatalf("variables in %s: %v", out, err)
	}
	if vars["a"] != float64(1) || vars["b"] != "x" {
		t.Fatalf("variables %v", vars)
	}
}

func TestZbctlPublishMessage(t *testing.T) {
	z := newZbWorld(t)
	z.ok(t, "publish", "message", "zb-start", "--correlationKey", "", "--messageId", "m-1", "--ttl", "1m", "--variables", `{"from":"zbctl"}`)
	var started int64
	wait.Until(t, 5*time.Second, "message start", func() bool {
		for _, in := range z.eng.Instances() {
			if in.BpmnProcessID == "zbMsgStart" && in.State == engine.StateCompleted {
				started = in.Key
				return true
			}
		}
		return false
	})
	if info, _ := z.eng.Instance(started); info.Variables["from"] != "zbctl" {
		t.Fatalf("variables %v", info.Variables)
	}
	_, errOut, err := z.run(t, "publish", "message", "zb-start", "--correlationKey", "", "--messageId", "m-1", "--ttl", "1m")
	if err == nil || !strings.Contains(errOut, "AlreadyExists") && !strings.Contains(errOut, "ALREADY_EXISTS") {
		t.Fatalf("duplicate messageId: err=%v stderr=%s", err, errOut)
	}

	key := z.createInstance(t, "zbCatch", `{"orderId":"o-7"}`)
	z.ok(t, "publish", "message", "zb-reply", "--correlationKey", "o-7", "--messageId", "r-1", "--ttl", "1m", "--variables", `{"reply":"yes"}`)
	info := z.waitDone(t, key, engine.StateCompleted, "e4")
	if info.Variables["reply"] != "yes" {
		t.Fatalf("variables %v", info.Variables)
	}
}

func TestZbctlJobTimeoutReactivation(t *testing.T) {
	z := newZbWorld(t)
	key := z.createInstance(t, "zbTask", `{}`)
	first := z.activateWithin(t, "4s", "1s")
	if first == nil {
		t.Fatal("no job activated")
	}
	// Before the 4s deadline the job belongs to the first activation. zbctl's call deadline is
	// its request timeout, so that is 1s: a shorter one expires on a busy machine.
	if j := z.activateWithin(t, "4s", "1s"); j != nil {
		t.Fatalf("job activated twice before its deadline: %v", j)
	}
	var again map[string]any
	wait.Until(t, 10*time.Second, "re-activation after the job timeout", func() bool {
		again = z.activate(t, "10s")
		return again != nil
	})
	if keyOf(t, again, "key") != keyOf(t, first, "key") {
		t.Fatalf("re-activated %v, want job %v", again["key"], first["key"])
	}
	z.ok(t, "complete", "job", strconv.FormatInt(keyOf(t, again, "key"), 10), "--variables", `{"done":true}`)
	info := z.waitDone(t, key, engine.StateCompleted, "done")
	if info.Variables["done"] != true {
		t.Fatalf("variables %v", info.Variables)
	}
}

func TestZbctlFailIncidentResolve(t *testing.T) {
	z := newZbWorld(t)
	key := z.createInstance(t, "zbTask", `{}`)
	job := z.activate(t, "30s")
	if job == nil {
		t.Fatal("no job")
	}
	jk := strconv.FormatInt(keyOf(t, job, "key"), 10)
	z.ok(t, "fail", "job", jk, "--retries", "0", "--errorMessage", "no phone number")
	var inc engine.IncidentInfo
	wait.Until(t, 5*time.Second, "incident", func() bool {
		for _, i := range z.eng.Incidents() {
			if i.ProcessInstanceKey == key {
				inc = i
				return true
			}
		}
		return false
	})
	if !strings.Contains(inc.Message, "no phone number") {
		t.Fatalf("incident %+v", inc)
	}
	z.ok(t, "update", "retries", jk, "--retries", "2")
	z.ok(t, "resolve", "incident", strconv.FormatInt(inc.Key, 10))
	var again map[string]any
	wait.Until(t, 5*time.Second, "job activatable after resolve", func() bool {
		again = z.activate(t, "30s")
		return again != nil
	})
	if strconv.FormatInt(keyOf(t, again, "key"), 10) != jk {
		t.Fatalf("activated %v, want %s", again["key"], jk)
	}
	z.ok(t, "cancel", "instance", strconv.FormatInt(key, 10))
	z.waitDone(t, key, engine.StateTerminated, "")
}

func TestZbctlThrowErrorCaughtByBoundary(t *testing.T) {
	z := newZbWorld(t)
	key := z.createInstance(t, "zbTask", `{}`)
	job := z.activate(t, "30s")
	if job == nil {
		t.Fatal("no job")
	}
	z.ok(t, "throwError", "job", strconv.FormatInt(keyOf(t, job, "key"), 10), "--errorCode", "NO_PHONE", "--errorMessage", "missing")
	z.waitDone(t, key, engine.StateCompleted, "failedEnd")
}

func TestZbctlCompleteUnknownJobNotFound(t *testing.T) {
	z := newZbWorld(t)
	out, errOut, err := z.run(t, "complete", "job", "123456")
	if err == nil {
		t.Fatalf("complete of an unknown job succeeded: %s", out)
	}
	if !strings.Contains(errOut, "NotFound") && !strings.Contains(errOut, "NOT_FOUND") {
		t.Fatalf("want NOT_FOUND, stderr: %s", errOut)
	}
}
