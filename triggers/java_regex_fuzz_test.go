package triggers

import (
	"math/rand/v2"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"
)

// regexGen generates Java patterns from a small grammar over the constructs the translator
// rewrites, with characters chosen where Java's and .NET's rules differ.
type regexGen struct {
	r      *rand.Rand
	groups int
	names  []string
}

var (
	genChars = []string{"a", "b", "A", "k", "K", "s", "i", "I", "é", "É", "ß", "ẞ", "ı", "İ", "σ", "ς", "Σ", "ſ", "K", "1", "١", "_", " ", "-", "😀",
		`\n`, `\u2028`, `\x{85}`, `\u00E9`, `\uD83D\uDE00`, `\.`, `\_`, `\-`, `\}`, `}`, `]`, `\Qa.\E`, `\Q\E`, `\0141`, `\x{1F600}`, `\t`,
		"#", "\n", "{1}", `\{`, "ǅ", "\u00a0"}
	genClassItems = []string{"a", "b-e", "A-Z", "é", "à-ÿ", "ß", "ı", "σ", "k", `\d`, `\w`, `\s`, `\W`, `\S`, `\D`, `\h`, `\p{L}`, `\p{Lu}`, `\P{Ll}`,
		`\p{Alpha}`, `\p{Punct}`, `\p{IsLatin}`, `\p{InGreek}`, `\p{javaLowerCase}`, `\p{IsAlphabetic}`, `_`, `\-`, `\n`, `\x{2028}`, "😀"}
	genEscapes = []string{`\d`, `\w`, `\s`, `\D`, `\W`, `\S`, `\h`, `\H`, `\v`, `\R`, `\b`, `\B`, `\p{L}`, `\p{Lu}`, `\p{Alpha}`, `\p{Upper}`, `\p{Lower}`,
		`\p{XDigit}`, `\p{IsGreek}`, `\p{InCyrillic}`, `\p{javaUpperCase}`, `\p{sc=Latin}`, `\pL`, `\A`, `\z`, `\Z`, `\G`,
		`\p{IsLu}`, `\p{Lt}`, `\p{IsLowercase}`, `\p{Punct}`, `\p{Space}`, `\p{Print}`, `\p{Graph}`, `\p{Mn}`}
	genFlags      = []string{"i", "iu", "u", "m", "s", "d", "U", "-i", "iU", "ms", "-s", "x"}
	genQuantifier = []string{"*", "+", "?", "{2}", "{0,2}", "{1,}", "*?", "+?", "*+", "++", "?+", "{1,2}+"}
	genMessages   = []string{"a", "b", "A", "k", "K", "K", "s", "S", "ſ", "i", "I", "ı", "İ", "é", "É", "ß", "ẞ", "σ", "ς", "Σ", "1", "١", "_", " ", "-",
		"\n", "\r", "\u2028", "\u0085", "😀", ".", "}", "]", "x", "α", "\u0301", "#", "\u00a0", "ǅ", "ǆ", "Ǆ", "\t", "{"}
)

func (g *regexGen) pick(xs []string) string { return xs[g.r.IntN(len(xs))] }

func (g *regexGen) alternation(depth int) string {
	s := g.sequence(depth)
	for g.r.IntN(5) == 0 {
		s += "|" + g.sequence(depth)
	}
	return s
}

func (g *regexGen) sequence(depth int) string {
	var b strings.Builder
	for n := 1 + g.r.IntN(3); n > 0; n-- {
		atom := g.atom(depth)
		b.WriteString(atom)
		if g.r.IntN(3) == 0 && !strings.HasPrefix(atom, "(?") || strings.HasPrefix(atom, "(?:") {
			if g.r.IntN(2) == 0 {
				b.WriteString(g.pick(genQuantifier))
			}
		}
	}
	return b.String()
}

func (g *regexGen) atom(depth int) string {
	switch k := g.r.IntN(20); {
	case k < 7:
		return g.pick(genChars)
	case k < 9:
		return g.pick(genEscapes)
	case k < 12:
		return g.class(depth)
	case k == 12:
		return g.pick([]string{".", "^", "$"})
	case k == 13 && g.groups > 0:
		if len(g.names) > 0 && g.r.IntN(2) == 0 {
			return `\k<` + g.pick(g.names) + `>`
		}
		return `\` + string(rune('1'+g.r.IntN(g.groups+1)))
	case k == 14:
		return "(?" + g.pick(genFlags) + ")"
	case depth < 3:
		body := g.alternation(depth + 1)
		switch g.r.IntN(7) {
		case 0, 1:
			g.groups++
			return "(" + body + ")"
		case 2:
			g.groups++
			name := string(rune('a'+g.r.IntN(3))) + "1"
			for _, n := range g.names {
				if n == name {
					return "(" + body + ")"
				}
			}
			g.names = append(g.names, name)
			return "(?<" + name + ">" + body + ")"
		case 3:
			return "(?" + g.pick(genFlags) + ":" + body + ")"
		case 4:
			return "(?" + g.pick([]string{"=", "!", "<=", "<!", ">"}) + body + ")"
		default:
			return "(?:" + body + ")"
		}
	}
	return g.pick(genChars)
}

func (g *regexGen) class(depth int) string {
	var b strings.Builder
	b.WriteString("[")
	if g.r.IntN(3) == 0 {
		b.WriteString("^")
	}
	for n := 1 + g.r.IntN(3); n > 0; n-- {
		switch k := g.r.IntN(8); {
		case k == 0 && depth < 3:
			b.WriteString(g.class(depth + 1))
		case k == 1 && depth < 3:
			b.WriteString("&&" + g.class(depth+1))
		default:
			b.WriteString(g.pick(genClassItems))
		}
	}
	b.WriteString("]")
	return b.String()
}

func (g *regexGen) message() string {
	var b strings.Builder
	for n := g.r.IntN(5); n > 0; n-- {
		b.WriteString(g.pick(genMessages))
	}
	return b.String()
}

// TestGeneratedPatternsAgainstJava compares java.util.regex and our matcher on random
// patterns from regexGen (one JVM for all). A pattern may be refused here only with a "not
// supported here" message (the documented refusals), or for being blank.
func TestGeneratedPatternsAgainstJava(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	if s, err := strconv.ParseUint(os.Getenv("JAVA_REGEX_SEED"), 10, 64); err == nil {
		seed = s // to repeat a failed run
	}
	t.Logf("seed %d (JAVA_REGEX_SEED repeats a run)", seed)
	r := rand.New(rand.NewPCG(seed, 14))
	const patterns, messages = 500, 8
	var pairs [][2]string
	for range patterns {
		g := &regexGen{r: r}
		p := g.alternation(0)
		for range messages {
			pairs = append(pairs, [2]string{p, g.message()})
		}
	}
	results := runJava(t, pairs)
	failures := 0
	for k := 0; k < len(pairs); k += messages {
		p, cerr := CompilePattern(pairs[k][0], 0)
		if cerr != nil && results[k].compileErr == "" && (strings.Contains(cerr.Error(), "not supported here") || strings.TrimSpace(pairs[k][0]) == "") {
			continue
		}
		for i := k; i < k+messages; i++ {
			if diff := differsFromJava(p, cerr, pairs[i][1], results[i]); diff != "" {
				failures++
				if failures <= 30 {
					t.Errorf("pattern %q on %q: %s", pairs[i][0], pairs[i][1], diff)
				}
				break
			}
		}
	}
	if failures > 0 {
		t.Errorf("%d of %d generated patterns differ from java.util.regex (seed %d)", failures, patterns, seed)
	}
}
