package engine

import (
	"context"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/camunda/zeebe/clients/go/v8/pkg/entities"
	"github.com/camunda/zeebe/clients/go/v8/pkg/pb"
	"github.com/camunda/zeebe/clients/go/v8/pkg/worker"
	"github.com/twilio-connector/twilio-connector/test/wait"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
)

// activateOne activates jobs of type with the given job timeout; ctx's deadline sets the long
// polling time as the client does (none: no long polling).
func (te *testEngine) activate(t *testing.T, ctx context.Context, jobType string, timeout time.Duration) []entities.Job {
	t.Helper()
	jobs, err := te.client.NewActivateJobsCommand().JobType(jobType).MaxJobsToActivate(10).
		Timeout(timeout).WorkerName("test-worker").Send(ctx)
	if err != nil {
		t.Fatalf("activate %s: %v", jobType, err)
	}
	return jobs
}

func (te *testEngine) activateJob(t *testing.T, jobType string) entities.Job {
	t.Helper()
	jobs := te.activate(t, ctxFor(t, 5*time.Second), jobType, time.Minute)
	if len(jobs) != 1 {
		t.Fatalf("activated %d jobs of %s, want 1", len(jobs), jobType)
	}
	return jobs[0]
}

func TestCreateInstanceWithResultAndJobWorker(t *testing.T) {
	te := startEngine(t)
	te.deploy(t, "one_task.bpmn")

	seen := make(chan entities.Job, 1)
	te.openWorker(t, "test.work", func(c worker.JobClient, job entities.Job) {
		seen <- job
		vars, _ := job.GetVariablesAsMap()
		cmd, _ := c.NewCompleteJobCommand().JobKey(job.Key).VariablesFromMap(map[string]any{"result": vars["doubled"].(float64) + 1})
		if _, err := cmd.Send(context.Background()); err != nil {
			t.Errorf("complete: %v", err)
		}
	})

	cmd, err := te.client.NewCreateInstanceCommand().BPMNProcessId("one-task").LatestVersion().
		VariablesFromMap(map[string]any{"amount": 21, "other": "x"})
	if err != nil {
		t.Fatal(err)
	}
	resp, err := cmd.WithResult().FetchVariables("result", "amount").Send(ctxFor(t, 10*time.Second))
	if err != nil {
		t.Fatalf("create with result: %v", err)
	}
	if got, want := decode(t, resp.Variables), map[string]any{"result": 43.0, "amount": 21.0}; !reflect.DeepEqual(got, want) {
		t.Errorf("result variables = %v, want %v", got, want)
	}
	if resp.BpmnProcessId != "one-task" || resp.Version != 1 || resp.ProcessInstanceKey == 0 {
		t.Errorf("unexpected response %+v", resp)
	}

	job := <-seen
	if got, want := decode(t, job.Variables), map[string]any{"amount": 21.0, "other": "x", "doubled": 42.0, "label": "static text"}; !reflect.DeepEqual(got, want) {
		t.Errorf("job variables = %v, want %v", got, want)
	}
	if got, want := decode(t, job.CustomHeaders), map[string]any{"errorMode": "bpmnError"}; !reflect.DeepEqual(got, want) {
		t.Errorf("job headers = %v, want %v", got, want)
	}
	if job.Worker != "test-worker" || job.Retries != 3 || job.ElementId != "work" || job.Type != "test.work" {
		t.Errorf("unexpected job %+v", job.ActivatedJob)
	}

	info, _ := te.Instance(resp.ProcessInstanceKey)
	if want := []string{"start", "work", "end"}; !reflect.DeepEqual(info.CompletedElements, want) {
		t.Errorf("completed elements = %v, want %v", info.CompletedElements, want)
	}
	// Input mapping targets are local to the task and do not reach the process scope.
	if _, ok := info.Variables["doubled"]; ok {
		t.Errorf("input mapping target leaked into process variables: %v", info.Variables)
	}
}

func TestCreateInstanceWithResultTimesOut(t *testing.T) {
	te := startEngine(t)
	te.deploy(t, "one_task.bpmn")
	cmd, _ := te.client.NewCreateInstanceCommand().BPMNProcessId("one-task").LatestVersion().VariablesFromMap(map[string]any{"amount": 1})
	start := time.Now()
	_, err := cmd.WithResult().Send(ctxFor(t, time.Second))
	wantCode(t, err, codes.DeadlineExceeded)
	if elapsed := time.Since(start); elapsed < 800*time.Millisecond {
		t.Errorf("returned after %s, before the request timeout", elapsed)
	}
}

func TestJobWorkerCompletesManyJobs(t *testing.T) {
	te := startEngine(t)
	te.deploy(t, "one_task.bpmn")
	var mu sync.Mutex
	handled := map[int64]bool{}
	te.openWorker(t, "test.work", func(c worker.JobClient, job entities.Job) {
		mu.Lock()
		handled[job.Key] = true
		mu.Unlock()
		if _, err := c.NewCompleteJobCommand().JobKey(job.Key).Send(context.Background()); err != nil {
			t.Errorf("complete: %v", err)
		}
	})

	var keys []int64
	for i := range 10 {
		keys = append(keys, te.create(t, "one-task", map[string]any{"amount": i}))
	}
	for _, k := range keys {
		te.waitState(t, k, StateCompleted)
	}
	if got := te.JobStats(); got.Created != 10 || got.Completed != 10 || got.Failed != 0 {
		t.Errorf("job stats = %+v", got)
	}
	mu.Lock()
	defer mu.Unlock()
	if len(handled) != 10 {
		t.Errorf("worker handled %d distinct jobs, want 10", len(handled))
	}
}

func TestActivateJobsLongPolling(t *testing.T) {
	te := startEngine(t)
	te.deploy(t, "one_task.bpmn")

	type result struct {
		jobs    []entities.Job
		elapsed time.Duration
	}
	done := make(chan result, 1)
	go func() {
		start := time.Now()
		jobs, err := te.client.NewActivateJobsCommand().JobType("test.work").MaxJobsToActivate(5).Send(ctxFor(t, 8*time.Second))
		if err != nil {
			t.Errorf("activate: %v", err)
		}
		done <- result{jobs, time.Since(start)}
	}()
	wait.Until(t, 5*time.Second, "the activate call to long poll", func() bool {
		te.mu.Lock()
		defer te.mu.Unlock()
		return te.waitingPolls == 1
	})
	key := te.create(t, "one-task", map[string]any{"amount": 1})

	r := <-done
	if len(r.jobs) != 1 || r.jobs[0].ProcessInstanceKey != key {
		t.Fatalf("long poll returned %d jobs, want the job of instance %d", len(r.jobs), key)
	}
	if r.elapsed > 5*time.Second {
		t.Errorf("long poll returned after %s, not when the job was created", r.elapsed)
	}
}

func TestActivateJobsRequestTimeouts(t *testing.T) {
	te := startEngine(t)
	te.deploy(t, "one_task.bpmn")
	tests := []struct {
		name     string
		ctx      context.Context
		min, max time.Duration
	}{
		// Without a context deadline the client sends requestTimeout -1: no long polling.
		{"no long polling", context.Background(), 0, 500 * time.Millisecond},
		// With a 1 s deadline it asks for 900 ms of long polling.
		{"long polling expires", ctxFor(t, time.Second), 800 * time.Millisecond, 2 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			start := time.Now()
			jobs := te.activate(t, tt.ctx, "test.work", time.Minute)
			elapsed := time.Since(start)
			if len(jobs) != 0 {
				t.Errorf("got %d jobs, want none", len(jobs))
			}
			if elapsed < tt.min || elapsed > tt.max {
				t.Errorf("returned after %s, want between %s and %s", elapsed, tt.min, tt.max)
			}
		})
	}
}

func TestJobTimeoutMakesJobActivatableAgain(t *testing.T) {
	te := startEngine(t)
	te.deploy(t, "one_task.bpmn")
	key := te.create(t, "one-task", map[string]any{"amount": 1})

	start := time.Now()
	first := te.activate(t, ctxFor(t, 5*time.Second), "test.work", 400*time.Millisecond)
	if len(first) != 1 || first[0].ProcessInstanceKey != key {
		t.Fatalf("first activation: %d jobs", len(first))
	}
	if deadline := time.UnixMilli(first[0].Deadline); deadline.Before(start.Add(300*time.Millisecond)) || deadline.After(time.Now().Add(500*time.Millisecond)) {
		t.Errorf("deadline %v is not about 400ms from activation", deadline)
	}
	if again := te.activate(t, context.Background(), "test.work", time.Minute); len(again) != 0 {
		t.Fatalf("job activated again before its deadline")
	}
	second := te.activate(t, ctxFor(t, 5*time.Second), "test.work", time.Minute)
	if len(second) != 1 || second[0].Key != first[0].Key {
		t.Fatalf("second activation returned %d jobs, want job %d again", len(second), first[0].Key)
	}
	if elapsed := time.Since(start); elapsed < 400*time.Millisecond {
		t.Errorf("re-activated after %s, before the 400ms job timeout", elapsed)
	}
	if got := te.JobStats(); got.TimedOut != 1 || got.Activated != 2 {
		t.Errorf("job stats = %+v", got)
	}
	if _, err := te.client.NewCompleteJobCommand().JobKey(second[0].Key).Send(ctxFor(t, 5*time.Second)); err != nil {
		t.Fatal(err)
	}
	te.waitState(t, key, StateCompleted)
}

func TestFailJobWithBackoff(t *testing.T) {
	te := startEngine(t)
	te.deploy(t, "one_task.bpmn")
	te.create(t, "one-task", map[string]any{"amount": 1})
	job := te.activateJob(t, "test.work")

	const backoff = 700 * time.Millisecond
	failedAt := time.Now()
	_, err := te.client.NewFailJobCommand().JobKey(job.Key).Retries(2).RetryBackoff(backoff).ErrorMessage("twilio unavailable").Send(ctxFor(t, 5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if again := te.activate(t, context.Background(), "test.work", time.Minute); len(again) != 0 {
		t.Fatalf("failed job activatable before its backoff")
	}
	if jobs := te.Jobs(); len(jobs) != 1 || jobs[0].State != JobFailed || jobs[0].Retries != 2 || jobs[0].ErrorMessage != "twilio unavailable" {
		t.Fatalf("jobs = %+v", jobs)
	}
	retried := te.activate(t, ctxFor(t, 5*time.Second), "test.work", time.Minute)
	if len(retried) != 1 || retried[0].Key != job.Key || retried[0].Retries != 2 {
		t.Fatalf("retry activation = %+v", retried)
	}
	if elapsed := time.Since(failedAt); elapsed < backoff {
		t.Errorf("re-activated %s after failing, before the %s backoff", elapsed, backoff)
	}
	if got := te.JobStats(); got.Failed != 1 {
		t.Errorf("job stats = %+v", got)
	}
}

func TestFailJobWithoutRetriesRaisesIncident(t *testing.T) {
	te := startEngine(t)
	te.deploy(t, "one_task.bpmn")
	key := te.create(t, "one-task", map[string]any{"amount": 1})
	job := te.activateJob(t, "test.work")
	ctx := ctxFor(t, 10*time.Second)

	if _, err := te.client.NewFailJobCommand().JobKey(job.Key).Retries(0).ErrorMessage("gave up").Send(ctx); err != nil {
		t.Fatal(err)
	}
	incidents := te.Incidents()
	if len(incidents) != 1 {
		t.Fatalf("incidents = %+v, want one", incidents)
	}
	inc := incidents[0]
	if inc.Type != IncidentJobNoRetries || inc.Message != "gave up" || inc.JobKey != job.Key || inc.ProcessInstanceKey != key || inc.ElementID != "work" {
		t.Errorf("incident = %+v", inc)
	}

	_, err := te.client.NewCompleteJobCommand().JobKey(job.Key).Send(ctx)
	wantCode(t, err, codes.FailedPrecondition)
	_, err = te.client.NewFailJobCommand().JobKey(job.Key).Retries(1).Send(ctx)
	wantCode(t, err, codes.FailedPrecondition)
	_, err = te.client.NewResolveIncidentCommand().IncidentKey(inc.Key).Send(ctx)
	wantCode(t, err, codes.FailedPrecondition) // no retries left yet
	_, err = te.client.NewUpdateJobRetriesCommand().JobKey(job.Key).Retries(0).Send(ctx)
	wantCode(t, err, codes.InvalidArgument)

	if _, err := te.client.NewUpdateJobRetriesCommand().JobKey(job.Key).Retries(1).Send(ctx); err != nil {
		t.Fatal(err)
	}
	if again := te.activate(t, context.Background(), "test.work", time.Minute); len(again) != 0 {
		t.Fatalf("job activatable while its incident is open")
	}
	if _, err := te.client.NewResolveIncidentCommand().IncidentKey(inc.Key).Send(ctx); err != nil {
		t.Fatal(err)
	}
	if n := len(te.Incidents()); n != 0 {
		t.Errorf("%d incidents open after resolving", n)
	}
	retried := te.activateJob(t, "test.work")
	if retried.Key != job.Key || retried.Retries != 1 {
		t.Errorf("re-activated job = %+v", retried.ActivatedJob)
	}
	if _, err := te.client.NewCompleteJobCommand().JobKey(job.Key).Send(ctx); err != nil {
		t.Fatal(err)
	}
	te.waitState(t, key, StateCompleted)
}

func TestThrowError(t *testing.T) {
	tests := []struct {
		name          string
		code          string
		wantState     string
		wantCompleted []string
		wantIncident  bool
	}{
		{"caught by boundary event", "SMS_FAILED", StateCompleted, []string{"start", "caught", "failed"}, false},
		{"no catching event raises incident", "OTHER_CODE", StateActive, []string{"start"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			te := startEngine(t)
			te.deploy(t, "error_boundary.bpmn")
			key := te.create(t, "risky", nil)
			job := te.activateJob(t, "test.risky")
			ctx := ctxFor(t, 5*time.Second)
			cmd, err := te.client.NewThrowErrorCommand().JobKey(job.Key).ErrorCode(tt.code).ErrorMessage("recipient opted out").
				VariablesFromMap(map[string]any{"twilioError": "opted out"})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := cmd.Send(ctx); err != nil {
				t.Fatal(err)
			}
			info := te.waitState(t, key, tt.wantState)
			if !reflect.DeepEqual(info.CompletedElements, tt.wantCompleted) {
				t.Errorf("completed elements = %v, want %v", info.CompletedElements, tt.wantCompleted)
			}
			incidents := te.Incidents()
			if !tt.wantIncident {
				if len(incidents) != 0 {
					t.Errorf("incidents = %+v", incidents)
				}
				if info.Variables["twilioError"] != "opted out" {
					t.Errorf("error variables not propagated: %v", info.Variables)
				}
				_, err := te.client.NewCompleteJobCommand().JobKey(job.Key).Send(ctx)
				wantCode(t, err, codes.NotFound)
				return
			}
			if len(incidents) != 1 || incidents[0].Type != IncidentUnhandledError || incidents[0].JobKey != job.Key {
				t.Fatalf("incidents = %+v", incidents)
			}
			_, err = te.client.NewCompleteJobCommand().JobKey(job.Key).Send(ctx)
			wantCode(t, err, codes.FailedPrecondition)
			// Resolving makes the job activatable again.
			if _, err := te.client.NewResolveIncidentCommand().IncidentKey(incidents[0].Key).Send(ctx); err != nil {
				t.Fatal(err)
			}
			if again := te.activateJob(t, "test.risky"); again.Key != job.Key {
				t.Errorf("re-activated job %d, want %d", again.Key, job.Key)
			}
		})
	}
}

func TestJobCommandsOnUnknownOrFinishedJobs(t *testing.T) {
	te := startEngine(t)
	te.deploy(t, "one_task.bpmn")
	te.create(t, "one-task", map[string]any{"amount": 1})
	completed := te.activateJob(t, "test.work")
	ctx := ctxFor(t, 5*time.Second)
	if _, err := te.client.NewCompleteJobCommand().JobKey(completed.Key).Send(ctx); err != nil {
		t.Fatal(err)
	}
	for _, key := range []int64{completed.Key, 2251799813999999} {
		commands := map[string]func() error{
			"complete": func() error { _, err := te.client.NewCompleteJobCommand().JobKey(key).Send(ctx); return err },
			"fail":     func() error { _, err := te.client.NewFailJobCommand().JobKey(key).Retries(1).Send(ctx); return err },
			"throw": func() error {
				_, err := te.client.NewThrowErrorCommand().JobKey(key).ErrorCode("X").Send(ctx)
				return err
			},
			"update retries": func() error {
				_, err := te.client.NewUpdateJobRetriesCommand().JobKey(key).Retries(3).Send(ctx)
				return err
			},
		}
		for name, run := range commands {
			t.Run(name, func(t *testing.T) { wantCode(t, run(), codes.NotFound) })
		}
	}
}

// TestInvalidRequests uses the raw gateway client, since the Zeebe client validates some
// arguments itself before sending.
func TestInvalidRequests(t *testing.T) {
	te := startEngine(t)
	te.deploy(t, "one_task.bpmn", "message_start.bpmn")
	conn, err := grpc.Dial(te.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	gw := pb.NewGatewayClient(conn)
	ctx := ctxFor(t, 10*time.Second)

	activate := func(req *pb.ActivateJobsRequest) error {
		stream, err := gw.ActivateJobs(ctx, req)
		if err != nil {
			return err
		}
		_, err = stream.Recv()
		return err
	}
	tests := []struct {
		name string
		call func() error
		want codes.Code
	}{
		{"activate blank type", func() error {
			return activate(&pb.ActivateJobsRequest{Worker: "w", Timeout: 1000, MaxJobsToActivate: 1})
		}, codes.InvalidArgument},
		{"activate blank worker", func() error {
			return activate(&pb.ActivateJobsRequest{Type: "t", Timeout: 1000, MaxJobsToActivate: 1})
		}, codes.InvalidArgument},
		{"activate zero max jobs", func() error {
			return activate(&pb.ActivateJobsRequest{Type: "t", Worker: "w", Timeout: 1000})
		}, codes.InvalidArgument},
		{"activate zero timeout", func() error {
			return activate(&pb.ActivateJobsRequest{Type: "t", Worker: "w", MaxJobsToActivate: 1})
		}, codes.InvalidArgument},
		{"create with array variables", func() error {
			_, err := gw.CreateProcessInstance(ctx, &pb.CreateProcessInstanceRequest{BpmnProcessId: "one-task", Version: -1, Variables: "[1]"})
			return err
		}, codes.InvalidArgument},
		{"create with broken JSON", func() error {
			_, err := gw.CreateProcessInstance(ctx, &pb.CreateProcessInstanceRequest{BpmnProcessId: "one-task", Version: -1, Variables: "{"})
			return err
		}, codes.InvalidArgument},
		{"create unknown process id", func() error {
			_, err := gw.CreateProcessInstance(ctx, &pb.CreateProcessInstanceRequest{BpmnProcessId: "nope", Version: -1})
			return err
		}, codes.NotFound},
		{"create unknown version", func() error {
			_, err := gw.CreateProcessInstance(ctx, &pb.CreateProcessInstanceRequest{BpmnProcessId: "one-task", Version: 7})
			return err
		}, codes.NotFound},
		{"create without none start event", func() error {
			_, err := gw.CreateProcessInstance(ctx, &pb.CreateProcessInstanceRequest{BpmnProcessId: "sms-order", Version: -1})
			return err
		}, codes.FailedPrecondition},
		{"create with start instructions", func() error {
			_, err := gw.CreateProcessInstance(ctx, &pb.CreateProcessInstanceRequest{BpmnProcessId: "one-task", Version: -1,
				StartInstructions: []*pb.ProcessInstanceCreationStartInstruction{{ElementId: "work"}}})
			return err
		}, codes.InvalidArgument},
		{"publish with broken JSON", func() error {
			_, err := gw.PublishMessage(ctx, &pb.PublishMessageRequest{Name: "m", Variables: "[]"})
			return err
		}, codes.InvalidArgument},
		{"create unknown definition key", func() error {
			_, err := gw.CreateProcessInstance(ctx, &pb.CreateProcessInstanceRequest{ProcessDefinitionKey: 42})
			return err
		}, codes.NotFound},
		{"complete with broken JSON", func() error {
			_, err := gw.CompleteJob(ctx, &pb.CompleteJobRequest{JobKey: 1, Variables: "not json"})
			return err
		}, codes.InvalidArgument},
		{"deploy nothing", func() error {
			_, err := gw.DeployResource(ctx, &pb.DeployResourceRequest{})
			return err
		}, codes.InvalidArgument},
		{"cancel unknown instance", func() error {
			_, err := gw.CancelProcessInstance(ctx, &pb.CancelProcessInstanceRequest{ProcessInstanceKey: 42})
			return err
		}, codes.NotFound},
		{"resolve unknown incident", func() error {
			_, err := gw.ResolveIncident(ctx, &pb.ResolveIncidentRequest{IncidentKey: 42})
			return err
		}, codes.NotFound},
		{"set variables on unknown element", func() error {
			_, err := gw.SetVariables(ctx, &pb.SetVariablesRequest{ElementInstanceKey: 42, Variables: "{}"})
			return err
		}, codes.NotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { wantCode(t, tt.call(), tt.want) })
	}
}

func TestTopology(t *testing.T) {
	te := startEngine(t)
	topo, err := te.client.NewTopologyCommand().Send(ctxFor(t, 5*time.Second))
	if err != nil {
		t.Fatal(err)
	}
	if topo.ClusterSize != 1 || topo.PartitionsCount != 1 || len(topo.Brokers) != 1 || topo.GatewayVersion != GatewayVersion {
		t.Fatalf("topology = %+v", topo)
	}
	p := topo.Brokers[0].Partitions
	if len(p) != 1 || p[0].Role != pb.Partition_LEADER || p[0].Health != pb.Partition_HEALTHY {
		t.Errorf("partitions = %+v", p)
	}
}

func TestActivateJobsFetchVariables(t *testing.T) {
	te := startEngine(t)
	te.deploy(t, "one_task.bpmn")
	te.create(t, "one-task", map[string]any{"amount": 3, "secretish": "not needed"})
	jobs, err := te.client.NewActivateJobsCommand().JobType("test.work").MaxJobsToActivate(1).
		FetchVariables("amount", "doubled", "absent").Send(ctxFor(t, 5*time.Second))
	if err != nil || len(jobs) != 1 {
		t.Fatalf("activate: %d jobs, %v", len(jobs), err)
	}
	if got, want := decode(t, jobs[0].Variables), map[string]any{"amount": 3.0, "doubled": 6.0}; !reflect.DeepEqual(got, want) {
		t.Errorf("variables = %v, want %v", got, want)
	}
}
