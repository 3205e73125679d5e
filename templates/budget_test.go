package templates

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/twilio-connector/twilio-connector/errs"
)

// renderSteps renders like RenderContext and also returns the steps the render spent.
func renderSteps(t *testing.T, tpl *Template, ctx context.Context, vars map[string]any) (string, int, error) {
	t.Helper()
	st := &renderState{vars: vars, out: &limitWriter{}, budget: budget{ctx: ctx}}
	out, err := tpl.render(st)
	return out, st.steps, err
}

func items(n int) []any {
	xs := make([]any, n)
	for i := range xs {
		xs[i] = i
	}
	return xs
}

// wantInvalid fails unless err is an INVALID_INPUT *errs.Error about field containing every want.
func wantInvalid(t *testing.T, err error, field string, want ...string) {
	t.Helper()
	var e *errs.Error
	if !errors.As(err, &e) || e.Code != errs.InvalidInput || e.Field != field {
		t.Fatalf("error %#v is not an INVALID_INPUT *errs.Error about %s", err, field)
	}
	for _, w := range want {
		if !strings.Contains(e.Message, w) {
			t.Errorf("error %q does not contain %q", e.Message, w)
		}
	}
}

var stepLimit = fmt.Sprintf("more than %d steps of work", MaxSteps)

// TestHostileTemplates: templates that used to run for seconds to minutes, building strings of
// many MB, now stop at a limit with an error naming it, having spent at most the work budget.
func TestHostileTemplates(t *testing.T) {
	for _, tc := range []struct {
		name   string
		engine Engine
		src    string
		vars   map[string]any
		want   []string
	}{
		{name: "assign in a loop grows", engine: Freemarker, src: `<#list xs as i><#assign s = s?html></#list>${s}`,
			vars: map[string]any{"xs": items(3000), "s": strings.Repeat("<", 1000)},
			want: []string{"line 1, column 29", "s?html makes a string of", "more than the limit of 65536 bytes per value"}},
		{name: "assign in a loop works", engine: Freemarker, src: `<#list xs as i><#assign s = s?html></#list>${s?length}`,
			vars: map[string]any{"xs": items(3000), "s": strings.Repeat("x", 60000)},
			want: []string{"line 1, column 29", stepLimit}},
		{name: "chained built-ins", engine: Freemarker, src: "${s" + strings.Repeat("?html", 1600) + "}",
			vars: map[string]any{"s": "<"}, want: []string{"line 1, column 3", stepLimit}},
		{name: "chained built-ins grow", engine: Freemarker, src: "${s" + strings.Repeat("?html", 1600) + "}",
			vars: map[string]any{"s": strings.Repeat("<", 200)}, want: []string{"more than the limit of 65536 bytes per value"}},
		{name: "pongo2 nested loops", engine: Pongo2,
			src:  `{% for i in xs %}{% for j in xs %}{% set s = s|upper|lower %}{% endfor %}{% endfor %}{{ s|length }}`,
			vars: map[string]any{"xs": items(90), "s": strings.Repeat("x", 60000)},
			want: []string{"render smsBody", stepLimit}},
		{name: "pongo2 chained filters", engine: Pongo2, src: "{{ s" + strings.Repeat("|upper", 4000) + " }}",
			vars: map[string]any{"s": "x"}, want: []string{"render smsBody", stepLimit}},
		{name: "pongo2 growing filter", engine: Pongo2, src: "{{ s" + strings.Repeat("|addslashes", 12) + "|length }}",
			vars: map[string]any{"s": strings.Repeat(`\`, 64)},
			want: []string{"render smsBody", "line 1", "filter addslashes", "longer than 65536 bytes"}},
		{name: "pongo2 set in a loop grows", engine: Pongo2,
			src:  `{% for i in xs %}{% set s = s|escape %}{% endfor %}{{ s|length }}`,
			vars: map[string]any{"xs": items(3000), "s": strings.Repeat("<", 1000)},
			want: []string{"render smsBody", "filter escape", "longer than 65536 bytes"}},
		{name: "pongo2 join multiplies", engine: Pongo2, src: `{{ xs|join:sep|length }}`,
			vars: map[string]any{"xs": items(1000), "sep": strings.Repeat("x", 1000)},
			want: []string{"render smsBody", "filter join", "longer than 65536 bytes"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tpl, err := Compile("smsBody", tc.src, tc.engine)
			if err != nil {
				t.Fatal(err)
			}
			out, steps, err := renderSteps(t, tpl, context.Background(), tc.vars)
			if err == nil {
				t.Fatalf("rendered %d bytes, want an error", len(out))
			}
			wantInvalid(t, err, "smsBody", tc.want...)
			// The last charge can overshoot the budget: by a string of up to MaxValueSize, or by
			// the static cost of a native template, charged at once when the render starts.
			if limit := MaxSteps + MaxValueSize/bytesPerStep + filterSteps*4000; steps > limit {
				t.Errorf("spent %d steps, more than %d", steps, limit)
			}
		})
	}
}

// TestLegitimateTemplatesStayFarUnderTheBudget: the corpus (every supported construct, typical
// messages) spends less than a hundredth of the budget.
func TestLegitimateTemplatesStayFarUnderTheBudget(t *testing.T) {
	for _, c := range loadCorpus(t) {
		tpl, err := Compile("smsBody", c.Template, Freemarker)
		if err != nil {
			continue
		}
		if _, steps, _ := renderSteps(t, tpl, context.Background(), c.Data); steps > MaxSteps/100 {
			t.Errorf("%s: %d steps", c.Name, steps)
		}
	}
	tpl, err := Compile("smsBody", `Hi {{ name|title }}: {% for i in items %}{{ i.qty }} x {{ i.name|upper }}{% if not forloop.Last %}, {% endif %}{% endfor %}.`, Pongo2)
	if err != nil {
		t.Fatal(err)
	}
	vars := decodeVars(t, `{"name": "ada", "items": [{"qty": 2, "name": "Widget"}, {"qty": 1, "name": "Gadget"}]}`)
	out, steps, err := renderSteps(t, tpl, context.Background(), vars)
	if err != nil || out != "Hi Ada: 2 x WIDGET, 1 x GADGET." {
		t.Fatalf("got %q, %v", out, err)
	}
	if steps > MaxSteps/100 {
		t.Errorf("pongo2: %d steps", steps)
	}
}

// TestRenderStopsAtTheContextDeadline: a render whose context is done stops within
// ctxCheckEvery steps, long before its loop ends.
func TestRenderStopsAtTheContextDeadline(t *testing.T) {
	ctx, cancel := context.WithDeadline(context.Background(), time.Now().Add(-time.Second))
	defer cancel()
	vars := map[string]any{"xs": items(5000)}
	for engine, src := range map[Engine]string{
		Freemarker: `<#list xs as x>${x}</#list>`,
		Pongo2:     `{% for x in xs %}{{ x }}{% endfor %}`,
	} {
		tpl, err := Compile("callMessage", src, engine)
		if err != nil {
			t.Fatal(err)
		}
		_, steps, err := renderSteps(t, tpl, ctx, vars)
		wantInvalid(t, err, "callMessage", "render callMessage", "rendering stopped at the request's deadline")
		if steps > 2*ctxCheckEvery {
			t.Errorf("%s: spent %d steps after the deadline", engine, steps)
		}
		if _, err := tpl.Render(vars); err != nil {
			t.Errorf("%s without a deadline: %v", engine, err)
		}
	}
}

// TestPongo2FilterArguments: built-in filters given huge or bad arguments either work or fail
// with INVALID_INPUT naming the field; none panics into an internal error.
func TestPongo2FilterArguments(t *testing.T) {
	vars := map[string]any{"s": "the quick brown fox", "xs": items(5), "n": 7}
	for _, src := range []string{
		"{{ s|wordwrap:1000000000 }}", "{{ s|wordwrap:-1 }}", `{{ xs|slice:"3:1000000000" }}`, `{{ s|slice:"-1000000000:2" }}`,
		`{{ xs|slice:"5:1" }}`, "{{ s|truncatechars:1000000000 }}", "{{ s|truncatewords:-5 }}", "{{ n|get_digit:1000000000 }}",
		"{{ s|urlizetrunc:1000000000 }}", "{{ s|linenumbers }}", `{{ s|join:"-" }}`, "{{ xs|first|divisibleby:0 }}",
		`{{ s|date:"2006" }}`, "{{ s|pluralize:\"a,b,c,d\" }}", "{% widthratio n 0 1000000000 %}",
		"{{ s|center:1000000000 }}", "{{ s|ljust:1000000000 }}", "{{ s|rjust:1000000000 }}", `{{ n|stringformat:"%1000000000d" }}`,
		"{{ n|floatformat:1000000000 }}", "{{ s|make_list }}", "{% filter upper %}{{ s }}{% endfilter %}",
	} {
		tpl, err := Compile("smsBody", src, Pongo2)
		if err == nil {
			_, err = tpl.Render(vars)
		}
		if err == nil {
			continue
		}
		var e *errs.Error
		if !errors.As(err, &e) || e.Code != errs.InvalidInput || e.Field != "smsBody" {
			t.Errorf("%s: error %#v is not an INVALID_INPUT *errs.Error about smsBody", src, err)
		}
	}
	tpl, err := Compile("smsBody", "{{ s|wordwrap:1000000000 }}", Pongo2)
	if err != nil {
		t.Fatal(err)
	}
	_, err = tpl.Render(vars)
	wantInvalid(t, err, "smsBody", "render smsBody", "line 1, column 6", "filter wordwrap", "check its argument")
}
