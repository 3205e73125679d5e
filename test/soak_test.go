package test

import (
	"context"
	"fmt"
	"io"
	"os"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twilio-connector/twilio-connector/test/twiliotest"
)

// soakDuration is how long the soak runs: SOAK_DURATION (a Go duration), else 2 minutes.
func soakDuration(t *testing.T) time.Duration {
	if s := os.Getenv("SOAK_DURATION"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil {
			t.Fatalf("SOAK_DURATION: %v", err)
		}
		return d
	}
	return 2 * time.Minute
}

var gauge = regexp.MustCompile(`(?m)^(go_goroutines|go_memstats_heap_alloc_bytes) (\S+)$`)

// connectorGauges reads the connector process's own goroutine count and live heap.
func connectorGauges(t *testing.T, addr string) (goroutines, heap float64) {
	_, body := httpGet("http://" + addr + "/metrics")
	for _, m := range gauge.FindAllStringSubmatch(body, -1) {
		v, _ := strconv.ParseFloat(m[2], 64)
		if m[1] == "go_goroutines" {
			goroutines = v
		} else {
			heap = v
		}
	}
	if goroutines == 0 || heap == 0 {
		t.Fatalf("no runtime gauges in /metrics")
	}
	return goroutines, heap
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}

// A bounded soak of the connector binary under mixed load (send jobs with transient failures,
// inbound SMS with redeliveries): after warm-up its goroutines and live heap stay flat. The
// dev engine and the fake Twilio (this test process) keep every instance and message by design,
// so only the connector process is measured.
func TestSoakMemoryAndGoroutinesStayFlat(t *testing.T) {
	if testing.Short() {
		t.Skip("soak skipped in -short mode")
	}
	w := newWorld(t)
	w.deploy(t, "../bpmn/examples/order_status.bpmn")
	w.twilio.SetLatency(5 * time.Millisecond)
	const public = "https://connector.example.com"
	p := w.startRun(t, "CONNECTOR_BPMN_DIR=../bpmn/examples", "CONNECTOR_PUBLIC_URL="+public,
		"CONNECTOR_LOG_LEVEL=warn", "CONNECTOR_RETRY_BACKOFF=100ms", "CONNECTOR_STATE_RETENTION=1m")
	p.waitReady(t)
	addr := p.httpAddr

	duration := soakDuration(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var jobs, inbound atomic.Int64
	var wg sync.WaitGroup
	stop := time.Now().Add(duration)
	for g := 0; g < 4; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; time.Now().Before(stop); i++ {
				to := fmt.Sprintf("+1415%03d%04d", 200+g, i%10000)
				if i%10 == 0 {
					w.twilio.FailTimes(to, 1, 503, 0)
				}
				cctx, ccancel := context.WithTimeout(ctx, 10*time.Second)
				cmd, _ := w.client.NewCreateInstanceCommand().BPMNProcessId("notify").LatestVersion().
					VariablesFromMap(map[string]any{"smsTo": []string{to}, "smsBody": "soak ${n}", "n": i})
				if _, err := cmd.WithResult().Send(cctx); err == nil {
					jobs.Add(1)
				}
				ccancel()
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; time.Now().Before(stop); i++ {
			f := twiliotest.InboundForm(w.twilio.AccountSID, fmt.Sprintf("+1628%07d", i), "+15005550006", fmt.Sprintf("status S-%d", i))
			sig := twiliotest.Sign(w.twilio.AuthToken, public+"/twilio/sms", f)
			for r := 0; r < 1+i%5/4; r++ { // every fifth SMS is delivered twice
				if postSigned(ctx, "http://"+addr+"/twilio/sms", sig, f) == 200 {
					inbound.Add(1)
				}
			}
			time.Sleep(5 * time.Millisecond)
		}
	}()

	var gs, heaps []float64
	time.Sleep(duration / 5) // warm-up
	for time.Now().Before(stop) {
		g, h := connectorGauges(t, addr)
		gs, heaps = append(gs, g), append(heaps, h)
		time.Sleep(duration / 20)
	}
	wg.Wait()
	w.twilio.ClearRules() // FailTimes rules of recipients the last instances did not reach
	if len(gs) < 6 || jobs.Load() < 100 || inbound.Load() < 100 {
		t.Fatalf("too little load to judge: %d samples, %d jobs, %d inbound requests", len(gs), jobs.Load(), inbound.Load())
	}
	third := len(gs) / 3
	g0, g1 := median(gs[:third]), median(gs[len(gs)-third:])
	h0, h1 := median(heaps[:third]), median(heaps[len(heaps)-third:])
	t.Logf("%v: %d jobs, %d inbound requests; connector goroutines %.0f -> %.0f, live heap %.1f MiB -> %.1f MiB (medians of the first and last thirds)",
		duration, jobs.Load(), inbound.Load(), g0, g1, h0/(1<<20), h1/(1<<20))
	if g1 > g0+10 {
		t.Errorf("goroutines grew from %.0f to %.0f", g0, g1)
	}
	if h1 > h0*1.5+4<<20 {
		t.Errorf("live heap grew from %.1f MiB to %.1f MiB", h0/(1<<20), h1/(1<<20))
	}
}

func postSigned(ctx context.Context, url, sig string, form map[string][]string) int {
	req, _ := newFormRequest(ctx, url, form)
	req.Header.Set("X-Twilio-Signature", sig)
	res, err := httpClient.Do(req)
	if err != nil {
		return 0
	}
	io.Copy(io.Discard, res.Body)
	res.Body.Close()
	return res.StatusCode
}
