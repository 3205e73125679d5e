package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"path"
	"strings"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/twilio-connector/twilio-connector/bpmn"
)

// Resource is one file to deploy.
type Resource struct {
	Name    string
	Content []byte
}

// DeployedProcess describes one process definition created (or found unchanged) by a deployment.
type DeployedProcess struct {
	BpmnProcessID        string
	Version              int32
	ProcessDefinitionKey int64
	ResourceName         string
}

// Deploy deploys BPMN resources atomically: either all are valid and deployed or none is, and
// the error (INVALID_ARGUMENT) names every problem. A process whose resource is byte-identical
// to its latest version is not redeployed; its existing version is returned, as in Zeebe.
func (e *Engine) Deploy(resources ...Resource) (deploymentKey int64, deployed []DeployedProcess, err error) {
	if len(resources) == 0 {
		return 0, nil, status.Error(codes.InvalidArgument, "Expected to deploy at least one resource, but none given")
	}
	type parsed struct {
		defs     *bpmn.Definitions
		procs    []*process
		checksum string
	}
	var all []parsed
	var errs []error
	for _, r := range resources {
		ext := strings.ToLower(path.Ext(r.Name))
		if ext != ".bpmn" && ext != ".xml" {
			errs = append(errs, errors.New(r.Name+": only BPMN resources (.bpmn, .xml) are supported by the dev engine"))
			continue
		}
		defs, err := bpmn.Parse(r.Name, r.Content)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		procs, err := compile(defs)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		sum := sha256.Sum256(r.Content)
		all = append(all, parsed{defs: defs, procs: procs, checksum: hex.EncodeToString(sum[:])})
	}
	if len(errs) > 0 {
		return 0, nil, status.Error(codes.InvalidArgument, "Expected to deploy new resources, but encountered the following errors:\n"+errors.Join(errs...).Error())
	}

	e.mu.Lock()
	deploymentKey = e.nextKey()
	for _, p := range all {
		for _, proc := range p.procs {
			versions := e.versions[proc.def.ID]
			if n := len(versions); n > 0 && versions[n-1].checksum == p.checksum {
				latest := versions[n-1]
				deployed = append(deployed, latest.describe())
				continue
			}
			proc.key = e.nextKey()
			proc.version = int32(len(versions) + 1)
			proc.checksum = p.checksum
			e.processes[proc.key] = proc
			e.versions[proc.def.ID] = append(versions, proc)
			deployed = append(deployed, proc.describe())
			e.log.Info("process deployed", "bpmnProcessId", proc.def.ID, "version", proc.version,
				"processDefinitionKey", proc.key, "resource", proc.defs.Name)
		}
	}
	e.broadcast()
	e.mu.Unlock()

	if e.onDeploy != nil {
		for _, p := range all {
			e.onDeploy(p.defs)
		}
	}
	return deploymentKey, deployed, nil
}

func (p *process) describe() DeployedProcess {
	return DeployedProcess{BpmnProcessID: p.def.ID, Version: p.version, ProcessDefinitionKey: p.key, ResourceName: p.defs.Name}
}

// latest returns the latest version of a process, or nil. Callers hold e.mu.
func (e *Engine) latest(bpmnProcessID string) *process {
	v := e.versions[bpmnProcessID]
	if len(v) == 0 {
		return nil
	}
	return v[len(v)-1]
}
