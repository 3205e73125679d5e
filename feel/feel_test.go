package feel

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

func TestFEELEval(t *testing.T) {
	vars := map[string]any{
		"amount":   json.Number("150"),
		"name":     "Ada",
		"paid":     true,
		"customer": map[string]any{"phone": "+15550100", "tags": []any{"vip", "new"}},
		"empty":    nil,
	}
	tests := []struct {
		expr string
		want any
	}{
		{"42", json.Number("42")},
		{"=42", json.Number("42")},
		{"=1.50", json.Number("1.5")},
		{`="a \"quoted\" string"`, `a "quoted" string`},
		{"=true", true},
		{"=null", nil},
		{"=amount", json.Number("150")},
		{"=customer.phone", "+15550100"},
		{"=customer.tags[1]", "vip"},
		{"=customer.tags[-1]", "new"},
		{"=customer.tags[3]", nil},
		{"=missing.path", nil},
		{"=amount > 100", true},
		{"=amount <= 100", false},
		{"=amount = 150", true},
		{"=amount != 150", false},
		{`=name = "Ada"`, true},
		{`=name < "Bob"`, true},
		{"=missing = null", true},
		{"=empty != null", false},
		{"=missing > 1", nil},
		{`=amount = "150"`, nil},
		{"=paid = true", true},
		{"=paid and amount > 100", true},
		{"=paid and missing > 1", nil},
		{"=not(paid) and missing > 1", false},
		{"=paid or missing > 1", true},
		{"=not(paid)", false},
		{"=not(name)", nil},
		{"=(amount - 50) * 2 / 4", json.Number("50")},
		{"=-amount + 1", json.Number("-149")},
		{`=name + " Lovelace"`, "Ada Lovelace"},
		{"=amount / 0", nil},
		{"=[]", []any{}},
		{`=[customer.phone, "+15550101"]`, []any{"+15550100", "+15550101"}},
		{`={to: customer.phone, "the body": "Hi " + name, n: {m: 1}}`, map[string]any{"to": "+15550100", "the body": "Hi Ada", "n": map[string]any{"m": json.Number("1")}}},
		{"={}", map[string]any{}},
		{`=[1, 2] = [1, 2]`, true},
		{"=customer.tags = [\"vip\", \"new\"]", true},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			x, err := Parse(tt.expr)
			if err != nil {
				t.Fatal(err)
			}
			got, err := x.Eval(vars)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("got %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestFEELRejects(t *testing.T) {
	for _, expr := range []string{
		"=",
		"",
		"=upper case(name)",
		"=contains(name, \"a\")",
		`={"x" 1}`,
		"=[1, 2",
		"={1: 2}",
		"=a >",
		"=(a",
		`="unterminated`,
		"=a ? b",
		"=x in [1,2]",
		"=if a then b else c",
	} {
		t.Run(expr, func(t *testing.T) {
			if _, err := Parse(expr); err == nil {
				t.Errorf("compiled %q, want an error", expr)
			} else if !strings.Contains(err.Error(), strconv.Quote(expr)) {
				t.Errorf("error %q does not quote the expression", err)
			}
		})
	}
}
