package templates

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	_ "unsafe" // go:linkname, see pongo2Filters

	"github.com/flosch/pongo2/v6"
)

// Limits on one render. A template that exceeds them fails with an INVALID_INPUT error naming
// the field and the limit. A legitimate SMS or call template stays far under all of them: a
// message is at most 1,600 characters and a few dozen expressions.
const (
	// MaxTemplateSize is the largest template source Compile accepts, in bytes.
	MaxTemplateSize = 64 << 10
	// MaxOutputSize is the largest output Render produces, in bytes.
	MaxOutputSize = 64 << 10
	// MaxValueSize bounds every string a template computes or assigns: the result of each
	// built-in, filter and + and each assigned (<#assign>, {% set %}) variable, in bytes.
	MaxValueSize = 64 << 10
	// MaxLoopIterations bounds the iterations of all <#list> loops (or pongo2 for loops) of one render.
	MaxLoopIterations = 10000
	// MaxSteps bounds the work of one render. A Freemarker template spends one step per
	// expression, built-in and loop iteration, and one per 64 bytes of each string a built-in
	// or + makes. A pongo2 template spends, on each loop iteration and once for the whole
	// template, one step per tag and output and filterSteps per filter written in it.
	MaxSteps = 100_000
)

const (
	// bytesPerStep is the text a Freemarker built-in or + makes per step spent.
	bytesPerStep = 64
	// filterSteps is what one pongo2 filter application costs. pongo2 does not tell a filter
	// which render it serves, so the cost is charged where the filter is written, not measured.
	filterSteps = 64
	// ctxCheckEvery is how many steps pass between two looks at the render's context.
	ctxCheckEvery = 256
)

var (
	errSteps = fmt.Errorf("the template did more than %d steps of work (expressions, built-ins, filters, loop iterations): loop over fewer items, or prepare long texts in the process", MaxSteps)
	errValue = fmt.Errorf("a value is longer than %d bytes: keep strings the template builds or assigns short", MaxValueSize)
)

// budget counts the work of one render and watches its context.
type budget struct {
	ctx   context.Context
	steps int
	next  int // steps at which ctx is looked at next
}

// spend charges n steps. It fails when the render has used up MaxSteps or its context is done.
func (b *budget) spend(n int) error {
	b.steps += n
	if b.steps > MaxSteps {
		return errSteps
	}
	if b.steps >= b.next {
		b.next = b.steps + ctxCheckEvery
		if err := b.ctx.Err(); err != nil {
			return deadlineError(err)
		}
	}
	return nil
}

func deadlineError(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return errors.New("rendering stopped at the request's deadline: simplify the template")
	}
	return fmt.Errorf("rendering stopped: %v", err)
}

// made checks a string a built-in or + made and charges for it.
func (st *renderState) made(x expr, s string) error {
	if len(s) > MaxValueSize {
		return tooLongError(x, len(s))
	}
	if err := st.spend(len(s) / bytesPerStep); err != nil {
		return failf(x, "%v", err)
	}
	return nil
}

func tooLongError(x expr, n int) error {
	return failf(x, "%s makes a string of %d bytes, more than the limit of %d bytes per value: keep the strings a template builds short", exprSrc(x), n, MaxValueSize)
}

// maxDigits bounds the numbers arithmetic makes (unscaled digits and scale), far beyond any
// amount or count a message prints.
const maxDigits = 1000

var maxUnscaled = new(big.Int).Exp(big.NewInt(10), big.NewInt(maxDigits), nil)

func checkNumber(x expr, d *decimal) error {
	if d.s > maxDigits || d.u.CmpAbs(maxUnscaled) >= 0 {
		return failf(x, "%s makes a number with more than %d digits", exprSrc(x), maxDigits)
	}
	return nil
}

// boundFilter wraps a pongo2 built-in filter for native templates: a panic (wordwrap with a
// huge width, slice with bad bounds) becomes an error naming the filter, and a filter may
// neither take nor make a string longer than MaxValueSize.
func boundFilter(name string, f pongo2.FilterFunction) pongo2.FilterFunction {
	return func(in, param *pongo2.Value) (out *pongo2.Value, perr *pongo2.Error) {
		defer func() {
			if r := recover(); r != nil {
				out, perr = nil, filterError(name, fmt.Errorf("it failed (%v): check its argument and input", r))
			}
		}()
		if tooLong(in) || tooLong(param) {
			return nil, filterError(name, errValue)
		}
		// join repeats its argument between every two items (or characters): check the size
		// before building the string.
		if name == "join" && in.CanSlice() && in.Len()*len(param.String()) > MaxValueSize {
			return nil, filterError(name, errValue)
		}
		out, perr = f(in, param)
		if perr == nil && tooLong(out) {
			return nil, filterError(name, errValue)
		}
		return out, perr
	}
}

// tooLong reports whether v is a string of more than MaxValueSize bytes.
func tooLong(v *pongo2.Value) bool {
	return v != nil && v.IsString() && len(v.String()) > MaxValueSize
}

func filterError(name string, err error) *pongo2.Error {
	return &pongo2.Error{Sender: "filter:" + name, OrigError: fmt.Errorf("filter %s: %w", name, err)}
}

// pongo2Filters is pongo2's registry of filters. pongo2 offers no way to read a registered
// filter, and wrapping the built-ins needs them, so the map is linked by name; a pongo2 upgrade
// that renames it fails the build, not a render.
//
//go:linkname pongo2Filters github.com/flosch/pongo2/v6.filters
var pongo2Filters map[string]pongo2.FilterFunction

// Every pongo2 filter is bounded. Only native templates use filters: the Freemarker set
// emits none.
func init() {
	for name, f := range pongo2Filters {
		pongo2Filters[name] = boundFilter(name, f)
	}
}
