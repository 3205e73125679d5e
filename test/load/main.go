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
	"github.com/twilio-connector/twilio-connector/config"
	"io"
	"os"
	"os/exec"
	"runtime"
	"runtime/pprof"
	"strings"
	"time"
)

// options are the tool's flags.
type options struct {
	send          sendOptions
	inbound       inboundOptions
	twilioLatency time.Duration
	only          string // comma-separated parts to run; empty means all
	// growthMessages and growthRequests size the growth runs.
	growthMessages, growthRequests int
	repo, freemarkerJar            string
}

func main() {
	var o options
	flag.IntVar(&o.send.jobs, "jobs", 5000, "send_sms jobs measured per run")
	flag.IntVar(&o.send.warmup, "warmup", 200, "jobs run before each measurement and not counted")
	flag.IntVar(&o.send.creators, "creators", 256, "goroutines creating instances (each waits for its instance to end)")
	flag.IntVar(&o.send.maxJobsActive, "max-jobs-active", 0, "worker MaxJobsActive (0: the connector's default)")
	flag.IntVar(&o.send.concurrency, "concurrency", 0, "worker Concurrency (0: the connector's default)")
	flag.StringVar(&o.send.store, "store", "bolt", "state store of the connector: bolt or memory")
	flag.DurationVar(&o.twilioLatency, "twilio-latency", 50*time.Millisecond, "sandbox Twilio answer latency")
	flag.IntVar(&o.inbound.requests, "requests", 20000, "inbound SMS requests measured per run")
	flag.IntVar(&o.inbound.concurrency, "clients", 32, "client goroutines posting inbound SMS, each with a keep-alive connection")
	flag.IntVar(&o.inbound.triggers, "triggers", 20, "SMS_RECEIVED triggers configured")
	flag.IntVar(&o.growthMessages, "growth-sms", 5000, "SMS per run of the recipients growth table (at most a fifth as many jobs)")
	flag.IntVar(&o.growthRequests, "growth-requests", 5000, "requests per run of the inbound growth table")
	flag.StringVar(&o.repo, "repo", ".", "the repository root (for templates/testdata/corpus.json)")
	flag.StringVar(&o.freemarkerJar, "freemarker-jar", "/usr/share/java/freemarker.jar", "Freemarker for the template comparison")
	flag.StringVar(&o.only, "only", "", "run only these parts, comma-separated: send,inbound,engine,rss,growth,templates,bench")
	cpuProfile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	flag.Parse()
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "load:", err)
			os.Exit(1)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	o.send.recipients = 1
	o.inbound.warmup = 500
	o.inbound.bodyChars = 20
	o.inbound.store = o.send.store
	fmt.Printf("twilio-connector load: %s, %d CPUs, %s; everything below runs in this one process on 127.0.0.1 except the connector binary of the RSS table\n",
		runtime.Version(), runtime.NumCPU(), cpuModel())
	if err := run(os.Stdout, o); err != nil {
		fmt.Fprintln(os.Stderr, "load:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

// run runs the selected parts and prints their tables to out.
func run(out io.Writer, o options) error {
	parts := []struct {
		name string
		run  func(io.Writer, options) error
	}{
		{"send", sendPart},
		{"inbound", inboundPart},
		{"engine", enginePart},
		{"rss", rssPart},
		{"growth", growthPart},
		{"templates", templatesPart},
		{"bench", benchPart},
	}
	for _, p := range parts {
		if o.only != "" && !strings.Contains(","+o.only+",", ","+p.name+",") {
			continue
		}
		if err := p.run(out, o); err != nil {
			return fmt.Errorf("%s: %w", p.name, err)
		}
	}
	return nil
}

// sendPart is figure (a): send_sms jobs against the no-op baseline.
func sendPart(out io.Writer, o options) error {
	w, err := newWorld(o.twilioLatency)
	if err != nil {
		return err
	}
	defer w.close()
	s := o.send
	t := &table{title: fmt.Sprintf("Send throughput: %d jobs, %d creators, Twilio latency %s, %s store", s.jobs, s.creators, o.twilioLatency, s.store)}
	t.add("run", "jobs/s", "p50", "p99", "errors")
	noop, err := w.runNoop(s)
	if err != nil {
		return err
	}
	send, err := w.runSend(s)
	if err != nil {
		return err
	}
	for _, r := range []result{send, noop} {
		t.add(r.name, perSec(r.rate()), ms(r.lat.percentile(50)), ms(r.lat.percentile(99)), fmt.Sprint(r.errors))
	}
	t.add("ratio send / baseline", ratio(send.rate(), noop.rate()), "", "", "")
	t.print(out)
	return backlogPart(out, o, w)
}

// backlogPart measures the worker draining a backlog, where only the worker bounds the rate:
// with the connector's defaults (at most TWILIO_CONCURRENCY requests at Twilio, Twilio's own
// per-account limit), and with the limits raised as an account with a higher Twilio
// concurrency would.
func backlogPart(out io.Writer, o options, w *world) error {
	s := o.send
	t := &table{title: fmt.Sprintf("Send throughput with a backlog: %d jobs created first, then drained by the worker; Twilio latency %s, %s store", s.jobs, o.twilioLatency, s.store)}
	t.add("run", "jobs/s", "ratio to baseline")
	noop, err := w.runNoopBacklog(s)
	if err != nil {
		return err
	}
	t.add(noop.name, perSec(noop.rate()), "1.00x")
	cfg := config.Default()
	raised := s
	raised.twilioConcurrency, raised.concurrency, raised.maxJobsActive = 4*cfg.TwilioConcurrency, 4*cfg.Concurrency, 4*cfg.MaxJobsActive
	for _, run := range []struct {
		name string
		o    sendOptions
	}{
		{fmt.Sprintf("send_sms, defaults (Twilio concurrency %d, worker %d)", cfg.TwilioConcurrency, cfg.Concurrency), s},
		{fmt.Sprintf("send_sms, raised (Twilio concurrency %d, worker %d)", raised.twilioConcurrency, raised.concurrency), raised},
	} {
		r, err := w.runSendBacklog(run.name, run.o)
		if err != nil {
			return err
		}
		t.add(r.name, perSec(r.rate()), ratio(r.rate(), noop.rate()))
	}
	t.print(out)
	return nil
}

// enginePart is figure (c): the dev engine's own throughput.
func enginePart(out io.Writer, o options) error {
	w, err := newWorld(o.twilioLatency)
	if err != nil {
		return err
	}
	defer w.close()
	r, err := w.runEngine(o.send)
	if err != nil {
		return err
	}
	t := &table{title: fmt.Sprintf("Dev engine: %d instances, %d creators, a Zeebe client job worker completing at once", o.send.jobs, o.send.creators)}
	t.add("run", "instances/s", "p50", "p99", "errors")
	t.add(r.name, perSec(r.rate()), ms(r.lat.percentile(50)), ms(r.lat.percentile(99)), fmt.Sprint(r.errors))
	t.print(out)
	return nil
}

// inboundPart is figure (b): the inbound webhook against a bare net/http handler.
func inboundPart(out io.Writer, o options) error {
	w, err := newWorld(o.twilioLatency)
	if err != nil {
		return err
	}
	defer w.close()
	in := o.inbound
	t := &table{title: fmt.Sprintf("Inbound SMS: %d signed requests, %d keep-alive clients, %d triggers, %s store", in.requests, in.concurrency, in.triggers, in.store)}
	t.add("run", "req/s", "p50", "p99", "errors")
	bare, err := w.runBare(in)
	if err != nil {
		return err
	}
	hook, err := w.runInbound(in)
	if err != nil {
		return err
	}
	for _, r := range []result{hook, bare} {
		t.add(r.name, perSec(r.rate()), ms(r.lat.percentile(50)), ms(r.lat.percentile(99)), fmt.Sprint(r.errors))
	}
	t.add("ratio webhook / baseline", ratio(hook.rate(), bare.rate()), "", "", "")
	t.print(out)
	return nil
}

// benchPart runs the hot-path Go benchmarks (template render, matching 20 patterns,
// signature verification, job decoding), so that this one command reproduces their figures too.
func benchPart(out io.Writer, o options) error {
	fmt.Fprintln(out, "\nHot-path benchmarks: go test -run XXX -bench . -benchmem ./templates/ ./triggers/ ./worker/")
	cmd := exec.Command("go", "test", "-run", "XXX", "-bench", ".", "-benchmem", "./templates/", "./triggers/", "./worker/")
	cmd.Dir, cmd.Stdout, cmd.Stderr = o.repo, out, out
	return cmd.Run()
}

// cpuModel is the first "model name" of /proc/cpuinfo.
func cpuModel() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	for _, l := range strings.Split(string(b), "\n") {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			return strings.TrimSpace(v)
		}
	}
	return "unknown CPU"
}

func contains(s, sub string) bool { return strings.Contains(s, sub) }
