// Command load measures the connector on this machine, in one process on 127.0.0.1: send_sms
// job throughput against a sandbox Twilio (and a no-op baseline), inbound SMS webhook
// throughput (and a bare net/http baseline), dev engine throughput, the connector binary's
// memory, how costs grow, and template rendering against the real Freemarker. It prints
// tables; docs/performance.md has the figures of a reference run.
//
//	go run ./test/load            # everything, about 3 minutes
//	go run ./test/load -h         # flags
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
	"time"
)

func main() {
	o := sendOptions{}
	flag.IntVar(&o.jobs, "jobs", 5000, "send_sms jobs measured per run")
	flag.IntVar(&o.warmup, "warmup", 200, "jobs run before each measurement and not counted")
	flag.IntVar(&o.creators, "creators", 256, "goroutines creating instances (each waits for its instance to end)")
	flag.StringVar(&o.store, "store", "bolt", "state store of the connector: bolt or memory")
	flag.IntVar(&o.maxJobsActive, "max-jobs-active", 0, "worker MaxJobsActive (0: the connector's default)")
	flag.IntVar(&o.concurrency, "concurrency", 0, "worker Concurrency (0: the connector's default)")
	latency := flag.Duration("twilio-latency", 50*time.Millisecond, "sandbox Twilio answer latency")
	flag.Parse()
	o.recipients = 1

	w, err := newWorld(*latency)
	if err != nil {
		fail(err)
	}
	defer w.close()
	t := &table{title: fmt.Sprintf("Send throughput (%d jobs, %d creators, Twilio latency %s, %s store)", o.jobs, o.creators, *latency, o.store)}
	t.add("run", "jobs/s", "p50", "p99", "errors")
	noop, err := w.runNoop(o)
	if err != nil {
		fail(err)
	}
	fmt.Fprintf(os.Stderr, "noop: %.0f/s p50 %s p99 %s\n", noop.rate(), ms(noop.lat.percentile(50)), ms(noop.lat.percentile(99)))
	send, err := w.runSend(o)
	if err != nil {
		fail(err)
	}
	for _, r := range []result{send, noop} {
		t.add(r.name, perSec(r.rate()), ms(r.lat.percentile(50)), ms(r.lat.percentile(99)), fmt.Sprint(r.errors))
	}
	t.add("ratio send / baseline", ratio(send.rate(), noop.rate()), "", "", "")
	t.print(os.Stdout)
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "load:", err)
	os.Exit(1)
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
