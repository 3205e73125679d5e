package triggers

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// Patterns × messages evaluated by both our matcher and java.util.regex (JDK 17 on the
// machine), which is the reference: the Alfresco connector's patterns are Java patterns.
var javaCorpusPatterns = []string{
	`Order Number (?<orderNumber>.+)`,
	`(?i)order number (?<orderNumber>\d+)`,
	`(?<first>\w+) (?<last>\w+)`,
	`a|ab`,
	`(?<x>a)?b`,
	`STOP`,
	`(?i)(?<answer>yes|no)`,
	`.*`,
	`a.b`,
	`(?s)a.b`,
	`(?s:a.)b`,
	`\d+`,
	`(?<n>\w+)`,
	`\s*x\s*`,
	`\S+`,
	`(?<code>[A-Z]{3})-(?<num>\d{2,4})`,
	`(a)(?<n>b)\1`,
	`(?<n>b)(a)\2`,
	`(?<n>a)(b)\k<n>`,
	`\Qa.b\E(?<rest>.*)`,
	`[\Q.]\E]+`,
	`[\d.]+`,
	`(?x) Order \s+ (?<n>\d+)  # the order number`,
	"(?x)a b # comment\n c",
	`(?x)[a b]+`,
	`\h*x`,
	`a\Rb`,
	`a\vb`,
	`(?<name>[^\n]+)`,
	`^Order (?<n>\d+)$`,
	`(?m)^a$`,
	`colou?r`,
	`(?<n>\p{L}+)`,
	`\bword\b`,
	`(?<a>x)|(?<b>y)`,
	`[^abc]+`,
	`a{2,}`,
	`\x41\u0042`,
	`(?<n>.+?)\s*`,
	`\$(?<amount>\d+(?:\.\d\d)?)`,
	`[\]]`,
	`(?i:ab)c`,
	`x(?=y)y`,
	`(?<!a)b`,
	`(?>a+)b`,
	`\Ax\z`,
	`emoji 😀 (?<e>.)`,
	`(?<a>a)(?:(?<b>b)|(?<c>c))`,
	`(?<n>[a-z]+)(?<d>\d)?`,
	`[\w&&[^_]]+`, // Java intersection: rejected by us (knownRejected)
	`a*+`,         // possessive: rejected by us
	`\p{Alpha}+`,  // POSIX property: rejected by us
	`(`,
	`a)`,
	`(?<1a>x)`,
	`(?<a_b>x)`,
	`(?P<n>x)`,
	`(?#comment)x`,
	`\y`,
	`[a-`,
	`(?<n>x)(?<n>y)`,
	`\x{1F600}(?<n>\p{Lu}\p{Ll}+)`,
	`(?<n>[\p{L}\d]+)`,
	`a(?-s:.)b`,
	`(?s)a(?-s).b`,
	`(?u)(?i)ÉTÉ`,
}

// knownRejected are valid Java patterns we reject at load time with a clear message rather
// than match differently.
var knownRejected = map[string]bool{`[\w&&[^_]]+`: true, `a*+`: true, `\p{Alpha}+`: true}

var javaCorpusMessages = []string{
	"Order Number 42", "order number 42", "  Order Number 42  ", "Order Number ", "Order Number A&B=C+D%20 é",
	"John Smith", "ab", "a", "b", "aab", "aa", "STOP", "stop", "yes", "No", "", "a\nb", "a\rb", "a\u2028b",
	"a\u0085b", "aXb", "123", "١٢٣", "12.5", "x", " x ", "\tx\n", "\u00a0x", "ABC-123", "aba", "bab", "a.bxyz",
	"a.b", "a.b.", "Order   7", "Order 7", "colour", "color", "$12.50", "$3", "]", ".]", "ABc", "abc", "xy",
	"emoji 😀 😀", "emoji 😀 x", "word", "héllo wörld", "αβγ", "AB", "ac", "ab1", "__", "a\r\nb", "a\u000bb", "x\ny", "😀Abc", "été", "ÉTÉ", "Été1", "a\nxb",
}

func TestPatternsAgainstJava(t *testing.T) {
	java, javac := lookJava(t)
	dir := t.TempDir()
	if out, err := exec.Command(javac, "-d", dir, filepath.Join("testdata", "RegexOracle.java")).CombinedOutput(); err != nil {
		t.Fatalf("javac: %v\n%s", err, out)
	}

	type ours struct {
		err     error
		matched bool
		groups  map[string]any
		names   []string
	}
	type testCase struct {
		pattern, message string
		ours             ours
	}
	var cases []testCase
	var input bytes.Buffer
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	for _, p := range javaCorpusPatterns {
		compiled, cerr := CompilePattern(p, 0)
		for _, m := range javaCorpusMessages {
			c := testCase{pattern: p, message: m, ours: ours{err: cerr}}
			var names []string
			if cerr == nil {
				c.ours.groups, c.ours.matched, c.ours.err = compiled.Match(m)
				c.ours.names = compiled.Groups
				for _, n := range compiled.Groups {
					names = append(names, b64(n))
				}
			}
			cases = append(cases, c)
			fmt.Fprintf(&input, "%s\t%s\t%s\n", b64(p), b64(m), strings.Join(names, ","))
		}
	}

	cmd := exec.Command(java, "-Xshare:auto", "-cp", dir, "RegexOracle")
	cmd.Stdin = &input
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("java: %v\n%s", err, stderr.String())
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	i := 0
	failures := 0
	for sc.Scan() {
		if i >= len(cases) {
			t.Fatal("java answered more lines than cases")
		}
		c := cases[i]
		i++
		fields := strings.Split(sc.Text(), "\t")
		what := fmt.Sprintf("pattern %q on %q", c.pattern, c.message)
		fail := func(format string, args ...any) {
			failures++
			if failures <= 40 {
				t.Errorf("%s: %s", what, fmt.Sprintf(format, args...))
			}
		}
		switch fields[0] {
		case "ERR":
			if c.ours.err == nil {
				fail("Java rejects the pattern, we accept it")
			}
		case "NOMATCH":
			if c.ours.err != nil && !knownRejected[c.pattern] {
				fail("we reject the pattern (%v), Java accepts it", c.ours.err)
			} else if c.ours.err == nil && c.ours.matched {
				fail("we match, Java does not (groups %v)", c.ours.groups)
			}
		case "NOGROUP":
			fail("Java has no group %q", fields[1])
		case "MATCH":
			if c.ours.err != nil {
				if !knownRejected[c.pattern] {
					fail("we reject the pattern (%v), Java accepts it", c.ours.err)
				}
				continue
			}
			if !c.ours.matched {
				fail("Java matches, we do not")
				continue
			}
			want := map[string]any{}
			if fields[1] != "" {
				for _, kv := range strings.Split(fields[1], ",") {
					k, v, _ := strings.Cut(kv, ":")
					name, _ := base64.StdEncoding.DecodeString(k)
					if v == "-" {
						want[string(name)] = nil
					} else {
						val, _ := base64.StdEncoding.DecodeString(v)
						want[string(name)] = string(val)
					}
				}
			}
			if fmt.Sprint(want) != fmt.Sprint(c.ours.groups) {
				fail("groups %v, Java %v", c.ours.groups, want)
			}
		default:
			t.Fatalf("java answered %q", sc.Text())
		}
	}
	if i != len(cases) {
		t.Fatalf("java answered %d of %d cases\n%s", i, len(cases), stderr.String())
	}
	if failures > 40 {
		t.Errorf("... %d differences in all", failures)
	}
	t.Logf("%d patterns × %d messages agree with java.util.regex", len(javaCorpusPatterns), len(javaCorpusMessages))
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
