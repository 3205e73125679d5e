package engine

import (
	"context"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// startedInstance identifies a created process instance.
type startedInstance struct {
	ProcessDefinitionKey int64
	BpmnProcessID        string
	Version              int32
	ProcessInstanceKey   int64
}

// findProcess resolves a process definition as CreateProcessInstance does: by key when
// definitionKey is not 0, else by BPMN process id and version (negative: latest).
// Callers hold e.mu.
func (e *Engine) findProcess(definitionKey int64, bpmnProcessID string, version int32) (*process, error) {
	if definitionKey != 0 {
		if p := e.processes[definitionKey]; p != nil {
			return p, nil
		}
		return nil, status.Errorf(codes.NotFound, "Command 'CREATE' rejected with code 'NOT_FOUND': Expected to find process definition with key '%d', but none found", definitionKey)
	}
	if bpmnProcessID == "" {
		return nil, status.Error(codes.InvalidArgument, "Expected either a process definition key or a BPMN process id, but none given")
	}
	versions := e.versions[bpmnProcessID]
	if version < 0 {
		if p := e.latest(bpmnProcessID); p != nil {
			return p, nil
		}
		return nil, status.Errorf(codes.NotFound, "Command 'CREATE' rejected with code 'NOT_FOUND': Expected to find process definition with process ID '%s', but none found", bpmnProcessID)
	}
	for _, p := range versions {
		if p.version == version {
			return p, nil
		}
	}
	return nil, status.Errorf(codes.NotFound, "Command 'CREATE' rejected with code 'NOT_FOUND': Expected to find process definition with process ID '%s' and version '%d', but none found", bpmnProcessID, version)
}

// createInstance starts an instance at the process's none start event with the given root
// variables.
func (e *Engine) createInstance(definitionKey int64, bpmnProcessID string, version int32, vars map[string]any) (startedInstance, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	inst, err := e.createInstanceLocked(definitionKey, bpmnProcessID, version, vars)
	if err != nil {
		return startedInstance{}, err
	}
	return inst.started(), nil
}

func (e *Engine) createInstanceLocked(definitionKey int64, bpmnProcessID string, version int32, vars map[string]any) (*instance, error) {
	proc, err := e.findProcess(definitionKey, bpmnProcessID, version)
	if err != nil {
		return nil, err
	}
	if proc.noneStart == nil {
		return nil, status.Errorf(codes.FailedPrecondition, "Command 'CREATE' rejected with code 'INVALID_STATE': Expected to create instance of process with none start event, but there is no such event")
	}
	inst := e.newInstance(proc, vars)
	e.enter(inst, proc.noneStart, nil)
	e.broadcast()
	return inst, nil
}

func (inst *instance) started() startedInstance {
	return startedInstance{
		ProcessDefinitionKey: inst.proc.key,
		BpmnProcessID:        inst.proc.def.ID,
		Version:              inst.proc.version,
		ProcessInstanceKey:   inst.key,
	}
}

// createInstanceWithResult starts an instance and waits until it completes or timeout passes
// (DEADLINE_EXCEEDED). It returns the root variables named in fetch (all when empty). An
// instance cancelled meanwhile answers FAILED_PRECONDITION.
func (e *Engine) createInstanceWithResult(ctx context.Context, definitionKey int64, bpmnProcessID string, version int32, vars map[string]any, timeout time.Duration, fetch []string) (startedInstance, map[string]any, error) {
	e.mu.Lock()
	inst, err := e.createInstanceLocked(definitionKey, bpmnProcessID, version, vars)
	e.mu.Unlock()
	if err != nil {
		return startedInstance{}, nil, err
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-inst.done:
	case <-timer.C:
		return startedInstance{}, nil, status.Errorf(codes.DeadlineExceeded, "Expected process instance '%d' to complete within %s, but it did not", inst.key, timeout)
	case <-ctx.Done():
		return startedInstance{}, nil, status.FromContextError(ctx.Err()).Err()
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if inst.state != StateCompleted {
		return startedInstance{}, nil, status.Errorf(codes.FailedPrecondition, "Process instance '%d' was terminated before it completed", inst.key)
	}
	return inst.started(), copyVars(filterVars(inst.vars, fetch)), nil
}

// cancelInstance terminates an active process instance, its jobs, subscriptions and incidents.
func (e *Engine) cancelInstance(key int64) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	inst := e.instances[key]
	if inst == nil || inst.state != StateActive {
		return status.Errorf(codes.NotFound, "Command 'CANCEL' rejected with code 'NOT_FOUND': Expected to cancel a process instance with key '%d', but no such process was found", key)
	}
	e.endInstance(inst, StateTerminated)
	e.broadcast()
	return nil
}

// setVariables merges vars into the scope of an element instance or process instance (key):
// locally when local is true, else propagated as Zeebe does. It returns the command's key.
func (e *Engine) setVariables(key int64, vars map[string]any, local bool) (int64, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if inst := e.instances[key]; inst != nil && inst.state == StateActive {
		for k, v := range vars {
			inst.vars[k] = v
		}
	} else if ei := e.elements[key]; ei != nil {
		if local {
			for k, v := range vars {
				ei.locals[k] = v
			}
		} else {
			ei.propagate(vars)
		}
	} else {
		return 0, status.Errorf(codes.NotFound, "Command 'UPDATE' rejected with code 'NOT_FOUND': Expected to update variables for element with key '%d', but no such element was found", key)
	}
	e.broadcast()
	return e.nextKey(), nil
}
