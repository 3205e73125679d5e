// Package deploy holds no code: its tests check what a platform team deploys (the Dockerfile,
// the Kubernetes manifests, the Compose file, the Grafana dashboard) against the connector.
// There is no container engine in CI, so the image is checked where it can be: the Dockerfile's
// own `go build` line is run on the files its build context holds, and the binary it makes is
// the one the other tests start.
package deploy

import (
	"context"
	"debug/elf"
	"fmt"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// root is the repository, the Dockerfile's build context.
const root = ".."

// Build arguments the tests give the Dockerfile, as `docker build --build-arg` would.
const (
	testVersion = "v9.8.7-test"
	testCommit  = "0123456789abcdef"
)

// instruction is one Dockerfile instruction, continuation lines joined.
type instruction struct {
	cmd, args string
}

// stage is one FROM … of the Dockerfile and its instructions.
type stage struct {
	from, name string
	ins        []instruction
}

// parseDockerfile reads ../Dockerfile into its stages.
func parseDockerfile(t *testing.T) []stage {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	var stages []stage
	var cur string
	for _, line := range strings.Split(string(data), "\n") {
		trimmed := strings.TrimSpace(line)
		if cur == "" && (trimmed == "" || strings.HasPrefix(trimmed, "#")) {
			continue
		}
		if strings.HasSuffix(trimmed, "\\") {
			cur += strings.TrimSuffix(trimmed, "\\") + " "
			continue
		}
		cur += trimmed
		cmd, args, _ := strings.Cut(cur, " ")
		cur = ""
		in := instruction{strings.ToUpper(cmd), strings.TrimSpace(args)}
		if in.cmd == "FROM" {
			f := strings.Fields(in.args)
			s := stage{from: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				s.name = f[2]
			}
			stages = append(stages, s)
			continue
		}
		if len(stages) == 0 {
			t.Fatalf("Dockerfile: %s before the first FROM", in.cmd)
		}
		stages[len(stages)-1].ins = append(stages[len(stages)-1].ins, in)
	}
	if len(stages) < 2 {
		t.Fatalf("Dockerfile: %d stages, want a build stage and a runtime stage", len(stages))
	}
	return stages
}

// all returns the arguments of every cmd instruction of s.
func (s stage) all(cmd string) []string {
	var out []string
	for _, in := range s.ins {
		if in.cmd == cmd {
			out = append(out, in.args)
		}
	}
	return out
}

// shellWords splits a RUN line as sh does for the simple commands a Dockerfile holds: words
// separated by blanks, with '…' and "…" quoting; ${NAME} and $NAME in "…" and bare words
// expand from vars (an unknown name fails the test, as an unset ARG would go unnoticed).
func shellWords(t *testing.T, line string, vars map[string]string) []string {
	t.Helper()
	var words []string
	var w strings.Builder
	inWord := false
	expand := func(s string) string {
		return varRef.ReplaceAllStringFunc(s, func(ref string) string {
			name := strings.Trim(ref, "${}")
			v, ok := vars[name]
			if !ok {
				t.Fatalf("Dockerfile RUN uses $%s, which no ARG or ENV before it declares", name)
			}
			return v
		})
	}
	for i := 0; i < len(line); i++ {
		switch c := line[i]; {
		case c == ' ' || c == '\t':
			if inWord {
				words = append(words, w.String())
				w.Reset()
				inWord = false
			}
		case c == '\'' || c == '"':
			end := strings.IndexByte(line[i+1:], c)
			if end < 0 {
				t.Fatalf("Dockerfile RUN: unbalanced %c in %s", c, line)
			}
			quoted := line[i+1 : i+1+end]
			if c == '"' {
				quoted = expand(quoted)
			}
			w.WriteString(quoted)
			inWord = true
			i += end + 1
		default:
			j := i
			for j < len(line) && !strings.ContainsRune(" \t'\"", rune(line[j])) {
				j++
			}
			w.WriteString(expand(line[i:j]))
			inWord = true
			i = j - 1
		}
	}
	if inWord {
		words = append(words, w.String())
	}
	return words
}

var varRef = regexp.MustCompile(`\$\{[A-Za-z_][A-Za-z0-9_]*\}|\$[A-Za-z_][A-Za-z0-9_]*`)

// goBuild is the build stage's one `go build` RUN line: its environment assignments, its
// arguments and the output path (-o).
type goBuild struct {
	env  []string
	args []string
	out  string
}

func buildCommand(t *testing.T, s stage, buildArgs map[string]string) goBuild {
	t.Helper()
	vars := map[string]string{}
	var runs []goBuild
	for _, in := range s.ins {
		switch in.cmd {
		case "ARG":
			name, def, _ := strings.Cut(in.args, "=")
			vars[name] = def
			if v, ok := buildArgs[name]; ok {
				vars[name] = v
			}
		case "ENV":
			for _, kv := range strings.Fields(in.args) {
				name, v, _ := strings.Cut(kv, "=")
				vars[name] = v
			}
		case "RUN":
			if !strings.Contains(in.args, "go build") {
				continue
			}
			var b goBuild
			words := shellWords(t, in.args, vars)
			for len(words) > 0 && strings.Contains(words[0], "=") && !strings.HasPrefix(words[0], "-") {
				b.env = append(b.env, words[0])
				words = words[1:]
			}
			if len(words) < 2 || words[0] != "go" || words[1] != "build" {
				t.Fatalf("Dockerfile: the go build RUN line must be one command, `[NAME=value…] go build …`: %s", in.args)
			}
			b.args = words[1:]
			for i, a := range b.args {
				if a == "-o" && i+1 < len(b.args) {
					b.out = b.args[i+1]
				}
			}
			if b.out == "" {
				t.Fatalf("Dockerfile: go build has no -o: %s", in.args)
			}
			runs = append(runs, b)
		}
	}
	if len(runs) != 1 {
		t.Fatalf("Dockerfile: %d go build RUN lines in the build stage, want one", len(runs))
	}
	return runs[0]
}

// dockerignore returns a function telling whether a context path (slash-separated, relative)
// is left out of the build context by ../.dockerignore. It understands what that file uses:
// patterns of path.Match, a leading "/" (the root, as without it) and a leading "**/" (any
// depth); a pattern matching a directory leaves out everything in it.
func dockerignore(t *testing.T) func(string) bool {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, ".dockerignore"))
	if err != nil {
		t.Fatal(err)
	}
	var patterns []string
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if strings.HasPrefix(line, "!") || strings.Contains(strings.TrimPrefix(line, "**/"), "**") {
			t.Fatalf(".dockerignore: %q: this test does not understand exceptions or ** inside a pattern; extend it", line)
		}
		patterns = append(patterns, strings.TrimPrefix(line, "/"))
	}
	return func(p string) bool {
		parts := strings.Split(p, "/")
		for _, pat := range patterns {
			anyDepth := strings.HasPrefix(pat, "**/")
			pat = strings.TrimPrefix(pat, "**/")
			for i := range parts {
				if i > 0 && !anyDepth {
					break
				}
				if ok, _ := path.Match(pat, strings.Join(parts[i:], "/")); ok {
					return true
				}
			}
		}
		return false
	}
}

// buildContext copies what the build context holds into dir.
func buildContext(t *testing.T, dir string) {
	t.Helper()
	ignored := dockerignore(t)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		if rel == "." {
			return nil
		}
		if ignored(filepath.ToSlash(rel)) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		dst := filepath.Join(dir, rel)
		switch {
		case d.IsDir():
			return os.MkdirAll(dst, 0o755)
		case d.Type()&fs.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(target, dst)
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(dst, data, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

var built struct {
	once sync.Once
	path string
	err  string
}

// dockerBinary is the binary the Dockerfile's go build line makes from the build context,
// built once for all tests.
func dockerBinary(t *testing.T) string {
	t.Helper()
	built.once.Do(func() {
		dir, err := os.MkdirTemp("", "twilio-connector-image-")
		if err != nil {
			built.err = err.Error()
			return
		}
		tempDirs = append(tempDirs, dir) // removed by TestMain: later tests run the binary
		ctxDir := filepath.Join(dir, "context")
		buildContext(t, ctxDir)
		b := buildCommand(t, parseDockerfile(t)[0], map[string]string{"VERSION": testVersion, "COMMIT": testCommit})
		out := filepath.Join(dir, "twilio-connector")
		args := append([]string(nil), b.args...)
		for i := range args {
			if args[i] == b.out {
				args[i] = out
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer cancel()
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Dir = ctxDir // WORKDIR /src, where COPY . . put the context
		cmd.Env = append(os.Environ(), b.env...)
		if output, err := cmd.CombinedOutput(); err != nil {
			built.err = fmt.Sprintf("the Dockerfile's `go %s` failed on the build context: %v\n%s", strings.Join(args, " "), err, output)
			return
		}
		built.path = out
	})
	if built.err != "" {
		t.Fatal(built.err)
	}
	if built.path == "" {
		t.Fatal("the Dockerfile's binary was not built (see the first test that tried)")
	}
	return built.path
}

var tempDirs []string

func TestMain(m *testing.M) {
	code := m.Run()
	for _, d := range tempDirs {
		os.RemoveAll(d)
	}
	os.Exit(code)
}

// The Dockerfile's build command, run on exactly what its build context holds, makes a static
// binary (nothing to load at start on distroless or scratch) that knows its version.
func TestDockerfileBuildsAStaticBinary(t *testing.T) {
	bin := dockerBinary(t)
	f, err := elf.Open(bin)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP || p.Type == elf.PT_DYNAMIC {
			t.Errorf("the binary is dynamically linked (%v program header): build it with CGO_ENABLED=0", p.Type)
		}
	}
	if f.Section(".dynamic") != nil {
		t.Error("the binary has a .dynamic section: build it with CGO_ENABLED=0")
	}
	out, err := exec.Command(bin, "version").Output()
	if err != nil {
		t.Fatalf("version: %v", err)
	}
	if want := fmt.Sprintf("twilio-connector %s (commit %s; ", testVersion, testCommit); !strings.HasPrefix(string(out), want) {
		t.Errorf("version printed %q, want %q… (the build arguments VERSION and COMMIT)", out, want)
	}
}

// The runtime stage runs that binary as the non-root user, keeps its state under a volume and
// exposes the port the connector listens on.
func TestDockerfileRuntimeStage(t *testing.T) {
	stages := parseDockerfile(t)
	build, run := stages[0], stages[len(stages)-1]
	b := buildCommand(t, build, nil)
	if !strings.Contains(run.from, "distroless/static") && run.from != "scratch" {
		t.Errorf("runtime stage FROM %s: want distroless/static (CA certificates, no shell) or scratch", run.from)
	}
	copied := false
	for _, c := range run.all("COPY") {
		f := strings.Fields(c)
		if len(f) >= 3 && f[0] == "--from="+build.name && f[len(f)-2] == b.out && f[len(f)-1] == "/twilio-connector" {
			copied = true
		}
	}
	if !copied {
		t.Errorf("the runtime stage does not COPY --from=%s %s /twilio-connector", build.name, b.out)
	}
	if u := run.all("USER"); len(u) != 1 || !strings.HasPrefix(u[0], "65532") {
		t.Errorf("USER %v, want 65532 (distroless's nonroot)", u)
	}
	if e := run.all("ENTRYPOINT"); len(e) != 1 || e[0] != `["/twilio-connector"]` {
		t.Errorf(`ENTRYPOINT %v, want ["/twilio-connector"]`, e)
	}
	if c := run.all("CMD"); len(c) != 1 || c[0] != `["run"]` {
		t.Errorf(`CMD %v, want ["run"]`, c)
	}
	env := map[string]string{}
	for _, e := range run.all("ENV") {
		for _, kv := range strings.Fields(e) {
			name, v, _ := strings.Cut(kv, "=")
			env[name] = v
		}
	}
	checkVariables(t, "Dockerfile", env)
	vols := run.all("VOLUME")
	if len(vols) != 1 {
		t.Fatalf("VOLUME %v, want one", vols)
	}
	for _, name := range []string{"CONNECTOR_STATE_FILE", "ZEEBE_CLIENT_CONFIG_PATH"} {
		if !strings.HasPrefix(env[name], vols[0]+"/") {
			t.Errorf("ENV %s=%q is not on the VOLUME %s (the root file system may be read-only)", name, env[name], vols[0])
		}
	}
	if expose := run.all("EXPOSE"); len(expose) != 1 || expose[0] != addrPort(t, "Dockerfile", env["CONNECTOR_HTTP_ADDR"]) {
		t.Errorf("EXPOSE %v, want the port of CONNECTOR_HTTP_ADDR=%s", expose, env["CONNECTOR_HTTP_ADDR"])
	}
}

// addrPort is the port of a CONNECTOR_HTTP_ADDR value.
func addrPort(t *testing.T, where, addr string) string {
	t.Helper()
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		t.Fatalf("%s: CONNECTOR_HTTP_ADDR=%q: %v", where, addr, err)
	}
	return port
}
