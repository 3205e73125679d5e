package templates

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// corpusCase is one entry of testdata/corpus.json. Output is what Freemarker 2.3.31 renders;
// TestReferenceFreemarker keeps it honest by rendering the corpus with the real Freemarker.
type corpusCase struct {
	Name     string         `json:"name"`
	Template string         `json:"template"`
	Data     map[string]any `json:"data"`
	Error    bool           `json:"error"`
	Output   *string        `json:"output,omitempty"`
	// Rejected marks a template Freemarker accepts but that is outside the supported subset:
	// Compile must refuse it.
	Rejected bool `json:"rejected,omitempty"`
}

func loadCorpus(t testing.TB) []corpusCase {
	t.Helper()
	b, err := os.ReadFile("testdata/corpus.json")
	if err != nil {
		t.Fatal(err)
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var cases []corpusCase
	if err := d.Decode(&cases); err != nil {
		t.Fatalf("testdata/corpus.json: %v", err)
	}
	return cases
}

func renderCase(c corpusCase) (string, error) {
	tpl, err := Compile("smsBody", c.Template, Freemarker)
	if err != nil {
		return "", err
	}
	return tpl.Render(c.Data)
}

// TestCorpus checks our output against the Freemarker output recorded in the corpus; it needs
// no Java.
func TestCorpus(t *testing.T) {
	for _, c := range loadCorpus(t) {
		t.Run(c.Name, func(t *testing.T) {
			t.Parallel()
			out, err := renderCase(c)
			switch {
			case c.Rejected:
				if _, cerr := Compile("smsBody", c.Template, Freemarker); cerr == nil {
					t.Fatalf("%q is outside the supported subset but compiles", c.Template)
				}
			case c.Error && err == nil:
				t.Fatalf("Freemarker fails on %q, we render %q", c.Template, out)
			case !c.Error && err != nil:
				t.Fatalf("Freemarker renders %q, we fail: %v", deref(c.Output), err)
			case !c.Error && out != deref(c.Output):
				t.Fatalf("template %q\n got %q\nwant %q", c.Template, out, deref(c.Output))
			}
		})
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// TestReferenceFreemarker renders the corpus with the real Freemarker (testdata/Reference.java,
// one JVM for the whole corpus) and requires the same outputs, and errors where it errs.
//
// To add a case, append {"name", "template", "data"} to testdata/corpus.json and run
// UPDATE_CORPUS=1 go test -run TestReferenceFreemarker ./templates/: it records Freemarker's
// output and error flag in the file. Review the diff before committing it.
func TestReferenceFreemarker(t *testing.T) {
	jar := os.Getenv("FREEMARKER_JAR")
	if jar == "" {
		jar = "/usr/share/java/freemarker.jar"
	}
	java, errJava := exec.LookPath("java")
	javac, errJavac := exec.LookPath("javac")
	_, errJar := os.Stat(jar)
	if errJava != nil || errJavac != nil || errJar != nil {
		msg := "java, javac or " + jar + " is missing: run bash test/setup.sh"
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	dir := t.TempDir()
	if out, err := exec.Command(javac, "-nowarn", "-cp", jar, "-d", dir, "testdata/Reference.java").CombinedOutput(); err != nil {
		t.Fatalf("javac: %v\n%s", err, out)
	}
	results := filepath.Join(dir, "results.json")
	cmd := exec.Command(java, "-cp", dir+string(os.PathListSeparator)+jar, "Reference", "testdata/corpus.json", results)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("java Reference: %v\n%s", err, out)
	}
	b, err := os.ReadFile(results)
	if err != nil {
		t.Fatal(err)
	}
	var ref []struct {
		Name   string  `json:"name"`
		Output *string `json:"output"`
		Error  *string `json:"error"`
	}
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatalf("results: %v", err)
	}
	cases := loadCorpus(t)
	if len(ref) != len(cases) {
		t.Fatalf("Freemarker returned %d results for %d cases", len(ref), len(cases))
	}
	if os.Getenv("UPDATE_CORPUS") != "" {
		for i := range cases {
			cases[i].Error, cases[i].Output = ref[i].Error != nil, ref[i].Output
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", " ")
		if err := enc.Encode(cases); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile("testdata/corpus.json", buf.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for i, c := range cases {
		r := ref[i]
		t.Run(c.Name, func(t *testing.T) {
			if (r.Error != nil) != c.Error {
				t.Errorf("corpus says error=%v, Freemarker says %v: fix testdata/corpus.json", c.Error, firstLine(r.Error))
			}
			if r.Output != nil && (c.Output == nil || *c.Output != *r.Output) {
				t.Errorf("corpus output %q, Freemarker renders %q: fix testdata/corpus.json", deref(c.Output), *r.Output)
			}
			out, err := renderCase(c)
			switch {
			case c.Rejected:
				if _, cerr := Compile("smsBody", c.Template, Freemarker); cerr == nil {
					t.Errorf("%q is outside the supported subset but compiles", c.Template)
				}
			case r.Error != nil && err == nil:
				t.Errorf("Freemarker fails (%s), we render %q", firstLine(r.Error), out)
			case r.Error == nil && err != nil:
				t.Errorf("Freemarker renders %q, we fail: %v", *r.Output, err)
			case r.Error == nil && out != *r.Output:
				t.Errorf("template %q\n got %q\nwant %q", c.Template, out, *r.Output)
			}
		})
	}
}

func firstLine(s *string) string {
	if s == nil {
		return "no error"
	}
	l, _, _ := strings.Cut(*s, "\n")
	return l
}
