package worker

import (
	"time"

	"github.com/twilio-connector/twilio-connector/actions"
	"github.com/twilio-connector/twilio-connector/errs"
)

// verdict is what the worker does with a handled job.
type verdict int

const (
	// complete the job with the result as its variables (failures in twilioError).
	complete verdict = iota
	// fail the job so that Zeebe retries it after a backoff.
	fail
	// throw the result's first failure as a BPMN error (errorMode bpmnError).
	throw
)

// decision is the job command to send: the verdict with what fail and throw need.
type decision struct {
	verdict verdict
	// retries and backoff are the job's remaining retries and Zeebe's wait, for fail.
	retries int32
	backoff time.Duration
	// err is the failure: the transient one for fail, the result's first for throw.
	err *errs.Error
}

// decide is the worker's decision for a job with retriesLeft retries whose action returned res
// and sendErr (transient). A transient failure fails the job for a later retry, with the longer
// of the task's retry backoff and the provider's Retry-After, while retries remain; on the last
// retry the job completes (or throws) with the result, which says who got nothing. Permanent
// failures complete the job, or throw in errorMode bpmnError. A send held back by its sender's
// pace (errs.Error.Paced) was not attempted: the job is failed for after the wait keeping its
// retries, so that Zeebe holds a backlog of any length without it using up retries.
func decide(res actions.Result, sendErr error, retriesLeft int32, errorMode string, retryBackoff time.Duration) decision {
	if e := errs.As(sendErr); e != nil && e.Paced {
		return decision{verdict: fail, retries: retriesLeft, backoff: max(retryBackoff, e.RetryAfter), err: e}
	}
	if sendErr != nil && retriesLeft > 1 {
		e := errs.As(sendErr)
		return decision{verdict: fail, retries: retriesLeft - 1, backoff: max(retryBackoff, e.RetryAfter), err: e}
	}
	if f := res.Failure(); f != nil && errorMode == ErrorModeBPMN {
		return decision{verdict: throw, err: f}
	}
	return decision{verdict: complete}
}
