package engine

import "github.com/twilio-connector/twilio-connector/bpmn"

// errorCatcher returns the error boundary event attached to elementID that catches code: one
// with that error code, else a catch-all one, else nil.
func (p *process) errorCatcher(elementID, code string) *bpmn.Element {
	var catchAll *bpmn.Element
	for _, b := range p.def.BoundaryEvents(elementID) {
		if b.Event != bpmn.ErrorEvent {
			continue
		}
		if b.Error != nil && b.Error.ErrorCode == code {
			return b
		}
		if b.ErrorCatchAll && catchAll == nil {
			catchAll = b
		}
	}
	return catchAll
}

// enterBoundary interrupts the activity ei with the boundary event b, which completes with vars.
func (e *Engine) enterBoundary(ei *elementInstance, b *bpmn.Element, vars map[string]any) {
	inst := ei.inst
	be := &elementInstance{key: e.nextKey(), inst: inst, el: b, locals: map[string]any{}}
	inst.active[be.key] = be
	e.elements[be.key] = be
	e.leave(ei)
	be.applyMappings(inst.proc.inputs[b.ID], be.locals)
	e.complete(be, vars, b.Outgoing)
}
