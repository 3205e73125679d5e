package feel

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

// env is the variables in scope during an evaluation.
type env Scope

// with returns env with names in front of its variables.
func (e env) with(names Scope) env {
	return func(name string) (any, bool) {
		if v, ok := names(name); ok {
			return v, true
		}
		return e(name)
	}
}

type node interface {
	eval(e env) any
}

type literalNode struct{ value any }

func (n literalNode) eval(env) any { return n.value }

type varNode struct{ name string }

func (n varNode) eval(e env) any {
	v, _ := e(n.name)
	return v
}

type listNode struct{ items []node }

func (n listNode) eval(e env) any {
	out := make([]any, len(n.items))
	for i, item := range n.items {
		out[i] = item.eval(e)
	}
	return out
}

// contextNode is a context literal; each entry sees the entries before it.
type contextNode struct {
	keys   []string
	values []node
}

func (n contextNode) eval(e env) any {
	out := make(map[string]any, len(n.keys))
	inner := e.with(func(name string) (any, bool) {
		v, ok := out[name]
		return v, ok
	})
	for i, k := range n.keys {
		out[k] = n.values[i].eval(inner)
	}
	return out
}

// pathNode is a.b: a context's entry, or the entry of each context in a list (projection).
type pathNode struct {
	base  node
	field string
}

func (n pathNode) eval(e env) any {
	switch b := n.base.eval(e).(type) {
	case map[string]any:
		return b[n.field]
	case []any:
		out := make([]any, len(b))
		for i, item := range b {
			if m, ok := item.(map[string]any); ok {
				out[i] = m[n.field]
			}
		}
		return out
	}
	return nil
}

// filterNode is a[f]: a 1-based index (negative from the end) when f is a number, else the
// items for which f is true, with the item as `item` and, for a context, its entries in scope.
type filterNode struct{ base, filter node }

func (n filterNode) eval(e env) any {
	list, ok := n.base.eval(e).([]any)
	if !ok {
		return nil
	}
	if !isCondition(n.filter) {
		if f, ok := n.filter.eval(e).(json.Number); ok {
			return index(list, f)
		}
	}
	out := []any{}
	for _, item := range list {
		inner := e.with(func(name string) (any, bool) {
			if name == "item" {
				return item, true
			}
			if m, ok := item.(map[string]any); ok {
				v, ok := m[name]
				return v, ok
			}
			return nil, false
		})
		if b, _ := n.filter.eval(inner).(bool); b {
			out = append(out, item)
		}
	}
	return out
}

// isCondition tells a filter that is a condition by its form, without evaluating it.
func isCondition(n node) bool {
	switch n := n.(type) {
	case compareNode, logicNode:
		return true
	case callNode:
		return n.name == "not" || n.fn.boolean
	}
	return false
}

func index(list []any, n json.Number) any {
	f, err := n.Float64()
	if err != nil || f != math.Trunc(f) {
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

type ifNode struct{ cond, then, els node }

// eval runs then only when the condition is true; null or a non-boolean runs else, as in FEEL.
func (n ifNode) eval(e env) any {
	if b, _ := n.cond.eval(e).(bool); b {
		return n.then.eval(e)
	}
	return n.els.eval(e)
}

// logicNode is FEEL's three-valued and/or: a non-boolean operand counts as null.
type logicNode struct {
	or          bool
	left, right node
}

func (n logicNode) eval(e env) any {
	l, lok := n.left.eval(e).(bool)
	r, rok := n.right.eval(e).(bool)
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
	left, right node
}

func (n compareNode) eval(e env) any {
	l, r := n.left.eval(e), n.right.eval(e)
	switch n.op {
	case "=":
		return equal(l, r)
	case "!=":
		if eq, ok := equal(l, r).(bool); ok {
			return !eq
		}
		return nil
	}
	c, ok := compare(l, r)
	if !ok {
		return nil
	}
	switch n.op {
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

// equal is FEEL's =: null equals only null, values of different types are not comparable
// (null), lists and contexts compare item by item.
func equal(l, r any) any {
	if l == nil || r == nil {
		return l == nil && r == nil
	}
	switch lv := l.(type) {
	case bool:
		if rv, ok := r.(bool); ok {
			return lv == rv
		}
	case []any:
		rv, ok := r.([]any)
		if !ok {
			return nil
		}
		if len(lv) != len(rv) {
			return false
		}
		for i := range lv {
			if eq, ok := equal(lv[i], rv[i]).(bool); !ok || !eq {
				return eq
			}
		}
		return true
	case map[string]any:
		rv, ok := r.(map[string]any)
		if !ok {
			return nil
		}
		if len(lv) != len(rv) {
			return false
		}
		for k, v := range lv {
			w, ok := rv[k]
			if !ok {
				return false
			}
			if eq, ok := equal(v, w).(bool); !ok || !eq {
				return eq
			}
		}
		return true
	default:
		if c, ok := compare(l, r); ok {
			return c == 0
		}
	}
	return nil
}

// compare orders two numbers, two strings or two durations.
func compare(l, r any) (int, bool) {
	switch lv := l.(type) {
	case json.Number:
		rv, ok := r.(json.Number)
		if !ok {
			return 0, false
		}
		a, b := toFloat(lv), toFloat(rv)
		switch {
		case a < b:
			return -1, true
		case a > b:
			return 1, true
		}
		return 0, true
	case string:
		rv, ok := r.(string)
		return strings.Compare(lv, rv), ok
	case Duration:
		rv, ok := r.(Duration)
		switch {
		case !ok:
			return 0, false
		case lv < rv:
			return -1, true
		case lv > rv:
			return 1, true
		}
		return 0, true
	}
	return 0, false
}

type negNode struct{ operand node }

func (n negNode) eval(e env) any {
	switch v := n.operand.eval(e).(type) {
	case json.Number:
		return number(-toFloat(v))
	case Duration:
		return -v
	}
	return nil
}

type arithNode struct {
	op          string
	left, right node
}

func (n arithNode) eval(e env) any {
	l, r := n.left.eval(e), n.right.eval(e)
	if ls, ok := l.(string); ok && n.op == "+" {
		if rs, ok := r.(string); ok {
			return ls + rs
		}
		return nil
	}
	if ld, ok := l.(Duration); ok {
		if rd, ok := r.(Duration); ok {
			switch n.op {
			case "+":
				return ld + rd
			case "-":
				return ld - rd
			}
		}
		return nil
	}
	ln, lok := l.(json.Number)
	rn, rok := r.(json.Number)
	if !lok || !rok {
		return nil
	}
	a, b := toFloat(ln), toFloat(rn)
	switch n.op {
	case "+":
		return number(a + b)
	case "-":
		return number(a - b)
	case "*":
		return number(a * b)
	case "/":
		if b == 0 {
			return nil
		}
		return number(a / b)
	default:
		return number(math.Pow(a, b))
	}
}

type callNode struct {
	name string
	fn   *builtin
	args []node
}

func (n callNode) eval(e env) any {
	args := make([]any, len(n.args))
	for i, a := range n.args {
		args[i] = a.eval(e)
	}
	return n.fn.call(args)
}

// number is a float as the json.Number FEEL values carry; NaN and infinities are null.
func number(f float64) any {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil
	}
	return json.Number(strconv.FormatFloat(f, 'f', -1, 64))
}

func toFloat(n json.Number) float64 {
	f, _ := n.Float64()
	return f
}

// canonical returns v with Go numbers as json.Number, or an error for a type FEEL cannot
// represent; changed tells whether it converted anything (it copies only then).
func canonical(v any) (c any, changed bool, err error) {
	switch x := v.(type) {
	case nil, bool, string, Duration:
		return v, false, nil
	case json.Number:
		if _, err := x.Float64(); err != nil {
			return nil, false, fmt.Errorf("%q is not a number", string(x))
		}
		return v, false, nil
	case float64:
		return number(x), true, nil
	case int:
		return json.Number(strconv.Itoa(x)), true, nil
	case int64:
		return json.Number(strconv.FormatInt(x, 10)), true, nil
	case []any:
		var out []any
		for i, item := range x {
			c, changed, err := canonical(item)
			if err != nil {
				return nil, false, err
			}
			if changed && out == nil {
				out = append([]any(nil), x...)
			}
			if out != nil {
				out[i] = c
			}
		}
		if out == nil {
			return v, false, nil
		}
		return out, true, nil
	case map[string]any:
		var out map[string]any
		for k, item := range x {
			c, changed, err := canonical(item)
			if err != nil {
				return nil, false, err
			}
			if changed && out == nil {
				out = make(map[string]any, len(x))
				for k2, v2 := range x {
					out[k2] = v2
				}
			}
			if out != nil {
				out[k] = c
			}
		}
		if out == nil {
			return v, false, nil
		}
		return out, true, nil
	}
	return nil, false, fmt.Errorf("a Go %T is not a FEEL value", v)
}

// TypeName names a value's type for error messages, as Zeebe's incidents do.
func TypeName(v any) string {
	switch v.(type) {
	case nil:
		return "NULL"
	case bool:
		return "BOOLEAN"
	case string:
		return "STRING"
	case json.Number, float64, int, int64:
		return "NUMBER"
	case Duration:
		return "DURATION"
	case []any:
		return "ARRAY"
	case map[string]any:
		return "OBJECT"
	}
	return fmt.Sprintf("%T", v)
}
