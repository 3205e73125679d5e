package templates

import (
	"encoding/json"
	"fmt"
	"math/big"
)

// missingError is a null or missing value used where a value is required.
type missingError struct {
	x expr
}

func (e *missingError) Error() string { return "missing " + exprSrc(e.x) }

func exprSrc(x expr) string {
	switch v := x.(type) {
	case *varExpr:
		return v.name
	case interface{ source() string }:
		return v.source()
	}
	return ""
}

func (e *exprBase) source() string { return e.src }

// evalError is a render failure at an expression.
type evalError struct {
	off int
	msg string
}

func (e *evalError) Error() string { return e.msg }

func failf(x expr, format string, args ...any) error {
	return &evalError{off: x.offset(), msg: fmt.Sprintf(format, args...)}
}

type loopFrame struct {
	name  string
	item  any
	index int
	size  int
}

// renderState is one render of a Freemarker template; it is not shared between renders.
type renderState struct {
	vars       map[string]any
	assigned   map[string]any
	loops      []*loopFrame
	iterations int
	out        *limitWriter
	err        error
	budget
}

func (st *renderState) lookup(name string) (any, bool) {
	for i := len(st.loops) - 1; i >= 0; i-- {
		if st.loops[i].name == name {
			return st.loops[i].item, true
		}
	}
	if v, ok := st.assigned[name]; ok {
		return v, true
	}
	v, ok := st.vars[name]
	return v, ok
}

// norm converts a value from vars into the evaluator's types: nil, string, bool, *decimal,
// []any and map[string]any.
func norm(x expr, v any) (any, error) {
	switch t := v.(type) {
	case nil, string, bool, *decimal, []any, map[string]any:
		return v, nil
	case []string:
		s := make([]any, len(t))
		for i, e := range t {
			s[i] = e
		}
		return s, nil
	case map[string]string:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[k] = e
		}
		return m, nil
	case json.RawMessage:
		return nil, failf(x, "%s holds raw JSON, which is not supported", exprSrc(x))
	}
	d, ok, err := toDecimal(v)
	if ok {
		if err != nil {
			return nil, failf(x, "%s: %v", exprSrc(x), err)
		}
		return d, nil
	}
	return nil, failf(x, "%s has a value of type %T, which templates cannot use", exprSrc(x), v)
}

// eval evaluates x; a null or missing value is (nil, nil).
func (st *renderState) eval(x expr) (any, error) {
	if err := st.spend(1); err != nil {
		return nil, failf(x, "%v", err)
	}
	switch e := x.(type) {
	case *litExpr:
		return e.v, nil
	case *varExpr:
		v, _ := st.lookup(e.name)
		return norm(e, v)
	case *parenExpr:
		return st.eval(e.x)
	case *dotExpr:
		t, err := st.need(e.target)
		if err != nil {
			return nil, err
		}
		m, ok := t.(map[string]any)
		if !ok {
			return nil, failf(e, "%s is %s, not a hash: %s.%s needs a hash", exprSrc(e.target), typeName(t), exprSrc(e.target), e.key)
		}
		return norm(e, m[e.key])
	case *indexExpr:
		return st.index(e)
	case *binExpr:
		return st.binary(e)
	case *notExpr:
		b, err := st.boolean(e.x)
		if err != nil {
			return nil, err
		}
		return !b, nil
	case *negExpr:
		v, err := st.need(e.x)
		if err != nil {
			return nil, err
		}
		d, ok := v.(*decimal)
		if !ok {
			return nil, failf(e, "-%s needs a number, but %s is %s", exprSrc(e.x), exprSrc(e.x), typeName(v))
		}
		return &decimal{u: new(big.Int).Neg(d.u), s: d.s}, nil
	case *defaultExpr:
		v, err := st.evalTolerant(e.x)
		if err != nil {
			return nil, err
		}
		if v != nil {
			return v, nil
		}
		if e.def == nil {
			return "", nil
		}
		return st.eval(e.def)
	case *existsExpr:
		v, err := st.evalTolerant(e.x)
		if err != nil {
			return nil, err
		}
		return v != nil, nil
	case *builtinExpr:
		v, err := st.builtin(e)
		if s, ok := v.(string); ok && err == nil {
			err = st.made(e, s)
		}
		return v, err
	}
	return nil, failf(x, "internal error: unknown expression %T", x)
}

// evalTolerant evaluates the left side of x!d, x?? and x?has_content: as in Freemarker, a
// parenthesized expression turns any missing value inside it into null; otherwise only the
// last step may be missing.
func (st *renderState) evalTolerant(x expr) (any, error) {
	if p, ok := x.(*parenExpr); ok {
		v, err := st.eval(p.x)
		if _, missing := err.(*missingError); missing {
			return nil, nil
		}
		return v, err
	}
	return st.eval(x)
}

// need evaluates x and fails if it is null or missing.
func (st *renderState) need(x expr) (any, error) {
	v, err := st.eval(x)
	if err != nil {
		return nil, err
	}
	if v == nil {
		return nil, &missingError{x: x}
	}
	return v, nil
}

func (st *renderState) boolean(x expr) (bool, error) {
	v, err := st.need(x)
	if err != nil {
		return false, err
	}
	b, ok := v.(bool)
	if !ok {
		return false, failf(x, "%s is %s, but a boolean (true/false) is needed here", exprSrc(x), typeName(v))
	}
	return b, nil
}

func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "missing"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case *decimal:
		return "a number"
	case []any:
		return "a sequence"
	case map[string]any:
		return "a hash"
	}
	return fmt.Sprintf("a %T", v)
}

func (st *renderState) index(e *indexExpr) (any, error) {
	t, err := st.need(e.target)
	if err != nil {
		return nil, err
	}
	k, err := st.need(e.index)
	if err != nil {
		return nil, err
	}
	switch tv := t.(type) {
	case []any:
		d, ok := k.(*decimal)
		if !ok {
			return nil, failf(e, "%s is a sequence: its index must be a number, not %s", exprSrc(e.target), typeName(k))
		}
		i, err := intIndex(e, d)
		if err != nil {
			return nil, err
		}
		if i < 0 || i >= len(tv) {
			return nil, nil // missing, as in Freemarker: xs[9]!"none" works
		}
		return norm(e, tv[i])
	case map[string]any:
		s, ok := k.(string)
		if !ok {
			return nil, failf(e, "%s is a hash: its key must be a string, not %s", exprSrc(e.target), typeName(k))
		}
		return norm(e, tv[s])
	case string:
		d, ok := k.(*decimal)
		if !ok {
			return nil, failf(e, "%s is a string: its index must be a number, not %s", exprSrc(e.target), typeName(k))
		}
		i, err := intIndex(e, d)
		if err != nil {
			return nil, err
		}
		if err := st.spend(len(tv) / bytesPerStep); err != nil {
			return nil, failf(e, "%v", err)
		}
		u := utf16Units(tv)
		if i < 0 || i >= len(u) {
			return nil, failf(e, "index %d is out of bounds for %s (length %d)", i, exprSrc(e.target), len(u))
		}
		return fromUTF16(u[i : i+1]), nil
	}
	return nil, failf(e, "%s is %s and cannot be indexed", exprSrc(e.target), typeName(t))
}

func intIndex(x expr, d *decimal) (int, error) {
	t := d.trunc()
	if !t.IsInt64() || t.Int64() > 1<<31 || t.Int64() < -(1<<31) {
		return 0, failf(x, "index %s is out of range", computerFormat.format(d))
	}
	return int(t.Int64()), nil
}

func (st *renderState) binary(e *binExpr) (any, error) {
	v, err := st.binaryOp(e)
	if err != nil {
		return nil, err
	}
	switch t := v.(type) {
	case string:
		err = st.made(e, t)
	case *decimal:
		err = checkNumber(e, t)
	case []any:
		if err = st.spend(len(t)); err != nil {
			err = failf(e, "%v", err)
		}
	}
	return v, err
}

func (st *renderState) binaryOp(e *binExpr) (any, error) {
	switch e.op {
	case "&&", "||":
		l, err := st.boolean(e.l)
		if err != nil {
			return nil, err
		}
		if l == (e.op == "||") {
			return l, nil
		}
		return st.boolean(e.r)
	}
	l, err := st.need(e.l)
	if err != nil {
		return nil, err
	}
	r, err := st.need(e.r)
	if err != nil {
		return nil, err
	}
	ld, lnum := l.(*decimal)
	rd, rnum := r.(*decimal)
	switch e.op {
	case "+":
		if lnum && rnum {
			return ld.add(rd), nil
		}
		ls, lok := concatString(l)
		rs, rok := concatString(r)
		if lok && rok {
			if n := len(ls) + len(rs); n > MaxValueSize {
				return nil, tooLongError(e, n)
			}
			return ls + rs, nil
		}
		if la, ok := l.([]any); ok {
			if ra, ok := r.([]any); ok {
				if len(la)+len(ra) > MaxLoopIterations {
					return nil, failf(e, "sequence is longer than %d items", MaxLoopIterations)
				}
				return append(append(make([]any, 0, len(la)+len(ra)), la...), ra...), nil
			}
		}
		return nil, failf(e, "cannot add %s and %s: + works on two numbers, or strings and numbers", typeName(l), typeName(r))
	case "-", "*", "/", "%":
		if !lnum || !rnum {
			return nil, failf(e, "%s needs numbers, but got %s and %s", e.op, typeName(l), typeName(r))
		}
		switch e.op {
		case "-":
			return ld.sub(rd), nil
		case "*":
			if len(ld.u.Bits())+len(rd.u.Bits()) > 64 {
				return nil, failf(e, "number is too large")
			}
			return ld.mul(rd), nil
		case "/":
			v, err := ld.div(rd)
			if err != nil {
				return nil, failf(e, "%v", err)
			}
			return v, nil
		default:
			v, err := ld.mod(rd)
			if err != nil {
				return nil, failf(e, "%v", err)
			}
			return v, nil
		}
	case "==", "!=":
		var eq bool
		switch lv := l.(type) {
		case *decimal:
			if !rnum {
				return nil, failf(e, "cannot compare a number with %s", typeName(r))
			}
			eq = lv.cmp(rd) == 0
		case string:
			rs, ok := r.(string)
			if !ok {
				return nil, failf(e, "cannot compare a string with %s", typeName(r))
			}
			eq = lv == rs
		case bool:
			rb, ok := r.(bool)
			if !ok {
				return nil, failf(e, "cannot compare a boolean with %s", typeName(r))
			}
			eq = lv == rb
		default:
			return nil, failf(e, "cannot compare %s", typeName(l))
		}
		return eq == (e.op == "=="), nil
	default: // < > <= >=
		if !lnum || !rnum {
			return nil, failf(e, "%s compares numbers, but got %s and %s", e.op, typeName(l), typeName(r))
		}
		c := ld.cmp(rd)
		switch e.op {
		case "<":
			return c < 0, nil
		case ">":
			return c > 0, nil
		case "<=":
			return c <= 0, nil
		}
		return c >= 0, nil
	}
}

func concatString(v any) (string, bool) {
	switch t := v.(type) {
	case string:
		return t, true
	case *decimal:
		return defaultFormat.format(t), true
	}
	return "", false
}

// display converts the value of ${...} to text.
func display(x expr, v any) (string, error) {
	switch t := v.(type) {
	case string:
		return t, nil
	case *decimal:
		return defaultFormat.format(t), nil
	case bool:
		o := operand(x)
		return "", failf(x, "%s is a boolean: write ${%s?c} or ${%s?string(\"yes\", \"no\")}", exprSrc(x), o, o)
	}
	return "", failf(x, "%s is %s, which cannot be printed: print its items or fields instead", exprSrc(x), typeName(v))
}

// operand is x's source as the left side of a built-in: parenthesized unless it is a path.
func operand(x expr) string {
	switch x.(type) {
	case *varExpr, *dotExpr, *indexExpr, *parenExpr, *builtinExpr, *litExpr:
		return exprSrc(x)
	}
	return "(" + exprSrc(x) + ")"
}

// renderError converts an evaluation error into the package's error type.
func (s *source) renderError(err error) error {
	switch e := err.(type) {
	case *missingError:
		line, col := s.pos(e.x.offset())
		name := exprSrc(e.x)
		if _, ok := e.x.(*varExpr); ok {
			return invalid(s.field, "render %s: line %d, column %d: variable %q is missing: set it in the process or write ${%s!\"default\"}", s.field, line, col, name, name)
		}
		return invalid(s.field, "render %s: line %d, column %d: %q is missing: set it in the process or write ${(%s)!\"default\"}", s.field, line, col, name, name)
	case *evalError:
		line, col := s.pos(e.off)
		return invalid(s.field, "render %s: line %d, column %d: %s", s.field, line, col, e.msg)
	}
	return err
}
