package engine

import (
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
)

// Incident types, named as Zeebe's ErrorType values.
const (
	IncidentJobNoRetries      = "JOB_NO_RETRIES"
	IncidentUnhandledError    = "UNHANDLED_ERROR_EVENT"
	IncidentConditionError    = "CONDITION_ERROR"
	IncidentExtractValueError = "EXTRACT_VALUE_ERROR"
)

type incident struct {
	key     int64
	typ     string
	message string
	ei      *elementInstance
	job     *job // for job incidents
	// retry re-runs the step that failed; nil for job incidents, which make the job
	// activatable again instead.
	retry func()
}

func (e *Engine) raiseIncident(ei *elementInstance, j *job, typ, message string, retry func()) {
	inc := &incident{key: e.nextKey(), typ: typ, message: message, ei: ei, job: j, retry: retry}
	e.incidents[inc.key] = inc
	ei.incident = inc
	e.log.Info("incident raised", "incidentKey", inc.key, "type", typ, "message", message,
		"processInstanceKey", ei.inst.key, "elementId", ei.el.ID)
}

// resolveIncident resolves an incident. A job incident makes its job activatable again, which
// requires retries left (UpdateJobRetries first); other incidents retry the failed step, which
// may raise a new incident.
func (e *Engine) resolveIncident(key int64) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	inc := e.incidents[key]
	if inc == nil {
		return status.Errorf(codes.NotFound, "Command 'RESOLVE' rejected with code 'NOT_FOUND': Expected to resolve incident with key '%d', but no such incident was found", key)
	}
	if j := inc.job; j != nil && j.retries <= 0 {
		return status.Errorf(codes.FailedPrecondition, "Command 'RESOLVE' rejected with code 'INVALID_STATE': Expected to resolve incident with key '%d', but job with key '%d' has no retries left. Please update the job retries and retry resolving the incident", key, j.key)
	}
	delete(e.incidents, key)
	inc.ei.incident = nil
	if j := inc.job; j != nil {
		j.state = JobActivatable
		j.recurAt = time.Time{}
	} else if inc.retry != nil {
		inc.retry()
	}
	e.broadcast()
	return nil
}
