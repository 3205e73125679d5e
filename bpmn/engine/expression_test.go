package engine

import (
	"reflect"
	"testing"
)

// A FEEL duration becomes its ISO 8601 text in a variable, as in Zeebe.
func TestExpressionDurationsBecomeText(t *testing.T) {
	x, err := compileExpression(`={d: @"PT1M", l: [duration("P1D")]}`)
	if err != nil {
		t.Fatal(err)
	}
	got := x.eval(func(string) (any, bool) { return nil, false })
	if want := map[string]any{"d": "PT1M", "l": []any{"P1D"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("got %#v, want %#v", got, want)
	}
	if s, err := compileExpression("static"); err != nil || s.eval(nil) != "static" {
		t.Errorf("static value: %v, %v", s.eval(nil), err)
	}
}
