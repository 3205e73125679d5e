package templates

import (
	"strings"
)

// maxNesting bounds directive and expression nesting so that a hostile template cannot
// exhaust the stack while being parsed or rendered.
const maxNesting = 100

// Template-level nodes.
type node interface{}

type textNode struct{ c *chunk } // text after white-space stripping is c.text

type outNode struct{ x expr }

type ifBranch struct {
	cond expr // nil for <#else>
	body []node
}

type ifNode struct{ branches []ifBranch }

type listNode struct {
	seq      expr
	name     string
	body     []node
	elseBody []node
	off      int
}

type sepNode struct{ body []node }

type assignNode struct {
	names []string
	exprs []expr
}

// Expressions. off is the byte offset used for line/column in errors; src the expression's
// text, used to name missing values.
type expr interface{ offset() int }

type exprBase struct {
	off int
	src string
}

func (e *exprBase) offset() int { return e.off }

type litExpr struct {
	exprBase
	v any // string, bool or *decimal
}

type varExpr struct {
	exprBase
	name string
}

type dotExpr struct {
	exprBase
	target expr
	key    string
}

type indexExpr struct {
	exprBase
	target, index expr
}

type binExpr struct {
	exprBase
	op   string // normalized: + - * / % == != < > <= >= && ||
	l, r expr
}

type notExpr struct {
	exprBase
	x expr
}

type negExpr struct {
	exprBase
	x expr
}

type parenExpr struct {
	exprBase
	x expr
}

type defaultExpr struct {
	exprBase
	x   expr
	def expr // nil: empty string
}

type existsExpr struct {
	exprBase
	x expr
}

type builtinExpr struct {
	exprBase
	target expr
	name   string
	args   []expr
}

// parser turns chunks into a node tree.
type parser struct {
	*source
	chunks []chunk
	pos    int
	depth  int
	lists  int // enclosing <#list> count, for <#sep>
}

func parse(s *source) ([]node, error) {
	chunks, err := s.scan()
	if err != nil {
		return nil, err
	}
	p := &parser{source: s, chunks: chunks}
	nodes, stop, err := p.block()
	if err != nil {
		return nil, err
	}
	if stop != nil {
		return nil, p.unexpected(stop)
	}
	s.stripWhitespace(chunks)
	return nodes, nil
}

func (p *parser) unexpected(c *chunk) error {
	if c.kind == chunkEnd {
		return p.errorf(c.start, "</#%s> has no matching <#%s>", c.text, c.text)
	}
	return p.errorf(c.start, "<#%s> is not inside a matching directive", c.text)
}

// block parses nodes until an end tag or an else/elseif, which it returns unconsumed.
func (p *parser) block() ([]node, *chunk, error) {
	p.depth++
	defer func() { p.depth-- }()
	if p.depth > maxNesting {
		return nil, nil, p.errorf(p.chunks[p.pos-1].start, "directives are nested more than %d deep", maxNesting)
	}
	var nodes []node
	for p.pos < len(p.chunks) {
		c := &p.chunks[p.pos]
		switch c.kind {
		case chunkText:
			p.pos++
			nodes = append(nodes, &textNode{c: c})
		case chunkComment:
			p.pos++
		case chunkInterp:
			p.pos++
			x, err := p.exprAll(c.toks, c.start+2, c.end-1)
			if err != nil {
				return nil, nil, err
			}
			nodes = append(nodes, &outNode{x: x})
		case chunkEnd:
			return nodes, c, nil
		case chunkDirective:
			switch c.text {
			case "else", "elseif":
				return nodes, c, nil
			case "sep":
				if p.lists == 0 {
					return nil, nil, p.errorf(c.start, "<#sep> must be inside <#list>")
				}
				p.pos++
				body, stop, err := p.block()
				if err != nil {
					return nil, nil, err
				}
				if stop != nil && stop.kind == chunkEnd && stop.text == "sep" {
					p.pos++
				}
				nodes = append(nodes, &sepNode{body: body})
				continue
			}
			n, err := p.directive(c)
			if err != nil {
				return nil, nil, err
			}
			nodes = append(nodes, n)
		}
	}
	return nodes, nil, nil
}

func (p *parser) noParams(c *chunk) error {
	if len(c.toks) > 0 {
		return p.errorf(c.toks[0].off, "<#%s> takes no parameters", c.text)
	}
	return nil
}

func (p *parser) directive(c *chunk) (node, error) {
	p.pos++
	switch c.text {
	case "if":
		if c.selfClose {
			return nil, p.errorf(c.start, "<#if .../> needs a body and </#if>")
		}
		cond, err := p.exprAll(c.toks, c.nameOff+2, c.end-1)
		if err != nil {
			return nil, err
		}
		n := &ifNode{}
		for {
			body, stop, err := p.block()
			if err != nil {
				return nil, err
			}
			n.branches = append(n.branches, ifBranch{cond: cond, body: body})
			if stop == nil {
				return nil, p.errorf(c.start, "<#if> is not closed: add </#if>")
			}
			p.pos++
			switch {
			case stop.kind == chunkEnd && stop.text == "if":
				return n, nil
			case stop.kind == chunkDirective && stop.text == "elseif" && cond != nil:
				cond, err = p.exprAll(stop.toks, stop.nameOff+6, stop.end-1)
				if err != nil {
					return nil, err
				}
			case stop.kind == chunkDirective && stop.text == "else" && cond != nil:
				if err := p.noParams(stop); err != nil {
					return nil, err
				}
				cond = nil
			default:
				return nil, p.unexpected(stop)
			}
		}
	case "list":
		return p.list(c)
	case "assign":
		return p.assign(c)
	case "include", "import", "ssi":
		return nil, p.errorf(c.start, "<#%s> is not allowed: templates cannot read files", c.text)
	case "items", "break", "continue", "switch", "case", "default", "macro", "function", "return",
		"nested", "local", "global", "attempt", "recover", "compress", "escape", "noescape",
		"autoesc", "noautoesc", "outputformat", "setting", "visit", "recurse", "fallback",
		"ftl", "t", "lt", "rt", "nt", "stop", "flush", "noparse", "noParse", "on", "when":
		return nil, p.errorf(c.start, "<#%s> is not supported: use <#if>, <#list>, <#sep>, <#assign> and ${...}", c.text)
	}
	return nil, p.errorf(c.start, "unknown directive <#%s>: use <#if>, <#list>, <#sep>, <#assign> and ${...}", c.text)
}

func (p *parser) list(c *chunk) (node, error) {
	toks := c.toks
	as := -1
	for k, t := range toks {
		if t.kind == tokIdent && t.val == "as" {
			as = k
		}
	}
	if as < 0 || as != len(toks)-2 || toks[as+1].kind != tokIdent || isKeyword(toks[as+1].val) {
		if as >= 0 && as+2 < len(toks) && toks[as+2].val == "," {
			return nil, p.errorf(c.start, "listing key-value pairs (<#list h as k, v>) is not supported")
		}
		return nil, p.errorf(c.start, "<#list> must look like <#list items as item>")
	}
	if c.selfClose {
		return nil, p.errorf(c.start, "<#list .../> needs a body and </#list>")
	}
	seq, err := p.exprAll(toks[:as], c.nameOff+4, toks[as].off)
	if err != nil {
		return nil, err
	}
	n := &listNode{seq: seq, name: toks[as+1].val, off: c.start}
	p.lists++
	body, stop, err := p.block()
	p.lists--
	if err != nil {
		return nil, err
	}
	n.body = body
	if stop == nil {
		return nil, p.errorf(c.start, "<#list> is not closed: add </#list>")
	}
	p.pos++
	if stop.kind == chunkDirective && stop.text == "else" {
		if err := p.noParams(stop); err != nil {
			return nil, err
		}
		if n.elseBody, stop, err = p.block(); err != nil {
			return nil, err
		}
		if stop == nil {
			return nil, p.errorf(c.start, "<#list> is not closed: add </#list>")
		}
		p.pos++
	}
	if stop.kind != chunkEnd || stop.text != "list" {
		return nil, p.unexpected(stop)
	}
	return n, nil
}

func (p *parser) assign(c *chunk) (node, error) {
	toks := c.toks
	n := &assignNode{}
	if len(toks) == 0 {
		return nil, p.errorf(c.start, "<#assign> must look like <#assign name = value>")
	}
	for i := 0; i < len(toks); {
		if i > 0 && toks[i].kind == tokOp && toks[i].val == "," {
			i++
			if i == len(toks) {
				return nil, p.errorf(toks[i-1].off, "<#assign> ends with a comma")
			}
		}
		name := toks[i]
		if name.kind == tokStr {
			name.kind = tokIdent
		}
		if name.kind != tokIdent || isKeyword(name.val) {
			return nil, p.errorf(name.off, "<#assign> must look like <#assign name = value>")
		}
		if i+1 >= len(toks) {
			return nil, p.errorf(c.start, "capturing <#assign %s>...</#assign> is not supported: write <#assign %s = value>", name.val, name.val)
		}
		if op := toks[i+1]; op.kind != tokOp || op.val != "=" {
			return nil, p.errorf(op.off, "<#assign %s %s ...> is not supported: write <#assign %s = value>", name.val, op.val, name.val)
		}
		// The value runs until the next "name =" pair at nesting depth 0, or "in".
		j := i + 2
		depth := 0
		for ; j < len(toks); j++ {
			t := toks[j]
			if t.kind == tokOp && (t.val == "(" || t.val == "[") {
				depth++
			} else if t.kind == tokOp && (t.val == ")" || t.val == "]") {
				depth--
			}
			if depth == 0 && j > i+2 && j+1 < len(toks) && (t.kind == tokIdent || t.kind == tokStr) &&
				toks[j+1].kind == tokOp && toks[j+1].val == "=" && !continuesExpr(toks[j-1]) {
				break
			}
			if depth == 0 && t.kind == tokOp && t.val == "," {
				break
			}
			if depth == 0 && t.kind == tokIdent && t.val == "in" {
				return nil, p.errorf(t.off, "<#assign ... in namespace> is not supported")
			}
		}
		end := c.end - 1
		if j < len(toks) {
			end = toks[j].off
		}
		x, err := p.exprAll(toks[i+2:j], toks[i+1].off+1, end)
		if err != nil {
			return nil, err
		}
		n.names = append(n.names, name.val)
		c.assigns++
		n.exprs = append(n.exprs, x)
		i = j
	}
	return n, nil
}

// continuesExpr reports whether an expression can continue after token t (an operator
// waiting for its right operand).
func continuesExpr(t token) bool {
	if t.kind != tokOp {
		return false
	}
	switch t.val {
	case ")", "]", "!":
		return false
	}
	return true
}

func isKeyword(s string) bool {
	switch s {
	case "true", "false", "gt", "gte", "lt", "lte", "as", "in", "using":
		return true
	}
	return false
}

// exprParser is a recursive-descent parser over one tag's tokens.
type exprParser struct {
	*source
	toks  []token
	i     int
	end   int // byte offset just past the expression, for error positions at its end
	depth int
}

func (p *parser) exprAll(toks []token, start, end int) (expr, error) {
	if len(toks) == 0 {
		return nil, p.errorf(start, "expression is missing")
	}
	ep := &exprParser{source: p.source, toks: toks, end: end}
	x, err := ep.or()
	if err != nil {
		return nil, err
	}
	if ep.i < len(toks) {
		t := toks[ep.i]
		return nil, p.errorf(t.off, "unexpected %q in expression", t.val)
	}
	return x, nil
}

func (ep *exprParser) peek() token {
	if ep.i < len(ep.toks) {
		return ep.toks[ep.i]
	}
	return token{kind: tokEOF, off: ep.end}
}

func (ep *exprParser) isOp(vals ...string) (token, bool) {
	t := ep.peek()
	if t.kind == tokOp || t.kind == tokIdent {
		for _, v := range vals {
			if t.val == v {
				return t, true
			}
		}
	}
	return t, false
}

func (ep *exprParser) srcFrom(off int) string {
	end := ep.end
	if ep.i < len(ep.toks) {
		end = ep.toks[ep.i].off
	}
	if end > len(ep.src) || end < off {
		return ""
	}
	return strings.TrimSpace(ep.src[off:end])
}

func (ep *exprParser) base(off int) exprBase { return exprBase{off: off, src: ep.srcFrom(off)} }

func (ep *exprParser) or() (expr, error) {
	l, err := ep.and()
	if err != nil {
		return nil, err
	}
	for {
		if _, ok := ep.isOp("||"); !ok {
			return l, nil
		}
		ep.i++
		r, err := ep.and()
		if err != nil {
			return nil, err
		}
		l = &binExpr{exprBase: ep.base(l.offset()), op: "||", l: l, r: r}
	}
}

func (ep *exprParser) and() (expr, error) {
	l, err := ep.equality()
	if err != nil {
		return nil, err
	}
	for {
		if _, ok := ep.isOp("&&"); !ok {
			return l, nil
		}
		ep.i++
		r, err := ep.equality()
		if err != nil {
			return nil, err
		}
		l = &binExpr{exprBase: ep.base(l.offset()), op: "&&", l: l, r: r}
	}
}

func (ep *exprParser) equality() (expr, error) {
	l, err := ep.relational()
	if err != nil {
		return nil, err
	}
	if t, ok := ep.isOp("==", "!=", "="); ok && t.kind == tokOp {
		ep.i++
		r, err := ep.relational()
		if err != nil {
			return nil, err
		}
		op := t.val
		if op == "=" {
			op = "=="
		}
		return &binExpr{exprBase: ep.base(l.offset()), op: op, l: l, r: r}, nil
	}
	return l, nil
}

var relOps = map[string]string{"<": "<", ">": ">", "<=": "<=", ">=": ">=", "lt": "<", "gt": ">", "lte": "<=", "gte": ">="}

func (ep *exprParser) relational() (expr, error) {
	l, err := ep.additive()
	if err != nil {
		return nil, err
	}
	if t, ok := ep.isOp("<", ">", "<=", ">=", "lt", "gt", "lte", "gte"); ok {
		ep.i++
		r, err := ep.additive()
		if err != nil {
			return nil, err
		}
		return &binExpr{exprBase: ep.base(l.offset()), op: relOps[t.val], l: l, r: r}, nil
	}
	return l, nil
}

func (ep *exprParser) additive() (expr, error) {
	l, err := ep.multiplicative()
	if err != nil {
		return nil, err
	}
	for {
		t, ok := ep.isOp("+", "-")
		if !ok || t.kind != tokOp {
			return l, nil
		}
		ep.i++
		r, err := ep.multiplicative()
		if err != nil {
			return nil, err
		}
		l = &binExpr{exprBase: ep.base(l.offset()), op: t.val, l: l, r: r}
	}
}

func (ep *exprParser) multiplicative() (expr, error) {
	l, err := ep.unary()
	if err != nil {
		return nil, err
	}
	for {
		t, ok := ep.isOp("*", "/", "%")
		if !ok || t.kind != tokOp {
			return l, nil
		}
		ep.i++
		r, err := ep.unary()
		if err != nil {
			return nil, err
		}
		l = &binExpr{exprBase: ep.base(l.offset()), op: t.val, l: l, r: r}
	}
}

func (ep *exprParser) unary() (expr, error) {
	ep.depth++
	defer func() { ep.depth-- }()
	t := ep.peek()
	if ep.depth > maxNesting {
		return nil, ep.errorf(t.off, "expression is nested more than %d deep", maxNesting)
	}
	if t.kind == tokOp {
		switch t.val {
		case "!":
			ep.i++
			x, err := ep.unary()
			if err != nil {
				return nil, err
			}
			return &notExpr{exprBase: ep.base(t.off), x: x}, nil
		case "-", "+":
			ep.i++
			x, err := ep.unary()
			if err != nil {
				return nil, err
			}
			if t.val == "+" {
				return x, nil
			}
			return &negExpr{exprBase: ep.base(t.off), x: x}, nil
		}
	}
	return ep.postfix()
}

func (ep *exprParser) postfix() (expr, error) {
	x, err := ep.primary()
	if err != nil {
		return nil, err
	}
	for {
		t := ep.peek()
		if t.kind != tokOp {
			return x, nil
		}
		switch t.val {
		case ".":
			ep.i++
			k := ep.peek()
			if k.kind != tokIdent {
				return nil, ep.errorf(k.off, "a name must follow \".\"")
			}
			ep.i++
			x = &dotExpr{exprBase: ep.base(x.offset()), target: x, key: k.val}
		case "[":
			ep.i++
			idx, err := ep.or()
			if err != nil {
				return nil, err
			}
			if c, ok := ep.isOp(".."); ok {
				return nil, ep.errorf(c.off, "ranges and slices are not supported")
			}
			if _, ok := ep.isOp("]"); !ok {
				return nil, ep.errorf(ep.peek().off, "expected ] after the index")
			}
			ep.i++
			x = &indexExpr{exprBase: ep.base(x.offset()), target: x, index: idx}
		case "?":
			ep.i++
			k := ep.peek()
			if k.kind != tokIdent {
				return nil, ep.errorf(k.off, "a built-in name must follow \"?\"")
			}
			ep.i++
			b := &builtinExpr{target: x, name: k.val}
			if !knownBuiltin(k.val) {
				return nil, ep.errorf(k.off, "built-in ?%s is not supported: use one of %s", k.val, builtinList)
			}
			if _, ok := ep.isOp("("); ok {
				ep.i++
				for {
					if _, ok := ep.isOp(")"); ok {
						ep.i++
						break
					}
					if len(b.args) > 0 {
						if _, ok := ep.isOp(","); !ok {
							return nil, ep.errorf(ep.peek().off, "expected , or ) in the arguments of ?%s", k.val)
						}
						ep.i++
					}
					a, err := ep.or()
					if err != nil {
						return nil, err
					}
					b.args = append(b.args, a)
				}
			}
			if err := checkBuiltinArgs(b); err != nil {
				return nil, ep.errorf(k.off, "%v", err)
			}
			if d, ok := ep.isOp("."); ok && b.name == "string" {
				return nil, ep.errorf(d.off, "?string.format is not supported: write ?string(\"0.00\") or a similar pattern")
			}
			b.exprBase = ep.base(x.offset())
			x = b
		case "??":
			ep.i++
			return &existsExpr{exprBase: ep.base(x.offset()), x: x}, nil
		case "!":
			// As in Freemarker, the default is a whole expression: x!1 * 2 is x!(1 * 2).
			ep.i++
			d := &defaultExpr{x: x}
			if ep.startsOperand() {
				def, err := ep.or()
				if err != nil {
					return nil, err
				}
				d.def = def
			}
			d.exprBase = ep.base(x.offset())
			return d, nil
		case "(":
			return nil, ep.errorf(t.off, "calling methods or functions is not supported")
		default:
			return x, nil
		}
	}
}

func (ep *exprParser) startsOperand() bool {
	t := ep.peek()
	switch t.kind {
	case tokNum, tokStr:
		return true
	case tokIdent:
		switch t.val {
		case "gt", "gte", "lt", "lte", "as", "in", "using":
			return false
		}
		return true
	case tokOp:
		return t.val == "(" || t.val == "[" || t.val == "{" || t.val == "-" || t.val == "+"
	}
	return false
}

func (ep *exprParser) primary() (expr, error) {
	t := ep.peek()
	switch t.kind {
	case tokEOF:
		return nil, ep.errorf(t.off, "expression is incomplete")
	case tokNum:
		ep.i++
		d, err := parseDecimal(t.val)
		if err != nil {
			return nil, ep.errorf(t.off, "%v", err)
		}
		return &litExpr{exprBase: ep.base(t.off), v: d}, nil
	case tokStr:
		ep.i++
		return &litExpr{exprBase: ep.base(t.off), v: t.val}, nil
	case tokIdent:
		ep.i++
		switch t.val {
		case "true":
			return &litExpr{exprBase: ep.base(t.off), v: true}, nil
		case "false":
			return &litExpr{exprBase: ep.base(t.off), v: false}, nil
		}
		if isKeyword(t.val) {
			return nil, ep.errorf(t.off, "unexpected %q in expression", t.val)
		}
		return &varExpr{exprBase: ep.base(t.off), name: t.val}, nil
	case tokOp:
		switch t.val {
		case "(":
			ep.i++
			x, err := ep.or()
			if err != nil {
				return nil, err
			}
			if _, ok := ep.isOp(")"); !ok {
				return nil, ep.errorf(ep.peek().off, "expected ) to close the ( at column %d", ep.col(t.off))
			}
			ep.i++
			return &parenExpr{exprBase: ep.base(t.off), x: x}, nil
		case "[":
			return nil, ep.errorf(t.off, "sequence literals [...] are not supported")
		case "{":
			return nil, ep.errorf(t.off, "hash literals {...} are not supported")
		case ".":
			return nil, ep.errorf(t.off, "special variables (.name) are not supported")
		}
	}
	return nil, ep.errorf(t.off, "unexpected %q in expression", t.val)
}

func (ep *exprParser) col(off int) int {
	_, c := ep.pos(off)
	return c
}
