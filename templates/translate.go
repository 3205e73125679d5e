package templates

import (
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/flosch/pongo2/v6"
)

// The translation emits pongo2 source in which literal text stays text and every Freemarker
// construct becomes one of the fm_* tags below. A tag carries the id of the parsed Freemarker
// node it stands for; the tag parsers take the node out of pending while pongo2 compiles.
var (
	pending sync.Map // uint64 -> node or expr
	nextID  atomic.Uint64
)

// Tag names emitted by translate. They are registered with pongo2 once and banned in the
// native pongo2 set, so that a template written for pongo2 cannot reach them.
const (
	tagOut       = "fm_out"
	tagIf        = "fm_if"
	tagElseIf    = "fm_elseif"
	tagElse      = "fm_else"
	tagEndIf     = "fm_endif"
	tagList      = "fm_list"
	tagListElse  = "fm_listelse"
	tagEndList   = "fm_endlist"
	tagSep       = "fm_sep"
	tagEndSep    = "fm_endsep"
	tagAssign    = "fm_assign"
	tagLoopCheck = "fm_loopcheck"
)

type translator struct {
	b   strings.Builder
	ids []uint64
}

// translate renders the node tree as pongo2 source. The caller must call release after
// compiling it.
func translate(nodes []node) *translator {
	t := &translator{}
	t.nodes(nodes)
	return t
}

func (t *translator) release() {
	for _, id := range t.ids {
		pending.Delete(id)
	}
}

func (t *translator) ref(v any) string {
	id := nextID.Add(1)
	pending.Store(id, v)
	t.ids = append(t.ids, id)
	return strconv.FormatUint(id, 10)
}

func (t *translator) tag(name string, v any) {
	t.b.WriteString("{% ")
	t.b.WriteString(name)
	if v != nil {
		t.b.WriteByte(' ')
		t.b.WriteString(t.ref(v))
	}
	t.b.WriteString(" %}")
}

func (t *translator) nodes(nodes []node) {
	for _, n := range nodes {
		switch n := n.(type) {
		case *textNode:
			t.text(n.c.text)
		case *outNode:
			t.tag(tagOut, n.x)
		case *assignNode:
			t.tag(tagAssign, n)
		case *ifNode:
			for i, br := range n.branches {
				switch {
				case i == 0:
					t.tag(tagIf, br.cond)
				case br.cond != nil:
					t.tag(tagElseIf, br.cond)
				default:
					t.tag(tagElse, nil)
				}
				t.nodes(br.body)
			}
			t.tag(tagEndIf, nil)
		case *listNode:
			t.tag(tagList, n)
			t.nodes(n.body)
			if n.elseBody != nil {
				t.tag(tagListElse, nil)
				t.nodes(n.elseBody)
			}
			t.tag(tagEndList, nil)
		case *sepNode:
			t.tag(tagSep, nil)
			t.nodes(n.body)
			t.tag(tagEndSep, nil)
		}
	}
}

// text writes literal text so that pongo2 passes it through unchanged: a "{" that could open
// {{, {% or {# (here or together with the next tag) is written as {{ "{" }}.
func (t *translator) text(s string) {
	for {
		i := strings.IndexByte(s, '{')
		if i < 0 {
			t.b.WriteString(s)
			return
		}
		t.b.WriteString(s[:i])
		if i+1 == len(s) || s[i+1] == '{' || s[i+1] == '%' || s[i+1] == '#' {
			t.b.WriteString(`{{ "{" }}`)
		} else {
			t.b.WriteByte('{')
		}
		s = s[i+1:]
	}
}

func takeRef[T any](args *pongo2.Parser, start *pongo2.Token) (T, *pongo2.Error) {
	var zero T
	tok := args.MatchType(pongo2.TokenNumber)
	if tok == nil || args.Remaining() > 0 {
		return zero, args.Error("internal tag "+start.Val+" needs one id", start)
	}
	id, err := strconv.ParseUint(tok.Val, 10, 64)
	if err != nil {
		return zero, args.Error("internal tag "+start.Val+": bad id", start)
	}
	v, ok := pending.LoadAndDelete(id)
	if !ok {
		return zero, args.Error("internal tag "+start.Val+" is only emitted by the Freemarker translator", start)
	}
	x, ok := v.(T)
	if !ok {
		return zero, args.Error("internal tag "+start.Val+": wrong node", start)
	}
	return x, nil
}

func stateOf(ctx *pongo2.ExecutionContext) *renderState {
	st, _ := ctx.Public[stateKey].(*renderState)
	return st
}

// fail records err on the render state and stops pongo2.
func fail(ctx *pongo2.ExecutionContext, st *renderState, err error) *pongo2.Error {
	if st.err == nil {
		st.err = err
	}
	return ctx.Error("template failed", nil)
}

type outTag struct{ x expr }

// Execute writes straight to the render's limitWriter, which pongo2's writer wraps unbuffered:
// that saves pongo2's string-to-bytes copy.
func (n *outTag) Execute(ctx *pongo2.ExecutionContext, _ pongo2.TemplateWriter) *pongo2.Error {
	st := stateOf(ctx)
	v, err := st.need(n.x)
	if err == nil {
		var s string
		if s, err = display(n.x, v); err == nil {
			_, err = st.out.WriteString(s)
		}
	}
	if err != nil {
		return fail(ctx, st, err)
	}
	return nil
}

type assignTag struct{ n *assignNode }

func (a *assignTag) Execute(ctx *pongo2.ExecutionContext, _ pongo2.TemplateWriter) *pongo2.Error {
	st := stateOf(ctx)
	for i, name := range a.n.names {
		v, err := st.need(a.n.exprs[i])
		if err != nil {
			return fail(ctx, st, err)
		}
		if s, ok := v.(string); ok && len(s) > MaxValueSize {
			return fail(ctx, st, failf(a.n.exprs[i], "<#assign %s> gets a string of %d bytes, more than the limit of %d bytes per value: keep the strings a template builds short", name, len(s), MaxValueSize))
		}
		if st.assigned == nil {
			st.assigned = make(map[string]any)
		}
		st.assigned[name] = v
	}
	return nil
}

type ifTag struct {
	conds  []expr // nil for else
	bodies []*pongo2.NodeWrapper
}

func (n *ifTag) Execute(ctx *pongo2.ExecutionContext, w pongo2.TemplateWriter) *pongo2.Error {
	st := stateOf(ctx)
	for i, c := range n.conds {
		if c != nil {
			ok, err := st.boolean(c)
			if err != nil {
				return fail(ctx, st, err)
			}
			if !ok {
				continue
			}
		}
		return n.bodies[i].Execute(ctx, w)
	}
	return nil
}

type listTag struct {
	n        *listNode
	body     *pongo2.NodeWrapper
	elseBody *pongo2.NodeWrapper
}

func (n *listTag) Execute(ctx *pongo2.ExecutionContext, w pongo2.TemplateWriter) *pongo2.Error {
	st := stateOf(ctx)
	v, err := st.need(n.n.seq)
	if err != nil {
		return fail(ctx, st, err)
	}
	seq, ok := v.([]any)
	if !ok {
		if _, isHash := v.(map[string]any); isHash {
			return fail(ctx, st, failf(n.n.seq, "%s is a hash: listing hashes is not supported, list a sequence", exprSrc(n.n.seq)))
		}
		return fail(ctx, st, failf(n.n.seq, "<#list> needs a sequence, but %s is %s", exprSrc(n.n.seq), typeName(v)))
	}
	if len(seq) == 0 {
		if n.elseBody != nil {
			return n.elseBody.Execute(ctx, w)
		}
		return nil
	}
	f := &loopFrame{name: n.n.name, size: len(seq)}
	st.loops = append(st.loops, f)
	defer func() { st.loops = st.loops[:len(st.loops)-1] }()
	for i, item := range seq {
		st.iterations++
		if st.iterations > MaxLoopIterations {
			return fail(ctx, st, failf(n.n.seq, "loops ran more than %d times in total", MaxLoopIterations))
		}
		if st.out.full() {
			return fail(ctx, st, st.out.err())
		}
		if err := st.spend(1); err != nil {
			return fail(ctx, st, failf(n.n.seq, "%v", err))
		}
		f.index = i
		if f.item, err = norm(n.n.seq, item); err != nil {
			return fail(ctx, st, err)
		}
		if perr := n.body.Execute(ctx, w); perr != nil {
			return perr
		}
	}
	return nil
}

type sepTag struct{ body *pongo2.NodeWrapper }

func (n *sepTag) Execute(ctx *pongo2.ExecutionContext, w pongo2.TemplateWriter) *pongo2.Error {
	st := stateOf(ctx)
	if len(st.loops) == 0 {
		return nil
	}
	if f := st.loops[len(st.loops)-1]; f.index+1 < f.size {
		return n.body.Execute(ctx, w)
	}
	return nil
}

func init() {
	must := func(err error) {
		if err != nil {
			panic(err)
		}
	}
	must(pongo2.RegisterTag(tagOut, func(doc *pongo2.Parser, start *pongo2.Token, args *pongo2.Parser) (pongo2.INodeTag, *pongo2.Error) {
		x, err := takeRef[expr](args, start)
		return &outTag{x: x}, err
	}))
	must(pongo2.RegisterTag(tagAssign, func(doc *pongo2.Parser, start *pongo2.Token, args *pongo2.Parser) (pongo2.INodeTag, *pongo2.Error) {
		n, err := takeRef[*assignNode](args, start)
		return &assignTag{n: n}, err
	}))
	must(pongo2.RegisterTag(tagIf, func(doc *pongo2.Parser, start *pongo2.Token, args *pongo2.Parser) (pongo2.INodeTag, *pongo2.Error) {
		cond, perr := takeRef[expr](args, start)
		if perr != nil {
			return nil, perr
		}
		n := &ifTag{}
		for {
			body, endArgs, perr := doc.WrapUntilTag(tagElseIf, tagElse, tagEndIf)
			if perr != nil {
				return nil, perr
			}
			n.conds = append(n.conds, cond)
			n.bodies = append(n.bodies, body)
			switch body.Endtag {
			case tagEndIf:
				return n, nil
			case tagElseIf:
				if cond, perr = takeRef[expr](endArgs, start); perr != nil {
					return nil, perr
				}
			default:
				cond = nil
			}
		}
	}))
	must(pongo2.RegisterTag(tagList, func(doc *pongo2.Parser, start *pongo2.Token, args *pongo2.Parser) (pongo2.INodeTag, *pongo2.Error) {
		ln, perr := takeRef[*listNode](args, start)
		if perr != nil {
			return nil, perr
		}
		n := &listTag{n: ln}
		body, _, perr := doc.WrapUntilTag(tagListElse, tagEndList)
		if perr != nil {
			return nil, perr
		}
		n.body = body
		if body.Endtag == tagListElse {
			if n.elseBody, _, perr = doc.WrapUntilTag(tagEndList); perr != nil {
				return nil, perr
			}
		}
		return n, nil
	}))
	must(pongo2.RegisterTag(tagSep, func(doc *pongo2.Parser, start *pongo2.Token, args *pongo2.Parser) (pongo2.INodeTag, *pongo2.Error) {
		body, _, perr := doc.WrapUntilTag(tagEndSep)
		if perr != nil {
			return nil, perr
		}
		return &sepTag{body: body}, nil
	}))
	must(pongo2.RegisterTag(tagLoopCheck, parseLoopCheck))
}
