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
// is github.com/dlclark/regexp2, whose dialect is .NET's. translateJava (javaregex*.go) parses
// the pattern as java.util.regex (Java 17) does and writes a regexp2 pattern with the same
// meaning: every character class, case-insensitive literal and property is written out as an
// explicit set of code points, anchors and \b as look-arounds, and groups with explicit names.
// What regexp2 cannot express is refused at load time with a message that says what to write
// instead (\X, \b{g}, \N{…}, (?c), back references under (?i), capturing groups inside
// look-arounds, some look-behind repetitions, a few properties). The differential tests
// (java_regex_test.go) hold this against java.util.regex.
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
