// Package engine is an in-memory BPMN engine that serves the Zeebe gateway gRPC API (Zeebe 8.3),
// so the real Zeebe Go client, the connector's worker and zbctl run against it unchanged. It is
// for local runs (`twilio-connector dev`) and tests; nothing is persisted, there is one broker
// and one partition, and production uses Zeebe.
//
// Use:
//
//	e := engine.New(engine.Options{Logger: logger})
//	srv, err := e.Serve(ctx, "127.0.0.1:0") // srv.Addr() for the client; srv.Close() to stop
//	_, _, err = e.Deploy(engine.Resource{Name: "order.bpmn", Content: data})
//
// and, for assertions, Instance, Instances, WaitInstance, Incidents, Jobs, JobStats,
// PublishedMessages and Definitions (inspect.go). Everything else goes through the gateway API.
//
// # Supported BPMN
//
// None and message start events; none end events; service and send tasks (static
// zeebe:taskDefinition type, numeric retries, headers); receive tasks and message intermediate
// catch events (zeebe:subscription correlationKey); exclusive gateways (conditions, default
// flow); interrupting error boundary events on tasks (by error code or catch-all); several
// outgoing flows from a task or event run in parallel. zeebe:ioMapping inputs and outputs on
// any of these, with the FEEL subset of package feel. Anything else (user tasks, parallel gateways,
// sub-processes, timers, dynamic task types or message names, unsupported FEEL) is rejected at
// deployment with INVALID_ARGUMENT naming the file and element. Processes with
// isExecutable="false" are skipped, as in Zeebe.
//
// # Gateway behaviour
//
// Errors use Zeebe's gRPC codes: INVALID_ARGUMENT for malformed requests (blank job type or
// worker, timeout or maxJobsToActivate below 1, variables that are not a JSON object, retries
// below 1 in UpdateJobRetries, invalid resources), NOT_FOUND for unknown keys (jobs are deleted
// when completed or cancelled), FAILED_PRECONDITION for CompleteJob, FailJob and ThrowError on a
// job that is neither activatable nor activated (failed with an incident or waiting for its retry
// backoff, or after an unhandled ThrowError), for ResolveIncident of a job incident whose job
// has no retries left, and for CreateProcessInstance of a process without none start event;
// ALREADY_EXISTS for a message id still buffered; DEADLINE_EXCEEDED when
// CreateProcessInstanceWithResult times out. As in Zeebe, any client may complete an
// activatable or activated job, so a worker whose job timed out can still complete it.
//
// EvaluateDecision, ModifyProcessInstance, DeleteResource and BroadcastSignal answer
// UNIMPLEMENTED.
//
// Differences from Zeebe a test author might trip over: a command and everything it sets off
// (the next elements, until the instance waits again) is applied before the response is sent
// (Zeebe continues asynchronously), so state can be asserted right after a call, and a test
// can see an instance complete while the worker that completed its job still waits for the
// response; job
// deadlines, retry backoffs and message TTLs are exact (Zeebe checks them periodically); an
// instance cancelled while CreateProcessInstanceWithResult waits answers FAILED_PRECONDITION; a
// message with an empty name is rejected with INVALID_ARGUMENT rather than buffered.
package engine
