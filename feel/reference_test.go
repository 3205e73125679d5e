package feel

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// corpusCase is one expression of a testdata corpus.
type corpusCase struct {
	line     int
	source   string
	expr     string
	vars     map[string]any
	want     string // JSON; "" when the corpus gives no result
	noFeelin bool   // a Camunda extension the reference does not have
}

// loadCorpus reads a testdata corpus (see the comments at the top of each file).
func loadCorpus(t *testing.T, name string) []corpusCase {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cases []corpusCase
	var source string
	var vars map[string]any
	var extension, skipNext bool
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case strings.HasPrefix(line, "## "):
			source, vars = strings.TrimPrefix(line, "## "), nil
			extension = strings.HasSuffix(line, "(Camunda extension)")
		case strings.HasPrefix(line, "# not feelin:"):
			skipNext = true
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "vars: "):
			vars = nil
			if err := json.Unmarshal([]byte(strings.TrimPrefix(line, "vars: ")), &vars); err != nil {
				t.Fatalf("%s:%d: %v", name, n, err)
			}
		default:
			c := corpusCase{line: n, source: source, expr: line, vars: vars, noFeelin: extension || skipNext}
			skipNext = false
			if i := strings.LastIndex(line, " => "); i >= 0 {
				c.expr, c.want = line[:i], line[i+len(" => "):]
			}
			cases = append(cases, c)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return cases
}

// normalJSON decodes JSON into plain values (numbers as float64) for comparison.
func normalJSON(t *testing.T, v any) any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func evalCase(t *testing.T, c corpusCase) any {
	t.Helper()
	x, err := Parse(c.expr)
	if err != nil {
		t.Fatalf("line %d: %v", c.line, err)
	}
	v, err := x.Eval(c.vars)
	if err != nil {
		t.Fatalf("line %d: %v", c.line, err)
	}
	return v
}

// TestCorpusResults evaluates the examples of Camunda's FEEL documentation for each supported
// construct, and the semantics cases where feelin departs from it, and requires the
// documented result.
func TestCorpusResults(t *testing.T) {
	for _, c := range append(loadCorpus(t, "camunda-docs.txt"), loadCorpus(t, "semantics.txt")...) {
		if c.want == "" {
			continue
		}
		t.Run(c.expr, func(t *testing.T) {
			var want any
			if err := json.Unmarshal([]byte(c.want), &want); err != nil {
				t.Fatalf("line %d: result %s: %v", c.line, c.want, err)
			}
			if got := normalJSON(t, evalCase(t, c)); !reflect.DeepEqual(got, want) {
				t.Errorf("line %d (%s): got %v, want %v", c.line, c.source, got, want)
			}
		})
	}
}

// TestReferenceFeelin evaluates both corpora with the FEEL reference @bpmn-io/feelin (under
// node) and requires the same results, except for Camunda's extensions, which feelin lacks.
func TestReferenceFeelin(t *testing.T) {
	feelin, _ := filepath.Abs("../test/node_modules/@bpmn-io/feelin/dist/index.js")
	node, err := exec.LookPath("node")
	if _, serr := os.Stat(feelin); err != nil || serr != nil {
		msg := "node or " + feelin + " is missing: run bash test/setup.sh"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	var cases []corpusCase
	for _, c := range append(loadCorpus(t, "camunda-docs.txt"), loadCorpus(t, "semantics.txt")...) {
		if !c.noFeelin {
			cases = append(cases, c)
		}
	}
	type input struct {
		Expr string         `json:"expr"`
		Vars map[string]any `json:"vars"`
	}
	in := make([]input, len(cases))
	for i, c := range cases {
		in[i] = input{c.expr, c.vars}
	}
	stdin, _ := json.Marshal(in)
	cmd := exec.Command(node, "testdata/feelin.mjs", feelin)
	cmd.Stdin = bytes.NewReader(stdin)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node feelin.mjs: %v\n%s", err, stderr.Bytes())
	}
	var ref []struct {
		Value any     `json:"value"`
		Error *string `json:"error"`
	}
	if err := json.Unmarshal(out, &ref); err != nil || len(ref) != len(cases) {
		t.Fatalf("feelin returned %d results for %d cases (%v)", len(ref), len(cases), err)
	}
	for i, c := range cases {
		t.Run(c.expr, func(t *testing.T) {
			if ref[i].Error != nil {
				t.Fatalf("line %d: feelin: %s", c.line, *ref[i].Error)
			}
			if got := normalJSON(t, evalCase(t, c)); !reflect.DeepEqual(got, ref[i].Value) {
				t.Errorf("line %d: got %v, feelin %v", c.line, got, ref[i].Value)
			}
		})
	}
}
