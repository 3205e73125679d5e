package triggers

import (
	"fmt"
	"strings"
	"testing"
)

// patternCase is one pattern on one message: match, or refuse (an error containing refuse).
// TestConstructTablesAgainstJava checks every expectation here against java.util.regex.
type patternCase struct {
	pattern, message string
	match            bool
	groups           map[string]any // when matched, if not nil
	refuse           string
}

var escapeCases = []patternCase{
	{pattern: `\d+`, message: "123", match: true},
	{pattern: `\d`, message: "١"},
	{pattern: `\w+`, message: "é"},
	{pattern: `\s`, message: "\u00a0"},
	{pattern: `a\hb`, message: "a\u00a0b", match: true},
	{pattern: `a\vb`, message: "a\u2028b", match: true},
	{pattern: `a\Rb`, message: "a\r\nb", match: true},
	{pattern: `\x41\u0042\x{43}\0104`, message: "ABCD", match: true},
	{pattern: `a\cAb`, message: "a\x01b", match: true},
	{pattern: `a\tb`, message: "a\tb", match: true},
	{pattern: `\uD83D\uDE00`, message: "😀", match: true},
	{pattern: `\_\-\@\}`, message: "_-@}", match: true},
	{pattern: `\Qa.b\E+`, message: "a.bb", match: true},
	{pattern: `\Qa.b\E`, message: "axb"},
	{pattern: `\p{Alpha}+`, message: "abc", match: true},
	{pattern: `\p{Alpha}`, message: "é"},
	{pattern: `\p{Punct}+`, message: "!?", match: true},
	{pattern: `\p{IsLatin}+`, message: "abé", match: true},
	{pattern: `\p{InCyrillic}+`, message: "привет", match: true},
	{pattern: `\p{sc=Greek}`, message: "α", match: true},
	{pattern: `\p{javaLowerCase}`, message: "é", match: true},
	{pattern: `\p{IsAlphabetic}`, message: "1"},
	{pattern: `\P{L}\pL`, message: "1a", match: true},
	{pattern: `\bé\b`, message: "é", match: true},
	{pattern: `a\Z`, message: "a", match: true},
	{pattern: `\X`, refuse: "grapheme cluster"},
	{pattern: `\N{SPACE}`, refuse: "character names"},
	{pattern: `\y`, refuse: `illegal/unsupported escape sequence \y`},
	{pattern: `\p{Latin}`, refuse: "unknown character property"},
	{pattern: `\p{IsNoSuch}`, refuse: "unknown script"},
	{pattern: `\p{sc=Latn}`, refuse: "ISO 15924"},
	{pattern: `\k'n'`, refuse: `\k is not followed by '<'`},
	{pattern: `\xZZ`, refuse: "hexadecimal escape"},
	{pattern: `a\`, refuse: "end of pattern"},
}

var classCases = []patternCase{
	{pattern: `[^\d\W]+`, message: "José"},
	{pattern: `[^\d\W]+`, message: "Jose", match: true},
	{pattern: `[\W]`, message: "é", match: true},
	{pattern: `[a-d[m-p]]+`, message: "amp", match: true},
	{pattern: `[a-z&&[^aeiou]]+`, message: "bcd", match: true},
	{pattern: `[a-z&&[^aeiou]]+`, message: "bad"},
	{pattern: `[\w&&[^_]]+`, message: "a_b"},
	{pattern: `[^a[b]]`, message: "b"},
	{pattern: `[^a[b]]`, message: "c", match: true},
	{pattern: `[&&a]`, message: "a", match: true},
	{pattern: `[]a]+`, message: "]a", match: true},
	{pattern: `[a-]+`, message: "a-", match: true},
	{pattern: `(?x)[a b]+`, message: "ab", match: true},
	{pattern: `(?i)[é]`, message: "É"},
	{pattern: `(?iu)[é]`, message: "É", match: true},
	{pattern: `(?i)[a-z]`, message: "\u212a"},
	{pattern: `(?iu)[a-z]`, message: "\u212a", match: true},
	{pattern: `[\p{L}&&[^\p{Lu}]]+`, message: "éa", match: true},
	{pattern: `[\p{L}&&[^\p{Lu}]]+`, message: "Éa"},
	{pattern: `[a`, refuse: "unclosed character class"},
	{pattern: `[z-a]`, refuse: "illegal character range"},
	{pattern: `[a-\d]`, refuse: "illegal character range"},
	{pattern: "(?x)[a#b]", refuse: "unclosed character class"},
	{pattern: `[&&]`, refuse: "bad class syntax"},
}

var groupCases = []patternCase{
	{pattern: `(?<a>x)|(?<b>y)`, message: "y", match: true, groups: map[string]any{"a": nil, "b": "y"}},
	{pattern: `(?<n>b)(a)\2`, message: "baa", match: true, groups: map[string]any{"n": "b"}},
	{pattern: `(a)\2`, message: "aa"},
	{pattern: `(a)\10`, message: "aa0", match: true},
	{pattern: `(?<n>a)\k<n>`, message: "aa", match: true},
	{pattern: `(?>a+)a`, message: "aa"},
	{pattern: `a(?<=a)b`, message: "ab", match: true},
	{pattern: `aa(?<=a+)b`, message: "aab", match: true},
	{pattern: `(?=a)a`, message: "a", match: true},
	{pattern: `(?<a_b>x)`, refuse: "not valid"},
	{pattern: `(?<n>x)(?<n>y)`, refuse: "already defined"},
	{pattern: `(?P<n>x)`, refuse: "named groups are written (?<name>…)"},
	{pattern: `(?#c)x`, refuse: "(?#…) comments"},
	{pattern: `(?=(?<n>a))a`, refuse: "capturing group inside a look-ahead"},
	{pattern: `\k<m>(?<m>a)`, refuse: "does not exist"},
	{pattern: `(?i)(a)\1`, refuse: "back reference under (?i)"},
	{pattern: `(a)(?<=a\1)`, refuse: "no back reference in a look-behind"},
	{pattern: `a(?<=a+?)b`, refuse: "repetition in a look-behind"},
	{pattern: `a)`, refuse: "unmatched closing ')'"},
	{pattern: `(a`, refuse: "unclosed group"},
}

var quantifierCases = []patternCase{
	{pattern: `a*+a`, message: "aa"},
	{pattern: `a++b`, message: "aab", match: true},
	{pattern: `a?+a`, message: "a"},
	{pattern: `a{1,2}+a`, message: "aa"},
	{pattern: `a{2}`, message: "aa", match: true},
	{pattern: `a{2,}`, message: "aaa", match: true},
	{pattern: `(?<n>a{1,2}?)a*`, message: "aa", match: true, groups: map[string]any{"n": "a"}},
	{pattern: `order}+`, message: "order}}", match: true},
	{pattern: `}`, message: "}", match: true},
	{pattern: `{2}a`, message: "a", match: true},
	{pattern: `(?x)a{1, 2}`, message: "aa", match: true},
	{pattern: `(?m:^)*a`, message: "a", match: true},
	{pattern: `a{`, refuse: "illegal repetition"},
	{pattern: `\d{,4}`, refuse: "illegal repetition"},
	{pattern: `x{a}`, refuse: "illegal repetition"},
	{pattern: `(?x)a{ 2}`, refuse: "illegal repetition"},
	{pattern: `*a`, refuse: "dangling meta character '*'"},
	{pattern: `a**`, refuse: "dangling meta character '*'"},
	{pattern: `a{3,1}`, refuse: "illegal repetition range"},
}

var flagCases = []patternCase{
	{pattern: `(?i)stöp`, message: "STÖP"},
	{pattern: `(?i)stöp`, message: "STöP", match: true},
	{pattern: `(?iu)stöp`, message: "STÖP", match: true},
	{pattern: `(?iu)ı`, message: "I", match: true},
	{pattern: `(?iu)σ`, message: "ς", match: true},
	{pattern: `(?i)k`, message: "\u212a"},
	{pattern: `(?iu)k`, message: "\u212a", match: true},
	{pattern: `(?iu)aß`, message: "aẞ", match: true},
	{pattern: `(?iu)ß`, message: "ẞ"},
	{pattern: `(?i)\p{Lu}`, message: "a", match: true},
	{pattern: `(?s)(?m)a$.^b`, message: "a\u2028b", match: true},
	{pattern: `(?s)(?m)a$.^b`, message: "a\u0085b", match: true},
	{pattern: `(?s)(?m)(?d)a$.^b`, message: "a\u2028b"},
	{pattern: `(?m)a$`, message: "a", match: true},
	{pattern: `(?d).+`, message: "a\rb", match: true},
	{pattern: `.+`, message: "a\rb"},
	{pattern: `(?s).+`, message: "a\rb", match: true},
	{pattern: `(?U)\w+`, message: "héllo", match: true},
	{pattern: `\w+`, message: "héllo"},
	{pattern: `(?U)\p{Alpha}`, message: "é", match: true},
	{pattern: `(?U)\d`, message: "١", match: true},
	{pattern: "(?x) a b # c", message: "ab", match: true},
	{pattern: `a(?i)b(?-i)c`, message: "aBc", match: true},
	{pattern: `a(?i:b)c`, message: "aBC"},
	{pattern: `(?c)a`, refuse: "canonical equivalence"},
	{pattern: `(?q)a`, refuse: "unknown inline modifier"},
	{pattern: `(?n)a`, refuse: "unknown inline modifier"},
}

var constructTables = map[string][]patternCase{
	"escapes": escapeCases, "classes": classCases, "groups": groupCases, "quantifiers": quantifierCases, "flags": flagCases,
}

func TestPatternConstructs(t *testing.T) {
	for table, cases := range constructTables {
		for _, c := range cases {
			p, err := CompilePattern(c.pattern, 0)
			if c.refuse != "" {
				if err == nil || !strings.Contains(err.Error(), c.refuse) {
					t.Errorf("%s: %q: error %v, want it to contain %q", table, c.pattern, err, c.refuse)
				}
				continue
			}
			if err != nil {
				t.Errorf("%s: %q: %v", table, c.pattern, err)
				continue
			}
			groups, ok, err := p.Match(c.message)
			switch {
			case err != nil || ok != c.match:
				t.Errorf("%s: %q on %q: match %v (%v), want %v", table, c.pattern, c.message, ok, err, c.match)
			case ok && c.groups != nil && fmt.Sprint(groups) != fmt.Sprint(c.groups):
				t.Errorf("%s: %q on %q: groups %v, want %v", table, c.pattern, c.message, groups, c.groups)
			}
		}
	}
}
