package engine

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/twilio-connector/twilio-connector/feel"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Variables are kept as decoded JSON with numbers as json.Number, so large integers (phone
// numbers sent as numbers, ids) survive a round trip unchanged.
//
// Scopes: the process instance has the root scope; each element instance has a local scope
// holding its input mappings' targets and variables set locally (FailJob, SetVariables with
// local=true). "Propagating" a variable, as Zeebe does, sets it in the nearest scope where it
// already exists, otherwise in the root scope.

// parseVariables decodes a variables document: empty or a JSON object. field names the request
// field in the INVALID_ARGUMENT error.
func parseVariables(field, doc string) (map[string]any, error) {
	if strings.TrimSpace(doc) == "" {
		return map[string]any{}, nil
	}
	dec := json.NewDecoder(strings.NewReader(doc))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	if err == nil && dec.More() {
		err = fmt.Errorf("unexpected data after the JSON document")
	}
	if err != nil {
		return nil, status.Errorf(codes.InvalidArgument, "Property '%s' is invalid: Expected document to be a valid JSON object, but it was not: %v", field, err)
	}
	if v == nil {
		return map[string]any{}, nil
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, status.Errorf(codes.InvalidArgument, "Property '%s' is invalid: Expected document to be a root level object, but was '%s'", field, feel.TypeName(v))
	}
	return m, nil
}

func mustJSON(v any) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		panic(fmt.Sprintf("engine: encoding JSON: %v", err)) // values come from decoded JSON
	}
	return strings.TrimSuffix(buf.String(), "\n")
}

// deepCopy copies decoded JSON so callers of inspection helpers cannot alter engine state.
func deepCopy(v any) any {
	switch t := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(t))
		for k, x := range t {
			m[k] = deepCopy(x)
		}
		return m
	case []any:
		l := make([]any, len(t))
		for i, x := range t {
			l[i] = deepCopy(x)
		}
		return l
	}
	return v
}

func copyVars(m map[string]any) map[string]any {
	return deepCopy(m).(map[string]any)
}

// setPath sets vars[path[0]]...[path[n-1]] = v, creating or replacing intermediate objects.
func setPath(vars map[string]any, path []string, v any) {
	if len(path) == 1 {
		vars[path[0]] = v
		return
	}
	child, ok := vars[path[0]].(map[string]any)
	if ok {
		child = copyVars(child)
	} else {
		child = map[string]any{}
	}
	setPath(child, path[1:], v)
	vars[path[0]] = child
}

// filterVars returns only the named variables (all when names is empty).
func filterVars(vars map[string]any, names []string) map[string]any {
	if len(names) == 0 {
		return vars
	}
	out := map[string]any{}
	for _, n := range names {
		if v, ok := vars[n]; ok {
			out[n] = v
		}
	}
	return out
}

// visible returns the variables an element instance sees: root overlaid with its locals.
func (ei *elementInstance) visible() map[string]any {
	out := make(map[string]any, len(ei.inst.vars)+len(ei.locals))
	for k, v := range ei.inst.vars {
		out[k] = v
	}
	for k, v := range ei.locals {
		out[k] = v
	}
	return out
}

func (ei *elementInstance) lookup(name string) (any, bool) {
	if v, ok := ei.locals[name]; ok {
		return v, true
	}
	v, ok := ei.inst.vars[name]
	return v, ok
}

// propagate sets variables as Zeebe merges a document into a scope: each into the nearest
// scope where it exists, else into the root scope.
func (ei *elementInstance) propagate(vars map[string]any) {
	for k, v := range vars {
		if _, ok := ei.locals[k]; ok {
			ei.locals[k] = v
		} else {
			ei.inst.vars[k] = v
		}
	}
}

// applyMappings evaluates mappings against the element's visible variables and writes the
// targets into dst.
func (ei *elementInstance) applyMappings(ms []mapping, dst map[string]any) {
	for _, m := range ms {
		setPath(dst, m.target, deepCopy(m.source.eval(ei.lookup)))
	}
}
