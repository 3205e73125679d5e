package engine

import (
	"cmp"
	"context"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/twilio-connector/twilio-connector/bpmn"
)

// Inspection helpers for tests and the dev command. They return copies taken under the engine
// lock, with time-based transitions (job timeouts, backoffs) applied as of the call.

// InstanceInfo is a snapshot of a process instance.
type InstanceInfo struct {
	Key                  int64
	BpmnProcessID        string
	Version              int32
	ProcessDefinitionKey int64
	State                string // StateActive, StateCompleted or StateTerminated
	// Variables are the root scope's variables, decoded JSON with numbers as json.Number.
	Variables map[string]any
	// ActiveElements are the ids of elements waiting (tasks, catch events, incidents).
	ActiveElements []string
	// CompletedElements are the ids of elements that completed, in order.
	CompletedElements []string
}

// IncidentInfo is a snapshot of an open incident.
type IncidentInfo struct {
	Key                int64
	Type               string // IncidentJobNoRetries, ...
	Message            string
	ProcessInstanceKey int64
	ElementID          string
	ElementInstanceKey int64
	JobKey             int64 // 0 unless a job incident
}

// JobInfo is a snapshot of a job that is neither completed nor cancelled.
type JobInfo struct {
	Key                int64
	Type               string
	State              string // JobActivatable, JobActivated, JobFailed or JobErrorThrown
	Retries            int32
	Worker             string
	ErrorMessage       string
	ProcessInstanceKey int64
	ElementID          string
}

// MessageInfo is a snapshot of a published message.
type MessageInfo struct {
	Key            int64
	Name           string
	CorrelationKey string
	MessageID      string
	Variables      map[string]any
	Buffered       bool // still within its time to live
	// Instances are the process instances the message was correlated to or started.
	Instances []int64
}

// Instance returns a snapshot of the process instance with the given key.
func (e *Engine) Instance(key int64) (InstanceInfo, bool) {
	e.mu.Lock()
	defer e.mu.Unlock()
	inst := e.instances[key]
	if inst == nil {
		return InstanceInfo{}, false
	}
	return inst.info(), true
}

// WaitInstance waits until the process instance with the given key has completed or been
// terminated and returns its final snapshot; it fails if the key is unknown or ctx ends first.
func (e *Engine) WaitInstance(ctx context.Context, key int64) (InstanceInfo, error) {
	e.mu.Lock()
	inst := e.instances[key]
	e.mu.Unlock()
	if inst == nil {
		return InstanceInfo{}, fmt.Errorf("no process instance with key %d", key)
	}
	select {
	case <-inst.done:
	case <-ctx.Done():
		info, _ := e.Instance(key)
		return info, fmt.Errorf("process instance %d still %s (waiting at %v): %w", key, info.State, info.ActiveElements, ctx.Err())
	}
	info, _ := e.Instance(key)
	return info, nil
}

// Instances returns snapshots of all process instances, oldest first.
func (e *Engine) Instances() []InstanceInfo {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []InstanceInfo
	for _, key := range slices.Sorted(maps.Keys(e.instances)) {
		out = append(out, e.instances[key].info())
	}
	return out
}

func (inst *instance) info() InstanceInfo {
	info := InstanceInfo{
		Key:                  inst.key,
		BpmnProcessID:        inst.proc.def.ID,
		Version:              inst.proc.version,
		ProcessDefinitionKey: inst.proc.key,
		State:                inst.state,
		Variables:            copyVars(inst.vars),
		CompletedElements:    slices.Clone(inst.trail),
	}
	for _, key := range slices.Sorted(maps.Keys(inst.active)) {
		info.ActiveElements = append(info.ActiveElements, inst.active[key].el.ID)
	}
	return info
}

// Incidents returns the open incidents, oldest first.
func (e *Engine) Incidents() []IncidentInfo {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []IncidentInfo
	for _, key := range slices.Sorted(maps.Keys(e.incidents)) {
		inc := e.incidents[key]
		info := IncidentInfo{
			Key: inc.key, Type: inc.typ, Message: inc.message,
			ProcessInstanceKey: inc.ei.inst.key, ElementID: inc.ei.el.ID, ElementInstanceKey: inc.ei.key,
		}
		if inc.job != nil {
			info.JobKey = inc.job.key
		}
		out = append(out, info)
	}
	return out
}

// Jobs returns the jobs that are neither completed nor cancelled, oldest first.
func (e *Engine) Jobs() []JobInfo {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.tick(time.Now())
	var out []JobInfo
	for _, key := range slices.Sorted(maps.Keys(e.jobs)) {
		j := e.jobs[key]
		out = append(out, JobInfo{
			Key: j.key, Type: j.typ, State: j.state, Retries: j.retries, Worker: j.worker,
			ErrorMessage: j.errorMessage, ProcessInstanceKey: j.ei.inst.key, ElementID: j.ei.el.ID,
		})
	}
	return out
}

// JobStats returns counts of job events since the engine started.
func (e *Engine) JobStats() JobStats {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.tick(time.Now())
	return e.stats
}

// PublishedMessages returns the published messages, oldest first. Expired messages are kept
// (Buffered false) up to a bound of recent history.
func (e *Engine) PublishedMessages() []MessageInfo {
	e.mu.Lock()
	defer e.mu.Unlock()
	now := time.Now()
	out := make([]MessageInfo, 0, len(e.messages))
	for _, m := range e.messages {
		out = append(out, MessageInfo{
			Key: m.key, Name: m.name, CorrelationKey: m.correlationKey, MessageID: m.id,
			Variables: copyVars(m.vars), Buffered: m.alive(now), Instances: slices.Clone(m.instances),
		})
	}
	return out
}

// Definitions returns the BPMN resources holding the latest version of each deployed
// process, each once, ordered by process definition key.
func (e *Engine) Definitions() []*bpmn.Definitions {
	e.mu.Lock()
	defer e.mu.Unlock()
	var latest []*process
	for id := range e.versions {
		latest = append(latest, e.latest(id))
	}
	slices.SortFunc(latest, func(a, b *process) int { return cmp.Compare(a.key, b.key) })
	var out []*bpmn.Definitions
	for _, p := range latest {
		if !slices.Contains(out, p.defs) {
			out = append(out, p.defs)
		}
	}
	return out
}
