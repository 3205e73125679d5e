package main

import (
	"context"
	"time"

	"github.com/camunda/zeebe/clients/go/v8/pkg/entities"
	zworker "github.com/camunda/zeebe/clients/go/v8/pkg/worker"
)

// runEngine measures the dev engine alone: instances of start -> service task -> end, with a
// plain Zeebe client job worker completing each job at once.
func (w *world) runEngine(o sendOptions) (result, error) {
	jw := w.client.NewJobWorker().JobType(engineJobTyp).Handler(func(jc zworker.JobClient, job entities.Job) {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		jc.NewCompleteJobCommand().JobKey(job.Key).Send(ctx)
	}).Name("load-engine").MaxJobsActive(256).Concurrency(32).Timeout(time.Minute).RequestTimeout(time.Second).Open()
	defer jw.Close()
	return w.drive("dev engine: start -> service task -> end", "loadEngine", o)
}
