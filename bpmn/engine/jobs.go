package engine

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/camunda/zeebe/clients/go/v8/pkg/pb"
)

// Job states, named as in Zeebe's job state. Completed and cancelled jobs are deleted, so
// commands on them answer NOT_FOUND, as Zeebe does.
const (
	JobActivatable = "ACTIVATABLE"
	JobActivated   = "ACTIVATED"
	// JobFailed: failed with retries left and a backoff not yet over, or with no retries left
	// (then an incident is open).
	JobFailed = "FAILED"
	// JobErrorThrown: ThrowError found no catching boundary event; an incident is open.
	JobErrorThrown = "ERROR_THROWN"
)

type job struct {
	key          int64
	typ          string
	ei           *elementInstance
	state        string
	retries      int32
	worker       string
	deadline     time.Time // while activated
	recurAt      time.Time // while failed with a backoff
	errorMessage string
}

// JobStats counts job events since the engine started.
type JobStats struct {
	Created, Activated, Completed, Failed, ErrorsThrown, TimedOut int
}

func (e *Engine) createJob(ei *elementInstance) {
	proc := ei.inst.proc
	j := &job{
		key:     e.nextKey(),
		typ:     proc.jobTypes[ei.el.ID],
		ei:      ei,
		state:   JobActivatable,
		retries: proc.retries[ei.el.ID],
	}
	ei.job = j
	e.jobs[j.key] = j
	e.stats.Created++
}

// tick applies the time-based job transitions due at now. Callers hold e.mu.
func (e *Engine) tick(now time.Time) {
	for _, j := range e.jobs {
		switch {
		case j.state == JobActivated && !now.Before(j.deadline):
			j.state = JobActivatable
			j.worker = ""
			e.stats.TimedOut++
			e.log.Debug("job timed out", "jobKey", j.key, "type", j.typ)
		case j.state == JobFailed && j.retries > 0 && !j.recurAt.IsZero() && !now.Before(j.recurAt):
			j.state = JobActivatable
			j.recurAt = time.Time{}
		}
	}
}

// activateJobs activates up to req.MaxJobsToActivate jobs of req.Type, oldest first. When none
// is available it returns when the next time-based transition of a job of that type is due
// (zero if none) and a channel closed on the next state change.
func (e *Engine) activateJobs(req *pb.ActivateJobsRequest, now time.Time) (jobs []*pb.ActivatedJob, next time.Time, changed <-chan struct{}) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.tick(now)
	var candidates []*job
	for _, j := range e.jobs {
		if j.typ != req.Type {
			continue
		}
		switch {
		case j.state == JobActivatable:
			candidates = append(candidates, j)
		case j.state == JobActivated:
			next = earliest(next, j.deadline)
		case j.state == JobFailed && j.retries > 0 && !j.recurAt.IsZero():
			next = earliest(next, j.recurAt)
		}
	}
	slices.SortFunc(candidates, func(a, b *job) int { return cmp.Compare(a.key, b.key) })
	if len(candidates) > int(req.MaxJobsToActivate) {
		candidates = candidates[:req.MaxJobsToActivate]
	}
	deadline := now.Add(time.Duration(req.Timeout) * time.Millisecond)
	for _, j := range candidates {
		j.state = JobActivated
		j.worker = req.Worker
		j.deadline = deadline
		e.stats.Activated++
		jobs = append(jobs, j.activated(req.FetchVariable))
	}
	if len(jobs) > 0 {
		// Other long polls for this type must wake up at these jobs' deadlines.
		e.broadcast()
	}
	return jobs, next, e.changed
}

func earliest(a, b time.Time) time.Time {
	if a.IsZero() || (!b.IsZero() && b.Before(a)) {
		return b
	}
	return a
}

func (j *job) activated(fetch []string) *pb.ActivatedJob {
	inst := j.ei.inst
	return &pb.ActivatedJob{
		Key:                      j.key,
		Type:                     j.typ,
		ProcessInstanceKey:       inst.key,
		BpmnProcessId:            inst.proc.def.ID,
		ProcessDefinitionVersion: inst.proc.version,
		ProcessDefinitionKey:     inst.proc.key,
		ElementId:                j.ei.el.ID,
		ElementInstanceKey:       j.ei.key,
		CustomHeaders:            inst.proc.headers[j.ei.el.ID],
		Worker:                   j.worker,
		Retries:                  j.retries,
		Deadline:                 j.deadline.UnixMilli(),
		Variables:                mustJSON(filterVars(j.ei.visible(), fetch)),
	}
}

// pollJobs is ActivateJobs with long polling: it returns as soon as at least one job is
// activated, or empty after wait (no waiting when wait <= 0) or when ctx ends.
func (e *Engine) pollJobs(ctx context.Context, req *pb.ActivateJobsRequest, wait time.Duration) ([]*pb.ActivatedJob, error) {
	until := time.Now().Add(wait)
	for {
		now := time.Now()
		jobs, next, changed := e.activateJobs(req, now)
		if len(jobs) > 0 || !now.Before(until) {
			return jobs, nil
		}
		wake := until
		if !next.IsZero() && next.Before(wake) {
			wake = next
		}
		if err := e.waitPoll(ctx, changed, wake); err != nil {
			return nil, err
		}
	}
}

func (e *Engine) waitPoll(ctx context.Context, changed <-chan struct{}, wake time.Time) error {
	e.mu.Lock()
	e.waitingPolls++
	e.mu.Unlock()
	defer func() {
		e.mu.Lock()
		e.waitingPolls--
		e.mu.Unlock()
	}()
	timer := time.NewTimer(time.Until(wake))
	defer timer.Stop()
	select {
	case <-changed:
	case <-timer.C:
	case <-ctx.Done():
		return status.FromContextError(ctx.Err()).Err()
	}
	return nil
}

// jobFor returns the job for a command, checking that it is in a state the command accepts
// (activatable or activated, as Zeebe's job command precondition checker). Callers hold e.mu.
func (e *Engine) jobFor(key int64, command string) (*job, error) {
	e.tick(time.Now())
	j := e.jobs[key]
	if j == nil {
		return nil, status.Errorf(codes.NotFound, "Command '%s' rejected with code 'NOT_FOUND': Expected to %s job with key '%d', but no such job was found", commandName(command), command, key)
	}
	if j.state != JobActivatable && j.state != JobActivated {
		return nil, status.Errorf(codes.FailedPrecondition, "Command '%s' rejected with code 'INVALID_STATE': Expected to %s job with key '%d', but it is in state '%s'", commandName(command), command, key, j.state)
	}
	return j, nil
}

func commandName(command string) string {
	switch command {
	case "complete":
		return "COMPLETE"
	case "fail":
		return "FAIL"
	}
	return "THROW_ERROR"
}

// completeJob completes a job and continues its process instance.
func (e *Engine) completeJob(key int64, vars map[string]any) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	j, err := e.jobFor(key, "complete")
	if err != nil {
		return err
	}
	e.stats.Completed++
	ei := j.ei
	e.complete(ei, vars, ei.el.Outgoing)
	e.broadcast()
	return nil
}

// failJob fails a job: with retries left it becomes activatable again after backoff; with none
// an incident is raised. vars are set in the task's local scope.
func (e *Engine) failJob(key int64, retries int32, errorMessage string, backoff time.Duration, vars map[string]any) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	j, err := e.jobFor(key, "fail")
	if err != nil {
		return err
	}
	e.stats.Failed++
	for k, v := range vars {
		j.ei.locals[k] = v
	}
	j.retries = retries
	j.errorMessage = errorMessage
	j.worker = ""
	switch {
	case retries > 0 && backoff > 0:
		j.state = JobFailed
		j.recurAt = time.Now().Add(backoff)
	case retries > 0:
		j.state = JobActivatable
	default:
		j.state = JobFailed
		msg := errorMessage
		if msg == "" {
			msg = "No more retries left."
		}
		e.raiseIncident(j.ei, j, IncidentJobNoRetries, msg, nil)
	}
	e.broadcast()
	return nil
}

// throwError throws a BPMN error from a job: an error boundary event on the task with the same
// error code (or a catch-all one) takes over, otherwise an incident is raised. vars are set in
// the catching event's scope and propagated from there.
func (e *Engine) throwError(key int64, errorCode, errorMessage string, vars map[string]any) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	j, err := e.jobFor(key, "throw an error for")
	if err != nil {
		return err
	}
	e.stats.ErrorsThrown++
	ei := j.ei
	if boundary := ei.inst.proc.errorCatcher(ei.el.ID, errorCode); boundary != nil {
		e.enterBoundary(ei, boundary, vars)
	} else {
		j.state = JobErrorThrown
		j.errorMessage = errorMessage
		msg := fmt.Sprintf("Expected to throw an error event with the code '%s' with message '%s', but it was not caught. No error events are available in the scope.", errorCode, errorMessage)
		e.raiseIncident(ei, j, IncidentUnhandledError, msg, nil)
	}
	e.broadcast()
	return nil
}

// updateJobRetries sets a job's retries; an open incident still has to be resolved.
func (e *Engine) updateJobRetries(key int64, retries int32) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	j := e.jobs[key]
	if j == nil {
		return status.Errorf(codes.NotFound, "Command 'UPDATE_RETRIES' rejected with code 'NOT_FOUND': Expected to update retries for job with key '%d', but no such job was found", key)
	}
	if retries < 1 {
		return status.Errorf(codes.InvalidArgument, "Command 'UPDATE_RETRIES' rejected with code 'INVALID_ARGUMENT': Expected to update retries for job with key '%d' with a positive amount of retries, but the amount given was '%d'", key, retries)
	}
	j.retries = retries
	e.broadcast()
	return nil
}
