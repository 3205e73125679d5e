package engine

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
)

// The FEEL subset of the dev engine: literals (numbers, "strings", true, false, null, lists
// [a, b] and contexts {key: value, "other key": value}), variable paths (a.b.c, list[1] with
// FEEL's 1-based indexes), comparisons (= != < > <= >=), and, or, not(...), arithmetic
// (+ - * /, + also concatenates strings) and parentheses. As in FEEL, a
// missing variable or a type mismatch yields null instead of failing; callers decide what null
// means (a condition that is not a boolean raises an incident, as in Zeebe).
//
// An expression is FEEL only when it starts with "="; otherwise it is a static string value,
// which is how Zeebe reads mapping sources, correlation keys and task types.

// expression is a compiled expression or static value.
type expression struct {
	src    string
	static bool
	value  string // static value
	root   feelNode
}

// lookup resolves a top-level variable name.
type lookup func(name string) (any, bool)

func compileExpression(src string) (*expression, error) {
	trimmed := strings.TrimSpace(src)
	if !strings.HasPrefix(trimmed, "=") {
		return &expression{src: src, static: true, value: src}, nil
	}
	p := &feelParser{src: trimmed[1:]}
	err := p.tokenize()
	var root feelNode
	if err == nil {
		root, err = p.parseOr()
	}
	if err == nil && p.pos < len(p.toks) {
		err = fmt.Errorf("unexpected %q at offset %d", p.toks[p.pos].text, p.toks[p.pos].at)
	}
	if err != nil {
		return nil, fmt.Errorf("expression %q is outside the dev engine's FEEL subset: %w", src, err)
	}
	return &expression{src: src, root: root}, nil
}

func (x *expression) eval(vars lookup) any {
	if x.static {
		return x.value
	}
	return x.root.eval(vars)
}

// String returns the expression as written.
func (x *expression) String() string { return x.src }

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

type feelParser struct {
	src  string
	toks []token
	pos  int
}

func (p *feelParser) tokenize() error {
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

func (p *feelParser) peek() (token, bool) {
	if p.pos < len(p.toks) {
		return p.toks[p.pos], true
	}
	return token{}, false
}

func (p *feelParser) acceptOp(ops ...string) (string, bool) {
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

func (p *feelParser) acceptKeyword(kw string) bool {
	t, ok := p.peek()
	if ok && t.kind == tokIdent && t.text == kw {
		p.pos++
		return true
	}
	return false
}

func (p *feelParser) expectOp(op string) error {
	if _, ok := p.acceptOp(op); ok {
		return nil
	}
	if t, ok := p.peek(); ok {
		return fmt.Errorf("expected %q at offset %d, found %q", op, t.at, t.text)
	}
	return fmt.Errorf("expected %q at end of expression", op)
}

func (p *feelParser) parseOr() (feelNode, error) {
	left, err := p.parseAnd()
	for err == nil && p.acceptKeyword("or") {
		var right feelNode
		right, err = p.parseAnd()
		left = logicNode{or: true, left: left, right: right}
	}
	return left, err
}

func (p *feelParser) parseAnd() (feelNode, error) {
	left, err := p.parseComparison()
	for err == nil && p.acceptKeyword("and") {
		var right feelNode
		right, err = p.parseComparison()
		left = logicNode{left: left, right: right}
	}
	return left, err
}

func (p *feelParser) parseComparison() (feelNode, error) {
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

func (p *feelParser) parseAdditive() (feelNode, error) {
	left, err := p.parseMultiplicative()
	for err == nil {
		op, ok := p.acceptOp("+", "-")
		if !ok {
			break
		}
		var right feelNode
		right, err = p.parseMultiplicative()
		left = arithNode{op: op, left: left, right: right}
	}
	return left, err
}

func (p *feelParser) parseMultiplicative() (feelNode, error) {
	left, err := p.parseUnary()
	for err == nil {
		op, ok := p.acceptOp("*", "/")
		if !ok {
			break
		}
		var right feelNode
		right, err = p.parseUnary()
		left = arithNode{op: op, left: left, right: right}
	}
	return left, err
}

func (p *feelParser) parseUnary() (feelNode, error) {
	if _, ok := p.acceptOp("-"); ok {
		operand, err := p.parseUnary()
		return arithNode{op: "-", left: literalNode{value: float64(0)}, right: operand}, err
	}
	return p.parsePostfix()
}

func (p *feelParser) parsePostfix() (feelNode, error) {
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
			var idx feelNode
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

func (p *feelParser) parsePrimary() (feelNode, error) {
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
func (p *feelParser) parseSequence(closing string, item func() error) error {
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

type feelNode interface {
	eval(vars lookup) any
}

type literalNode struct{ value any }

func (n literalNode) eval(lookup) any { return n.value }

type varNode struct{ name string }

func (n varNode) eval(vars lookup) any {
	v, _ := vars(n.name)
	return v
}

type listNode struct{ items []feelNode }

func (n listNode) eval(vars lookup) any {
	out := make([]any, len(n.items))
	for i, item := range n.items {
		out[i] = item.eval(vars)
	}
	return out
}

type contextNode struct {
	keys   []string
	values []feelNode
}

func (n contextNode) eval(vars lookup) any {
	out := make(map[string]any, len(n.keys))
	for i, k := range n.keys {
		out[k] = n.values[i].eval(vars)
	}
	return out
}

type pathNode struct {
	base  feelNode
	field string
}

func (n pathNode) eval(vars lookup) any {
	if m, ok := n.base.eval(vars).(map[string]any); ok {
		return m[n.field]
	}
	return nil
}

type indexNode struct{ base, index feelNode }

func (n indexNode) eval(vars lookup) any {
	list, ok := n.base.eval(vars).([]any)
	if !ok {
		return nil
	}
	f, ok := toFloat(n.index.eval(vars))
	if !ok || f != math.Trunc(f) {
		return nil
	}
	i := int(f)
	if i < 0 {
		i = len(list) + i + 1
	}
	if i < 1 || i > len(list) {
		return nil
	}
	return list[i-1]
}

type notNode struct{ inner feelNode }

func (n notNode) eval(vars lookup) any {
	if b, ok := n.inner.eval(vars).(bool); ok {
		return !b
	}
	return nil
}

// logicNode is FEEL's three-valued and/or: a non-boolean operand counts as null.
type logicNode struct {
	or          bool
	left, right feelNode
}

func (n logicNode) eval(vars lookup) any {
	l, lok := n.left.eval(vars).(bool)
	r, rok := n.right.eval(vars).(bool)
	decisive := n.or // "or" is decided by a true operand, "and" by a false one
	if (lok && l == decisive) || (rok && r == decisive) {
		return decisive
	}
	if lok && rok {
		return !decisive
	}
	return nil
}

type compareNode struct {
	op          string
	left, right feelNode
}

func (n compareNode) eval(vars lookup) any {
	l, r := n.left.eval(vars), n.right.eval(vars)
	if l == nil || r == nil {
		switch n.op {
		case "=":
			return l == nil && r == nil
		case "!=":
			return !(l == nil && r == nil)
		}
		return nil
	}
	var c int
	lf, lnum := toFloat(l)
	rf, rnum := toFloat(r)
	switch {
	case lnum && rnum:
		c = cmpOrdered(lf, rf)
	case isString(l) && isString(r):
		c = strings.Compare(l.(string), r.(string))
	default:
		equality := n.op == "=" || n.op == "!="
		lb, lbool := l.(bool)
		rb, rbool := r.(bool)
		if equality && lbool && rbool {
			return (lb == rb) == (n.op == "=")
		}
		if equality {
			if eq := jsonEqual(l, r); eq != nil {
				return *eq == (n.op == "=")
			}
		}
		return nil
	}
	switch n.op {
	case "=":
		return c == 0
	case "!=":
		return c != 0
	case "<":
		return c < 0
	case ">":
		return c > 0
	case "<=":
		return c <= 0
	default:
		return c >= 0
	}
}

// jsonEqual compares lists and contexts structurally; nil means the types are not comparable.
func jsonEqual(l, r any) *bool {
	_, lm := l.(map[string]any)
	_, rm := r.(map[string]any)
	_, ll := l.([]any)
	_, rl := r.([]any)
	if !(lm && rm) && !(ll && rl) {
		return nil
	}
	lj, _ := json.Marshal(l)
	rj, _ := json.Marshal(r)
	eq := string(lj) == string(rj)
	return &eq
}

type arithNode struct {
	op          string
	left, right feelNode
}

func (n arithNode) eval(vars lookup) any {
	l, r := n.left.eval(vars), n.right.eval(vars)
	if n.op == "+" && isString(l) && isString(r) {
		return l.(string) + r.(string)
	}
	lf, lok := toFloat(l)
	rf, rok := toFloat(r)
	if !lok || !rok {
		return nil
	}
	var v float64
	switch n.op {
	case "+":
		v = lf + rf
	case "-":
		v = lf - rf
	case "*":
		v = lf * rf
	case "/":
		if rf == 0 {
			return nil
		}
		v = lf / rf
	}
	return json.Number(strconv.FormatFloat(v, 'f', -1, 64))
}

func isString(v any) bool {
	_, ok := v.(string)
	return ok
}

func toFloat(v any) (float64, bool) {
	switch n := v.(type) {
	case json.Number:
		f, err := n.Float64()
		return f, err == nil
	case float64:
		return n, true
	case int:
		return float64(n), true
	case int64:
		return float64(n), true
	}
	return 0, false
}

func cmpOrdered(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// feelType names a value's FEEL type for error messages, as Zeebe's incidents do.
func feelType(v any) string {
	switch v.(type) {
	case nil:
		return "NULL"
	case bool:
		return "BOOLEAN"
	case string:
		return "STRING"
	case json.Number, float64, int, int64:
		return "NUMBER"
	case []any:
		return "ARRAY"
	case map[string]any:
		return "OBJECT"
	}
	return fmt.Sprintf("%T", v)
}
