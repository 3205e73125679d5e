// Package worker is the Zeebe transport: it activates jobs of the connector's job types, turns
// each into an action invocation and the result into CompleteJob, FailJob or ThrowError. It
// knows nothing of Twilio; actions know nothing of Zeebe.
package worker

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/camunda/zeebe/clients/go/v8/pkg/commands"
	"github.com/camunda/zeebe/clients/go/v8/pkg/entities"
	zworker "github.com/camunda/zeebe/clients/go/v8/pkg/worker"
	"github.com/camunda/zeebe/clients/go/v8/pkg/zbc"

	"github.com/twilio-connector/twilio-connector/actions"
	"github.com/twilio-connector/twilio-connector/bpmn"
	"github.com/twilio-connector/twilio-connector/errs"
	"github.com/twilio-connector/twilio-connector/feel"
	"github.com/twilio-connector/twilio-connector/metrics"
	"github.com/twilio-connector/twilio-connector/providers"
	"github.com/twilio-connector/twilio-connector/templates"
)

// Action is what the worker runs for a job.
type Action = actions.Action

// Task headers the worker reads.
const (
	HeaderErrorMode      = "errorMode"               // "bpmnError": permanent failures become BPMN errors
	HeaderTemplateEngine = "templateEngine"          // "freemarker" (default) or "pongo2"
	HeaderRetryBackoff   = "retryBackoff"            // ISO 8601 (PT30S) or Go (30s) duration
	HeaderConnection     = providers.FieldConnection // the connection to send through; "default" when absent
	ErrorModeBPMN        = "bpmnError"

	// Camunda's connector runtime headers (see decide).
	HeaderResultVariable   = "resultVariable"   // the whole result under this variable
	HeaderResultExpression = "resultExpression" // FEEL context mapping the result to variables
	HeaderErrorExpression  = "errorExpression"  // FEEL returning bpmnError(...), jobError(...) or null
)

// Options configure the worker; zero values take the config package's defaults.
type Options struct {
	Prefix         string
	Name           string
	MaxJobsActive  int
	Concurrency    int
	JobTimeout     time.Duration
	PollInterval   time.Duration
	RequestTimeout time.Duration
	RetryBackoff   time.Duration
	Logger         *slog.Logger
	// LongPolls, when the client was built with its DialOption, lets Stop end the pending
	// ActivateJobs long polls instead of waiting up to RequestTimeout for them.
	LongPolls *LongPolls
}

// Worker serves every registered action's job type.
type Worker struct {
	client  zbc.Client
	actions map[string]Action
	opts    Options
	log     *slog.Logger

	closing  atomic.Bool
	stopping chan struct{} // closed by Stop: jobs waiting for a slot are handed back
	mu       sync.Mutex
	workers  []zworker.JobWorker
	inFlight sync.WaitGroup
}

// New returns a worker for client serving actions, keyed by job type suffix (send_sms, ...).
func New(client zbc.Client, acts map[string]Action, opts Options) *Worker {
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = 1
	}
	opts.MaxJobsActive = max(opts.MaxJobsActive, opts.Concurrency)
	return &Worker{client: client, actions: acts, opts: opts, log: opts.Logger.With("component", "worker"),
		stopping: make(chan struct{})}
}

// JobType is the Zeebe job type of an action.
func JobType(prefix, action string) string { return actions.Spec{Name: action}.JobType(prefix) }

// Start opens one job worker per action. The client's dispatcher gets a goroutine per job it
// may activate, so that every activated job reaches the handler at once; the handler bounds the
// work with Concurrency slots. (Jobs queued inside the client's dispatcher would be dropped by
// Close and come back only after their timeout; jobs waiting for a slot can be handed back.)
func (w *Worker) Start() {
	w.mu.Lock()
	defer w.mu.Unlock()
	for name, a := range w.actions {
		jt := JobType(w.opts.Prefix, name)
		b := w.client.NewJobWorker().JobType(jt).Handler(w.handler(jt, a)).Name(w.opts.Name).
			Timeout(w.opts.JobTimeout).MaxJobsActive(w.opts.MaxJobsActive).Concurrency(w.opts.MaxJobsActive)
		if w.opts.PollInterval > 0 {
			b = b.PollInterval(w.opts.PollInterval)
		}
		if w.opts.RequestTimeout > 0 {
			b = b.RequestTimeout(w.opts.RequestTimeout)
		}
		w.workers = append(w.workers, b.Open())
		w.log.Info("job worker started", "jobType", jt, "maxJobsActive", w.opts.MaxJobsActive, "concurrency", w.opts.Concurrency)
	}
}

// Stop stops activating jobs and waits for in-flight jobs to finish, until ctx ends. Jobs
// already activated but not yet started are handed back to Zeebe (FailJob with unchanged
// retries and no backoff) so another worker picks them up at once.
func (w *Worker) Stop(ctx context.Context) error {
	if w.closing.Swap(true) {
		return nil
	}
	close(w.stopping)
	if w.opts.LongPolls != nil {
		w.opts.LongPolls.Cancel()
	}
	w.mu.Lock()
	ws := w.workers
	w.workers = nil
	w.mu.Unlock()
	done := make(chan struct{})
	go func() {
		for _, jw := range ws {
			jw.Close()
		}
		w.inFlight.Wait()
		close(done)
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("jobs still in flight after the shutdown grace period: %w", ctx.Err())
	}
}

func (w *Worker) handler(jobType string, a Action) zworker.JobHandler {
	slots := make(chan struct{}, w.opts.Concurrency)
	return func(jc zworker.JobClient, job entities.Job) {
		w.inFlight.Add(1)
		defer w.inFlight.Done()
		start := time.Now()
		if w.acquire(slots, job) {
			defer func() { <-slots }()
		}
		outcome := w.handle(jc, job, a)
		metrics.Jobs.WithLabelValues(jobType, outcome).Inc()
		metrics.JobSeconds.WithLabelValues(jobType).Observe(time.Since(start).Seconds())
	}
}

// acquire takes a slot for job, waiting while all are busy; it returns false when Stop began
// first (the job is then handed back).
func (w *Worker) acquire(slots chan struct{}, job entities.Job) bool {
	select {
	case slots <- struct{}{}:
		return true
	default:
	}
	w.log.Debug("job waiting for a free slot", "jobKey", job.Key, "jobType", job.Type, "concurrency", cap(slots))
	select {
	case slots <- struct{}{}:
		return true
	case <-w.stopping:
		return false
	}
}

// deadlineMargin is kept between the end of the work and the job's deadline, so the job
// command reaches Zeebe before the job times out and is given to another worker.
const deadlineMargin = 2 * time.Second

func (w *Worker) handle(jc zworker.JobClient, job entities.Job, a Action) string {
	log := w.log.With("jobKey", job.Key, "jobType", job.Type, "processInstanceKey", job.ProcessInstanceKey, "elementId", job.ElementId)
	ctx, cancel := context.WithDeadline(context.Background(), w.jobDeadline(job))
	defer cancel()

	if w.closing.Load() {
		return w.fail(ctx, jc, job, decision{retries: job.Retries, message: "twilio-connector is shutting down; job handed back unchanged"}, log, "handed_back")
	}

	headers, err := job.GetCustomHeadersAsMap()
	if err != nil {
		headers = map[string]string{}
	}
	inv, hdr, ierr := w.invocation(job, headers)
	var (
		res     actions.Result
		sendErr error
	)
	switch {
	case hdr.incident != nil:
		// A task whose headers cannot be evaluated sends nothing.
	case ierr != nil:
		res = actions.RequestFailure(errs.As(ierr))
	default:
		res, sendErr = a.Invoke(ctx, inv)
	}
	d := decide(res, sendErr, job.Retries, hdr)
	switch d.verdict {
	case fail:
		outcome := "failed"
		if d.retries == 0 {
			outcome = "incident"
		}
		return w.fail(ctx, jc, job, d, log, outcome)
	case throw:
		return w.throw(ctx, jc, job, d, log)
	default:
		return w.complete(ctx, jc, job, d, res, log)
	}
}

// jobHeaders are the task headers that shape the job command.
type jobHeaders struct {
	errorMode      string
	retryBackoff   time.Duration
	resultVariable string
	resultExpr     *feel.Expr
	errorExpr      *feel.Expr
	// incident is a header the connector cannot evaluate: the job fails without retries.
	incident error
}

// feelHeader parses a FEEL task header; an empty header is nil.
func feelHeader(headers map[string]string, name string) (*feel.Expr, error) {
	src := strings.TrimSpace(headers[name])
	if src == "" || src == "=" {
		return nil, nil
	}
	x, err := feel.Parse(src)
	if err != nil {
		return nil, fmt.Errorf("task header %s: %w", name, err)
	}
	return x, nil
}

func (w *Worker) invocation(job entities.Job, headers map[string]string) (actions.Invocation, jobHeaders, error) {
	h := jobHeaders{errorMode: headers[HeaderErrorMode], retryBackoff: w.opts.RetryBackoff,
		resultVariable: strings.TrimSpace(headers[HeaderResultVariable])}
	var err error
	if h.resultExpr, err = feelHeader(headers, HeaderResultExpression); err != nil {
		h.incident = err
	} else if h.errorExpr, err = feelHeader(headers, HeaderErrorExpression); err != nil {
		h.incident = err
	}
	inv := actions.Invocation{IdempotencyKey: "job:" + strconv.FormatInt(job.Key, 10), Connection: strings.TrimSpace(headers[HeaderConnection])}
	if h.errorMode != "" && h.errorMode != ErrorModeBPMN {
		bad := h.errorMode
		h.errorMode = ""
		return inv, h, errs.Invalid(HeaderErrorMode, "task header %s is %q: leave it empty (errors in twilioError) or set %q", HeaderErrorMode, bad, ErrorModeBPMN)
	}
	if s := headers[HeaderRetryBackoff]; s != "" {
		d, err := bpmn.ParseDuration(s)
		if err != nil {
			return inv, h, errs.Invalid(HeaderRetryBackoff, "task header %s is %q: write an ISO 8601 duration such as PT30S", HeaderRetryBackoff, s)
		}
		h.retryBackoff = d
	}
	eng, err := templates.ParseEngine(HeaderTemplateEngine, headers[HeaderTemplateEngine])
	if err != nil {
		return inv, h, err
	}
	inv.Engine = eng
	// Numbers stay json.Number so templates print them exactly as the process holds them.
	dec := json.NewDecoder(bytes.NewReader([]byte(job.Variables)))
	dec.UseNumber()
	if err := dec.Decode(&inv.Vars); err != nil {
		return inv, h, errs.Invalid("variables", "the job's variables are not a JSON object: %v", err)
	}
	if inv.Vars == nil {
		inv.Vars = map[string]any{}
	}
	return inv, h, nil
}

// jobDeadline is when the work on a job must stop: its deadline less a margin of at most a
// quarter of the job timeout.
func (w *Worker) jobDeadline(job entities.Job) time.Time {
	margin := min(deadlineMargin, w.opts.JobTimeout/4)
	if job.Deadline > 0 {
		return time.UnixMilli(job.Deadline).Add(-margin)
	}
	return time.Now().Add(w.opts.JobTimeout - margin)
}

// throw throws the decision's BPMN error with its variables.
func (w *Worker) throw(ctx context.Context, jc zworker.JobClient, job entities.Job, d decision, log *slog.Logger) string {
	cctx, cancel := commandContext(ctx)
	defer cancel()
	cmd, err := jc.NewThrowErrorCommand().JobKey(job.Key).ErrorCode(d.code).ErrorMessage(d.message).VariablesFromMap(orEmpty(d.variables))
	if err == nil {
		_, err = cmd.Send(cctx)
	}
	if err != nil {
		log.Error("throw error command failed; the job will time out and be retried without resending", "code", d.code, "err", err)
		return "command_failed"
	}
	log.Info("job failed with a BPMN error", "code", d.code)
	return "error_thrown"
}

// complete completes the job with the decision's variables.
func (w *Worker) complete(ctx context.Context, jc zworker.JobClient, job entities.Job, d decision, res actions.Result, log *slog.Logger) string {
	cctx, cancel := commandContext(ctx)
	defer cancel()
	cmd, err := jc.NewCompleteJobCommand().JobKey(job.Key).VariablesFromMap(orEmpty(d.variables))
	if err == nil {
		_, err = cmd.Send(cctx)
	}
	if err != nil {
		log.Error("complete command failed; the job will time out and be retried without resending", "err", err)
		return "command_failed"
	}
	if f := res.Failure(); f != nil {
		log.Info("job completed with errors in twilioError", "errors", len(res.TwilioError), "firstCode", f.Code)
	} else {
		log.Debug("job completed", "recipients", len(res.TwilioResult))
	}
	return "completed"
}

// fail fails the job with the decision's retries, backoff, message and variables.
func (w *Worker) fail(ctx context.Context, jc zworker.JobClient, job entities.Job, d decision, log *slog.Logger, outcome string) string {
	cctx, cancel := commandContext(ctx)
	defer cancel()
	cmd := jc.NewFailJobCommand().JobKey(job.Key).Retries(d.retries).ErrorMessage(d.message).RetryBackoff(d.backoff)
	var send commands.DispatchFailJobCommand = cmd
	var err error
	if d.variables != nil {
		send, err = cmd.VariablesFromMap(d.variables)
	}
	if err == nil {
		_, err = send.Send(cctx)
	}
	if err != nil {
		log.Error("fail command failed; the job will time out and come back", "err", err)
		return "command_failed"
	}
	if d.retries == 0 {
		log.Error("job failed without retries: Zeebe raises an incident", "reason", d.message)
	} else {
		log.Warn("job failed, Zeebe will retry", "retriesLeft", d.retries, "backoff", d.backoff, "reason", d.message)
	}
	return outcome
}

func orEmpty(m map[string]any) map[string]any {
	if m == nil {
		return map[string]any{}
	}
	return m
}

// commandContext bounds a job command even when the job's own deadline has passed.
func commandContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
}
