package templates

import (
	"encoding/json"
	"errors"
	"io"
	"regexp"
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
// (which can recurse without bound), and generators whose size comes from an argument.
var (
	bannedTags    = []string{"include", "import", "extends", "block", "ssi", "macro", "lorem", "templatetag", "now"}
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

// A native pongo2 template gets {% fm_loopcheck %} after every {% for %} and {% set %} tag:
// it counts loop iterations, stops a render whose output is full, and refuses strings that
// grew beyond MaxOutputSize by repeated {% set s = s + s %}.
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

var verbatimRe = regexp.MustCompile(`(?s)\{%-?\s*verbatim\s*-?%\}.*?\{%-?\s*endverbatim\s*-?%\}`)

func instrumentNative(src string) string {
	instrument := func(s string) string {
		return loopTagRe.ReplaceAllStringFunc(s, func(m string) string {
			if strings.HasSuffix(m, "-%}") {
				return m + "{% " + tagLoopCheck + " -%}"
			}
			return m + "{% " + tagLoopCheck + " %}"
		})
	}
	var b strings.Builder
	last := 0
	for _, loc := range verbatimRe.FindAllStringIndex(src, -1) {
		b.WriteString(instrument(src[last:loc[0]]))
		b.WriteString(src[loc[0]:loc[1]])
		last = loc[1]
	}
	b.WriteString(instrument(src[last:]))
	return b.String()
}

type loopCheckTag struct{}

func parseLoopCheck(doc *pongo2.Parser, start *pongo2.Token, args *pongo2.Parser) (pongo2.INodeTag, *pongo2.Error) {
	return loopCheckTag{}, nil
}

func (loopCheckTag) Execute(ctx *pongo2.ExecutionContext, _ pongo2.TemplateWriter) *pongo2.Error {
	st := stateOf(ctx)
	if st == nil {
		return ctx.Error("internal tag", nil)
	}
	st.iterations++
	if st.iterations > MaxLoopIterations {
		return fail(ctx, st, errors.New("loops ran more than the limit"))
	}
	if st.out.full() {
		return fail(ctx, st, errOutputTooLarge)
	}
	for _, v := range ctx.Private {
		if pv, ok := v.(*pongo2.Value); ok && pv.IsString() && pv.Len() > MaxOutputSize {
			return fail(ctx, st, errors.New("a variable grew longer than the output limit"))
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
