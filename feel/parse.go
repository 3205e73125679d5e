package feel

import (
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

type tokenKind int

const (
	tokNumber tokenKind = iota
	tokString
	tokTemporal // @"..."
	tokIdent
	tokOp
)

type token struct {
	kind tokenKind
	text string
	at   int
}

// keywords end a multi-word function name or context key; the unsupported ones are
// rejected by name.
var keywords = map[string]bool{
	"and": true, "or": true, "if": true, "then": true, "else": true, "between": true,
	"for": true, "some": true, "every": true, "in": true, "return": true, "satisfies": true,
	"instance": true, "of": true, "function": true,
}

var unsupportedKeywords = map[string]string{
	"for":       "'for' loops",
	"some":      "'some … satisfies' quantifiers",
	"every":     "'every … satisfies' quantifiers",
	"in":        "'in' unary tests",
	"return":    "'for' loops",
	"satisfies": "quantifiers",
	"instance":  "'instance of'",
	"of":        "'instance of'",
	"function":  "function definitions",
}

// keywordFunctions are FEEL's built-ins (outside the subset) whose names contain keywords, so
// that they are rejected by name.
var keywordFunctions = map[string]bool{
	"date and time": true, "years and months duration": true, "day of year": true,
	"day of week": true, "month of year": true, "week of year": true, "last day of month": true,
}

type parser struct {
	src  string
	toks []token
	pos  int
}

func (p *parser) tokenize() error {
	s := p.src
	for i := 0; i < len(s); {
		c := rune(s[i])
		switch {
		case unicode.IsSpace(c):
			i++
		case strings.HasPrefix(s[i:], "//") || strings.HasPrefix(s[i:], "/*"):
			return fmt.Errorf("comments are not supported (offset %d)", i)
		case c >= '0' && c <= '9' || c == '.' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9':
			j := i
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			if j+1 < len(s) && s[j] == '.' && s[j+1] >= '0' && s[j+1] <= '9' {
				j++
				for j < len(s) && s[j] >= '0' && s[j] <= '9' {
					j++
				}
			}
			p.toks = append(p.toks, token{tokNumber, s[i:j], i})
			i = j
		case c == '"' || c == '@' && i+1 < len(s) && s[i+1] == '"':
			kind, start := tokString, i+1
			if c == '@' {
				kind, start = tokTemporal, i+2
			}
			text, end, err := readString(s, start)
			if err != nil {
				return err
			}
			p.toks = append(p.toks, token{kind, text, i})
			i = end
		case c == '_' || c == '$' || c == '?' || unicode.IsLetter(c) || c >= 0x80:
			j := i
			for j < len(s) && (s[j] == '_' || s[j] == '$' || s[j] == '?' || s[j] >= 0x80 || unicode.IsLetter(rune(s[j])) || unicode.IsDigit(rune(s[j]))) {
				j++
			}
			p.toks = append(p.toks, token{tokIdent, s[i:j], i})
			i = j
		default:
			op := ""
			for _, cand := range []string{"..", "**", "!=", "<=", ">=", "=", "<", ">", "+", "-", "*", "/", "(", ")", ".", "[", "]", "{", "}", ",", ":"} {
				if strings.HasPrefix(s[i:], cand) {
					op = cand
					break
				}
			}
			switch {
			case strings.HasPrefix(s[i:], "=="):
				return fmt.Errorf("'==' at offset %d is not FEEL: compare with a single '='", i)
			case strings.HasPrefix(s[i:], "&&") || strings.HasPrefix(s[i:], "||"):
				return fmt.Errorf("%q at offset %d is not FEEL: use 'and' and 'or'", s[i:i+2], i)
			}
			switch op {
			case "":
				return fmt.Errorf("unsupported character %q at offset %d", c, i)
			case "..":
				return fmt.Errorf("ranges (a..b) are not supported (offset %d)", i)
			}
			p.toks = append(p.toks, token{tokOp, op, i})
			i += len(op)
		}
	}
	return nil
}

// readString reads a string literal's body from start (past the opening quote) and returns it
// unescaped with the offset after the closing quote.
func readString(s string, start int) (string, int, error) {
	var b strings.Builder
	for j := start; j < len(s); j++ {
		switch s[j] {
		case '"':
			return b.String(), j + 1, nil
		case '\\':
			if j+1 >= len(s) {
				break
			}
			j++
			switch s[j] {
			case 'n':
				b.WriteByte('\n')
			case 't':
				b.WriteByte('\t')
			case 'r':
				b.WriteByte('\r')
			case 'u':
				if j+4 < len(s) {
					if r, err := strconv.ParseUint(s[j+1:j+5], 16, 32); err == nil {
						b.WriteRune(rune(r))
						j += 4
						continue
					}
				}
				return "", 0, fmt.Errorf(`bad \u escape at offset %d`, j-1)
			default:
				b.WriteByte(s[j])
			}
		default:
			b.WriteByte(s[j])
		}
	}
	return "", 0, fmt.Errorf("unterminated string at offset %d", start-1)
}

func (p *parser) peek() (token, bool) {
	if p.pos < len(p.toks) {
		return p.toks[p.pos], true
	}
	return token{}, false
}

func (p *parser) peekOp(op string) bool {
	t, ok := p.peek()
	return ok && t.kind == tokOp && t.text == op
}

func (p *parser) acceptOp(ops ...string) (string, bool) {
	t, ok := p.peek()
	if !ok || t.kind != tokOp {
		return "", false
	}
	for _, op := range ops {
		if t.text == op {
			p.pos++
			return op, true
		}
	}
	return "", false
}

func (p *parser) acceptKeyword(kw string) bool {
	t, ok := p.peek()
	if ok && t.kind == tokIdent && t.text == kw {
		p.pos++
		return true
	}
	return false
}

func (p *parser) expectOp(op string) error {
	if _, ok := p.acceptOp(op); ok {
		return nil
	}
	return p.expected(fmt.Sprintf("%q", op))
}

func (p *parser) expectKeyword(kw string) error {
	if p.acceptKeyword(kw) {
		return nil
	}
	return p.expected(fmt.Sprintf("%q", kw))
}

func (p *parser) expected(what string) error {
	if t, ok := p.peek(); ok {
		return fmt.Errorf("expected %s at offset %d, found %q", what, t.at, t.text)
	}
	return fmt.Errorf("expected %s at end of expression", what)
}

// unexpected reports the current token, naming it when it starts an unsupported construct.
func (p *parser) unexpected() error {
	t, ok := p.peek()
	if !ok {
		return fmt.Errorf("unexpected end of expression")
	}
	if t.kind == tokIdent {
		if what, ok := unsupportedKeywords[t.text]; ok {
			return fmt.Errorf("%s are not supported (offset %d)", what, t.at)
		}
	}
	return fmt.Errorf("unexpected %q at offset %d", t.text, t.at)
}

func (p *parser) parseExpr() (node, error) {
	return p.parseOr()
}

func (p *parser) parseOr() (node, error) {
	left, err := p.parseAnd()
	for err == nil && p.acceptKeyword("or") {
		var right node
		right, err = p.parseAnd()
		left = logicNode{or: true, left: left, right: right}
	}
	return left, err
}

func (p *parser) parseAnd() (node, error) {
	left, err := p.parseComparison()
	for err == nil && p.acceptKeyword("and") {
		var right node
		right, err = p.parseComparison()
		left = logicNode{left: left, right: right}
	}
	return left, err
}

func (p *parser) parseComparison() (node, error) {
	left, err := p.parseAdditive()
	if err != nil {
		return nil, err
	}
	if op, ok := p.acceptOp("=", "!=", "<", ">", "<=", ">="); ok {
		right, err := p.parseAdditive()
		return compareNode{op: op, left: left, right: right}, err
	}
	if p.acceptKeyword("between") {
		low, err := p.parseAdditive()
		if err != nil {
			return nil, err
		}
		if err := p.expectKeyword("and"); err != nil {
			return nil, err
		}
		high, err := p.parseAdditive()
		return logicNode{left: compareNode{op: ">=", left: left, right: low}, right: compareNode{op: "<=", left: left, right: high}}, err
	}
	return left, nil
}

func (p *parser) parseAdditive() (node, error) {
	return p.parseArith(p.parseMultiplicative, "+", "-")
}

func (p *parser) parseMultiplicative() (node, error) {
	return p.parseArith(p.parsePower, "*", "/")
}

func (p *parser) parsePower() (node, error) {
	return p.parseArith(p.parseUnary, "**")
}

// parseArith parses operands (operand, of the next higher precedence) joined by ops, left
// associative.
func (p *parser) parseArith(operand func() (node, error), ops ...string) (node, error) {
	left, err := operand()
	for err == nil {
		op, ok := p.acceptOp(ops...)
		if !ok {
			break
		}
		var right node
		right, err = operand()
		left = arithNode{op: op, left: left, right: right}
	}
	return left, err
}

func (p *parser) parseUnary() (node, error) {
	if _, ok := p.acceptOp("-"); ok {
		operand, err := p.parseUnary()
		return negNode{operand: operand}, err
	}
	return p.parsePostfix()
}

func (p *parser) parsePostfix() (node, error) {
	n, err := p.parsePrimary()
	for err == nil {
		if _, ok := p.acceptOp("."); ok {
			t, ok := p.peek()
			if !ok || t.kind != tokIdent {
				return nil, p.expected("a name after '.'")
			}
			p.pos++
			n = pathNode{base: n, field: t.text}
			continue
		}
		if _, ok := p.acceptOp("["); ok {
			var f node
			if f, err = p.parseExpr(); err != nil {
				return nil, err
			}
			if err = p.expectOp("]"); err != nil {
				return nil, err
			}
			n = filterNode{base: n, filter: f}
			continue
		}
		if p.peekOp("(") {
			return nil, fmt.Errorf("only built-in functions can be called (offset %d)", p.toks[p.pos].at)
		}
		break
	}
	return n, err
}

func (p *parser) parsePrimary() (node, error) {
	t, ok := p.peek()
	if !ok {
		return nil, p.unexpected()
	}
	switch t.kind {
	case tokNumber:
		p.pos++
		f, err := strconv.ParseFloat(t.text, 64)
		if err != nil {
			return nil, fmt.Errorf("bad number %q at offset %d", t.text, t.at)
		}
		return literalNode{value: number(f)}, nil
	case tokString:
		p.pos++
		return literalNode{value: t.text}, nil
	case tokTemporal:
		p.pos++
		d, err := parseDuration(t.text)
		if err != nil {
			return nil, fmt.Errorf("temporal literal @%q at offset %d: %w (only durations such as @\"PT30S\" are supported)", t.text, t.at, err)
		}
		return literalNode{value: d}, nil
	case tokIdent:
		return p.parseName()
	case tokOp:
		switch t.text {
		case "(":
			p.pos++
			inner, err := p.parseExpr()
			if err != nil {
				return nil, err
			}
			return inner, p.expectOp(")")
		case "[":
			p.pos++
			var list listNode
			err := p.parseSequence("]", func() error {
				item, err := p.parseExpr()
				list.items = append(list.items, item)
				return err
			})
			return list, err
		case "{":
			p.pos++
			return p.parseContext()
		}
	}
	return nil, p.unexpected()
}

// parseName parses what starts with a name: a literal keyword, an if expression, a function
// call (whose name may have several words: string length(x)) or a variable.
func (p *parser) parseName() (node, error) {
	t := p.toks[p.pos]
	switch t.text {
	case "true", "false":
		p.pos++
		return literalNode{value: t.text == "true"}, nil
	case "null":
		p.pos++
		return literalNode{value: nil}, nil
	case "if":
		p.pos++
		return p.parseIf()
	}
	if keywords[t.text] {
		return nil, p.unexpected()
	}
	// A run of names followed by "(" is a function call: the longest that names a FEEL
	// function (its words may be keywords: get or else), else the run up to the first keyword.
	end := p.pos
	for end < len(p.toks) && p.toks[end].kind == tokIdent {
		end++
	}
	for e := end; e > p.pos; e-- {
		if name := p.words(e); (builtins[name] != nil || keywordFunctions[name]) && e < len(p.toks) && p.toks[e].kind == tokOp && p.toks[e].text == "(" {
			p.pos = e + 1
			return p.parseCall(name, t.at)
		}
	}
	end = p.pos
	for end < len(p.toks) && p.toks[end].kind == tokIdent && !keywords[p.toks[end].text] {
		end++
	}
	if end < len(p.toks) && p.toks[end].kind == tokOp && p.toks[end].text == "(" {
		name := p.words(end)
		p.pos = end + 1
		return p.parseCall(name, t.at)
	}
	p.pos++
	return varNode{name: t.text}, nil
}

// words joins the names from the current token up to end.
func (p *parser) words(end int) string {
	words := make([]string, 0, end-p.pos)
	for _, w := range p.toks[p.pos:end] {
		words = append(words, w.text)
	}
	return strings.Join(words, " ")
}

func (p *parser) parseIf() (node, error) {
	cond, err := p.parseExpr()
	if err != nil {
		return nil, err
	}
	if err := p.expectKeyword("then"); err != nil {
		return nil, err
	}
	then, err := p.parseExpr()
	if err != nil {
		return nil, err
	}
	if err := p.expectKeyword("else"); err != nil {
		return nil, err
	}
	els, err := p.parseExpr()
	return ifNode{cond: cond, then: then, els: els}, err
}

// parseCall parses a built-in function's arguments (past the "(") and checks its arity.
func (p *parser) parseCall(name string, at int) (node, error) {
	fn, ok := builtins[name]
	if !ok {
		return nil, fmt.Errorf("FEEL function %s() is not supported (offset %d); supported: %s", name, at, supportedFunctions())
	}
	var args []node
	err := p.parseSequence(")", func() error {
		if t, ok := p.peek(); ok && t.kind == tokIdent && p.pos+1 < len(p.toks) && p.toks[p.pos+1].text == ":" {
			return fmt.Errorf("named arguments are not supported (%s(%s: …) at offset %d)", name, t.text, t.at)
		}
		arg, err := p.parseExpr()
		args = append(args, arg)
		return err
	})
	if err != nil {
		return nil, err
	}
	if len(args) < fn.minArgs || fn.maxArgs >= 0 && len(args) > fn.maxArgs {
		return nil, fmt.Errorf("FEEL function %s() takes %s, not %d (offset %d)", name, fn.arity(), len(args), at)
	}
	return callNode{name: name, fn: fn, args: args}, nil
}

// parseContext parses a context literal's entries (past the "{"). A key is a name (of one or
// more words) or a string.
func (p *parser) parseContext() (node, error) {
	var ctx contextNode
	err := p.parseSequence("}", func() error {
		t, ok := p.peek()
		var key string
		switch {
		case ok && t.kind == tokString:
			key = t.text
			p.pos++
		case ok && t.kind == tokIdent:
			var words []string
			for t, ok := p.peek(); ok && t.kind == tokIdent; t, ok = p.peek() {
				words = append(words, t.text)
				p.pos++
			}
			key = strings.Join(words, " ")
		default:
			return p.expected("a context key (a name or a string)")
		}
		if err := p.expectOp(":"); err != nil {
			return err
		}
		value, err := p.parseExpr()
		ctx.keys = append(ctx.keys, key)
		ctx.values = append(ctx.values, value)
		return err
	})
	return ctx, err
}

// parseSequence parses comma-separated items up to the closing op (already past the opening).
func (p *parser) parseSequence(closing string, item func() error) error {
	if _, ok := p.acceptOp(closing); ok {
		return nil
	}
	for {
		if err := item(); err != nil {
			return err
		}
		if _, ok := p.acceptOp(","); !ok {
			return p.expectOp(closing)
		}
	}
}
