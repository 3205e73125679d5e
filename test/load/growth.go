package main

import (
	"fmt"
	"io"
)

// growthPart is figure (e): how the send cost grows with recipients per job, and the inbound
// cost with triggers configured and message size. Runs are smaller than the main ones.
func growthPart(out io.Writer, o options) error {
	w, err := newWorld(o.twilioLatency)
	if err != nil {
		return err
	}
	defer w.close()
	t := &table{title: fmt.Sprintf("Send cost vs recipients per job (Twilio latency %s, %s store)", o.twilioLatency, o.send.store)}
	t.add("recipients", "jobs", "jobs/s", "SMS/s", "p50", "p99")
	for _, r := range []int{1, 10, 50} {
		s := o.send
		s.recipients, s.warmup = r, min(s.warmup, 50)
		s.jobs = max(min(o.growthMessages/r, o.growthMessages/5), 1)
		res, err := w.runSend(s)
		if err != nil {
			return err
		}
		t.add(fmt.Sprint(r), fmt.Sprint(s.jobs), perSec(res.rate()), perSec(res.rate()*float64(r)), ms(res.lat.percentile(50)), ms(res.lat.percentile(99)))
	}
	t.print(out)

	t = &table{title: fmt.Sprintf("Inbound cost vs triggers and message size (%d requests each, %d clients)", o.growthRequests, o.inbound.concurrency)}
	t.add("triggers", "SMS chars", "req/s", "p50", "p99")
	for _, c := range []struct{ triggers, chars int }{{1, 20}, {20, 20}, {100, 20}, {20, 160}, {20, 1600}} {
		in := o.inbound
		in.requests, in.triggers, in.bodyChars = o.growthRequests, c.triggers, c.chars
		res, err := w.runInbound(in)
		if err != nil {
			return err
		}
		t.add(fmt.Sprint(c.triggers), fmt.Sprint(c.chars), perSec(res.rate()), ms(res.lat.percentile(50)), ms(res.lat.percentile(99)))
	}
	t.print(out)
	return nil
}
