// Package feel evaluates the subset of FEEL (Friendly Enough Expression Language, the
// expression language of Camunda 8) that this connector's users write in BPMN: conditions,
// mappings and correlation keys in the dev engine, and the connector properties of tasks and
// triggers (resultExpression, errorExpression, correlationKeyExpression, ...).
//
// The subset: literals (numbers, "strings", true, false, null, lists [a, b] and contexts
// {key: value, "other key": value}), variable paths (a.b.c, list[1] with FEEL's 1-based
// indexes), comparisons (= != < > <= >=), and, or, not(...), arithmetic (+ - * /, + also
// concatenates strings) and parentheses. As in FEEL, a missing variable or a type mismatch
// yields null instead of failing; callers decide what null means. Anything outside the subset
// is an error from Parse naming the construct, never a silent null at evaluation.
//
// Values are those of encoding/json decoded with UseNumber: nil, bool, string, json.Number,
// []any and map[string]any (float64 and Go integers are accepted as numbers too). Numbers
// come out as json.Number.
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
		root, err = p.parseOr()
	}
	if err == nil && p.pos < len(p.toks) {
		err = fmt.Errorf("unexpected %q at offset %d", p.toks[p.pos].text, p.toks[p.pos].at)
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
func (x *Expr) EvalScope(scope Scope) (any, error) {
	return x.root.eval(scope), nil
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
