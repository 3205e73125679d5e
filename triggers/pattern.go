package triggers

import (
	"errors"
	"fmt"
	"strings"
	"time"

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
