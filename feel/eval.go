package feel

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"
	"strings"
)

type node interface {
	eval(vars Scope) any
}

type literalNode struct{ value any }

func (n literalNode) eval(Scope) any { return n.value }

type varNode struct{ name string }

func (n varNode) eval(vars Scope) any {
	v, _ := vars(n.name)
	return v
}

type listNode struct{ items []node }

func (n listNode) eval(vars Scope) any {
	out := make([]any, len(n.items))
	for i, item := range n.items {
		out[i] = item.eval(vars)
	}
	return out
}

type contextNode struct {
	keys   []string
	values []node
}

func (n contextNode) eval(vars Scope) any {
	out := make(map[string]any, len(n.keys))
	for i, k := range n.keys {
		out[k] = n.values[i].eval(vars)
	}
	return out
}

type pathNode struct {
	base  node
	field string
}

func (n pathNode) eval(vars Scope) any {
	if m, ok := n.base.eval(vars).(map[string]any); ok {
		return m[n.field]
	}
	return nil
}

type indexNode struct{ base, index node }

func (n indexNode) eval(vars Scope) any {
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

type notNode struct{ inner node }

func (n notNode) eval(vars Scope) any {
	if b, ok := n.inner.eval(vars).(bool); ok {
		return !b
	}
	return nil
}

// logicNode is FEEL's three-valued and/or: a non-boolean operand counts as null.
type logicNode struct {
	or          bool
	left, right node
}

func (n logicNode) eval(vars Scope) any {
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
	left, right node
}

func (n compareNode) eval(vars Scope) any {
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
	left, right node
}

func (n arithNode) eval(vars Scope) any {
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

// TypeName names a value's FEEL type for error messages, as Zeebe's incidents do.
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
	case []any:
		return "ARRAY"
	case map[string]any:
		return "OBJECT"
	}
	return fmt.Sprintf("%T", v)
}
