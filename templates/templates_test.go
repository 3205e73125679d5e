package templates

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/twilio-connector/twilio-connector/errs"
)

func decodeVars(t testing.TB, s string) map[string]any {
	t.Helper()
	var vars map[string]any
	d := json.NewDecoder(strings.NewReader(s))
	d.UseNumber()
	if err := d.Decode(&vars); err != nil {
		t.Fatal(err)
	}
	return vars
}

func TestRenderCallerContract(t *testing.T) {
	tpl, err := Compile("smsBody", "Order ${orderId} is ready", Freemarker)
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []any{json.Number("1042"), float64(1042), 1042, int64(1042)} {
		out, err := tpl.Render(map[string]any{"orderId": v})
		if err != nil || out != "Order 1,042 is ready" {
			t.Errorf("orderId %T: got %q, %v", v, out, err)
		}
	}
	if again, _ := Compile("smsBody", "Order ${orderId} is ready", ""); again != tpl {
		t.Error("Compile did not return the cached template (engine \"\" must mean Freemarker)")
	}
}

func TestParseEngine(t *testing.T) {
	for in, want := range map[string]Engine{"": Freemarker, "freemarker": Freemarker, " Pongo2 ": Pongo2} {
		if got, err := ParseEngine("templateEngine", in); err != nil || got != want {
			t.Errorf("ParseEngine(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ParseEngine("templateEngine", "jinja"); err == nil || !strings.Contains(err.Error(), "templateEngine") {
		t.Errorf("ParseEngine(jinja) = %v", err)
	}
}

// TestLiteral: finished text from the MQTT entry point is sent as it is, ${...} included, and
// models cannot select the literal engine.
func TestLiteral(t *testing.T) {
	tpl, err := Compile("message", "Price ${price} <#if x>{{ y }}", Literal)
	if err != nil {
		t.Fatal(err)
	}
	if out, err := tpl.Render(map[string]any{"price": 3}); err != nil || out != "Price ${price} <#if x>{{ y }}" {
		t.Errorf("Render = %q, %v", out, err)
	}
	if _, err := ParseEngine("templateEngine", "literal"); err == nil {
		t.Error("ParseEngine accepted literal; it is for the MQTT entry point only")
	}
}

// TestErrors covers the failures a modeler can cause; every one must be an INVALID_INPUT
// *errs.Error naming the field and saying where and what.
func TestErrors(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "secret.txt")
	if err := os.WriteFile(secret, []byte("TOP-SECRET"), 0o600); err != nil {
		t.Fatal(err)
	}
	big := `{"xs": [` + strings.TrimSuffix(strings.Repeat("1,", 30), ",") + `], "vip": true, "name": "Ada"}`
	for _, tc := range []struct {
		name    string
		field   string
		engine  Engine
		src     string
		vars    string
		compile bool // the error comes from Compile, not Render
		want    []string
	}{
		{name: "missing variable", field: "smsBody", src: "Order ${orderId} is ready", vars: `{}`,
			want: []string{"render smsBody", "line 1, column 9", `variable "orderId" is missing`, `${orderId!"default"}`}},
		{name: "missing on line 2", field: "echo", src: "Hi\n  ${a.b}", vars: `{"a": {}}`,
			want: []string{"render echo", "line 2, column 5", `"a.b" is missing`, `${(a.b)!"default"}`}},
		{name: "missing parent", field: "echoError", src: "${order.id}", vars: `{}`,
			want: []string{"render echoError", `variable "order" is missing`}},
		{name: "unclosed interpolation", field: "smsBody", src: "Hello ${customerName", compile: true,
			want: []string{"compile smsBody", "line 1, column 7", "${ is not closed"}},
		{name: "syntax error in expression", field: "callMessage", src: "<#if x ==>a</#if>", compile: true,
			want: []string{"compile callMessage", "line 1", "expression is incomplete"}},
		{name: "unclosed if", field: "smsBody", src: "<#if true>\nyes", compile: true,
			want: []string{"line 1, column 1", "add </#if>"}},
		{name: "stray end tag", field: "smsBody", src: "a</#list>", compile: true,
			want: []string{"</#list> has no matching <#list>"}},
		{name: "unsupported directive", field: "smsBody", src: "<#macro m>x</#macro>", compile: true,
			want: []string{"<#macro> is not supported"}},
		{name: "unknown directive", field: "smsBody", src: "<#foo>", compile: true,
			want: []string{"unknown directive <#foo>"}},
		{name: "unsupported built-in", field: "smsBody", src: "${name?reverse}", compile: true,
			want: []string{"line 1, column 8", "?reverse is not supported", "?upper_case"}},
		{name: "unsupported number format", field: "smsBody", src: `${n?string("0.0E0")}`, compile: true,
			want: []string{`number format "0.0E0" is not supported`}},
		{name: "legacy interpolation", field: "smsBody", src: "#{x}", compile: true,
			want: []string{"#{...} numeric interpolation is not supported"}},
		{name: "string interpolation", field: "smsBody", src: `${"a ${b}"}`, compile: true,
			want: []string{"interpolation inside a string literal is not supported"}},
		{name: "include", field: "smsBody", src: `<#include "` + secret + `">`, compile: true,
			want: []string{"<#include> is not allowed", "cannot read files"}},
		{name: "import", field: "smsBody", src: `<#import "lib.ftl" as lib>`, compile: true,
			want: []string{"<#import> is not allowed"}},
		{name: "macro call", field: "smsBody", src: `<@lib.x/>`, compile: true,
			want: []string{"macro calls"}},
		{name: "bare boolean", field: "smsBody", src: "VIP: ${vip}", vars: big,
			want: []string{"vip is a boolean", "${vip?c}"}},
		{name: "bare comparison", field: "smsBody", src: "${xs?size gt 1}", vars: big,
			want: []string{"is a boolean", "${(xs?size gt 1)?c}"}},
		{name: "legacy string format", field: "smsBody", src: "${n?string.currency}", compile: true,
			want: []string{"line 1, column 11", "?string.format is not supported", `?string("0.00")`}},
		{name: "if on a number", field: "smsBody", src: "<#if xs?size>x</#if>", vars: big,
			want: []string{"a boolean (true/false) is needed"}},
		{name: "compare string with number", field: "smsBody", src: `<#if name == 1>x</#if>`, vars: big,
			want: []string{"cannot compare a string with a number"}},
		{name: "division by zero", field: "smsBody", src: "${1 / 0}", vars: `{}`,
			want: []string{"division by zero"}},
		{name: "oversize template", field: "smsBody", src: strings.Repeat("a", MaxTemplateSize+1), compile: true,
			want: []string{"more than the limit of 65536"}},
		{name: "oversize output", field: "smsBody", src: "<#list xs as x>" + strings.Repeat("y", 4096) + "</#list>", vars: big,
			want: []string{"output is longer than 65536 bytes"}},
		{name: "loop bound", field: "smsBody", src: "<#list xs as a><#list xs as b><#list xs as c></#list></#list></#list>", vars: big,
			want: []string{"loops ran more than 10000 times"}},
		{name: "string growth", field: "smsBody", src: `<#assign s = "ab"><#list xs as x><#assign s = s + s></#list>${s?length}`, vars: big,
			want: []string{"line 1, column 47", "s + s makes a string of 131072 bytes, more than the limit of 65536 bytes per value"}},
		{name: "pongo2 syntax error", field: "smsBody", engine: Pongo2, src: "Hi {{ name ", compile: true,
			want: []string{"compile smsBody", "line 1"}},
		{name: "pongo2 include", field: "smsBody", engine: Pongo2, src: `{% include "` + secret + `" %}`, compile: true,
			want: []string{"compile smsBody", "is not allowed", "cannot include"}},
		{name: "pongo2 ssi", field: "smsBody", engine: Pongo2, src: `{% ssi "` + secret + `" %}`, compile: true,
			want: []string{"is not allowed"}},
		{name: "pongo2 extends", field: "smsBody", engine: Pongo2, src: `{% extends "base.html" %}`, compile: true,
			want: []string{"is not allowed"}},
		{name: "pongo2 import", field: "smsBody", engine: Pongo2, src: `{% import "m.html" x %}`, compile: true,
			want: []string{"is not allowed"}},
		{name: "pongo2 macro", field: "smsBody", engine: Pongo2, src: `{% macro m() %}{{ m() }}{% endmacro %}{{ m() }}`, compile: true,
			want: []string{"is not allowed"}},
		{name: "pongo2 internal tag", field: "smsBody", engine: Pongo2, src: `{% fm_out 1 %}`, compile: true,
			want: []string{"is not allowed"}},
		{name: "pongo2 padding filter", field: "smsBody", engine: Pongo2, src: `{{ name|ljust:1000000000 }}`, compile: true,
			want: []string{"is not allowed"}},
		{name: "pongo2 concatenation bound", field: "smsBody", engine: Pongo2, src: "{{ name" + strings.Repeat("+name", 65) + " }}", compile: true,
			want: []string{"more than the limit of 64"}},
		{name: "pongo2 loop bound", field: "smsBody", engine: Pongo2, vars: big,
			src:  "{% for a in xs %}{% for b in xs %}{% for c in xs %}{% endfor %}{% endfor %}{% endfor %}",
			want: []string{"render smsBody", "loops ran more than the limit"}},
		{name: "pongo2 oversize output", field: "smsBody", engine: Pongo2, vars: big,
			src:  "{% for a in xs %}{% for b in xs %}" + strings.Repeat("y", 100) + "{% endfor %}{% endfor %}",
			want: []string{"output is longer than 65536 bytes"}},
		{name: "pongo2 string growth", field: "smsBody", engine: Pongo2, vars: big,
			src:  `{% set s = "ab" %}{% for x in xs %}{% set s = s + s %}{% endfor %}{{ s|length }}`,
			want: []string{"render smsBody", "a value is longer than 65536 bytes"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			engine := tc.engine
			if engine == "" {
				engine = Freemarker
			}
			tpl, err := Compile(tc.field, tc.src, engine)
			if err == nil {
				if tc.compile {
					t.Fatalf("Compile(%q) succeeded, want an error", tc.src)
				}
				var out string
				out, err = tpl.Render(decodeVars(t, tc.vars))
				if err == nil {
					t.Fatalf("Render succeeded with %q, want an error", out)
				}
			} else if !tc.compile {
				t.Fatalf("Compile: %v", err)
			}
			var e *errs.Error
			if !errors.As(err, &e) || e.Code != errs.InvalidInput || e.Field != tc.field {
				t.Fatalf("error %#v is not an INVALID_INPUT *errs.Error about %s", err, tc.field)
			}
			for _, w := range tc.want {
				if !strings.Contains(e.Message, w) {
					t.Errorf("error %q does not contain %q", e.Message, w)
				}
			}
			if strings.Contains(err.Error(), "TOP-SECRET") {
				t.Errorf("error leaks the file: %v", err)
			}
		})
	}
}

func TestPongo2Engine(t *testing.T) {
	vars := decodeVars(t, `{"name": "O'Brien <b>", "n": 1042, "items": ["a", "b"], "bad-key": 1}`)
	for src, want := range map[string]string{
		"Hi {{ name }}!":        "Hi O'Brien <b>!",
		"{{ n }} {{ n|add:1 }}": "1042 1043",
		"{% for i in items %}{{ i }}{% if not forloop.Last %}, {% endif %}{% endfor %}": "a, b",
		"{%- for i in items -%} {{ i }} {%- endfor -%}":                                 "ab",
		"{{ missing|default:\"x\" }}":                                                   "x",
		"{% verbatim %}{% for x in y %}{% endverbatim %}":                               "{% for x in y %}",
	} {
		tpl, err := Compile("smsBody", src, Pongo2)
		if err != nil {
			t.Errorf("Compile(%q): %v", src, err)
			continue
		}
		if out, err := tpl.Render(vars); err != nil || out != want {
			t.Errorf("Render(%q) = %q, %v; want %q", src, out, err, want)
		}
	}
}

func TestConcurrentCompileAndRender(t *testing.T) {
	var wg sync.WaitGroup
	for g := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				src := fmt.Sprintf("Hi ${name}, <#list xs as x>${x}<#sep>, </#list> #%d", i%5)
				tpl, err := Compile("smsBody", src, Freemarker)
				if err != nil {
					t.Error(err)
					return
				}
				out, err := tpl.Render(map[string]any{"name": "Ada", "xs": []any{json.Number("1"), g}})
				if want := fmt.Sprintf("Hi Ada, 1, %d #%d", g, i%5); err != nil || out != want {
					t.Errorf("got %q, %v; want %q", out, err, want)
					return
				}
				if _, err := tpl.Render(map[string]any{"xs": []any{}}); err == nil {
					t.Error("missing name: no error")
				}
			}
		}()
	}
	wg.Wait()
}

// FuzzCompile feeds arbitrary sources to both engines: no panic, no hang, no file content in
// the output.
func FuzzCompile(f *testing.F) {
	secret := filepath.Join(f.TempDir(), "secret.txt")
	const marker = "FUZZ-SECRET-MARKER"
	if err := os.WriteFile(secret, []byte(marker), 0o600); err != nil {
		f.Fatal(err)
	}
	for _, c := range loadCorpus(f) {
		f.Add(c.Template)
	}
	for _, s := range []string{
		`<#include "` + secret + `">`, `{% include "` + secret + `" %}`, `{% ssi "` + secret + `" parsed %}`,
		`<#list xs as x><#list xs as y>${x}${y}</#list></#list>`, "${((((((((((x))))))))))}",
		"${", "<#if", "<#list xs as>", "<#--", "${x!}", "${x!!}", "${x?}", "${'\\x}", "{{ {% {#",
		"<#if (a>b)>x</#if>", "${a[0][1][2]}", "<#assign a = a + a>", "<#sep>", "</#if>",
		strings.Repeat("<#if true>", 120), strings.Repeat("(", 200), "{% for x in xs %}{% endfor %}",
	} {
		f.Add(s)
	}
	vars := map[string]any{"x": json.Number("1.5"), "xs": []any{"a", json.Number("2"), true, nil}, "s": "str",
		"h": map[string]any{"k": "v"}, "a": "aa", "b": json.Number("3")}
	f.Fuzz(func(t *testing.T, src string) {
		for _, engine := range []Engine{Freemarker, Pongo2} {
			tpl, err := Compile("smsBody", src, engine)
			if err != nil {
				var e *errs.Error
				if !errors.As(err, &e) {
					t.Fatalf("%s: error %T is not *errs.Error", engine, err)
				}
				continue
			}
			out, _ := tpl.Render(vars)
			if strings.Contains(out, marker) && !strings.Contains(src, marker) {
				t.Fatalf("%s: output contains the content of a file: %q", engine, src)
			}
			if len(out) > MaxOutputSize {
				t.Fatalf("%s: output of %d bytes", engine, len(out))
			}
		}
	})
}

// BenchmarkRender renders a typical SMS template compiled once.
func BenchmarkRender(b *testing.B) {
	tpl, err := Compile("smsBody", `Hi ${customer.firstName!"there"}, your order #${orderId} of ${total?string("0.00")} USD is ${status?lower_case}.<#if items?size gt 0> Items: <#list items as i>${i.qty} x ${i.name}<#sep>, </#list>.</#if> Reply STOP to opt out.`, Freemarker)
	if err != nil {
		b.Fatal(err)
	}
	vars := decodeVars(b, `{"customer": {"firstName": "Ada"}, "orderId": 1042, "total": 1234.5, "status": "SHIPPED",
		"items": [{"qty": 2, "name": "Widget"}, {"qty": 1, "name": "Gadget"}]}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := tpl.Render(vars); err != nil {
			b.Fatal(err)
		}
	}
}
