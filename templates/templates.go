// Package templates renders the message templates modelers write (smsBody, echo, echoError, ...).
// Templates are compiled once and cached; rendering is safe for concurrent use.
package templates

import (
	"fmt"
	"regexp"
	"strings"
	"sync"

	"github.com/twilio-connector/twilio-connector/errs"
)

// Engine selects the template dialect.
type Engine string

const (
	// Freemarker is the default dialect (DESIGN §5).
	Freemarker Engine = "freemarker"
	// Pongo2 accepts templates written natively for github.com/flosch/pongo2/v6.
	Pongo2 Engine = "pongo2"
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
	source string
}

type cacheKey struct {
	engine Engine
	field  string
	source string
}

var cache sync.Map // cacheKey -> *Template

// Compile compiles source once and caches it. field names where the template came from
// (smsBody, echo, ...) so that every error can name it. Errors are *errs.Error with code
// INVALID_INPUT.
func Compile(field, source string, engine Engine) (*Template, error) {
	k := cacheKey{engine, field, source}
	if t, ok := cache.Load(k); ok {
		return t.(*Template), nil
	}
	if engine != Freemarker {
		return nil, errs.Invalid(field, "template engine %q is not supported yet", engine)
	}
	t := &Template{field: field, source: source}
	cache.Store(k, t)
	return t, nil
}

var interpolation = regexp.MustCompile(`\$\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}`)

// Render renders the template against vars (the job's variables). A missing variable is an
// error naming it.
func (t *Template) Render(vars map[string]any) (string, error) {
	var missing string
	out := interpolation.ReplaceAllStringFunc(t.source, func(m string) string {
		name := interpolation.FindStringSubmatch(m)[1]
		v, ok := vars[name]
		if !ok || v == nil {
			if missing == "" {
				missing = name
			}
			return ""
		}
		return fmt.Sprint(v)
	})
	if missing != "" {
		return "", errs.Invalid(t.field, "render %s: variable %q is missing: set it in the process or write ${%s!\"default\"}", t.field, missing, missing)
	}
	return out, nil
}
