// Package feel evaluates the subset of FEEL (Friendly Enough Expression Language, the
// expression language of Camunda 8) that this connector's users write in BPMN: conditions,
// mappings and correlation keys in the dev engine, and the connector properties of tasks and
// triggers (resultExpression, errorExpression, correlationKeyExpression, ...).
//
// The subset: literals (numbers, "strings", true, false, null, lists [a, b], contexts
// {key: value, "other key": value, later: key * 2} and durations @"PT30S"); variables and
// paths (a.b.c, and list.b projects each item's b); list indexes and filters (list[1] with
// FEEL's 1-based indexes, list[-1] from the end, list[item > 3], list[status = "failed"]);
// comparisons (= != < > <= >=, between … and …); and, or with FEEL's three-valued logic;
// arithmetic (+ - * / **, + also concatenates strings); if … then … else …; and the
// built-in functions listed by the error for any other (string length, contains, starts with,
// upper case, count, is defined, sum, min, max, …, and the connector runtime's bpmnError and
// jobError). As in FEEL, a missing variable or a type mismatch yields null instead of failing;
// callers decide what null means. Anything outside the subset (for, some, every, in, instance
// of, ranges, function definitions, dates and times, other functions) is an error from Parse
// naming the construct, never a silent null at evaluation.
//
// Values are those of encoding/json decoded with UseNumber: nil, bool, string, json.Number,
// []any and map[string]any (float64 and Go integers are accepted as numbers too), and
// Duration. Numbers come out as json.Number (computed in float64, so 0.1 + 0.2 is not 0.3 as
// in Camunda's decimal arithmetic).
package feel

import (
	"fmt"
	"strings"
)

// Expr is a parsed FEEL expression, safe for concurrent use.
type Expr struct {
	src  string
	root node
}

// Scope resolves a top-level variable name; ok is false for a variable that does not exist.
type Scope func(name string) (value any, ok bool)

// Parse parses a FEEL expression, with or without the leading "=" that marks FEEL in BPMN
// attributes. The error quotes the expression and names what is not supported.
func Parse(src string) (*Expr, error) {
	body := strings.TrimSpace(src)
	body = strings.TrimPrefix(body, "=")
	p := &parser{src: body}
	err := p.tokenize()
	var root node
	if err == nil {
		root, err = p.parseExpr()
	}
	if err == nil && p.pos < len(p.toks) {
		err = p.unexpected()
	}
	if err != nil {
		return nil, fmt.Errorf("expression %q is outside the supported FEEL subset: %w", src, err)
	}
	return &Expr{src: src, root: root}, nil
}

// String returns the expression as written.
func (x *Expr) String() string { return x.src }

// Eval evaluates the expression with the given variables.
func (x *Expr) Eval(vars map[string]any) (any, error) {
	return x.EvalScope(func(name string) (any, bool) {
		v, ok := vars[name]
		return v, ok
	})
}

// EvalScope evaluates the expression, resolving variables through scope.
// A variable whose Go value FEEL cannot represent is an error naming it.
func (x *Expr) EvalScope(scope Scope) (any, error) {
	var err error
	v := x.root.eval(func(name string) (any, bool) {
		v, ok := scope(name)
		if !ok {
			return nil, false
		}
		c, _, cerr := canonical(v)
		if cerr != nil && err == nil {
			err = fmt.Errorf("expression %q: variable %q: %w", x.src, name, cerr)
		}
		return c, true
	})
	if err != nil {
		return nil, err
	}
	return v, nil
}

// EvalBool evaluates the expression and requires a boolean result; null or any other type is
// an error naming the expression and the type.
func (x *Expr) EvalBool(vars map[string]any) (bool, error) {
	v, err := x.Eval(vars)
	if err != nil {
		return false, err
	}
	b, ok := v.(bool)
	if !ok {
		return false, fmt.Errorf("expression %q must be a boolean, but was %s", x.src, TypeName(v))
	}
	return b, nil
}

// EvalBool parses and evaluates a boolean expression (see (*Expr).EvalBool).
func EvalBool(src string, vars map[string]any) (bool, error) {
	x, err := Parse(src)
	if err != nil {
		return false, err
	}
	return x.EvalBool(vars)
}
