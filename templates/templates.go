// Package templates renders the message templates modelers write (smsBody, echo, echoError,
// callMessage). Templates are compiled once and cached; rendering is safe for concurrent use.
//
// Freemarker templates (the default engine, docs/design.md §5) go through three steps at
// Compile:
//
//  1. lexer.go cuts the source into text, ${...}, directives and comments, lexing each tag's
//     expression so that quotes and ">" behave as in Freemarker;
//  2. parser.go builds a node tree and expression trees for the supported subset and rejects
//     everything else with the construct, its line and column; whitespace.go then applies
//     Freemarker's white-space stripping to the text (lines holding only tags disappear);
//  3. translate.go emits pongo2 source: literal text stays text (a "{" that pongo2 could read
//     as a tag is written as {{ "{" }}), and each Freemarker construct becomes an fm_* tag
//     whose node is handed to the tag's parser, which pongo2 compiles in a sandboxed set.
//
// At Render pongo2 drives the text and the fm_* tags, which evaluate expressions with
// Freemarker 2.3.31 semantics (eval.go, builtins.go): exact BigDecimal arithmetic, numbers
// printed as en_US "#,##0.###" with HALF_EVEN (format.go), missing values as errors unless
// defaulted, booleans printed only through ?c or ?string. pongo2's own expression language is
// not used for Freemarker templates because its missing-value, number and comparison rules
// differ from Freemarker's.
//
// Pongo2 templates are compiled by pongo2 directly, in their own set with the same sandbox
// (sandbox.go): no loader that reads files, include/import/extends/ssi/macro banned, loops
// counted and charged, every filter bounded (budget.go) and output bounded. Autoescaping is
// off: the output is an SMS or a spoken message, not HTML.
//
// Limits (budget.go: MaxTemplateSize, MaxOutputSize, MaxValueSize, MaxLoopIterations,
// MaxSteps, and the context given to RenderContext) hold for both engines, so a hostile
// template can neither read a file nor hang a worker nor exhaust its memory.
//
// The differential test (reference_test.go) renders testdata/corpus.json with the real
// Freemarker 2.3.31 and compares; adding a case there is the way to settle a semantic question.
package templates

import (
	"context"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/flosch/pongo2/v6"

	"github.com/twilio-connector/twilio-connector/errs"
)

// Engine selects the template dialect.
type Engine string

const (
	// Freemarker is the default dialect (docs/design.md §5).
	Freemarker Engine = "freemarker"
	// Pongo2 accepts templates written natively for github.com/flosch/pongo2/v6.
	Pongo2 Engine = "pongo2"
	// Literal is text used as it is, for entry points whose callers send finished text
	// (the Greengrass-compatible MQTT topics); it is not offered to process models.
	Literal Engine = "literal"
)

// ParseEngine maps a header or option value to an Engine; empty means Freemarker.
func ParseEngine(field, s string) (Engine, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", string(Freemarker):
		return Freemarker, nil
	case string(Pongo2):
		return Pongo2, nil
	}
	return "", errs.Invalid(field, "%s is %q: use %q or %q", field, s, Freemarker, Pongo2)
}

// Template is a compiled template.
type Template struct {
	field  string
	engine Engine
	src    *source
	tpl    *pongo2.Template
	// prefixLen is the length of the text before a native template's first line.
	prefixLen int
}

type cacheKey struct {
	engine Engine
	field  string
	source string
}

// maxCached bounds the cache; when it is full it is emptied. Templates come from process
// models, so a running connector normally holds a few dozen.
const maxCached = 4096

var (
	cache       sync.Map // cacheKey -> *Template
	cacheFilled atomic.Int64
)

func invalid(field, format string, args ...any) error {
	return errs.Invalid(field, format, args...)
}

// Compile compiles source once and caches it. field names where the template came from
// (smsBody, echo, ...) so that every error can name it. Errors are *errs.Error with code
// INVALID_INPUT.
func Compile(field, source string, engine Engine) (*Template, error) {
	switch engine {
	case "":
		engine = Freemarker
	case Literal: // nothing to compile; MQTT texts are seldom repeated, so not cached either
		return literal(field, source), nil
	}
	k := cacheKey{engine, field, source}
	if t, ok := cache.Load(k); ok {
		return t.(*Template), nil
	}
	if len(source) > MaxTemplateSize {
		return nil, errs.Invalid(field, "compile %s: template is %d bytes, more than the limit of %d: shorten it", field, len(source), MaxTemplateSize)
	}
	var (
		t   *Template
		err error
	)
	switch engine {
	case Freemarker:
		t, err = compileFreemarker(field, source)
	case Pongo2:
		t, err = compilePongo2(field, source)
	default:
		return nil, errs.Invalid(field, "template engine %q is not supported: use %q or %q", engine, Freemarker, Pongo2)
	}
	if err != nil {
		return nil, err
	}
	if cacheFilled.Add(1) > maxCached {
		cache.Clear()
		cacheFilled.Store(1)
	}
	actual, _ := cache.LoadOrStore(k, t)
	return actual.(*Template), nil
}

func literal(field, src string) *Template {
	return &Template{field: field, engine: Literal, src: &source{field: field, src: src}}
}

func compileFreemarker(field, src string) (t *Template, err error) {
	defer func() {
		if r := recover(); r != nil {
			t, err = nil, errs.New(errs.Internal, field, "compile %s: internal error: %v", field, r)
		}
	}()
	// Invalid UTF-8 becomes U+FFFD everywhere, as pongo2 already does in text and as Java's
	// decoder would.
	s := &source{field: field, src: strings.ToValidUTF8(src, "\uFFFD")}
	nodes, err := parse(s)
	if err != nil {
		return nil, err
	}
	tr := translate(nodes)
	defer tr.release()
	tpl, err := fromString(freemarkerSet(), tr.b.String())
	if err != nil {
		return nil, errs.New(errs.Internal, field, "compile %s: internal error: the translated template does not compile: %v", field, err)
	}
	return &Template{field: field, engine: Freemarker, src: s, tpl: tpl}, nil
}

// compileMu serializes pongo2 compilation: TemplateSet.FromString writes to the set without
// locking. Rendering needs no lock.
var compileMu sync.Mutex

func fromString(set *pongo2.TemplateSet, src string) (*pongo2.Template, error) {
	compileMu.Lock()
	defer compileMu.Unlock()
	return set.FromString(src)
}

const nativePrefix = "{% autoescape off %}"

func compilePongo2(field, src string) (t *Template, err error) {
	defer func() {
		if r := recover(); r != nil {
			t, err = nil, errs.Invalid(field, "compile %s: pongo2 template is malformed: %v", field, r)
		}
	}()
	s := &source{field: field, src: src}
	if n := countConcats(src); n > maxNativeConcats {
		return nil, errs.Invalid(field, "compile %s: the template has %d + or add operators, more than the limit of %d: build long texts in the process", field, n, maxNativeConcats)
	}
	body, start := instrumentNative(src)
	prefix := nativePrefix + start
	tpl, err := fromString(nativeSet(), prefix+body+"{% endautoescape %}")
	if err != nil {
		return nil, pongo2Error(field, "compile", len(prefix), err)
	}
	return &Template{field: field, engine: Pongo2, src: s, tpl: tpl, prefixLen: len(prefix)}, nil
}

// pongo2Error converts an error of a native template; prefixLen is the length of the text
// compilePongo2 put before the template's first line.
func pongo2Error(field, phase string, prefixLen int, err error) error {
	if pe, ok := err.(*pongo2.Error); ok {
		line, col := pe.Line, pe.Column
		if line == 1 {
			col -= prefixLen
		}
		msg := pe.OrigError.Error()
		if strings.Contains(msg, "sandbox restriction") {
			msg += ": templates cannot include, import or extend other templates, read files, define macros, pad text to a given width or filter whole blocks (filter, spaceless, ifchanged): apply filters to values instead"
		}
		if line > 0 {
			return errs.Invalid(field, "%s %s: line %d, column %d: %s", phase, field, line, max(col, 1), msg)
		}
		return errs.Invalid(field, "%s %s: %s", phase, field, msg)
	}
	return errs.Invalid(field, "%s %s: %v", phase, field, err)
}

var identifier = regexp.MustCompile("^[a-zA-Z0-9_]+$")

// Render renders the template against vars (the job's variables) with no deadline; see
// RenderContext.
func (t *Template) Render(vars map[string]any) (string, error) {
	return t.RenderContext(context.Background(), vars)
}

// RenderContext renders the template against vars (the job's variables). A missing variable is
// an error naming it. The render stops with an error when it exceeds a limit (MaxSteps,
// MaxValueSize, ...) or when ctx is done.
func (t *Template) RenderContext(ctx context.Context, vars map[string]any) (string, error) {
	if t.engine == Literal {
		return t.src.src, nil
	}
	st := &renderState{vars: vars, out: &limitWriter{}, budget: budget{ctx: ctx}}
	return t.render(st)
}

// render runs the render st; the caller can read the steps it spent.
func (t *Template) render(st *renderState) (out string, err error) {
	w := st.out
	w.b.Grow(min(len(t.src.src)+len(t.src.src)/2, 4096))
	vars := st.vars
	defer func() {
		if r := recover(); r != nil {
			out, err = "", errs.New(errs.Internal, t.field, "render %s: internal error: %v", t.field, r)
			if t.engine == Pongo2 { // pongo2's tags and filters panic on some arguments
				out, err = "", errs.Invalid(t.field, "render %s: the template failed (%v): check the arguments of its tags and filters", t.field, r)
			}
		}
	}()
	pctx := pongo2.Context{stateKey: st}
	if t.engine == Pongo2 {
		for k, v := range vars {
			if identifier.MatchString(k) && k != stateKey {
				pctx[k] = nativeVars(v)
			}
		}
	}
	perr := t.tpl.ExecuteWriterUnbuffered(pctx, w)
	switch {
	case w.over:
		return "", errs.Invalid(t.field, "render %s: output is longer than %d bytes: shorten the template or the lists it prints", t.field, MaxOutputSize)
	case st.err != nil:
		if t.engine == Pongo2 {
			return "", errs.Invalid(t.field, "render %s: %v", t.field, st.err)
		}
		return "", t.src.renderError(st.err)
	case perr != nil:
		if t.engine == Pongo2 {
			return "", pongo2Error(t.field, "render", t.prefixLen, perr)
		}
		return "", errs.New(errs.Internal, t.field, "render %s: internal error: %v", t.field, perr)
	}
	return w.b.String(), nil
}
