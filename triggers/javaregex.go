package triggers

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// jflags are Java's inline flags: i CASE_INSENSITIVE, u UNICODE_CASE, m MULTILINE, s DOTALL,
// x COMMENTS, d UNIX_LINES, U UNICODE_CHARACTER_CLASS (which implies UNICODE_CASE).
type jflags struct{ i, u, m, s, x, d, U bool }

func (f jflags) unicodeCase() bool { return f.u || f.U }

// translator parses a Java pattern (java.util.regex.Pattern syntax) and writes the equivalent
// regexp2 pattern. It works on code points, as Java does on a pattern with surrogate pairs.
type translator struct {
	rs      []rune
	pos     int
	f       jflags
	out     strings.Builder
	groups  []string // the regexp2 name of each capturing group, by Java group number - 1
	names   []string // Java's named groups in order
	hasRefs bool
	handledLen int // the longest match of the escape just written (anchors 0, back references -1)
}

// syntaxError is a Java PatternSyntaxException: the pattern is not valid Java.
func (t *translator) errorf(format string, args ...any) error {
	return fmt.Errorf("%s near index %d", fmt.Sprintf(format, args...), t.pos)
}

// translateJava rewrites a Java pattern into regexp2's dialect, anchored as \A(?:…)\z (Java's
// matches()), and returns the named groups in order.
func translateJava(src string) (string, []string, error) {
	t := &translator{rs: removeQuoting([]rune(src))}
	t.out.WriteString(`\A(?:`)
	if _, err := t.alternation(); err != nil {
		return "", nil, err
	}
	if t.pos < len(t.rs) {
		return "", nil, t.errorf("unmatched closing ')'")
	}
	t.out.WriteString(`)\z`)
	re := t.out.String()
	if t.hasRefs {
		for n := len(t.groups); n >= 1; n-- {
			re = strings.ReplaceAll(re, "\x00"+strconv.Itoa(n)+"\x00", `\k<`+t.groups[n-1]+`>`)
		}
		// A reference to a group that does not exist compiles in Java and never matches.
		for strings.Contains(re, "\x00") {
			i := strings.IndexByte(re, 0)
			j := i + 1 + strings.IndexByte(re[i+1:], 0)
			re = re[:i] + `(?!)` + re[j+1:]
		}
	}
	return re, t.names, nil
}

func (t *translator) more() bool { return t.pos < len(t.rs) }

// skipComments skips whitespace and # comments in (?x) mode.
func (t *translator) skipComments() {
	for t.f.x && t.more() {
		switch c := t.rs[t.pos]; {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\x0B':
			t.pos++
		case c == '#':
			for t.more() && !lineTerminators.has(t.rs[t.pos]) {
				t.pos++
			}
		default:
			return
		}
	}
}

func (t *translator) peek() rune {
	t.skipComments()
	if !t.more() {
		return -1
	}
	return t.rs[t.pos]
}

// alternation parses X|Y|… up to an unmatched ')' or the end, and returns the longest match
// length it can have (-1: unbounded), which Java requires of look-behind.
func (t *translator) alternation() (int, error) {
	longest := 0
	for {
		n, err := t.sequence()
		if err != nil {
			return 0, err
		}
		if n < 0 || longest < 0 {
			longest = -1
		} else {
			longest = max(longest, n)
		}
		if t.peek() != '|' {
			return longest, nil
		}
		t.pos++
		t.out.WriteByte('|')
	}
}

func (t *translator) sequence() (int, error) {
	total := 0
	for {
		c := t.peek()
		if c == -1 || c == '|' || c == ')' {
			return total, nil
		}
		var atom strings.Builder
		saved := t.out
		t.out = strings.Builder{}
		n, err := t.atom()
		atom.WriteString(t.out.String())
		t.out = saved
		if err != nil {
			return 0, err
		}
		if n, err = t.quantifier(atom.String(), n); err != nil {
			return 0, err
		}
		if n < 0 || total < 0 {
			total = -1
		} else {
			total += n
		}
	}
}

// atom writes one atom and returns its longest match length.
func (t *translator) atom() (int, error) {
	c := t.rs[t.pos]
	t.pos++
	switch c {
	case '(':
		return t.group()
	case '[':
		s, native, err := t.class()
		if err != nil {
			return 0, err
		}
		t.writeSet(s, native)
		return 1, nil
	case '.':
		switch {
		case t.f.s:
			t.out.WriteString(`[\s\S]`)
		case t.f.d:
			t.out.WriteString(`[^\n]`)
		default:
			t.writeSet(lineTerminators.complement(), "")
		}
		return 1, nil
	case '^':
		switch {
		case !t.f.m:
			t.out.WriteString(`\A`)
		case t.f.d:
			t.out.WriteString(`(?:(?<![\s\S])|(?<=\n))(?!\z)`)
		default:
			t.out.WriteString(`(?:(?<![\s\S])|(?<=[\n\u0085\u2028\u2029])|(?<=\r)(?!\n))(?!\z)`)
		}
		return 0, nil
	case '$':
		switch {
		case t.f.d && t.f.m:
			t.out.WriteString(`(?=\n|\z)`)
		case t.f.d:
			t.out.WriteString(`(?=\n?\z)`)
		case t.f.m:
			t.out.WriteString(`(?=[\n\r\u0085\u2028\u2029]|\z)(?!(?<=\r)\n)`)
		default:
			t.out.WriteString(dollarEnd)
		}
		return 0, nil
	case '\\':
		return t.escape()
	case '*', '+', '?':
		t.pos--
		return 0, t.errorf("dangling meta character '%c': escape it (\\%c) or put something before it to repeat", c, c)
	case '{':
		t.pos--
		return 0, t.errorf("illegal repetition: a { that is not a quantifier must be escaped as \\{")
	}
	t.writeSet(foldSingle(c, t.f), "")
	return 1, nil
}

func (t *translator) writeSet(s runeSet, native string) {
	if native != "" {
		t.out.WriteString(native)
		return
	}
	t.out.WriteString(s.class())
}

// quantifier writes atom with the quantifier that follows it, if any.
func (t *translator) quantifier(atom string, n int) (int, error) {
	c := t.peek()
	var q string
	lo, hi := 0, -1
	switch c {
	case '*':
		t.pos++
		q = "*"
	case '+':
		t.pos++
		q, lo = "+", 1
	case '?':
		t.pos++
		q, hi = "?", 1
	case '{':
		t.pos++
		var err error
		if lo, hi, err = t.repetition(); err != nil {
			return 0, err
		}
		switch {
		case hi == lo:
			q = fmt.Sprintf("{%d}", lo)
		case hi < 0:
			q = fmt.Sprintf("{%d,}", lo)
		default:
			q = fmt.Sprintf("{%d,%d}", lo, hi)
		}
	default:
		t.out.WriteString(atom)
		return n, nil
	}
	possessive := false
	if t.peek() != -1 {
		switch t.rs[t.pos] {
		case '?':
			t.pos++
			q += "?"
		case '+':
			t.pos++
			possessive = true
		}
	}
	if possessive {
		t.out.WriteString("(?>" + atom + q + ")")
	} else {
		t.out.WriteString(atom + q)
	}
	if hi < 0 || n < 0 {
		return -1, nil
	}
	return n * hi, nil
}

// repetition parses the rest of {n}, {n,} or {n,m}.
func (t *translator) repetition() (int, int, error) {
	// Java reads the first digit as written and skips (?x) whitespace after it.
	number := func() (int, bool, error) {
		if !t.more() || t.rs[t.pos] < '0' || t.rs[t.pos] > '9' {
			return 0, false, nil
		}
		var digits strings.Builder
		for c := t.rs[t.pos]; c >= '0' && c <= '9'; c = t.peek() {
			digits.WriteRune(c)
			t.pos++
		}
		n, err := strconv.ParseInt(digits.String(), 10, 32)
		if err != nil {
			return 0, false, t.errorf("illegal repetition: the count is too large")
		}
		return int(n), true, nil
	}
	illegal := t.errorf("illegal repetition: write {n}, {n,} or {n,m}, or \\{ for a literal {")
	lo, ok, err := number()
	if err != nil {
		return 0, 0, err
	}
	if !ok {
		return 0, 0, illegal
	}
	hi := lo
	if t.peek() == ',' {
		t.pos++
		t.skipComments()
		if hi, ok, err = number(); err != nil {
			return 0, 0, err
		} else if !ok {
			hi = -1
		}
	}
	if t.peek() != '}' {
		return 0, 0, illegal
	}
	t.pos++
	if hi >= 0 && hi < lo {
		return 0, 0, t.errorf("illegal repetition range {%d,%d}", lo, hi)
	}
	return lo, hi, nil
}

// group parses what follows '(' up to and including its ')'.
func (t *translator) group() (int, error) {
	saved := t.f
	defer func() { t.f = saved }()
	if !t.more() || t.rs[t.pos] != '?' {
		t.groups = append(t.groups, fmt.Sprintf("_%d", len(t.groups)+1))
		fmt.Fprintf(&t.out, "(?<_%d>", len(t.groups))
		return t.groupBody()
	}
	t.pos++
	rest := string(t.rs[t.pos:])
	switch {
	case strings.HasPrefix(rest, "<=") || strings.HasPrefix(rest, "<!"):
		t.pos += 2
		t.out.WriteString("(?" + rest[:2])
		_, err := t.groupBody()
		return 0, err
	case strings.HasPrefix(rest, ":") || strings.HasPrefix(rest, ">"):
		t.pos++
		t.out.WriteString("(?" + rest[:1])
		return t.groupBody()
	case strings.HasPrefix(rest, "=") || strings.HasPrefix(rest, "!"):
		t.pos++
		t.out.WriteString("(?" + rest[:1])
		_, err := t.groupBody()
		return 0, err
	case strings.HasPrefix(rest, "<"):
		t.pos++
		name, err := t.groupName()
		if err != nil {
			return 0, err
		}
		for _, n := range t.names {
			if n == name {
				return 0, t.errorf("named capturing group <%s> is already defined: give each named group its own name", name)
			}
		}
		t.names = append(t.names, name)
		t.groups = append(t.groups, name)
		t.out.WriteString("(?<" + name + ">")
		return t.groupBody()
	}
	// (?flags) or (?flags:X)
	f := t.f
	on := true
	for ; t.more(); t.pos++ {
		switch c := t.rs[t.pos]; c {
		case ')':
			t.pos++
			saved = f // (?flags) applies to the rest of the enclosing group
			return 0, nil
		case ':':
			t.pos++
			t.f = f
			t.out.WriteString("(?:")
			return t.groupBody()
		case '-':
			on = false
		case 'i':
			f.i = on
		case 'u':
			f.u = on
		case 'm':
			f.m = on
		case 's':
			f.s = on
		case 'x':
			f.x = on
		case 'd':
			f.d = on
		case 'U':
			f.U = on
		case 'c':
			return 0, errors.New("the flag (?c) (canonical equivalence) is not supported here: write the characters in the form the messages use (composed, e.g. é)")
		case '#':
			return 0, t.errorf("unknown inline modifier: (?#…) comments are not Java syntax; use (?x) and # comments")
		case '\'', 'P':
			return 0, t.errorf("unknown inline modifier: named groups are written (?<name>…) in Java")
		default:
			return 0, t.errorf("unknown inline modifier %q: Java's flags are i, d, m, s, u, x, U", c)
		}
	}
	return 0, t.errorf("unclosed group: add the missing )")
}

// groupName parses name> of (?<name>.
func (t *translator) groupName() (string, error) {
	start := t.pos
	for t.more() && t.rs[t.pos] != '>' {
		t.pos++
	}
	if !t.more() || t.pos == start {
		return "", t.errorf("named capturing group is missing its name or trailing '>': write (?<name>…)")
	}
	name := string(t.rs[start:t.pos])
	t.pos++
	for i, r := range name {
		letter := r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z'
		if !letter && (i == 0 || r < '0' || r > '9') {
			return "", t.errorf("group name %q is not valid: Java group names are an ASCII letter followed by letters or digits, e.g. (?<orderNumber>…)", name)
		}
	}
	return name, nil
}

func (t *translator) groupBody() (int, error) {
	n, err := t.alternation()
	if err != nil {
		return 0, err
	}
	if !t.more() {
		return 0, t.errorf("unclosed group: add the missing )")
	}
	t.pos++ // ')'
	t.out.WriteByte(')')
	return n, nil
}
