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
	tests := []struct{ expr, want string }{
		{"=", "unexpected end"},
		{"", "unexpected end"},
		{"=foo(name)", "FEEL function foo() is not supported (offset 0); supported: bpmnError(), contains(), count(),"},
		{"=matches(name, \"a\")", "FEEL function matches() is not supported"},
		{"=string length(name, 1)", "string length() takes 1 argument, not 2"},
		{"=substring(name)", "substring() takes 2 to 3 arguments, not 1"},
		{`=substring(string: "a", start position: 1)`, "named arguments are not supported"},
		{`={"x" 1}`, `expected ":"`},
		{"=[1, 2", `expected "]" at end`},
		{"={1: 2}", "expected a context key"},
		{"=a >", "unexpected end"},
		{"=(a", `expected ")"`},
		{`="unterminated`, "unterminated string"},
		{"=a ? b", `unexpected "?"`},
		{"=a == b", "'==' at offset 2 is not FEEL: compare with a single '='"},
		{"=a && b", `"&&" at offset 2 is not FEEL`},
		{"=x in [1,2]", "'in' unary tests are not supported"},
		{"=for x in [1,2] return x", "'for' loops are not supported"},
		{"=some x in [1,2] satisfies x > 1", "quantifiers are not supported"},
		{"=every x in l satisfies x", "quantifiers are not supported"},
		{"=x instance of number", "'instance of' are not supported"},
		{"=function(x) x", "function definitions are not supported"},
		{"=[1..3]", "ranges (a..b) are not supported"},
		{`=@"2020-04-05"`, `only durations such as @"PT30S" are supported`},
		{`=@"P1Y"`, "years, months and weeks are not supported"},
		{"=if a then b", `expected "else" at end`},
		{"=a.b(1)", "only built-in functions can be called"},
		{"=a // note", "comments are not supported"},
		{"=date and time(x)", "FEEL function date and time() is not supported"},
	}
	for _, tt := range tests {
		t.Run(tt.expr, func(t *testing.T) {
			_, err := Parse(tt.expr)
			if err == nil {
				t.Fatalf("parsed %q, want an error", tt.expr)
			}
			if !strings.Contains(err.Error(), strconv.Quote(tt.expr)) || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not quote the expression and say %q", err, tt.want)
			}
		})
	}
}

func TestEvalGoValues(t *testing.T) {
	x, err := Parse("=n + 1 = m.k[1] and l[2] = 2.5")
	if err != nil {
		t.Fatal(err)
	}
	v, err := x.Eval(map[string]any{"n": 1, "m": map[string]any{"k": []any{int64(2)}}, "l": []any{"a", 2.5}})
	if err != nil || v != true {
		t.Errorf("got %v, %v; want true", v, err)
	}
	_, err = x.Eval(map[string]any{"n": struct{}{}})
	if err == nil || !strings.Contains(err.Error(), `variable "n": a Go struct {} is not a FEEL value`) {
		t.Errorf("error %v does not name the variable and its type", err)
	}
}

func TestEvalBool(t *testing.T) {
	vars := map[string]any{"from": "+15550100", "body": "STOP"}
	if ok, err := EvalBool(`=upper case(body) = "STOP" and starts with(from, "+1")`, vars); err != nil || !ok {
		t.Errorf("got %v, %v; want true", ok, err)
	}
	if _, err := EvalBool("=missing > 1", vars); err == nil || !strings.Contains(err.Error(), "must be a boolean, but was NULL") {
		t.Errorf("error %v does not say the result was null", err)
	}
	if _, err := EvalBool("=nope(1)", vars); err == nil || !strings.Contains(err.Error(), "nope() is not supported") {
		t.Errorf("error %v does not reject the function", err)
	}
}

func TestDuration(t *testing.T) {
	for _, tt := range []struct{ in, out string }{
		{"PT30S", "PT30S"}, {"PT0S", "PT0S"}, {"P1DT2H3M4.5S", "P1DT2H3M4.5S"}, {"PT90M", "PT1H30M"},
		{"-PT1S", "-PT1S"}, {"P2D", "P2D"}, {"PT0.25S", "PT0.25S"},
	} {
		d, err := ParseDuration(tt.in)
		if err != nil || d.String() != tt.out {
			t.Errorf("ParseDuration(%q) = %v, %v; want %s", tt.in, d, err, tt.out)
		}
	}
	for _, bad := range []string{"", "P", "PT", "30S", "P1Y", "PT1D", "P1H", "PTS", "P1DT"} {
		if _, err := ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) succeeded", bad)
		}
	}
}
