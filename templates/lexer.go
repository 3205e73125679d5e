package templates

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// chunkKind classifies the pieces a Freemarker template is cut into before parsing.
type chunkKind int

const (
	chunkText      chunkKind = iota
	chunkInterp              // ${ ... }
	chunkDirective           // <#name ...> or <#name .../>
	chunkEnd                 // </#name>
	chunkComment             // <#-- ... -->
)

type tokKind int

const (
	tokEOF tokKind = iota
	tokNum
	tokStr
	tokIdent
	tokOp
)

type token struct {
	kind tokKind
	val  string // operator, identifier, number text or decoded string
	off  int    // byte offset in the template
}

type chunk struct {
	kind       chunkKind
	start, end int    // byte offsets in the template, end exclusive
	text       string // text chunks: the text; directives: the name
	toks       []token
	selfClose  bool // <#name .../>
	nameOff    int
	assigns    int // <#assign>: number of names assigned
}

// source locates byte offsets as line/column for error messages.
type source struct {
	field string
	src   string
}

func (s *source) pos(off int) (line, col int) {
	if off > len(s.src) {
		off = len(s.src)
	}
	before := s.src[:off]
	line = strings.Count(before, "\n") + 1
	col = utf8.RuneCountInString(before[strings.LastIndexByte(before, '\n')+1:]) + 1
	return line, col
}

func (s *source) errorf(off int, format string, args ...any) error {
	line, col := s.pos(off)
	return invalid(s.field, "compile %s: line %d, column %d: %s", s.field, line, col, fmt.Sprintf(format, args...))
}

// scan cuts the template into chunks, lexing the expressions inside tags so that a ">" or "}"
// inside a string literal does not end the tag.
func (s *source) scan() ([]chunk, error) {
	src := s.src
	var out []chunk
	textStart := 0
	flush := func(end int) {
		if end > textStart {
			out = append(out, chunk{kind: chunkText, start: textStart, end: end, text: src[textStart:end]})
		}
	}
	i := 0
	for i < len(src) {
		c := src[i]
		switch {
		case c == '$' && strings.HasPrefix(src[i:], "${"):
			flush(i)
			toks, end, err := s.lexExpr(i+2, '}')
			if err != nil {
				return nil, err
			}
			out = append(out, chunk{kind: chunkInterp, start: i, end: end, toks: toks})
			i, textStart = end, end
			continue
		case c == '#' && strings.HasPrefix(src[i:], "#{"):
			return nil, s.errorf(i, "#{...} numeric interpolation is not supported: write ${...} instead")
		case c == '<' && strings.HasPrefix(src[i:], "<#--"):
			flush(i)
			j := strings.Index(src[i+4:], "-->")
			if j < 0 {
				return nil, s.errorf(i, "comment <#-- is not closed: add -->")
			}
			end := i + 4 + j + 3
			out = append(out, chunk{kind: chunkComment, start: i, end: end})
			i, textStart = end, end
			continue
		case c == '<' && strings.HasPrefix(src[i:], "<#") && i+2 < len(src) && isNameStart(src[i+2]):
			flush(i)
			name := readName(src[i+2:])
			toks, end, self, err := s.lexDirective(i + 2 + len(name))
			if err != nil {
				return nil, err
			}
			out = append(out, chunk{kind: chunkDirective, start: i, end: end, text: name, toks: toks, selfClose: self, nameOff: i + 2})
			i, textStart = end, end
			continue
		case c == '<' && strings.HasPrefix(src[i:], "</#") && i+3 < len(src) && isNameStart(src[i+3]):
			flush(i)
			name := readName(src[i+3:])
			j := i + 3 + len(name)
			for j < len(src) && isSpace(src[j]) {
				j++
			}
			if j >= len(src) || src[j] != '>' {
				return nil, s.errorf(i, "end tag </#%s is not closed: add >", name)
			}
			out = append(out, chunk{kind: chunkEnd, start: i, end: j + 1, text: name, nameOff: i + 3})
			i, textStart = j+1, j+1
			continue
		case c == '<' && (strings.HasPrefix(src[i:], "<@") || strings.HasPrefix(src[i:], "</@")):
			return nil, s.errorf(i, "macro calls (<@...>) are not supported: use ${...}, <#if>, <#list> and <#assign>")
		}
		i++
	}
	flush(len(src))
	return out, nil
}

func isNameStart(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func readName(s string) string {
	i := 0
	for i < len(s) && (isNameStart(s[i]) || s[i] >= '0' && s[i] <= '9') {
		i++
	}
	return s[:i]
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// lexDirective lexes a directive's parameters up to its closing ">" or "/>". As in Freemarker,
// a ">" outside parentheses closes the tag: write (a > b) or a gt b.
func (s *source) lexDirective(i int) ([]token, int, bool, error) {
	var toks []token
	depth := 0
	for {
		t, next, err := s.lexToken(i)
		if err != nil {
			return nil, 0, false, err
		}
		switch {
		case t.kind == tokEOF:
			return nil, 0, false, s.errorf(i, "directive is not closed: add >")
		case t.kind == tokOp && (t.val == ">" || t.val == ">=") && depth == 0:
			return toks, t.off + 1, false, nil
		case t.kind == tokOp && t.val == "/" && depth == 0 && strings.HasPrefix(s.src[t.off:], "/>"):
			return toks, t.off + 2, true, nil
		case t.kind == tokOp && (t.val == "(" || t.val == "["):
			depth++
		case t.kind == tokOp && (t.val == ")" || t.val == "]"):
			depth--
		}
		toks = append(toks, t)
		i = next
	}
}

// lexExpr lexes an interpolation's expression up to its closing "}".
func (s *source) lexExpr(i int, closer byte) ([]token, int, error) {
	var toks []token
	start := i
	for {
		t, next, err := s.lexToken(i)
		if err != nil {
			return nil, 0, err
		}
		if t.kind == tokEOF {
			return nil, 0, s.errorf(start-2, "${ is not closed: add }")
		}
		if t.kind == tokOp && t.val == string(closer) {
			return toks, next, nil
		}
		toks = append(toks, t)
		i = next
	}
}

var operators = []string{
	"??", "==", "!=", "<=", ">=", "&&", "||", "..", "+=", "-=", "*=", "/=", "%=", "++", "--",
	"+", "-", "*", "/", "%", "=", "<", ">", "!", "?", ".", "[", "]", "(", ")", ",", "{", "}", ":", ";", "&", "|", "@", "#",
}

// lexToken reads one expression token at byte offset i.
func (s *source) lexToken(i int) (token, int, error) {
	src := s.src
	for i < len(src) && isSpace(src[i]) {
		i++
	}
	if strings.HasPrefix(src[i:], "<#--") || strings.HasPrefix(src[i:], "<!--") {
		return token{}, 0, s.errorf(i, "comments inside tags are not supported")
	}
	if i >= len(src) {
		return token{kind: tokEOF, off: i}, i, nil
	}
	c := src[i]
	switch {
	case c >= '0' && c <= '9':
		j := i
		for j < len(src) && src[j] >= '0' && src[j] <= '9' {
			j++
		}
		if j+1 < len(src) && src[j] == '.' && src[j+1] >= '0' && src[j+1] <= '9' {
			j++
			for j < len(src) && src[j] >= '0' && src[j] <= '9' {
				j++
			}
		}
		return token{kind: tokNum, val: src[i:j], off: i}, j, nil
	case c == '"' || c == '\'':
		return s.lexString(i, false)
	case c == 'r' && i+1 < len(src) && (src[i+1] == '"' || src[i+1] == '\''):
		return s.lexString(i+1, true)
	}
	r, size := utf8.DecodeRuneInString(src[i:])
	if isIdentStart(r) {
		j := i + size
		for j < len(src) {
			r, size := utf8.DecodeRuneInString(src[j:])
			if !isIdentPart(r) {
				break
			}
			j += size
		}
		return token{kind: tokIdent, val: src[i:j], off: i}, j, nil
	}
	if c == '\\' {
		return token{}, 0, s.errorf(i, "backslash escapes in names are not supported")
	}
	for _, op := range operators {
		if strings.HasPrefix(src[i:], op) {
			return token{kind: tokOp, val: op, off: i}, i + len(op), nil
		}
	}
	return token{}, 0, s.errorf(i, "unexpected character %q", r)
}

func isIdentStart(r rune) bool {
	return r == '_' || r == '$' || unicode.IsLetter(r)
}

func isIdentPart(r rune) bool {
	return isIdentStart(r) || unicode.IsDigit(r)
}

// lexString reads a string literal starting at its quote; raw strings (r"...") keep backslashes.
func (s *source) lexString(i int, raw bool) (token, int, error) {
	src := s.src
	q := src[i]
	start := i
	if raw {
		start = i - 1
	}
	var b strings.Builder
	j := i + 1
	for j < len(src) {
		c := src[j]
		if c == q {
			return token{kind: tokStr, val: b.String(), off: start}, j + 1, nil
		}
		if !raw && (c == '$' || c == '#') && j+1 < len(src) && src[j+1] == '{' {
			return token{}, 0, s.errorf(j, "interpolation inside a string literal is not supported: concatenate with + instead")
		}
		if !raw && c == '\\' {
			if j+1 >= len(src) {
				break
			}
			e := src[j+1]
			switch e {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case 'f':
				b.WriteByte('\f')
			case 'b':
				b.WriteByte('\b')
			case 'l':
				b.WriteByte('<')
			case 'g':
				b.WriteByte('>')
			case 'a':
				b.WriteByte('&')
			case '"', '\'', '\\', '{', '=':
				b.WriteByte(e)
			case 'x':
				k := j + 2
				var v rune
				for k < len(src) && k < j+6 && isHex(src[k]) {
					v = v*16 + rune(hexVal(src[k]))
					k++
				}
				if k == j+2 {
					return token{}, 0, s.errorf(j, `\x must be followed by hexadecimal digits`)
				}
				b.WriteRune(v)
				j = k
				continue
			default:
				return token{}, 0, s.errorf(j, "unknown escape sequence \\%c in string literal", e)
			}
			j += 2
			continue
		}
		b.WriteByte(c)
		j++
	}
	return token{}, 0, s.errorf(start, "string literal is not closed: add %c", q)
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	}
	return int(c-'A') + 10
}
