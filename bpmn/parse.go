package bpmn

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// XML namespaces of BPMN 2.0 and of Zeebe's extensions.
const (
	NamespaceBPMN  = "http://www.omg.org/spec/BPMN/20100524/MODEL"
	NamespaceZeebe = "http://camunda.org/schema/zeebe/1.0"
)

// ParseError is a problem in a BPMN file. Element is the id of the offending element, "" when
// the problem is not tied to one.
type ParseError struct {
	File    string
	Element string
	Msg     string
}

func (e *ParseError) Error() string {
	if e.Element == "" {
		return fmt.Sprintf("%s: %s", e.File, e.Msg)
	}
	return fmt.Sprintf("%s: element %q: %s", e.File, e.Element, e.Msg)
}

// node is a generic XML element; the BPMN schema is too wide for struct tags to be clearer.
type node struct {
	name     xml.Name
	attrs    []xml.Attr
	children []*node
	text     strings.Builder
}

func (n *node) attr(local string) (string, bool) {
	for _, a := range n.attrs {
		// Unqualified attributes have no namespace in BPMN files.
		if a.Name.Local == local && (a.Name.Space == "" || a.Name.Space == NamespaceBPMN) {
			return a.Value, true
		}
	}
	return "", false
}

func (n *node) zeebeAttr(local string) string {
	for _, a := range n.attrs {
		if a.Name.Local == local && a.Name.Space == NamespaceZeebe {
			return a.Value
		}
	}
	return ""
}

func (n *node) attrOr(local, def string) string {
	if v, ok := n.attr(local); ok {
		return v
	}
	return def
}

func (n *node) bpmnChildren(local string) []*node {
	var out []*node
	for _, c := range n.children {
		if c.name.Space == NamespaceBPMN && c.name.Local == local {
			out = append(out, c)
		}
	}
	return out
}

// zeebe returns the Zeebe extension elements with the given local name inside
// bpmn:extensionElements.
func (n *node) zeebe(local string) []*node {
	var out []*node
	for _, ext := range n.bpmnChildren("extensionElements") {
		for _, c := range ext.children {
			if c.name.Space == NamespaceZeebe && c.name.Local == local {
				out = append(out, c)
			}
		}
	}
	return out
}

// Parse reads one BPMN file. name is used in error messages (usually the file or resource name).
func Parse(name string, data []byte) (*Definitions, error) {
	root, err := readTree(data)
	if err != nil {
		return nil, &ParseError{File: name, Msg: "not valid XML: " + err.Error()}
	}
	if root.name.Space != NamespaceBPMN || root.name.Local != "definitions" {
		return nil, &ParseError{File: name, Msg: fmt.Sprintf("root element is %q, expected bpmn:definitions", root.name.Local)}
	}
	p := &parser{file: name, defs: &Definitions{
		Name:     name,
		Messages: map[string]*Message{},
		Errors:   map[string]*Error{},
	}}
	p.parseDefinitions(root)
	if len(p.errs) > 0 {
		return nil, errors.Join(p.errs...)
	}
	return p.defs, nil
}

func readTree(data []byte) (*node, error) {
	dec := xml.NewDecoder(bytes.NewReader(data))
	var stack []*node
	var root *node
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			n := &node{name: t.Name, attrs: t.Attr}
			if len(stack) == 0 {
				if root != nil {
					return nil, errors.New("more than one root element")
				}
				root = n
			} else {
				parent := stack[len(stack)-1]
				parent.children = append(parent.children, n)
			}
			stack = append(stack, n)
		case xml.EndElement:
			stack = stack[:len(stack)-1]
		case xml.CharData:
			if len(stack) > 0 {
				stack[len(stack)-1].text.Write(t)
			}
		}
	}
	if root == nil {
		return nil, errors.New("empty document")
	}
	return root, nil
}

type parser struct {
	file string
	defs *Definitions
	errs []error
	ids  map[string]bool
}

func (p *parser) errorf(element, format string, args ...any) {
	p.errs = append(p.errs, &ParseError{File: p.file, Element: element, Msg: fmt.Sprintf(format, args...)})
}

// Flow node element names; anything else inside a process that is not listed in ignored is
// recorded as an element of its own type so users can reject it by name.
var ignored = map[string]bool{
	"documentation": true, "extensionElements": true, "laneSet": true, "textAnnotation": true,
	"association": true, "dataObject": true, "dataObjectReference": true, "dataStoreReference": true,
	"group": true, "property": true, "ioSpecification": true, "category": true,
}

func (p *parser) parseDefinitions(root *node) {
	p.ids = map[string]bool{}
	for _, m := range root.bpmnChildren("message") {
		id := p.requireID(m, "message")
		if id == "" {
			continue
		}
		msg := &Message{ID: id, Name: m.attrOr("name", "")}
		for _, sub := range m.zeebe("subscription") {
			msg.CorrelationKey = sub.attrOr("correlationKey", "")
		}
		p.defs.Messages[id] = msg
	}
	for _, e := range root.bpmnChildren("error") {
		id := p.requireID(e, "error")
		if id == "" {
			continue
		}
		p.defs.Errors[id] = &Error{ID: id, Name: e.attrOr("name", ""), ErrorCode: e.attrOr("errorCode", "")}
	}
	for _, pn := range root.bpmnChildren("process") {
		if proc := p.parseProcess(pn); proc != nil {
			p.defs.Processes = append(p.defs.Processes, proc)
		}
	}
	if len(p.defs.Processes) == 0 && len(p.errs) == 0 {
		p.errorf("", "no bpmn:process found")
	}
}

func (p *parser) requireID(n *node, what string) string {
	id, _ := n.attr("id")
	if id == "" {
		p.errorf("", "a bpmn:%s has no id", what)
		return ""
	}
	if p.ids[id] {
		p.errorf(id, "duplicate id")
		return ""
	}
	p.ids[id] = true
	return id
}

func (p *parser) parseProcess(pn *node) *Process {
	id := p.requireID(pn, "process")
	if id == "" {
		return nil
	}
	proc := &Process{
		ID:         id,
		Name:       pn.attrOr("name", ""),
		Executable: pn.attrOr("isExecutable", "false") == "true",
		byID:       map[string]*Element{},
		flowByID:   map[string]*SequenceFlow{},
	}
	for _, c := range pn.children {
		if c.name.Space != NamespaceBPMN || ignored[c.name.Local] {
			continue
		}
		if c.name.Local == "sequenceFlow" {
			fid := p.requireID(c, "sequenceFlow")
			if fid == "" {
				continue
			}
			f := &SequenceFlow{
				ID:     fid,
				Name:   c.attrOr("name", ""),
				Source: c.attrOr("sourceRef", ""),
				Target: c.attrOr("targetRef", ""),
			}
			for _, ce := range c.bpmnChildren("conditionExpression") {
				f.Condition = strings.TrimSpace(ce.text.String())
			}
			proc.Flows = append(proc.Flows, f)
			proc.flowByID[fid] = f
			continue
		}
		eid := p.requireID(c, c.name.Local)
		if eid == "" {
			continue
		}
		el := p.parseElement(c, eid)
		proc.Elements = append(proc.Elements, el)
		proc.byID[eid] = el
	}
	p.link(proc)
	return proc
}

func (p *parser) parseElement(n *node, id string) *Element {
	el := &Element{
		ID:             id,
		Name:           n.attrOr("name", ""),
		Type:           ElementType(n.name.Local),
		AttachedTo:     n.attrOr("attachedToRef", ""),
		CancelActivity: n.attrOr("cancelActivity", "true") != "false",
		Default:        n.attrOr("default", ""),

		ModelerTemplate:        n.zeebeAttr("modelerTemplate"),
		ModelerTemplateVersion: n.zeebeAttr("modelerTemplateVersion"),
	}
	for _, c := range n.children {
		if c.name.Space != NamespaceBPMN || !strings.HasSuffix(c.name.Local, "EventDefinition") {
			continue
		}
		if el.Event != NoneEvent {
			p.errorf(id, "more than one event definition")
			break
		}
		el.Event = EventKind(strings.TrimSuffix(c.name.Local, "EventDefinition"))
		switch el.Event {
		case MessageEvent:
			p.resolveMessage(el, c.attrOr("messageRef", ""))
		case ErrorEvent:
			ref := c.attrOr("errorRef", "")
			if ref == "" {
				el.ErrorCatchAll = true
			} else if e := p.defs.Errors[ref]; e != nil {
				el.Error = e
			} else {
				p.errorf(id, "errorRef %q does not name a bpmn:error", ref)
			}
		}
	}
	if el.Type == ReceiveTask {
		p.resolveMessage(el, n.attrOr("messageRef", ""))
	}
	for _, td := range n.zeebe("taskDefinition") {
		el.TaskDefinition = &TaskDefinition{Type: td.attrOr("type", ""), Retries: td.attrOr("retries", "")}
	}
	for _, th := range n.zeebe("taskHeaders") {
		for _, h := range th.children {
			if h.name.Space == NamespaceZeebe && h.name.Local == "header" {
				el.TaskHeaders = append(el.TaskHeaders, Header{Key: h.attrOr("key", ""), Value: h.attrOr("value", "")})
			}
		}
	}
	for _, io := range n.zeebe("ioMapping") {
		for _, m := range io.children {
			if m.name.Space != NamespaceZeebe {
				continue
			}
			mapping := Mapping{Source: m.attrOr("source", ""), Target: m.attrOr("target", "")}
			if mapping.Target == "" {
				p.errorf(id, "zeebe:%s without target", m.name.Local)
				continue
			}
			switch m.name.Local {
			case "input":
				el.Inputs = append(el.Inputs, mapping)
			case "output":
				el.Outputs = append(el.Outputs, mapping)
			}
		}
	}
	for _, props := range n.zeebe("properties") {
		for _, pr := range props.children {
			if pr.name.Space == NamespaceZeebe && pr.name.Local == "property" {
				el.Properties = append(el.Properties, Property{Name: pr.attrOr("name", ""), Value: pr.attrOr("value", "")})
			}
		}
	}
	return el
}

func (p *parser) resolveMessage(el *Element, ref string) {
	if ref == "" {
		p.errorf(el.ID, "message reference (messageRef) is missing")
		return
	}
	m := p.defs.Messages[ref]
	if m == nil {
		p.errorf(el.ID, "messageRef %q does not name a bpmn:message", ref)
		return
	}
	el.Message = m
}

// link resolves flow endpoints, fills Incoming/Outgoing and checks references between elements.
func (p *parser) link(proc *Process) {
	for _, f := range proc.Flows {
		src, tgt := proc.byID[f.Source], proc.byID[f.Target]
		if src == nil {
			p.errorf(f.ID, "sourceRef %q does not name a flow node of process %q", f.Source, proc.ID)
		} else {
			src.Outgoing = append(src.Outgoing, f.ID)
		}
		if tgt == nil {
			p.errorf(f.ID, "targetRef %q does not name a flow node of process %q", f.Target, proc.ID)
		} else {
			tgt.Incoming = append(tgt.Incoming, f.ID)
		}
	}
	for _, el := range proc.Elements {
		if el.Type == BoundaryEvent {
			if el.AttachedTo == "" {
				p.errorf(el.ID, "boundary event without attachedToRef")
			} else if proc.byID[el.AttachedTo] == nil {
				p.errorf(el.ID, "attachedToRef %q does not name an element of process %q", el.AttachedTo, proc.ID)
			}
		}
		if el.Default != "" {
			f := proc.flowByID[el.Default]
			if f == nil || f.Source != el.ID {
				p.errorf(el.ID, "default flow %q is not an outgoing sequence flow of this element", el.Default)
			}
		}
	}
}
