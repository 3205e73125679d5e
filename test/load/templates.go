package main

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/twilio-connector/twilio-connector/templates"
)

//go:embed Bench.java
var benchJava []byte

// corpusCase is one entry of templates/testdata/corpus.json (see templates/reference_test.go).
type corpusCase struct {
	Name     string         `json:"name"`
	Template string         `json:"template"`
	Data     map[string]any `json:"data"`
	Error    bool           `json:"error"`
	Rejected bool           `json:"rejected"`
}

// benchCases returns the compiled templates and data of the corpus cases both engines render.
func benchCases(path string) ([]*templates.Template, []map[string]any, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var cases []corpusCase
	if err := dec.Decode(&cases); err != nil {
		return nil, nil, fmt.Errorf("%s: %w", path, err)
	}
	var tpls []*templates.Template
	var data []map[string]any
	for _, c := range cases {
		if c.Error || c.Rejected {
			continue
		}
		t, err := templates.Compile("smsBody", c.Template, templates.Freemarker)
		if err != nil {
			return nil, nil, fmt.Errorf("case %s: %w", c.Name, err)
		}
		if c.Data == nil {
			c.Data = map[string]any{}
		}
		tpls, data = append(tpls, t), append(data, c.Data)
	}
	return tpls, data, nil
}

// goRenders renders every case in turn for warmup, then for measure, and returns renders/s.
func goRenders(tpls []*templates.Template, data []map[string]any, warmup, measure time.Duration) (float64, error) {
	renderAll := func() error {
		for i, t := range tpls {
			if _, err := t.Render(data[i]); err != nil {
				return err
			}
		}
		return nil
	}
	for end := time.Now().Add(warmup); time.Now().Before(end); {
		if err := renderAll(); err != nil {
			return 0, err
		}
	}
	start := time.Now()
	renders := 0
	for time.Since(start) < measure {
		if err := renderAll(); err != nil {
			return 0, err
		}
		renders += len(tpls)
	}
	return float64(renders) / time.Since(start).Seconds(), nil
}

// javaRenders runs Bench.java on the corpus with the real Freemarker; it returns the number of
// cases it rendered and renders/s.
func javaRenders(jar, corpus string, warmup, measure time.Duration) (int, float64, error) {
	dir, err := os.MkdirTemp("", "twilio-connector-load-")
	if err != nil {
		return 0, 0, err
	}
	defer os.RemoveAll(dir)
	src := filepath.Join(dir, "Bench.java")
	if err := os.WriteFile(src, benchJava, 0o600); err != nil {
		return 0, 0, err
	}
	out, err := exec.Command("java", "-cp", jar, src, corpus, fmt.Sprint(warmup.Seconds()), fmt.Sprint(measure.Seconds())).CombinedOutput()
	if err != nil {
		return 0, 0, fmt.Errorf("java Bench.java: %v\n%s", err, out)
	}
	var cases, renders int
	var seconds float64
	if _, err := fmt.Sscanf(string(out), "cases %d renders %d seconds %g", &cases, &renders, &seconds); err != nil {
		return 0, 0, fmt.Errorf("java Bench.java answered %q: %v", out, err)
	}
	return cases, float64(renders) / seconds, nil
}

// templatesPart is deliverable 2: our Freemarker dialect against the real Freemarker on a
// warmed JVM, on the same corpus cases and data, one render at a time on one thread each.
func templatesPart(out io.Writer, o options) error {
	corpus := filepath.Join(o.repo, "templates", "testdata", "corpus.json")
	tpls, data, err := benchCases(corpus)
	if err != nil {
		return err
	}
	warmup, measure := 5*time.Second, 5*time.Second
	t := &table{title: fmt.Sprintf("Template rendering: %d cases of templates/testdata/corpus.json, one thread each, %s warm-up then %s measured", len(tpls), warmup, measure)}
	t.add("engine", "renders/s", "µs/render")
	goRate, err := goRenders(tpls, data, warmup/5, measure)
	if err != nil {
		return err
	}
	t.add("templates (Go, Freemarker dialect)", perSec(goRate), fmt.Sprintf("%.1f", 1e6/goRate))
	_, jarErr := os.Stat(o.freemarkerJar)
	if _, err := exec.LookPath("java"); err != nil || jarErr != nil {
		t.add("Freemarker 2.3 (Java)", "skipped: java or "+o.freemarkerJar+" missing (bash test/setup.sh installs them)", "")
		t.print(out)
		return nil
	}
	n, javaRate, err := javaRenders(o.freemarkerJar, corpus, warmup, measure)
	if err != nil {
		return err
	}
	if n != len(tpls) {
		return fmt.Errorf("Freemarker rendered %d cases, we %d: the corpus flags are stale (see templates/reference_test.go)", n, len(tpls))
	}
	t.add("Freemarker 2.3.31 (Java 17, warmed JVM)", perSec(javaRate), fmt.Sprintf("%.1f", 1e6/javaRate))
	t.add("ratio Go / Java", ratio(goRate, javaRate), "")
	t.print(out)
	return nil
}
