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

// translator parses a Java pattern (java.util.regex.Pattern syntax, as Java 17 reads it) and
// writes the equivalent regexp2 pattern. It works on code points, as Java does.
type translator struct {
	rs      []rune
	pos     int
	f       jflags
	out     []byte
	groups  []string // the regexp2 name of each capturing group, by Java group number - 1
	names   []string // Java's named groups in order
	hasRefs bool
	// Inside a look-behind, the unbounded and the other (not X?) repetitions so far
	// (checkLookBehind).
	inLookBehind bool
	unbounded    int
	repeated     int
	// Inside a look-ahead or look-behind.
	inLookaround bool
	// Whether the group just parsed can match the empty string (groupBody).
	groupNullable bool
	depth         int  // of groups
	topBranches   bool // the pattern is X|Y at the top
}

// atomKind tells the quantifier what it repeats: Java repeats a group differently (Loop).
type atomKind int

const (
	oneChar   atomKind = iota // a literal or a class
	aGroup                    // a group
	zeroWidth                 // an anchor, a back reference, nothing
)

func (t *translator) errorf(format string, args ...any) error {
	return fmt.Errorf("%s near index %d", fmt.Sprintf(format, args...), t.pos)
}

func (t *translator) write(s string) { t.out = append(t.out, s...) }

// translateJava rewrites a Java pattern into regexp2's dialect, anchored as \A(?:…)\z (Java's
// matches()), and returns the named groups in order.
func translateJava(src string) (string, []string, error) {
	t := &translator{rs: removeQuoting([]rune(src))}
	if _, err := t.alternation(); err != nil {
		return "", nil, err
	}
	if t.more() {
		return "", nil, t.errorf("unmatched closing ')': remove it or escape it as \\)")
	}
	// Without top-level branches the pattern needs no group, and regexp2 matches faster.
	re := `\A` + string(t.out) + `\z`
	if t.topBranches {
		re = `\A(?:` + string(t.out) + `)\z`
	}
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
			for t.more() && !(t.rs[t.pos] == '\n' || !t.f.d && lineTerminators.has(t.rs[t.pos])) {
				t.pos++
			}
		default:
			return
		}
	}
}

// peek returns the next character after (?x) whitespace and comments, or -1 at the end.
func (t *translator) peek() rune {
	t.skipComments()
	if !t.more() {
		return -1
	}
	return t.rs[t.pos]
}

// alternation parses X|Y|… up to an unmatched ')' or the end, and reports whether it can
// match the empty string.
func (t *translator) alternation() (nullable bool, err error) {
	for {
		n, err := t.sequence()
		if err != nil {
			return false, err
		}
		nullable = nullable || n
		if t.peek() != '|' {
			return nullable, nil
		}
		t.pos++
		t.write("|")
		t.topBranches = t.topBranches || t.depth == 0
	}
}

func (t *translator) sequence() (nullable bool, err error) {
	nullable = true
	for {
		c := t.peek()
		if c == -1 || c == '|' || c == ')' {
			return nullable, nil
		}
		if t.literals() {
			nullable = false
			continue
		}
		mark := len(t.out)
		kind, err := t.atom()
		if err != nil {
			return false, err
		}
		if len(t.out) == mark {
			continue // (?flags): Java repeats nothing, a quantifier after it stands alone
		}
		n, err := t.quantifier(mark, kind, kind == zeroWidth || kind == aGroup && t.groupNullable)
		if err != nil {
			return false, err
		}
		nullable = nullable && n
	}
}

// literals writes a run of two or more literal characters, which Java matches as one "slice",
// and reports whether it did. Java folds case in a slice slightly differently from a lone
// character (foldSlice), and leaves the last character of a run to a quantifier after it.
func (t *translator) literals() bool {
	start := t.pos
	var run []rune
	var starts []int
	for {
		at := t.pos
		c, ok := t.literal()
		if !ok {
			t.pos = at
			break
		}
		run = append(run, c)
		starts = append(starts, at)
	}
	if c := t.peek(); len(run) > 1 && (c == '*' || c == '+' || c == '?' || c == '{') {
		run = run[:len(run)-1]
		t.pos = starts[len(starts)-1]
	}
	if len(run) < 2 {
		t.pos = start
		return false
	}
	for _, c := range run {
		t.write(foldSlice(c, t.f).class())
	}
	return true
}

// literal reads one literal character (plain or escaped), if one comes next.
func (t *translator) literal() (rune, bool) {
	switch c := t.peek(); c {
	case -1, '(', ')', '[', '.', '^', '$', '|', '*', '+', '?', '{':
		return 0, false
	case '\\':
		if t.pos+1 >= len(t.rs) || !strings.ContainsRune("tnrfaecxu0", t.rs[t.pos+1]) && isASCIIAlnum(t.rs[t.pos+1]) {
			return 0, false
		}
		t.pos++
		e, err := t.escapeSequence(false)
		return e.char, err == nil && e.isChar
	default:
		t.pos++
		return c, true
	}
}

func isASCIIAlnum(c rune) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// atom writes one atom and tells what it is.
func (t *translator) atom() (atomKind, error) {
	c := t.rs[t.pos]
	t.pos++
	switch c {
	case '(':
		return aGroup, t.group()
	case '[':
		t.pos--
		s, native, err := t.class(true)
		if err != nil {
			return 0, err
		}
		t.writeSet(s, native)
		return oneChar, nil
	case '.':
		switch {
		case t.f.s:
			t.write(`[\s\S]`)
		case t.f.d:
			t.write(`[^\n]`)
		default:
			t.writeSet(lineTerminators.complement(), "")
		}
		return oneChar, nil
	case '^':
		switch {
		case !t.f.m:
			t.write(`\A`)
		case t.f.d:
			t.write(`(?:(?<![\s\S])|(?<=\n))(?!\z)`)
		default:
			// after any line terminator but not inside \r\n, and never at the end (as Java)
			t.write(`(?:(?<![\s\S])|(?<=[\n\u0085\u2028\u2029])|(?<=\r)(?!\n))(?!\z)`)
		}
	case '$':
		switch {
		case t.f.d && t.f.m:
			t.write(`(?=\n|\z)`)
		case t.f.d:
			t.write(`(?=\n?\z)`)
		case t.f.m:
			t.write(`(?=[\n\r\u0085\u2028\u2029]|\z)(?!(?<=\r)\n)`)
		default:
			t.write(dollarEnd)
		}
	case '\\':
		return t.escape()
	case '*', '+', '?':
		t.pos--
		return 0, t.errorf("dangling meta character '%c': escape it (\\%c) or put something before it to repeat", c, c)
	case '{':
		t.pos--
		if t.pos+1 < len(t.rs) && t.rs[t.pos+1] >= '0' && t.rs[t.pos+1] <= '9' {
			t.write("(?:)") // Java repeats an empty string: {2}a is a
			return zeroWidth, nil
		}
		return 0, t.errorf("illegal repetition: a { that is not a quantifier must be escaped as \\{")
	default:
		t.writeSet(foldSingle(c, t.f), "")
		return oneChar, nil
	}
	return zeroWidth, nil
}

func (t *translator) writeSet(s runeSet, native string) {
	if native != "" {
		t.write(native)
		return
	}
	t.write(s.class())
}

// quantifier applies the quantifier that follows, if any, to the atom written from mark on,
// and reports whether the result can match the empty string. A possessive quantifier (X*+)
// becomes an atomic group (?>X*).
func (t *translator) quantifier(mark int, kind atomKind, nullable bool) (bool, error) {
	var q string
	lo, hi := 0, -1
	single := kind == oneChar
	switch t.peek() {
	case '*', '+', '?':
		q = string(t.rs[t.pos])
		if q == "?" {
			hi = 1
		}
		if q == "+" {
			lo = 1
		}
		t.pos++
	case '{':
		t.pos++
		var err error
		if lo, hi, err = t.repetition(); err != nil {
			return false, err
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
		return nullable, nil
	}
	next := t.peek()
	if err := t.checkLookBehind(single, next != '?' && next != '+', q == "?" && next != '?' && next != '+', hi); err != nil {
		return false, err
	}
	if kind == aGroup && nullable && lo >= 2 {
		return false, t.errorf("a group that can match nothing, repeated at least %d times, is not supported here: Java stops repeating at the first empty match, regexp2 goes on to the minimum; make the group match at least one character", lo)
	}
	// The atom may be several regexp2 atoms (anchors are written as look-arounds): group it.
	atom := "(?:" + string(t.out[mark:]) + ")"
	if single {
		atom = string(t.out[mark:])
	}
	t.out = t.out[:mark]
	switch next {
	case '?':
		t.pos++
		t.write(atom + q + "?")
	case '+':
		t.pos++
		t.write("(?>" + atom + q + ")")
	default:
		t.write(atom + q)
	}
	return nullable || lo == 0, nil
}

// checkLookBehind refuses the repetitions in a look-behind that Java 17 rejects ("does not
// have an obvious maximum length") or may accept and match differently (its maximum length
// overflows): a group may only be optional (X?), one character may be repeated, and one
// greedy unbounded repetition of one character (?<=a+) may not have another repetition
// beside it.
func (t *translator) checkLookBehind(single, greedy, optional bool, hi int) error {
	if !t.inLookBehind || optional {
		return nil
	}
	if hi < 0 {
		t.unbounded++
	} else {
		t.repeated++
	}
	if !(single && (hi >= 0 || greedy)) || t.unbounded > 1 || t.unbounded == 1 && t.repeated > 0 {
		return t.errorf("this repetition in a look-behind is not supported here: Java bounds the length of a look-behind; repeat one character (?<=a+) or bound the repetitions (?<=a{0,20}b{1,2}), and make a group only optional (?<=(?:ab)?)")
	}
	return nil
}

// repetition parses the rest of {n}, {n,} or {n,m}; hi is -1 for {n,}.
func (t *translator) repetition() (lo, hi int, err error) {
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
	hi = lo
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
		return 0, 0, t.errorf("illegal repetition range {%d,%d}: the maximum is smaller than the minimum", lo, hi)
	}
	return lo, hi, nil
}

// group parses what follows '(' up to and including its ')'.
func (t *translator) group() error {
	saved := t.f
	defer func() { t.f = saved }()
	if !t.more() || t.rs[t.pos] != '?' {
		return t.capture(fmt.Sprintf("_%d", len(t.groups)+1))
	}
	t.pos++
	rest := string(t.rs[t.pos:])
	switch {
	case strings.HasPrefix(rest, "<=") || strings.HasPrefix(rest, "<!"):
		t.pos += 2
		t.write("(?" + rest[:2])
		return t.lookaround(true)
	case strings.HasPrefix(rest, "=") || strings.HasPrefix(rest, "!"):
		t.pos++
		t.write("(?" + rest[:1])
		return t.lookaround(false)
	case strings.HasPrefix(rest, ":") || strings.HasPrefix(rest, ">"):
		t.pos++
		t.write("(?" + rest[:1])
		return t.groupBody()
	case strings.HasPrefix(rest, "<"):
		t.pos++
		name, err := t.groupName()
		if err != nil {
			return err
		}
		for _, n := range t.names {
			if n == name {
				return t.errorf("named capturing group <%s> is already defined: give each named group its own name", name)
			}
		}
		t.names = append(t.names, name)
		return t.capture(name)
	}
	// (?flags) or (?flags:X)
	f := t.f
	on := true
	for ; t.more(); t.pos++ {
		switch c := t.rs[t.pos]; c {
		case ')':
			t.pos++
			saved = f // (?flags) applies to the rest of the enclosing group
			return nil
		case ':':
			t.pos++
			t.f = f
			t.write("(?:")
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
			return errors.New("the flag (?c) (canonical equivalence) is not supported here: write the characters in the form the messages use (composed, e.g. é)")
		case '#':
			return t.errorf("unknown inline modifier: (?#…) comments are not Java syntax; use (?x) and # comments")
		case '\'', 'P':
			return t.errorf("unknown inline modifier: named groups are written (?<name>…) in Java")
		default:
			return t.errorf("unknown inline modifier %q: Java's flags are i, d, m, s, u, x, U", c)
		}
	}
	return t.errorf("unclosed group: add the missing )")
}

// groupName parses name> of (?<name> or \k<name>.
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

// lookaround parses the body of a look-ahead or look-behind, whose length does not count in
// an enclosing look-behind.
func (t *translator) lookaround(behind bool) error {
	inLookBehind, unbounded, repeated, inLookaround := t.inLookBehind, t.unbounded, t.repeated, t.inLookaround
	t.inLookBehind, t.unbounded, t.repeated = behind, 0, 0
	t.inLookaround = true
	err := t.groupBody()
	t.inLookBehind, t.unbounded, t.repeated, t.inLookaround = inLookBehind, unbounded, repeated, inLookaround
	t.groupNullable = true // it matches no text
	return err
}

// capture starts capturing group number len(t.groups)+1 named name.
func (t *translator) capture(name string) error {
	if t.inLookaround {
		return t.errorf("a capturing group inside a look-ahead or look-behind is not supported here: Java keeps what it captured even when the match backtracks past the look-around, regexp2 does not; make it non-capturing (?:…) and capture outside")
	}
	t.groups = append(t.groups, name)
	t.write("(?<" + name + ">")
	return t.groupBody()
}

func (t *translator) groupBody() error {
	t.depth++
	nullable, err := t.alternation()
	t.depth--
	if err != nil {
		return err
	}
	t.groupNullable = nullable
	if !t.more() {
		return t.errorf("unclosed group: add the missing )")
	}
	t.pos++ // ')'
	t.write(")")
	return nil
}
