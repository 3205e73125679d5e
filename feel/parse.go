package feel

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

type tokenKind int

const (
	tokNumber tokenKind = iota
	tokString
	tokIdent
	tokOp
)

type token struct {
	kind tokenKind
	text string
	at   int
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
		case c >= '0' && c <= '9' || c == '.' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9':
			j := i
			for j < len(s) && (s[j] >= '0' && s[j] <= '9' || s[j] == '.') {
				j++
			}
			p.toks = append(p.toks, token{tokNumber, s[i:j], i})
			i = j
		case c == '"':
			var b strings.Builder
			j := i + 1
			for ; j < len(s) && s[j] != '"'; j++ {
				if s[j] == '\\' && j+1 < len(s) {
					j++
					switch s[j] {
					case 'n':
						b.WriteByte('\n')
					case 't':
						b.WriteByte('\t')
					case 'r':
						b.WriteByte('\r')
					default:
						b.WriteByte(s[j])
					}
					continue
				}
				b.WriteByte(s[j])
			}
			if j >= len(s) {
				return fmt.Errorf("unterminated string at offset %d", i)
			}
			p.toks = append(p.toks, token{tokString, b.String(), i})
			i = j + 1
		case c == '_' || c == '$' || unicode.IsLetter(c):
			j := i
			for j < len(s) && (s[j] == '_' || s[j] == '$' || s[j] >= 0x80 || unicode.IsLetter(rune(s[j])) || unicode.IsDigit(rune(s[j]))) {
				j++
			}
			p.toks = append(p.toks, token{tokIdent, s[i:j], i})
			i = j
		default:
			op := ""
			for _, cand := range []string{"!=", "<=", ">=", "=", "<", ">", "+", "-", "*", "/", "(", ")", ".", "[", "]", "{", "}", ",", ":"} {
				if strings.HasPrefix(s[i:], cand) {
					op = cand
					break
				}
			}
			if op == "" {
				return fmt.Errorf("unsupported character %q at offset %d", c, i)
			}
			p.toks = append(p.toks, token{tokOp, op, i})
			i += len(op)
		}
	}
	return nil
}

func (p *parser) peek() (token, bool) {
	if p.pos < len(p.toks) {
		return p.toks[p.pos], true
	}
	return token{}, false
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
	if t, ok := p.peek(); ok {
		return fmt.Errorf("expected %q at offset %d, found %q", op, t.at, t.text)
	}
	return fmt.Errorf("expected %q at end of expression", op)
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
	return left, nil
}

func (p *parser) parseAdditive() (node, error) {
	left, err := p.parseMultiplicative()
	for err == nil {
		op, ok := p.acceptOp("+", "-")
		if !ok {
			break
		}
		var right node
		right, err = p.parseMultiplicative()
		left = arithNode{op: op, left: left, right: right}
	}
	return left, err
}

func (p *parser) parseMultiplicative() (node, error) {
	left, err := p.parseUnary()
	for err == nil {
		op, ok := p.acceptOp("*", "/")
		if !ok {
			break
		}
		var right node
		right, err = p.parseUnary()
		left = arithNode{op: op, left: left, right: right}
	}
	return left, err
}

func (p *parser) parseUnary() (node, error) {
	if _, ok := p.acceptOp("-"); ok {
		operand, err := p.parseUnary()
		return arithNode{op: "-", left: literalNode{value: float64(0)}, right: operand}, err
	}
	return p.parsePostfix()
}

func (p *parser) parsePostfix() (node, error) {
	n, err := p.parsePrimary()
	for err == nil {
		if _, ok := p.acceptOp("."); ok {
			t, ok := p.peek()
			if !ok || t.kind != tokIdent {
				return nil, fmt.Errorf("expected a name after '.'")
			}
			p.pos++
			n = pathNode{base: n, field: t.text}
			continue
		}
		if _, ok := p.acceptOp("["); ok {
			var idx node
			if idx, err = p.parseOr(); err != nil {
				return nil, err
			}
			if err = p.expectOp("]"); err != nil {
				return nil, err
			}
			n = indexNode{base: n, index: idx}
			continue
		}
		break
	}
	return n, err
}

func (p *parser) parsePrimary() (node, error) {
	t, ok := p.peek()
	if !ok {
		return nil, fmt.Errorf("unexpected end of expression")
	}
	p.pos++
	switch t.kind {
	case tokNumber:
		f, err := strconv.ParseFloat(t.text, 64)
		if err != nil {
			return nil, fmt.Errorf("bad number %q", t.text)
		}
		return literalNode{value: json.Number(strconv.FormatFloat(f, 'f', -1, 64))}, nil
	case tokString:
		return literalNode{value: t.text}, nil
	case tokIdent:
		switch t.text {
		case "true":
			return literalNode{value: true}, nil
		case "false":
			return literalNode{value: false}, nil
		case "null":
			return literalNode{value: nil}, nil
		case "and", "or":
			return nil, fmt.Errorf("unexpected %q at offset %d", t.text, t.at)
		case "not":
			if err := p.expectOp("("); err != nil {
				return nil, err
			}
			inner, err := p.parseOr()
			if err != nil {
				return nil, err
			}
			return notNode{inner: inner}, p.expectOp(")")
		}
		if next, ok := p.peek(); ok && next.kind == tokOp && next.text == "(" {
			return nil, fmt.Errorf("function %s() is not supported", t.text)
		}
		return varNode{name: t.text}, nil
	case tokOp:
		switch t.text {
		case "(":
			inner, err := p.parseOr()
			if err != nil {
				return nil, err
			}
			return inner, p.expectOp(")")
		case "[":
			var list listNode
			err := p.parseSequence("]", func() error {
				item, err := p.parseOr()
				list.items = append(list.items, item)
				return err
			})
			return list, err
		case "{":
			var ctx contextNode
			err := p.parseSequence("}", func() error {
				key, ok := p.peek()
				if !ok || (key.kind != tokIdent && key.kind != tokString) {
					return fmt.Errorf("expected a context key")
				}
				p.pos++
				if err := p.expectOp(":"); err != nil {
					return err
				}
				value, err := p.parseOr()
				ctx.keys = append(ctx.keys, key.text)
				ctx.values = append(ctx.values, value)
				return err
			})
			return ctx, err
		}
	}
	return nil, fmt.Errorf("unexpected %q at offset %d", t.text, t.at)
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
