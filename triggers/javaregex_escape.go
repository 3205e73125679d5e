package triggers

import (
	"fmt"
	"strconv"
	"unicode"
)

// $ and \Z without (?m): the end, or before a line terminator at the end.
const dollarEnd = `(?=(?:\r\n|[\n\r\u0085\u2028\u2029])?\z)`

// removeQuoting replaces \Q…\E by the quoted characters, escaped, as Java does before parsing
// (Pattern.RemoveQEQuoting), so a quantifier after \E repeats the last quoted character only.
func removeQuoting(rs []rune) []rune {
	var out []rune
	for i := 0; i < len(rs); i++ {
		if rs[i] != '\\' || i+1 >= len(rs) {
			out = append(out, rs[i])
			continue
		}
		if rs[i+1] != 'Q' {
			out = append(out, rs[i], rs[i+1])
			i++
			continue
		}
		begin := true
		for i += 2; i < len(rs) && !(rs[i] == '\\' && i+1 < len(rs) && rs[i+1] == 'E'); i++ {
			switch c := rs[i]; {
			case c >= '0' && c <= '9' && begin:
				// a digit right after \Q must not extend an escape before it
				out = append(out, '\\', 'x', '3', c)
			case c >= 0x80 || isASCIIAlnum(c):
				out = append(out, c)
			default:
				out = append(out, '\\', c)
			}
			begin = false
		}
		i++ // the E of \E (or past the end)
	}
	return out
}

// escaped is what a backslash escape stands for: one character, or a set of them.
type escaped struct {
	char    rune // when isChar
	isChar  bool
	set     runeSet
	native  string // regexp2's own class for set, when it is exactly one of its categories
	handled bool   // written already (anchors, back references)
}

// escape parses the escape after '\' outside a class and writes it.
func (t *translator) escape() (atomKind, error) {
	e, err := t.escapeSequence(false)
	switch {
	case err != nil:
		return 0, err
	case e.handled:
		return zeroWidth, nil
	case e.isChar:
		t.writeSet(foldSingle(e.char, t.f), "")
	default:
		t.writeSet(e.set, e.native)
	}
	return oneChar, nil
}

// wordBoundary writes Java 17's \b (or \B): a word character is a letter, digit or _ (any
// \w with (?U)), or a non-spacing mark that follows a letter or digit (Pattern.Bound).
func (t *translator) wordBoundary(negate bool) string {
	w := `[\p{L}\p{Nd}_]`
	if t.f.U {
		w = unicodeWord().class()
	}
	const mark = `(?=\p{Mn})(?<=[\p{L}\p{Nd}]\p{Mn}*)`
	left := `(?<=` + w + `|[\p{L}\p{Nd}]\p{Mn}+)`
	notLeft := `(?<!` + w + `|[\p{L}\p{Nd}]\p{Mn}+)`
	right := `(?:(?=` + w + `)|` + mark + `)`
	notRight := `(?!` + w + `)(?!` + mark + `)`
	if negate {
		return `(?:` + left + right + `|` + notLeft + notRight + `)`
	}
	return `(?:` + left + notRight + `|` + notLeft + right + `)`
}

// escapeSequence parses the escape after '\'. Outside a class it writes anchors and back
// references itself (handled).
func (t *translator) escapeSequence(inClass bool) (escaped, error) {
	if !t.more() {
		return escaped{}, t.errorf("unexpected end of pattern after \\: write \\\\ for a backslash")
	}
	c := t.rs[t.pos]
	t.pos++
	char := func(r rune) (escaped, error) { return escaped{char: r, isChar: true}, nil }
	set := func(s runeSet) (escaped, error) { return escaped{set: s}, nil }
	write := func(s string) (escaped, error) {
		if inClass {
			return escaped{}, t.errorf(`illegal/unsupported escape sequence \%c inside a character class`, c)
		}
		t.write(s)
		return escaped{handled: true}, nil
	}
	switch c {
	case 't':
		return char('\t')
	case 'n':
		return char('\n')
	case 'r':
		return char('\r')
	case 'f':
		return char('\f')
	case 'a':
		return char('\a')
	case 'e':
		return char('\x1B')
	case 'c':
		if !t.more() {
			return escaped{}, t.errorf(`illegal control escape sequence: write \cA … \cZ`)
		}
		t.pos++
		return char(t.rs[t.pos-1] ^ 64)
	case '0':
		return t.octal()
	case 'x':
		return t.hex()
	case 'u':
		return t.unicodeEscape()
	case 'd', 'D':
		s := asciiDigit
		if t.f.U {
			s = cat("Nd")
		}
		return negated(s, c == 'D')
	case 'w', 'W':
		s := asciiWord
		if t.f.U {
			s = unicodeWord()
		}
		return negated(s, c == 'W')
	case 's', 'S':
		s := asciiSpace
		if t.f.U {
			s = whiteSpace()
		}
		return negated(s, c == 'S')
	case 'h':
		return set(horizontal)
	case 'H':
		return set(horizontal.complement())
	case 'v':
		return set(vertical)
	case 'V':
		return set(vertical.complement())
	case 'p', 'P':
		return t.propertyEscape(c == 'P')
	case 'R':
		return write(`(?:\r\n|` + vertical.class() + `)`)
	case 'b', 'B':
		if t.more() && t.rs[t.pos] == '{' {
			return escaped{}, fmt.Errorf(`\b{g} (grapheme cluster boundary) is not supported here: regexp2 has no grapheme clusters; match the characters instead, e.g. \P{M}\p{M}*`)
		}
		return write(t.wordBoundary(c == 'B'))
	case 'A', 'G':
		return write(`\A`)
	case 'z':
		return write(`\z`)
	case 'Z':
		if t.f.d {
			return write(`(?=\n?\z)`)
		}
		return write(dollarEnd)
	case 'k':
		if inClass {
			break
		}
		if !t.more() || t.rs[t.pos] != '<' {
			return escaped{}, t.errorf(`\k is not followed by '<' for a named group: write \k<name>`)
		}
		t.pos++
		name, err := t.groupName()
		if err != nil {
			return escaped{}, err
		}
		for n, g := range t.groups {
			if g == name {
				return t.backReference(n + 1)
			}
		}
		return escaped{}, t.errorf("named capturing group <%s> does not exist (yet): a back reference \\k<%s> must follow the group", name, name)
	case 'X':
		return escaped{}, fmt.Errorf(`\X (a grapheme cluster) is not supported here: regexp2 has no grapheme clusters; write the characters, e.g. \P{M}\p{M}*`)
	case 'N':
		return escaped{}, fmt.Errorf(`\N{name} is not supported here (no table of Unicode character names): write the character itself or its code, e.g. é or \x{E9}`)
	}
	switch {
	case c >= '1' && c <= '9' && !inClass:
		n := int(c - '0')
		for t.more() && t.rs[t.pos] >= '0' && t.rs[t.pos] <= '9' {
			next := n*10 + int(t.rs[t.pos]-'0')
			if next > len(t.groups) {
				break
			}
			n = next
			t.pos++
		}
		return t.backReference(n)
	case c < 0x80 && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'):
		return escaped{}, t.errorf(`illegal/unsupported escape sequence \%c: write %c without the backslash, or \\%c for a backslash and %c`, c, c, c, c)
	}
	return char(c)
}

func negated(s runeSet, neg bool) (escaped, error) {
	if neg {
		s = s.complement()
	}
	return escaped{set: s}, nil
}

// backReference writes a reference to group n; groups after it are numbered later, so the
// name is filled in at the end (translateJava).
func (t *translator) backReference(n int) (escaped, error) {
	if t.f.i {
		return escaped{}, fmt.Errorf(`a back reference under (?i) is not supported here: Java compares the text ignoring case character by character, which regexp2 cannot do the same way; turn (?i) off around it, e.g. (?-i:\%d), or write the alternatives out`, n)
	}
	if t.inLookBehind {
		return escaped{}, t.errorf("look-behind group does not have an obvious maximum length: Java allows no back reference in a look-behind")
	}
	t.hasRefs = true
	t.write(fmt.Sprintf("(?:\x00%d\x00)", n))
	return escaped{handled: true}, nil
}

func (t *translator) octal() (escaped, error) {
	digit := func(i int) (rune, bool) {
		if t.pos+i < len(t.rs) && t.rs[t.pos+i] >= '0' && t.rs[t.pos+i] <= '7' {
			return t.rs[t.pos+i] - '0', true
		}
		return 0, false
	}
	n, ok := digit(0)
	if !ok {
		return escaped{}, t.errorf(`illegal octal escape sequence: write \0 followed by 1 to 3 octal digits, e.g. \0101`)
	}
	t.pos++
	if m, ok := digit(0); ok {
		t.pos++
		if o, ok := digit(0); ok && n <= 3 {
			t.pos++
			return escaped{char: n*64 + m*8 + o, isChar: true}, nil
		}
		return escaped{char: n*8 + m, isChar: true}, nil
	}
	return escaped{char: n, isChar: true}, nil
}

func (t *translator) hexDigits(n int) (rune, bool) {
	if t.pos+n > len(t.rs) {
		return 0, false
	}
	v, err := strconv.ParseUint(string(t.rs[t.pos:t.pos+n]), 16, 32)
	if err != nil {
		return 0, false
	}
	t.pos += n
	return rune(v), true
}

func (t *translator) hex() (escaped, error) {
	if t.more() && t.rs[t.pos] == '{' {
		end := t.pos + 1
		for end < len(t.rs) && t.rs[end] != '}' {
			end++
		}
		v, err := strconv.ParseUint(string(t.rs[t.pos+1:end]), 16, 32)
		if end >= len(t.rs) || err != nil || end == t.pos+1 {
			return escaped{}, t.errorf(`illegal hexadecimal escape sequence: write \x{1F600}`)
		}
		if v > unicode.MaxRune {
			return escaped{}, t.errorf(`hexadecimal code point is bigger than 0x10FFFF`)
		}
		t.pos = end + 1
		return escaped{char: rune(v), isChar: true}, nil
	}
	if v, ok := t.hexDigits(2); ok {
		return escaped{char: v, isChar: true}, nil
	}
	return escaped{}, t.errorf(`illegal hexadecimal escape sequence: write \xhh or \x{h…h}`)
}

// unicodeEscape reads \uXXXX; a high surrogate followed by \u and a low surrogate is one
// character, as in Java.
func (t *translator) unicodeEscape() (escaped, error) {
	v, ok := t.hexDigits(4)
	if !ok {
		return escaped{}, t.errorf(`illegal Unicode escape sequence: write \u followed by 4 hex digits`)
	}
	if v >= 0xD800 && v <= 0xDBFF && t.pos+1 < len(t.rs) && t.rs[t.pos] == '\\' && t.rs[t.pos+1] == 'u' {
		save := t.pos
		t.pos += 2
		if lo, ok := t.hexDigits(4); ok && lo >= 0xDC00 && lo <= 0xDFFF {
			return escaped{char: 0x10000 + (v-0xD800)<<10 + (lo - 0xDC00), isChar: true}, nil
		}
		t.pos = save
	}
	return escaped{char: v, isChar: true}, nil
}

func (t *translator) propertyEscape(neg bool) (escaped, error) {
	var name string
	t.skipComments()
	switch {
	case !t.more():
		return escaped{}, t.errorf(`illegal character property: write \p{Name}`)
	case t.rs[t.pos] == '{':
		end := t.pos + 1
		for end < len(t.rs) && t.rs[end] != '}' {
			end++
		}
		if end >= len(t.rs) {
			return escaped{}, t.errorf("unclosed character family: add the }")
		}
		if end == t.pos+1 {
			return escaped{}, t.errorf("empty character family: write \\p{Name}")
		}
		name = string(t.rs[t.pos+1 : end])
		t.pos = end + 1
	default:
		name = string(t.rs[t.pos])
		t.pos++
	}
	s, native, err := property(name, t.f)
	if err != nil {
		return escaped{}, err
	}
	if native != "" {
		native = `\p{` + native + `}`
	}
	if neg {
		s = s.complement()
		if native != "" {
			native = `\P` + native[2:]
		}
	}
	return escaped{set: s, native: native}, nil
}
