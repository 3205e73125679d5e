// Package prism runs Stoplight Prism (npm @stoplight/prism-cli 5, installed by test/setup.sh)
// as a mock of Twilio's REST API, generated from Twilio's own OpenAPI description, for contract
// tests: point TWILIO_API_BASE_URL (or the client's base URL) at the address Start or Shared
// returns.
//
// What the mock checks and answers (measured with prism-cli 5.14.2 and
// twilio_api_v2010.json, POST /2010-04-01/Accounts/{AccountSid}/Messages.json):
//
//   - Valid form (To, From, Body) with basic auth: 201 and the spec's static example, always
//     the same ("sid": "SMaaaa…", "status": "queued", "to"/"from" +14155552345, body
//     "Hello! 👍"). Nothing echoes the request, and every send gets the same SID, so use
//     twiliotest for per-recipient SIDs, counts and errors.
//   - Missing To: 422, application/problem+json, with
//     "validation":[{"location":["body"],"code":"required","message":"Request body must have required property 'To'"}].
//     The same for a malformed MessagingServiceSid (length/pattern), a StatusCallback that is
//     not a URI, or an AccountSid in the path that is not AC + 32 hex.
//   - Not checked: From and Body are optional in the spec (Twilio's "From or
//     MessagingServiceSid" and "Body or MediaUrl" rules are not in it), To is not checked
//     as a phone number, unknown fields pass, a call without Url/Twiml passes.
//   - Auth: any basic-auth user and password pass (the values are never compared); no
//     Authorization header, or a non-Basic one, gives 401 problem+json with
//     WWW-Authenticate: Basic realm="*". It cannot test credentials.
//   - A body that is not form-encoded gives 415; a path not in the spec gives 404.
//   - Array fields (MediaUrl, StatusCallbackEvent…): Prism 5 rejects Twilio's own encoding,
//     repeated keys (MediaUrl=a&MediaUrl=b), with 422 "must be array" (stoplightio/prism#2473).
//     Start therefore serves a copy of the spec in which every array property of a form body
//     has an explicit encoding {style: form, explode: true}, which is what OpenAPI already
//     defaults to, so the contract is unchanged. With it Prism accepts repeated keys but only
//     validates the last value of each.
//
// Prism takes one to several seconds to load the 1.8 MB spec; share one instance per test
// binary with Shared and Run.
package prism

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"
)

// SpecEnv names the environment variable that overrides where Twilio's OpenAPI file is.
const SpecEnv = "TWILIO_OPENAPI_SPEC"

// StartTimeout bounds how long Start waits for Prism to answer.
const StartTimeout = 60 * time.Second

// RepoRoot is the directory holding go.mod, found by walking up from the working directory
// (tests run in their package directory).
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("prism: no go.mod above the working directory")
		}
		dir = parent
	}
}

// SpecPath is Twilio's OpenAPI description: $TWILIO_OPENAPI_SPEC if set, otherwise the copy
// kept in the repository, test/testdata/twilio/twilio_api_v2010.json (see its README.md).
func SpecPath() (string, error) {
	if p := os.Getenv(SpecEnv); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("prism: %s=%s: %w", SpecEnv, p, err)
		}
		return p, nil
	}
	root, err := RepoRoot()
	if err != nil {
		return "", err
	}
	p := filepath.Join(root, "test", "testdata", "twilio", "twilio_api_v2010.json")
	if _, err := os.Stat(p); err != nil {
		return "", fmt.Errorf("prism: Twilio's OpenAPI spec is not at %s (restore it with git checkout, or set %s to its path)", p, SpecEnv)
	}
	return p, nil
}

// Start runs a Prism mock of Twilio's API on 127.0.0.1 for this test and returns its base
// URL (no trailing slash). The process group is killed when the test ends. Without Prism
// installed the test is skipped, or fails when $CI is set.
func Start(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	inst, err := start(dir)
	if err != nil {
		fail(t, err)
	}
	t.Cleanup(inst.stop)
	return inst.baseURL
}

var shared struct {
	once sync.Once
	inst *instance
	dir  string
	err  error
}

// Shared is Start for a whole test binary: the first call starts Prism, later calls reuse it.
// The package's TestMain must stop it: func TestMain(m *testing.M) { os.Exit(prism.Run(m)) }.
// Prism is stateless, so tests sharing it cannot disturb each other.
func Shared(t testing.TB) string {
	t.Helper()
	shared.once.Do(func() {
		shared.dir, shared.err = os.MkdirTemp("", "prism-")
		if shared.err == nil {
			shared.inst, shared.err = start(shared.dir)
		}
	})
	if shared.err != nil {
		fail(t, shared.err)
	}
	return shared.inst.baseURL
}

// Run runs the tests and then stops the instance Shared started, returning m.Run's code.
func Run(m *testing.M) int {
	code := m.Run()
	if shared.inst != nil {
		shared.inst.stop()
	}
	if shared.dir != "" {
		os.RemoveAll(shared.dir)
	}
	return code
}

type notInstalledError struct{ path string }

func (e notInstalledError) Error() string {
	return fmt.Sprintf("prism is not installed (%s missing): run bash test/setup.sh", e.path)
}

func fail(t testing.TB, err error) {
	t.Helper()
	var ni notInstalledError
	if errors.As(err, &ni) && os.Getenv("CI") == "" {
		t.Skip(err)
	}
	t.Fatal(err)
}

type instance struct {
	baseURL string
	cmd     *exec.Cmd
	exited  chan struct{}
	log     *tailBuffer
}

func start(dir string) (*instance, error) {
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	bin := filepath.Join(root, "test", "node_modules", ".bin", "prism")
	if _, err := os.Stat(bin); err != nil {
		return nil, notInstalledError{bin}
	}
	spec, err := SpecPath()
	if err != nil {
		return nil, err
	}
	patched := filepath.Join(dir, "twilio_api_v2010.json")
	if err := writeExplodedSpec(spec, patched); err != nil {
		return nil, err
	}
	// The free port can be taken between probing and Prism binding it; try again then.
	for attempt := 1; ; attempt++ {
		inst, err := launch(bin, patched)
		if err == nil || attempt == 3 || !errors.Is(err, errExited) {
			return inst, err
		}
	}
}

var errExited = errors.New("prism exited before answering")

func launch(bin, spec string) (*instance, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	inst := &instance{
		baseURL: fmt.Sprintf("http://127.0.0.1:%d", port),
		exited:  make(chan struct{}),
		log:     &tailBuffer{max: 16 << 10},
	}
	cmd := exec.Command(bin, "mock", "-h", "127.0.0.1", "-p", fmt.Sprint(port), "-v", "warn", spec)
	cmd.Stdout, cmd.Stderr = inst.log, inst.log
	// Its own process group so stop reaches node's children; Pdeathsig so a test binary
	// killed before its cleanup does not leave Prism running.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	cmd.WaitDelay = 5 * time.Second
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("prism: start %s: %w", bin, err)
	}
	inst.cmd = cmd
	go func() {
		_ = cmd.Wait()
		close(inst.exited)
	}()

	client := &http.Client{Timeout: time.Second}
	deadline := time.After(StartTimeout)
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-inst.exited:
			return nil, fmt.Errorf("%w: %s", errExited, inst.log.String())
		case <-deadline:
			inst.stop()
			return nil, fmt.Errorf("prism: no answer on %s after %s: %s", inst.baseURL, StartTimeout, inst.log.String())
		case <-tick.C:
		}
		resp, err := client.Get(inst.baseURL + "/")
		if err == nil {
			resp.Body.Close()
			return inst, nil
		}
	}
}

func (inst *instance) stop() {
	pgid := -inst.cmd.Process.Pid
	_ = syscall.Kill(pgid, syscall.SIGTERM)
	select {
	case <-inst.exited:
	case <-time.After(5 * time.Second):
	}
	// node may leave children behind even after it exits; the group kill reaches them.
	_ = syscall.Kill(pgid, syscall.SIGKILL)
	<-inst.exited
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// writeExplodedSpec copies the spec, declaring every array property of a form-encoded request
// body as {style: form, explode: true} (see the package comment).
func writeExplodedSpec(src, dst string) error {
	raw, err := os.ReadFile(src)
	if err != nil {
		return fmt.Errorf("prism: read spec: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return fmt.Errorf("prism: parse spec %s: %w", src, err)
	}
	paths, _ := doc["paths"].(map[string]any)
	for _, item := range paths {
		ops, _ := item.(map[string]any)
		for _, op := range ops {
			body, _ := dig(op, "requestBody", "content", "application/x-www-form-urlencoded").(map[string]any)
			props, _ := dig(body, "schema", "properties").(map[string]any)
			enc := map[string]any{}
			for name, p := range props {
				if dig(p, "type") == "array" {
					enc[name] = map[string]any{"style": "form", "explode": true}
				}
			}
			if len(enc) > 0 && body["encoding"] == nil {
				body["encoding"] = enc
			}
		}
	}
	out, err := json.Marshal(doc)
	if err != nil {
		return err
	}
	return os.WriteFile(dst, out, 0o644)
}

func dig(v any, keys ...string) any {
	for _, k := range keys {
		m, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = m[k]
	}
	return v
}

// tailBuffer keeps the last max bytes written, for error messages.
type tailBuffer struct {
	mu  sync.Mutex
	max int
	buf []byte
}

func (b *tailBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.buf = append(b.buf, p...)
	if len(b.buf) > b.max {
		b.buf = append([]byte(nil), b.buf[len(b.buf)-b.max:]...)
	}
	return len(p), nil
}

func (b *tailBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(bytes.TrimSpace(b.buf))
}
