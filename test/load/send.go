package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/camunda/zeebe/clients/go/v8/pkg/commands"

	"github.com/twilio-connector/twilio-connector/actions"
	"github.com/twilio-connector/twilio-connector/config"
	"github.com/twilio-connector/twilio-connector/providers"
	"github.com/twilio-connector/twilio-connector/providers/twilio"
	"github.com/twilio-connector/twilio-connector/store"
	"github.com/twilio-connector/twilio-connector/worker"
)

// sendOptions shape the send throughput runs.
type sendOptions struct {
	jobs       int    // measured jobs
	warmup     int    // jobs run first and not measured
	creators   int    // goroutines creating instances, each waiting for its instance's end
	recipients int    // recipients per job
	store      string // "bolt" or "memory"
	// maxJobsActive, concurrency and twilioConcurrency override the connector's defaults
	// when positive.
	maxJobsActive, concurrency, twilioConcurrency int
}

// noopAction completes every job at once with an empty result: the baseline of the job flow.
type noopAction struct{}

func (noopAction) Invoke(context.Context, actions.Invocation) (actions.Result, error) {
	return actions.Result{TwilioResult: []actions.RecipientResult{}}, nil
}

// storeCloser is the state store of one run; close removes what it wrote.
type storeCloser struct {
	store.Store
	close func()
}

// openStoreCloser opens a fresh "bolt" (in a temporary directory) or "memory" store.
func openStoreCloser(kind string) (storeCloser, error) {
	if kind == "memory" {
		m := store.NewMemory(0)
		return storeCloser{m, func() { m.Close() }}, nil
	}
	dir, err := os.MkdirTemp("", "twilio-connector-load-")
	if err != nil {
		return storeCloser{}, err
	}
	b, err := store.OpenBolt(filepath.Join(dir, "state.db"), 0)
	if err != nil {
		os.RemoveAll(dir)
		return storeCloser{}, err
	}
	return storeCloser{b, func() { b.Close(); os.RemoveAll(dir) }}, nil
}

// connectorLogger logs as the connector does by default (JSON, info), into the void: the cost
// of formatting stays in the figures.
func connectorLogger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(io.Discard, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

// startWorker runs the connector's worker package with the connector's default settings,
// serving action under prefix.
func (w *world) startWorker(prefix string, action worker.Action, o sendOptions) *worker.Worker {
	cfg := config.Default()
	if o.maxJobsActive > 0 {
		cfg.MaxJobsActive = o.maxJobsActive
	}
	if o.concurrency > 0 {
		cfg.Concurrency = o.concurrency
	}
	// An idle long poll would hold Stop for CONNECTOR_REQUEST_TIMEOUT; jobs are never scarce here.
	cfg.RequestTimeout = time.Second
	wk := worker.New(w.client, map[string]worker.Action{actions.SendSMS.Name: action}, worker.Options{
		Prefix: prefix, Name: "load", MaxJobsActive: cfg.MaxJobsActive, Concurrency: cfg.Concurrency,
		JobTimeout: cfg.JobTimeout, PollInterval: cfg.PollInterval, RequestTimeout: cfg.RequestTimeout,
		RetryBackoff: cfg.RetryBackoff, Logger: connectorLogger(),
	})
	wk.Start()
	return wk
}

// newSMS is the real send_sms action against the world's sandbox Twilio, with the connector's
// default delivery settings.
func (w *world) newSMS(st store.Store, o sendOptions) (*actions.SMS, error) {
	cfg := config.Default()
	if o.twilioConcurrency > 0 {
		cfg.TwilioConcurrency = o.twilioConcurrency
	}
	tw, err := twilio.New(twilio.Options{
		AccountSID: w.twilio.AccountSID, AuthToken: w.twilio.AuthToken, BaseURL: w.twURL, Timeout: cfg.TwilioTimeout,
		MaxConcurrent: cfg.TwilioConcurrency,
	})
	if err != nil {
		return nil, err
	}
	d := &actions.Delivery{Kind: "sms", Store: st, Attempts: cfg.SendAttempts, Parallelism: cfg.SendParallelism, Logger: connectorLogger()}
	conns := providers.Connections{providers.DefaultConnection: {Name: providers.DefaultConnection, Provider: tw, DefaultFrom: "+15005550006"}}
	return actions.NewSMS(conns, d, actions.SMSOptions{}), nil
}

// sendAction is the real send_sms action on a fresh store of kind o.store; closeStore removes
// the store.
func (w *world) sendAction(o sendOptions) (sms *actions.SMS, closeStore func(), err error) {
	st, err := openStoreCloser(o.store)
	if err != nil {
		return nil, nil, err
	}
	if sms, err = w.newSMS(st, o); err != nil {
		st.close()
		return nil, nil, err
	}
	return sms, st.close, nil
}

// runSend measures send_sms jobs through the worker and the real action.
func (w *world) runSend(o sendOptions) (result, error) {
	sms, closeStore, err := w.sendAction(o)
	if err != nil {
		return result{}, err
	}
	defer closeStore()
	wk := w.startWorker(sendPrefix, sms, o)
	defer stopWorker(wk)
	return w.drive(fmt.Sprintf("send_sms, %d recipient(s)", o.recipients), "loadSend", o)
}

// runSendBacklog is runSend with a backlog (see drain).
func (w *world) runSendBacklog(name string, o sendOptions) (result, error) {
	sms, closeStore, err := w.sendAction(o)
	if err != nil {
		return result{}, err
	}
	defer closeStore()
	return w.drain(name, "loadSend", o, func() *worker.Worker { return w.startWorker(sendPrefix, sms, o) })
}

// runNoopBacklog is runNoop with a backlog.
func (w *world) runNoopBacklog(o sendOptions) (result, error) {
	return w.drain("no-op handler (baseline)", "loadNoop", o, func() *worker.Worker { return w.startWorker(noopPrefix, noopAction{}, o) })
}

// runNoop measures the same job flow with a no-op handler.
func (w *world) runNoop(o sendOptions) (result, error) {
	wk := w.startWorker(noopPrefix, noopAction{}, o)
	defer stopWorker(wk)
	return w.drive("no-op handler (baseline)", "loadNoop", o)
}

func stopWorker(wk *worker.Worker) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	wk.Stop(ctx)
}

// drive runs o.warmup and then o.jobs instances of process from o.creators goroutines, each
// creating an instance and waiting for its end (CreateProcessInstanceWithResult): the latency
// of a job is from its creation to its instance's completion.
func (w *world) drive(name, process string, o sendOptions) (result, error) {
	if _, err := w.createInstances(process, o.warmup, o, nil); err != nil {
		return result{}, fmt.Errorf("%s warm-up: %w", name, err)
	}
	lat := &latencies{}
	start := time.Now()
	errors, err := w.createInstances(process, o.jobs, o, lat)
	return result{name: name, count: o.jobs - errors, errors: errors, elapsed: time.Since(start), lat: lat}, err
}

// createInstances runs n instances to their end; it returns how many failed.
func (w *world) createInstances(process string, n int, o sendOptions, lat *latencies) (int, error) {
	return parallel(n, o.creators, lat, func(i int) error { return w.runInstance(process, i+1, o.recipients) })
}

// runInstance creates one instance and waits for its end.
func (w *world) runInstance(process string, i, recipients int) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd, err := w.createCommand(process, i, recipients)
	if err != nil {
		return err
	}
	res, err := cmd.WithResult().Send(ctx)
	if err != nil {
		return err
	}
	if process == "loadSend" && !contains(res.GetVariables(), `"twilioError":null`) {
		return fmt.Errorf("instance %d: send failed: %.300s", res.GetProcessInstanceKey(), res.GetVariables())
	}
	return nil
}

// createInstance creates one instance without waiting for it.
func (w *world) createInstance(process string, i, recipients int) error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd, err := w.createCommand(process, i, recipients)
	if err != nil {
		return err
	}
	_, err = cmd.Send(ctx)
	return err
}

// createCommand is the create-instance command of load instance i: a send to recipients
// numbers, with a typical template.
func (w *world) createCommand(process string, i, recipients int) (commands.CreateInstanceCommandStep3, error) {
	to := make([]string, recipients)
	for r := range to {
		to[r] = fmt.Sprintf("+1415555%04d", (i*recipients+r)%10_000)
	}
	return w.client.NewCreateInstanceCommand().BPMNProcessId(process).LatestVersion().VariablesFromMap(map[string]any{
		"smsTo": to, "smsBody": "Hi ${name}, your order ${orderId} is ready for pickup at ${store}.",
		"name": "Ana", "orderId": fmt.Sprintf("A-%d", i), "store": "Main Street",
	})
}

// drain measures the worker with a backlog: n instances are created while no worker serves
// their job type, then the worker starts and the time runs until all n jobs are completed.
// Unlike drive, whose creators wait for their instances, nothing outside the worker bounds the
// rate, so this is the worker's own throughput.
func (w *world) drain(name, process string, o sendOptions, start func() *worker.Worker) (result, error) {
	if _, err := parallel(o.jobs, o.creators, nil, func(i int) error { return w.createInstance(process, i+1, o.recipients) }); err != nil {
		return result{}, fmt.Errorf("%s: creating the backlog: %w", name, err)
	}
	before := w.eng.JobStats().Completed
	t0 := time.Now()
	wk := start()
	defer stopWorker(wk)
	deadline := t0.Add(5 * time.Minute)
	for w.eng.JobStats().Completed-before < o.jobs {
		if time.Now().After(deadline) {
			return result{}, fmt.Errorf("%s: %d of %d jobs completed in 5 minutes", name, w.eng.JobStats().Completed-before, o.jobs)
		}
		time.Sleep(2 * time.Millisecond)
	}
	return result{name: name, count: o.jobs, elapsed: time.Since(t0), lat: &latencies{}}, nil
}
