package engine

import (
	"strings"

	"github.com/twilio-connector/twilio-connector/feel"
)

// expression is a FEEL expression (it starts with "=") or a static string value, which is how
// Zeebe reads mapping sources, correlation keys and task types.
type expression struct {
	src   string
	value string     // static value
	feel  *feel.Expr // nil for a static value
}

// lookup resolves a top-level variable name.
type lookup = feel.Scope

func compileExpression(src string) (*expression, error) {
	if !strings.HasPrefix(strings.TrimSpace(src), "=") {
		return &expression{src: src, value: src}, nil
	}
	x, err := feel.Parse(src)
	if err != nil {
		return nil, err
	}
	return &expression{src: src, feel: x}, nil
}

// eval evaluates the expression; FEEL's failures are null, which callers judge as Zeebe does.
// Variables here are JSON documents, so feel's only evaluation error (a Go value FEEL cannot
// represent) cannot occur.
func (x *expression) eval(vars lookup) any {
	if x.feel == nil {
		return x.value
	}
	v, _ := x.feel.EvalScope(vars)
	return variable(v)
}

// variable is a FEEL value as Zeebe stores it in a variable: durations become their ISO 8601
// text.
func variable(v any) any {
	switch t := v.(type) {
	case feel.Duration:
		return t.String()
	case map[string]any:
		for k, x := range t {
			t[k] = variable(x)
		}
	case []any:
		for i, x := range t {
			t[i] = variable(x)
		}
	}
	return v
}

// String returns the expression as written.
func (x *expression) String() string { return x.src }
