package templates

// White-space stripping, as Freemarker 2.3.31 does it after parsing (TextBlock.postParseCleanup):
// a text block loses the white-space and line break that share a line with FTL tags only.
// Which text counts as "on the same line" and which neighbours "heed" white-space depends on
// Freemarker's element tree, so this file rebuilds that tree's shape (single-branch <#if> is one
// ConditionalBlock, <#list> with <#else> is a container, multi-name <#assign> has children, the
// root is a MixedContent only if it has several children) and runs the same algorithm over it.

type wsKind int

const (
	wsText wsKind = iota
	wsInterp
	wsComment
	wsAssign
	wsAssignInstr
	wsCond
	wsIf
	wsList
	wsListContainer
	wsElseOfList
	wsSep
	wsMixed
)

type wsNode struct {
	kind               wsKind
	parent             *wsNode
	index              int
	children           []*wsNode
	beginLine, endLine int
	beginCol           int
	text               []rune
	chunk              *chunk
}

type wsBuilder struct {
	src    string
	chunks []chunk
	pos    int
	line   []int // line of each byte offset, counting \r\n, \r and \n as one break
	col    []int
}

func newWSBuilder(src string, chunks []chunk) *wsBuilder {
	b := &wsBuilder{src: src, chunks: chunks, line: make([]int, len(src)+1), col: make([]int, len(src)+1)}
	line, col := 1, 1
	for i := 0; i <= len(src); i++ {
		b.line[i], b.col[i] = line, col
		if i == len(src) {
			break
		}
		c := src[i]
		switch {
		case c == '\n' || c == '\r' && (i+1 == len(src) || src[i+1] != '\n'):
			line, col = line+1, 1
		case c&0xC0 != 0x80:
			col++
		}
	}
	return b
}

func (b *wsBuilder) leaf(kind wsKind, c *chunk) *wsNode {
	n := &wsNode{kind: kind, beginLine: b.line[c.start], beginCol: b.col[c.start], endLine: b.line[c.end-1], chunk: c}
	if kind == wsText {
		n.text = []rune(c.text)
	}
	return n
}

func setChildren(n *wsNode, children []*wsNode) {
	n.children = children
	for i, c := range children {
		c.parent, c.index = n, i
	}
}

// located builds an element that starts at start and ends with its last child, or with the
// tag that ended it when it has none.
func (b *wsBuilder) located(kind wsKind, start, tagEnd *chunk, children []*wsNode) *wsNode {
	n := &wsNode{kind: kind, beginLine: b.line[start.start], beginCol: b.col[start.start]}
	setChildren(n, children)
	if len(children) > 0 {
		n.endLine = children[len(children)-1].endLine
	} else {
		n.endLine = b.line[tagEnd.end-1]
	}
	return n
}

func (b *wsBuilder) block() ([]*wsNode, *chunk) {
	var nodes []*wsNode
	for b.pos < len(b.chunks) {
		c := &b.chunks[b.pos]
		switch c.kind {
		case chunkText:
			b.pos++
			if c.text != "" {
				nodes = append(nodes, b.leaf(wsText, c))
			}
		case chunkInterp:
			b.pos++
			nodes = append(nodes, b.leaf(wsInterp, c))
		case chunkComment:
			b.pos++
			nodes = append(nodes, b.leaf(wsComment, c))
		case chunkEnd:
			return nodes, c
		case chunkDirective:
			switch c.text {
			case "else", "elseif":
				return nodes, c
			case "assign":
				b.pos++
				if c.assigns <= 1 {
					nodes = append(nodes, b.leaf(wsAssign, c))
					continue
				}
				n := b.leaf(wsAssignInstr, c)
				var kids []*wsNode
				for range c.assigns {
					kids = append(kids, b.leaf(wsAssign, c))
				}
				setChildren(n, kids)
				nodes = append(nodes, n)
			case "sep":
				b.pos++
				body, stop := b.block()
				end := c
				if stop != nil && stop.kind == chunkEnd && stop.text == "sep" {
					b.pos++
					end = stop
				}
				n := b.located(wsSep, c, end, body)
				if end != c {
					n.endLine = b.line[end.end-1]
				}
				nodes = append(nodes, n)
			case "if":
				nodes = append(nodes, b.ifBlock(c))
			case "list":
				nodes = append(nodes, b.list(c))
			default:
				b.pos++
			}
		}
	}
	return nodes, nil
}

func (b *wsBuilder) ifBlock(start *chunk) *wsNode {
	b.pos++
	var branches []*wsNode
	tag := start
	for {
		body, stop := b.block()
		branches = append(branches, b.located(wsCond, tag, tag, body))
		b.pos++
		if stop == nil || stop.kind == chunkEnd {
			if len(branches) == 1 {
				br := branches[0]
				if stop != nil {
					br.endLine = b.line[stop.end-1]
				}
				return br
			}
			n := &wsNode{kind: wsIf, beginLine: b.line[start.start], beginCol: b.col[start.start], endLine: branches[len(branches)-1].endLine}
			if stop != nil {
				n.endLine = b.line[stop.end-1]
			}
			setChildren(n, branches)
			return n
		}
		tag = stop
	}
}

func (b *wsBuilder) list(start *chunk) *wsNode {
	b.pos++
	body, stop := b.block()
	b.pos++
	if stop != nil && stop.kind == chunkDirective && stop.text == "else" {
		elseTag := stop
		elseBody, end := b.block()
		b.pos++
		iter := b.located(wsList, start, start, body)
		els := b.located(wsElseOfList, elseTag, elseTag, elseBody)
		n := &wsNode{kind: wsListContainer, beginLine: b.line[start.start], beginCol: b.col[start.start], endLine: els.endLine}
		if end != nil {
			n.endLine = b.line[end.end-1]
		}
		setChildren(n, []*wsNode{iter, els})
		return n
	}
	n := b.located(wsList, start, start, body)
	if stop != nil {
		n.endLine = b.line[stop.end-1]
	}
	return n
}

// stripWhitespace rewrites the text chunks as Freemarker's white-space stripping leaves them.
func (s *source) stripWhitespace(chunks []chunk) {
	b := newWSBuilder(s.src, chunks)
	nodes, _ := b.block()
	var root *wsNode
	switch len(nodes) {
	case 0:
		return
	case 1:
		root = nodes[0]
	default:
		root = &wsNode{kind: wsMixed}
		setChildren(root, nodes)
	}
	root.cleanup()
	var write func(n *wsNode)
	write = func(n *wsNode) {
		if n.kind == wsText {
			n.chunk.text = string(n.text)
		}
		for _, c := range n.children {
			write(c)
		}
	}
	// Text blocks removed as ignorable are no longer in the tree: clear them all first.
	for k := range chunks {
		if chunks[k].kind == chunkText {
			chunks[k].text = ""
		}
	}
	write(root)
}

func (n *wsNode) cleanup() {
	if n.kind == wsText {
		n.cleanupText()
		return
	}
	for _, c := range n.children {
		c.cleanup()
	}
	for i := 0; i < len(n.children); {
		if n.children[i].ignorable() {
			n.children = append(n.children[:i], n.children[i+1:]...)
			for j := i; j < len(n.children); j++ {
				n.children[j].index = j
			}
			continue
		}
		i++
	}
}

func (n *wsNode) prevSibling() *wsNode {
	if n.parent != nil && n.index > 0 {
		return n.parent.children[n.index-1]
	}
	return nil
}

func (n *wsNode) nextSibling() *wsNode {
	if n.parent != nil && n.index+1 < len(n.parent.children) {
		return n.parent.children[n.index+1]
	}
	return nil
}

func (n *wsNode) prevTerminal() *wsNode {
	if p := n.prevSibling(); p != nil {
		for len(p.children) > 0 {
			p = p.children[len(p.children)-1]
		}
		return p
	}
	if n.parent != nil {
		return n.parent.prevTerminal()
	}
	return nil
}

func (n *wsNode) nextTerminal() *wsNode {
	if p := n.nextSibling(); p != nil {
		for len(p.children) > 0 {
			p = p.children[0]
		}
		return p
	}
	if n.parent != nil {
		return n.parent.nextTerminal()
	}
	return nil
}

func (n *wsNode) topLevelText() bool {
	p := n.parent
	return p == nil || p.parent == nil && p.kind == wsMixed
}

func nonOutputting(n *wsNode) bool {
	return n != nil && (n.kind == wsAssign || n.kind == wsAssignInstr || n.kind == wsComment)
}

func trimmable(rs []rune) bool {
	for _, r := range rs {
		if r > ' ' {
			return false
		}
	}
	return true
}

func (n *wsNode) ignorable() bool {
	switch n.kind {
	case wsMixed:
		return len(n.children) == 0
	case wsText:
	default:
		return false
	}
	if len(n.text) == 0 {
		return true
	}
	if !trimmable(n.text) {
		return false
	}
	top := n.topLevelText()
	prev, next := n.prevSibling(), n.nextSibling()
	return (prev == nil && top || nonOutputting(prev)) && (next == nil && top || nonOutputting(next))
}

// heeds reports whether n, on the same line as text whose whitespace is being stripped,
// keeps it: an interpolation, or text with content on that line. The line is n's last one
// when n comes before the stripped text (lastLine), else its first one.
func (n *wsNode) heeds(lastLine bool) bool {
	switch n.kind {
	case wsInterp:
		return true
	case wsText:
	default:
		return false
	}
	if n.ignorable() {
		return false
	}
	for k := range n.text {
		i := k
		if lastLine {
			i = len(n.text) - 1 - k
		}
		if c := n.text[i]; c == '\n' || c == '\r' {
			return false
		} else if !javaWhitespace(c) {
			return true
		}
	}
	return true
}

func (n *wsNode) cleanupText() {
	if len(n.text) == 0 {
		return
	}
	if n.topLevelText() && n.prevSibling() == nil {
		return
	}
	trailing := n.trailingToStrip()
	opening := n.openingToStrip()
	if opening == 0 && trailing == 0 {
		return
	}
	end := max(len(n.text)-trailing, opening)
	n.text = n.text[opening:end]
	if opening > 0 {
		n.beginLine++
		n.beginCol = 1
	}
}

func (n *wsNode) openingToStrip() int {
	nl := -1
	for i, c := range n.text {
		if c == '\r' || c == '\n' {
			nl = i
			break
		}
	}
	if nl == -1 && n.beginCol != 1 {
		return 0
	}
	nl++
	if len(n.text) > nl && nl > 0 && n.text[nl-1] == '\r' && n.text[nl] == '\n' {
		nl++
	}
	if !trimmable(n.text[:nl]) {
		return 0
	}
	for e := n.prevTerminal(); e != nil && e.endLine == n.beginLine; e = e.prevTerminal() {
		if e.heeds(true) {
			return 0
		}
	}
	return nl
}

func (n *wsNode) trailingToStrip() int {
	last := -1
	for i := len(n.text) - 1; i >= 0; i-- {
		if n.text[i] == '\r' || n.text[i] == '\n' {
			last = i
			break
		}
	}
	if last == -1 && n.beginCol != 1 {
		return 0
	}
	if !trimmable(n.text[last+1:]) {
		return 0
	}
	for e := n.nextTerminal(); e != nil && e.beginLine == n.endLine; e = e.nextTerminal() {
		if e.heeds(false) {
			return 0
		}
	}
	return len(n.text) - (last + 1)
}
