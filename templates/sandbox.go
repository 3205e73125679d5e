package templates

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"sync"

	"github.com/flosch/pongo2/v6"
)

// stateKey is the pongo2 context key under which a render's state travels to the tags.
const stateKey = "_twilio_connector_render_state"

// noFiles is the only loader of both template sets: templates cannot read files.
type noFiles struct{}

func (noFiles) Abs(base, name string) string { return name }

func (noFiles) Get(path string) (io.Reader, error) {
	return nil, errors.New("templates cannot read files")
}

// Tags and filters a template must not use: file access, template inheritance and macros
// (which can recurse without bound), tags that render their body into a buffer of their own
// (filter, spaceless, ifchanged: the output limit does not see it), and generators whose size
// comes from an argument.
var (
	bannedTags    = []string{"include", "import", "extends", "block", "ssi", "macro", "lorem", "templatetag", "now", "filter", "spaceless", "ifchanged"}
	bannedFilters = []string{"center", "ljust", "rjust", "stringformat", "floatformat", "make_list"}
)

// The sets are built on first use: the fm_* tags register in an init function, which runs
// after package variables are initialized.
var (
	freemarkerSet = sync.OnceValue(func() *pongo2.TemplateSet { return newSet("freemarker", nil) })
	nativeSet     = sync.OnceValue(func() *pongo2.TemplateSet {
		return newSet("pongo2", []string{tagOut, tagIf, tagList, tagSep, tagAssign})
	})
)

func newSet(name string, extraBans []string) *pongo2.TemplateSet {
	set := pongo2.NewSet(name, noFiles{})
	for _, t := range append(append([]string(nil), bannedTags...), extraBans...) {
		if err := set.BanTag(t); err != nil {
			panic(err)
		}
	}
	for _, f := range bannedFilters {
		if err := set.BanFilter(f); err != nil {
			panic(err)
		}
	}
	return set
}

var errOutputTooLarge = errors.New("output is longer than the limit")

// limitWriter collects output up to MaxOutputSize and then refuses more.
type limitWriter struct {
	b    strings.Builder
	over bool
}

func (w *limitWriter) Write(p []byte) (int, error) {
	if !w.fits(len(p)) {
		return 0, errOutputTooLarge
	}
	return w.b.Write(p)
}

func (w *limitWriter) WriteString(s string) (int, error) {
	if !w.fits(len(s)) {
		return 0, errOutputTooLarge
	}
	return w.b.WriteString(s)
}

func (w *limitWriter) fits(n int) bool {
	if w.b.Len()+n > MaxOutputSize {
		w.over = true
	}
	return !w.over
}

func (w *limitWriter) full() bool { return w.over }

func (w *limitWriter) err() error { return errOutputTooLarge }

// A native pongo2 template gets {% fm_loopcheck cost %} at its start and after every {% for %}
// and {% set %} tag. It charges cost steps (the tags, outputs and filters written in the loop's
// body, or in the whole template at the start), counts loop iterations, watches the render's
// context, stops a render whose output is full, and refuses variables that grew beyond
// MaxValueSize by repeated {% set s = s + s %}.
var loopTagRe = regexp.MustCompile(`\{%-?\s*(for|set)\s[^%]*(?:%[^}][^%]*)*(-?)%\}`)

// maxNativeConcats bounds + and |add in a native template: each can at most add the size of
// a variable to a string, so a render's memory stays a small multiple of its variables'.
const maxNativeConcats = 64

var nativeTagRe = regexp.MustCompile(`(?s)\{\{.*?\}\}|\{%.*?%\}`)

func countConcats(src string) int {
	n := 0
	for _, m := range nativeTagRe.FindAllString(src, -1) {
		n += strings.Count(m, "+") + strings.Count(m, "add")
	}
	return n
}

var (
	verbatimRe = regexp.MustCompile(`(?s)\{%-?\s*verbatim\s*-?%\}.*?\{%-?\s*endverbatim\s*-?%\}`)
	forRe      = regexp.MustCompile(`^\{%-?\s*for\s`)
	endforRe   = regexp.MustCompile(`^\{%-?\s*endfor\s*-?%\}$`)
)

// tagCost is what one execution of a tag or output costs: a step, and filterSteps per filter.
func tagCost(tag string) int { return 1 + filterSteps*strings.Count(tag, "|") }

// instrumentNative returns src with a check after every {% for %} and {% set %} tag, and the
// check that goes before it.
func instrumentNative(src string) (body, start string) {
	// Verbatim blocks are text: blank them out so that their tags are neither counted nor
	// instrumented, keeping every offset.
	masked := verbatimRe.ReplaceAllStringFunc(src, func(m string) string { return strings.Repeat(" ", len(m)) })
	tags := nativeTagRe.FindAllStringIndex(masked, -1)
	// bodyCost[i] is the cost of the body of the {% for %} at tags[i], nested loops included.
	bodyCost := make(map[int]int)
	var open []int // indexes of the enclosing {% for %} tags
	total := 0
	for i, loc := range tags {
		tag := masked[loc[0]:loc[1]]
		c := tagCost(tag)
		total += c
		for _, f := range open {
			bodyCost[f] += c
		}
		switch {
		case forRe.MatchString(tag):
			open = append(open, i)
		case endforRe.MatchString(tag) && len(open) > 0:
			open = open[:len(open)-1]
		}
	}
	var b strings.Builder
	last := 0
	for i, loc := range tags {
		tag := masked[loc[0]:loc[1]]
		if !loopTagRe.MatchString(tag) || loopTagRe.FindString(tag) != tag {
			continue
		}
		b.WriteString(src[last:loc[1]])
		last = loc[1]
		trim := ""
		if strings.HasSuffix(tag, "-%}") {
			trim = "-"
		}
		fmt.Fprintf(&b, "{%% %s %d %s%%}", tagLoopCheck, 1+bodyCost[i], trim)
	}
	b.WriteString(src[last:])
	return b.String(), fmt.Sprintf("{%% %s %d %%}", tagLoopCheck, total)
}

type loopCheckTag struct{ cost int }

func parseLoopCheck(doc *pongo2.Parser, start *pongo2.Token, args *pongo2.Parser) (pongo2.INodeTag, *pongo2.Error) {
	tok := args.MatchType(pongo2.TokenNumber)
	if tok == nil || args.Remaining() > 0 {
		return nil, args.Error("internal tag "+start.Val+" needs a cost", start)
	}
	cost, err := strconv.Atoi(tok.Val)
	if err != nil {
		return nil, args.Error("internal tag "+start.Val+": bad cost", start)
	}
	return loopCheckTag{cost: cost}, nil
}

func (n loopCheckTag) Execute(ctx *pongo2.ExecutionContext, _ pongo2.TemplateWriter) *pongo2.Error {
	st := stateOf(ctx)
	if st == nil {
		return ctx.Error("internal tag", nil)
	}
	st.iterations++
	if st.iterations > MaxLoopIterations {
		return fail(ctx, st, errors.New("loops ran more than the limit"))
	}
	if err := st.spend(n.cost); err != nil {
		return fail(ctx, st, err)
	}
	if err := st.ctx.Err(); err != nil {
		return fail(ctx, st, deadlineError(err))
	}
	if st.out.full() {
		return fail(ctx, st, errOutputTooLarge)
	}
	for _, v := range ctx.Private {
		if pv, ok := v.(*pongo2.Value); ok && tooLong(pv) {
			return fail(ctx, st, errValue)
		}
	}
	return nil
}

// nativeVars converts JSON numbers for pongo2, which otherwise sees json.Number as a string:
// integers become int64, other numbers float64.
func nativeVars(v any) any {
	switch t := v.(type) {
	case json.Number:
		if i, err := t.Int64(); err == nil {
			return i
		}
		if f, err := t.Float64(); err == nil {
			return f
		}
		return string(t)
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, e := range t {
			m[k] = nativeVars(e)
		}
		return m
	case []any:
		s := make([]any, len(t))
		for i, e := range t {
			s[i] = nativeVars(e)
		}
		return s
	}
	return v
}
