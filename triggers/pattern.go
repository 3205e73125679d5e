package triggers

import (
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/dlclark/regexp2"
)

// DefaultMatchTimeout bounds one match of one pattern against one message, so a catastrophic
// pattern such as (a+)+b cannot stall the webhook. A pattern that times out does not match.
const DefaultMatchTimeout = 100 * time.Millisecond

// Pattern is a trigger pattern compiled with Java's Matcher.matches() semantics: the whole
// message, trimmed as Java's String.trim() trims, must match.
//
// Modelers write Java regular expressions (the Alfresco connector ran on the JVM); the matcher
// is github.com/dlclark/regexp2, whose default dialect is .NET's. translateJava rewrites the
// constructs whose meaning differs, and rejects at load time the Java constructs .NET would read
// differently, so that a pattern either behaves as on the JVM or fails loudly:
//
//   - `.` excludes every Java line terminator (\n \r \u0085 \u2028 \u2029), not only \n,
//     unless (?s) is on;
//   - \d \w \s (and \D \W \S outside character classes) are ASCII-only, as in Java;
//   - \h, \v and \R mean Java's horizontal/vertical whitespace and line break;
//   - \Q…\E quotes;
//   - capturing groups are numbered left to right as in Java (so \1 refers to the same group);
//   - named groups use Java's rules: (?<name>…) with an ASCII letter then letters or digits,
//     each name once;
//   - rejected: possessive quantifiers (*+ ++ ?+ {n}+; write an atomic group (?>…) instead),
//     character-class union or intersection ([a[b]], [a&&b]), the inline flags d and U, and the
//     .NET-only syntax (?#…), (?'name'…) and (?n).
//
// Known remaining difference: (?i) folds case for all of Unicode (Java: ASCII only unless (?u)).
type Pattern struct {
	// Source is the pattern as written.
	Source string
	// Groups are the named groups in order of appearance.
	Groups []string
	re     *regexp2.Regexp
}

// CompilePattern compiles source. timeout 0 means DefaultMatchTimeout.
func CompilePattern(source string, timeout time.Duration) (*Pattern, error) {
	if strings.TrimSpace(source) == "" {
		return nil, errors.New("the pattern is empty: write a regular expression such as Order Number (?<orderNumber>.+)")
	}
	translated, groups, err := translateJava(source)
	if err != nil {
		return nil, err
	}
	re, err := regexp2.Compile(translated, regexp2.None)
	if err != nil {
		// regexp2 quotes the translated pattern, which the modeler never wrote: drop it.
		msg := strings.TrimPrefix(err.Error(), "error parsing regexp: ")
		if i := strings.LastIndex(msg, " in `"); i > 0 {
			msg = msg[:i]
		}
		return nil, fmt.Errorf("%s in %q", msg, source)
	}
	if timeout <= 0 {
		timeout = DefaultMatchTimeout
	}
	re.MatchTimeout = timeout
	return &Pattern{Source: source, Groups: groups, re: re}, nil
}

// ErrMatchTimeout is returned by Match when the pattern took longer than its match timeout.
var ErrMatchTimeout = errors.New("pattern match timed out")

// Match reports whether the trimmed message matches and returns the named groups: the group's
// text, or nil for a group that did not take part in the match (Java's group(name) == null).
func (p *Pattern) Match(message string) (map[string]any, bool, error) {
	m, err := p.re.FindStringMatch(JavaTrim(message))
	if err != nil {
		if strings.Contains(err.Error(), "timeout") {
			return nil, false, ErrMatchTimeout
		}
		return nil, false, err
	}
	if m == nil {
		return nil, false, nil
	}
	groups := make(map[string]any, len(p.Groups))
	for _, name := range p.Groups {
		g := m.GroupByName(name)
		if g == nil || len(g.Captures) == 0 {
			groups[name] = nil
			continue
		}
		groups[name] = g.String()
	}
	return groups, true, nil
}

// JavaTrim trims as java.lang.String.trim(): every character up to U+0020 at both ends.
func JavaTrim(s string) string {
	return strings.TrimFunc(s, func(r rune) bool { return r <= ' ' })
}

// Java character sets used by the translation.
const (
	javaLineTerminators = `\n\r\u0085\u2028\u2029`
	javaDigit           = `0-9`
	javaWord            = `a-zA-Z_0-9`
	javaSpace           = ` \t\n\x0B\f\r`
	javaHorizontal      = ` \t\xA0\u1680\u180E\u2000-\u200A\u202F\u205F\u3000`
	javaVertical        = `\n\x0B\f\r\x85\u2028\u2029`
)

type flags struct{ dotAll, comments bool }

// translateJava rewrites a Java pattern into regexp2's dialect, anchored as \A(?:…)\z, and
// returns the named groups in order.
func translateJava(src string) (string, []string, error) {
	var out strings.Builder
	var groups []string
	seen := map[string]bool{}
	cur := flags{}
	var stack []flags
	lastQuant := false // the previous token was a quantifier (for detecting possessive ones)
	groupNo := 0

	out.WriteString(`\A(?:`)
	rs := []rune(src)
	for i := 0; i < len(rs); i++ {
		c := rs[i]
		quant := false
		switch {
		case c == '\\':
			if i+1 >= len(rs) {
				return "", nil, errors.New("the pattern ends with a lone backslash: write \\\\ for a backslash")
			}
			i++
			switch e := rs[i]; e {
			case 'Q':
				end := indexFrom(rs, i+1, `\E`)
				lit := string(rs[i+1:])
				if end >= 0 {
					lit = string(rs[i+1 : end])
					i = end + 1
				} else {
					i = len(rs)
				}
				out.WriteString(regexp2.Escape(lit))
			case 'd':
				out.WriteString("[" + javaDigit + "]")
			case 'D':
				out.WriteString("[^" + javaDigit + "]")
			case 'w':
				out.WriteString("[" + javaWord + "]")
			case 'W':
				out.WriteString("[^" + javaWord + "]")
			case 's':
				out.WriteString("[" + javaSpace + "]")
			case 'S':
				out.WriteString("[^" + javaSpace + "]")
			case 'h':
				out.WriteString("[" + javaHorizontal + "]")
			case 'H':
				out.WriteString("[^" + javaHorizontal + "]")
			case 'v':
				out.WriteString("[" + javaVertical + "]")
			case 'V':
				out.WriteString("[^" + javaVertical + "]")
			case 'R':
				out.WriteString(`(?:\r\n|[` + javaVertical + `])`)
			case 'p', 'P', 'x', 'k', 'N':
				// \p{Lu}, \x{1F600}, \k<name>: copy the braces along, they are not a quantifier.
				out.WriteRune('\\')
				out.WriteRune(e)
				if i+1 < len(rs) && (rs[i+1] == '{' || rs[i+1] == '<') {
					closer := "}"
					if rs[i+1] == '<' {
						closer = ">"
					}
					if end := indexFrom(rs, i+1, closer); end >= 0 {
						out.WriteString(string(rs[i+1 : end+1]))
						i = end
					}
				}
			default:
				out.WriteRune('\\')
				out.WriteRune(e)
			}
		case c == '[':
			n, err := translateClass(rs, i, cur, &out)
			if err != nil {
				return "", nil, err
			}
			i = n
		case c == '(':
			stack = append(stack, cur)
			if i+1 < len(rs) && rs[i+1] == '?' {
				rest := string(rs[i+2:])
				switch {
				case strings.HasPrefix(rest, "<=") || strings.HasPrefix(rest, "<!"),
					strings.HasPrefix(rest, ":") || strings.HasPrefix(rest, "=") || strings.HasPrefix(rest, "!") || strings.HasPrefix(rest, ">"):
					out.WriteString("(?")
					i++
				case strings.HasPrefix(rest, "<"):
					end := strings.IndexByte(rest, '>')
					if end < 0 {
						return "", nil, errors.New("a named group (?<name> is not closed with >")
					}
					name := rest[1:end]
					if !javaGroupName(name) {
						return "", nil, fmt.Errorf("group name %q is not valid: Java group names are an ASCII letter followed by letters or digits, e.g. (?<orderNumber>…)", name)
					}
					if seen[name] {
						return "", nil, fmt.Errorf("the group name %q is used twice: give each named group its own name", name)
					}
					seen[name] = true
					groups = append(groups, name)
					groupNo++
					out.WriteString("(?<" + name + ">")
					i += 1 + utf8.RuneCountInString(rest[:end+1])
				case strings.HasPrefix(rest, "#"):
					return "", nil, errors.New("(?#…) comments are not Java syntax: use (?x) and # comments, or remove the comment")
				case strings.HasPrefix(rest, "'") || strings.HasPrefix(rest, "P<"):
					return "", nil, errors.New("named groups are written (?<name>…) in Java")
				default:
					// inline flags: (?idmsux-idmsux) or (?idmsux-idmsux:X)
					j := i + 2
					on := true
					f := cur
					var kept strings.Builder
					for ; j < len(rs) && rs[j] != ')' && rs[j] != ':'; j++ {
						switch r := rs[j]; r {
						case '-':
							on = false
							kept.WriteRune(r)
						case 's':
							f.dotAll = on
							kept.WriteRune(r)
						case 'x':
							f.comments = on
							kept.WriteRune(r)
						case 'i', 'm':
							kept.WriteRune(r)
						case 'u', 'c':
							// (?u) Unicode case folding is what regexp2 always does; (?c) canonical equivalence is not supported and ignored.
						default:
							return "", nil, fmt.Errorf("inline flag %q in %q is not supported: use i, m, s, u or x", r, string(rs[i:min(j+1, len(rs))]))
						}
					}
					if j >= len(rs) {
						return "", nil, fmt.Errorf("the group %q is not closed", string(rs[i:]))
					}
					flagText := strings.TrimSuffix(kept.String(), "-")
					if rs[j] == ')' {
						// (?flags) changes the enclosing group from here on.
						stack = stack[:len(stack)-1]
						cur = f
						if flagText != "" {
							out.WriteString("(?" + flagText + ")")
						}
					} else {
						cur = f
						out.WriteString("(?" + flagText + ":")
					}
					i = j
				}
			} else {
				// Number unnamed groups left to right among the named ones, as Java does: .NET
				// numbers unnamed groups first, so they get internal names (invalid in Java).
				groupNo++
				fmt.Fprintf(&out, "(?<_%d>", groupNo)
			}
		case c == ')':
			if len(stack) == 0 {
				return "", nil, errors.New("unmatched closing ')'")
			}
			cur = stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			out.WriteRune(c)
		case c == '.':
			if cur.dotAll {
				out.WriteString(`[\s\S]`)
			} else {
				out.WriteString(`[^` + javaLineTerminators + `]`)
			}
		case c == '#' && cur.comments:
			end := indexFrom(rs, i, "\n")
			if end < 0 {
				end = len(rs) - 1
			}
			out.WriteString(string(rs[i : end+1]))
			i = end
		case c == '*' || c == '?' || c == '}':
			quant = true
			out.WriteRune(c)
		case c == '+':
			if lastQuant {
				return "", nil, errors.New("possessive quantifiers (*+, ++, ?+, {n}+) are not supported: use an atomic group (?>X*) instead")
			}
			quant = true
			out.WriteRune(c)
		default:
			out.WriteRune(c)
		}
		lastQuant = quant
	}
	if len(stack) > 0 {
		return "", nil, fmt.Errorf("%d group(s) not closed: add the missing )", len(stack))
	}
	if cur.comments {
		// A trailing # comment would swallow the closing anchor.
		out.WriteString("\n")
	}
	out.WriteString(`)\z`)
	return out.String(), groups, nil
}

// translateClass copies the character class starting at rs[start] == '[' and returns the index
// of its closing ']'.
func translateClass(rs []rune, start int, cur flags, out *strings.Builder) (int, error) {
	out.WriteRune('[')
	i := start + 1
	if i < len(rs) && rs[i] == '^' {
		out.WriteRune('^')
		i++
	}
	first := true
	for ; i < len(rs); i++ {
		c := rs[i]
		switch {
		case c == ']' && !first:
			out.WriteRune(']')
			return i, nil
		case c == '[':
			return 0, errors.New("nested character classes ([a[b]], [[:alpha:]]) are not supported: write the class out, e.g. [ab]")
		case c == '&' && i+1 < len(rs) && rs[i+1] == '&':
			return 0, errors.New("character-class intersection (&&) is not supported: write the class out")
		case cur.comments && strings.ContainsRune(" \t\n\r\f\x0B", c):
			// Java ignores whitespace inside classes in (?x) mode; .NET does not.
		case c == '\\' && i+1 < len(rs):
			i++
			switch e := rs[i]; e {
			case 'Q':
				end := indexFrom(rs, i+1, `\E`)
				lit := rs[i+1:]
				if end >= 0 {
					lit = rs[i+1 : end]
					i = end + 1
				} else {
					i = len(rs) - 1
				}
				for _, r := range lit {
					if strings.ContainsRune(`\]^-[`, r) {
						out.WriteRune('\\')
					}
					out.WriteRune(r)
				}
			case 'd':
				out.WriteString(javaDigit)
			case 'w':
				out.WriteString(javaWord)
			case 's':
				out.WriteString(javaSpace)
			case 'h':
				out.WriteString(javaHorizontal)
			case 'v':
				out.WriteString(javaVertical)
			default:
				out.WriteRune('\\')
				out.WriteRune(e)
			}
		default:
			out.WriteRune(c)
		}
		first = false
	}
	return 0, errors.New("a character class [ is not closed with ]")
}

func indexFrom(rs []rune, from int, sub string) int {
	if from > len(rs) {
		return -1
	}
	idx := strings.Index(string(rs[from:]), sub)
	if idx < 0 {
		return -1
	}
	return from + utf8.RuneCountInString(string(rs[from:])[:idx])
}

func javaGroupName(name string) bool {
	if name == "" {
		return false
	}
	for i, r := range name {
		letter := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
		if !letter && (i == 0 || r < '0' || r > '9') {
			return false
		}
	}
	return true
}
