package triggers

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// knownRefusals are the valid Java patterns of the corpus that CompilePattern refuses at load
// time because regexp2 cannot express them, with a part of the message it must give. The README
// lists the same constructs. Every entry must be in the corpus, valid in Java and refused here.
var knownRefusals = map[string]string{
	`(?i)(a)\1`:                           "back reference under (?i)",
	`(?iu)(é)\1`:                          "back reference under (?i)",
	`(?i)(é)\1`:                           "back reference under (?i)",
	`\p{sc=Grek}`:                         "ISO 15924 codes",
	`\p{IsGrek}`:                          "ISO 15924 codes",
	`\p{javaMirrored}+`:                   "no Unicode table",
	`\p{javaUnicodeIdentifierStart}`:      "no Unicode table",
	`\p{javaUnicodeIdentifierPart}+`:      "no Unicode table",
	`(?c)a`:                               "canonical equivalence",
	`\b{g}`:                               "grapheme cluster boundary",
	`a\b{g}`:                              "grapheme cluster boundary",
	`\X`:                                  "grapheme cluster",
	`\X+`:                                 "grapheme cluster",
	`\N{LATIN SMALL LETTER E WITH ACUTE}`: "no table of Unicode character names",
	`\N{SPACE}`:                           "no table of Unicode character names",
	`[\N{SPACE}]`:                         "no table of Unicode character names",
	`a(?<=(?:a|bc){1,2}+)x`:               "repetition in a look-behind is not supported here",
	`a(?<=a+?)x`:                          "repetition in a look-behind is not supported here",
	`(?:(?=(?<g>a))ab|a)c`:                "capturing group inside a look-ahead or look-behind",
	`(?=(?<n>\d+))\d+x`:                   "capturing group inside a look-ahead or look-behind",
	`ab(?<=a{1,2}b+)`:                     "repetition in a look-behind is not supported here",
	`(?:\G|(^)\}){2}`:                     "group that can match nothing",
	`(a?){2}b`:                            "group that can match nothing",
	`(?:a|){2,3}x`:                        "group that can match nothing",
	"(?:(?!(?<g>x))ab|a)c":                "capturing group inside a look-ahead or look-behind",
	`a+b+(?<=a+b+)c`:                      "repetition in a look-behind is not supported here", // Java never matches it
}

// knownDifferences are corpus cases (pattern TAB message) where we knowingly differ from
// Java 17, with the reason; the README lists them.
var knownDifferences = map[string]string{
	"\\p{L}\t\U0001E290":        "U+1E290 is a letter since Unicode 14; Java 17 knows Unicode 13",
	"\\p{L}\t\u0870":            "U+0870 is a letter since Unicode 14; Java 17 knows Unicode 13",
	"\\p{IsAlphabetic}\t\u0870": "U+0870 is a letter since Unicode 14; Java 17 knows Unicode 13",
}

type corpusPattern struct {
	pattern  string
	messages []string
}

// loadCorpus reads testdata/java_regex_corpus.txt (its format is described at its top).
func loadCorpus(t *testing.T) []corpusPattern {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", "java_regex_corpus.txt"))
	if err != nil {
		t.Fatal(err)
	}
	var common []string
	var ps []corpusPattern
	inCommon := false
	seen := map[string]bool{}
	for n, line := range strings.Split(string(data), "\n") {
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if line == "common" {
			inCommon = true
			continue
		}
		kind, text, _ := strings.Cut(line, " ")
		if kind == "P" || kind == "M" {
			if text, err = strconv.Unquote(text); err != nil {
				t.Fatalf("corpus line %d: %v", n+1, err)
			}
		}
		switch kind {
		case "p", "P":
			if seen[text] {
				t.Fatalf("corpus line %d: pattern %q is there twice", n+1, text)
			}
			seen[text] = true
			inCommon = false
			ps = append(ps, corpusPattern{pattern: text})
		case "m", "M":
			if inCommon {
				common = append(common, text)
			} else if len(ps) == 0 {
				t.Fatalf("corpus line %d: a message before the first pattern", n+1)
			} else {
				ps[len(ps)-1].messages = append(ps[len(ps)-1].messages, text)
			}
		default:
			t.Fatalf("corpus line %d: %q is not p, P, m, M or a comment", n+1, line)
		}
	}
	for i := range ps {
		ps[i].messages = append(ps[i].messages, common...)
	}
	return ps
}

// javaResult is java.util.regex's answer for one pattern and message.
type javaResult struct {
	compileErr string // the PatternSyntaxException description; "" when it compiles
	matched    bool
	groups     map[string]any // every named group: its value, or nil
}

// runJava evaluates every (pattern, message) pair in one JVM (testdata/RegexOracle.java).
func runJava(t *testing.T, pairs [][2]string) []javaResult {
	t.Helper()
	java, javac := lookJava(t)
	dir := t.TempDir()
	if out, err := exec.Command(javac, "-d", dir, filepath.Join("testdata", "RegexOracle.java")).CombinedOutput(); err != nil {
		t.Fatalf("javac: %v\n%s", err, out)
	}
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	unb64 := func(s string) string {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			t.Fatalf("java answered bad base64 %q", s)
		}
		return string(b)
	}
	var input bytes.Buffer
	for _, pm := range pairs {
		fmt.Fprintf(&input, "%s\t%s\n", b64(pm[0]), b64(pm[1]))
	}
	cmd := exec.Command(java, "-Xshare:auto", "-Xss16m", "--add-opens", "java.base/java.util.regex=ALL-UNNAMED", "-cp", dir, "RegexOracle")
	cmd.Stdin = &input
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("java: %v\n%s", err, stderr.String())
	}
	var results []javaResult
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), "\t")
		var r javaResult
		switch fields[0] {
		case "ERR":
			r.compileErr = unb64(fields[1])
		case "NOMATCH":
		case "MATCH":
			r.matched = true
			r.groups = map[string]any{}
			if fields[1] != "" {
				for _, kv := range strings.Split(fields[1], ",") {
					k, v, _ := strings.Cut(kv, ":")
					if v == "-" {
						r.groups[unb64(k)] = nil
					} else {
						r.groups[unb64(k)] = unb64(v)
					}
				}
			}
		default:
			t.Fatalf("java answered %q", sc.Text())
		}
		results = append(results, r)
	}
	if len(results) != len(pairs) {
		t.Fatalf("java answered %d of %d cases\n%s", len(results), len(pairs), stderr.String())
	}
	return results
}

// differsFromJava compares our compiled pattern (or compile error) on message with Java's
// answer and describes the difference, or returns "".
func differsFromJava(p *Pattern, cerr error, message string, j javaResult) string {
	switch {
	case j.compileErr != "" && cerr == nil:
		return fmt.Sprintf("Java refuses the pattern (%s), we accept it", j.compileErr)
	case j.compileErr != "":
		return ""
	case cerr != nil:
		return fmt.Sprintf("we refuse the pattern (%v), Java accepts it", cerr)
	}
	groups, matched, err := p.Match(message)
	switch {
	case err != nil:
		return fmt.Sprintf("match error %v", err)
	case matched != j.matched:
		return fmt.Sprintf("we match: %v, Java: %v", matched, j.matched)
	case matched && fmt.Sprint(groups) != fmt.Sprint(j.groups):
		return fmt.Sprintf("groups %v, Java %v", groups, j.groups)
	}
	return ""
}

// TestPatternsAgainstJava runs the corpus through our matcher and java.util.regex: for each
// pattern both refuse it, or both give the same matches() and named groups for every message,
// or the pattern is a known refusal (refused here with the documented message).
func TestPatternsAgainstJava(t *testing.T) {
	corpus := loadCorpus(t)
	var pairs [][2]string
	for _, cp := range corpus {
		for _, m := range cp.messages {
			pairs = append(pairs, [2]string{cp.pattern, m})
		}
	}
	results := runJava(t, pairs)
	failures, k := 0, 0
	inCorpus := map[string]bool{}
	for _, cp := range corpus {
		inCorpus[cp.pattern] = true
		p, cerr := CompilePattern(cp.pattern, 0)
		javaAccepts := results[k].compileErr == ""
		if reason, ok := knownRefusals[cp.pattern]; ok {
			if !javaAccepts || cerr == nil || !strings.Contains(cerr.Error(), reason) {
				t.Errorf("known refusal %q: Java accepts: %v, our error %v (want it to say %q)", cp.pattern, javaAccepts, cerr, reason)
			}
			k += len(cp.messages)
			continue
		}
		if javaAccepts != (cerr == nil) {
			// One line per pattern: the messages add nothing.
			failures++
			t.Errorf("pattern %q: %s", cp.pattern, differsFromJava(p, cerr, "", results[k]))
			k += len(cp.messages)
			continue
		}
		for _, m := range cp.messages {
			diff := differsFromJava(p, cerr, m, results[k])
			k++
			if reason, ok := knownDifferences[cp.pattern+"\t"+m]; ok {
				if diff == "" {
					t.Errorf("known difference %q on %q (%s) is gone: remove it from knownDifferences and the README", cp.pattern, m, reason)
				}
				continue
			}
			if diff != "" {
				failures++
				if failures <= 300 {
					t.Errorf("pattern %q on %q: %s", cp.pattern, m, diff)
				}
			}
		}
	}
	for p := range knownRefusals {
		if !inCorpus[p] {
			t.Errorf("known refusal %q is not in the corpus", p)
		}
	}
	if failures > 300 {
		t.Errorf("... %d differences in all", failures)
	}
	t.Logf("%d patterns, %d cases compared with java.util.regex", len(corpus), len(pairs))
}

// lookJava finds java and javac: the test fails without them when CI is set, else skips.
func lookJava(t *testing.T) (string, string) {
	t.Helper()
	java, err1 := exec.LookPath("java")
	javac, err2 := exec.LookPath("javac")
	if err1 != nil || err2 != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("java and javac (JDK 17+) are required for the pattern differential test (CI is set): %v %v", err1, err2)
		}
		t.Skip("java/javac not found: skipping the differential test against java.util.regex")
	}
	return java, javac
}

// TestConstructTablesAgainstJava checks the expectations of javaregex_test.go's tables against
// java.util.regex: a match where Java matches, and a refusal only where Java refuses too or
// we say "not supported here".
func TestConstructTablesAgainstJava(t *testing.T) {
	var cases []patternCase
	var pairs [][2]string
	for _, table := range constructTables {
		for _, c := range table {
			cases = append(cases, c)
			pairs = append(pairs, [2]string{c.pattern, c.message})
		}
	}
	for i, j := range runJava(t, pairs) {
		c := cases[i]
		switch {
		case c.refuse != "" && j.compileErr == "" && !strings.Contains(c.refuse, "not supported here") && !knownRefusalReason(c.refuse):
			t.Errorf("%q: Java accepts it, the table expects a refusal (%q)", c.pattern, c.refuse)
		case c.refuse == "" && j.compileErr != "":
			t.Errorf("%q: Java refuses it (%s)", c.pattern, j.compileErr)
		case c.refuse == "" && j.matched != c.match:
			t.Errorf("%q on %q: Java matches: %v, the table says %v", c.pattern, c.message, j.matched, c.match)
		case c.refuse == "" && c.groups != nil && fmt.Sprint(j.groups) != fmt.Sprint(c.groups):
			t.Errorf("%q on %q: Java's groups %v, the table says %v", c.pattern, c.message, j.groups, c.groups)
		}
	}
}

// knownRefusalReason reports whether reason is part of a documented refusal's message.
func knownRefusalReason(reason string) bool {
	for _, r := range knownRefusals {
		if strings.Contains(r, reason) || strings.Contains(reason, r) {
			return true
		}
	}
	return false
}
