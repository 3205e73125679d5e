package test

import (
	"context"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twilio-connector/twilio-connector/bpmn/engine"
	"github.com/twilio-connector/twilio-connector/pace"
	"github.com/twilio-connector/twilio-connector/test/redistest"
	"github.com/twilio-connector/twilio-connector/test/twiliotest"
	"github.com/twilio-connector/twilio-connector/test/wait"
)

// createNotify starts n instances of the notify process, each texting its own recipient.
func (w *world) createNotify(t *testing.T, n int, body string) (keys []int64, recipients []string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	for i := range n {
		to := fmt.Sprintf("+1415556%04d", i)
		cmd, err := w.client.NewCreateInstanceCommand().BPMNProcessId("notify").LatestVersion().
			VariablesFromMap(map[string]any{"smsTo": []string{to}, "smsBody": body, "n": i})
		if err != nil {
			t.Fatal(err)
		}
		inst, err := cmd.Send(ctx)
		if err != nil {
			t.Fatal(err)
		}
		keys, recipients = append(keys, inst.GetProcessInstanceKey()), append(recipients, to)
	}
	return keys, recipients
}

// messageTimes are the times at which the stand-in received message creations, in order.
func messageTimes(fake *twiliotest.Server) []time.Time {
	var times []time.Time
	for _, r := range fake.Requests() {
		if r.Method == http.MethodPost && strings.HasSuffix(r.Path, "/Messages.json") {
			times = append(times, r.Time)
		}
	}
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	return times
}

// mostInAWindow is the largest number of times within any window [t, t+window).
func mostInAWindow(times []time.Time, window time.Duration) int {
	most, j := 0, 0
	for i := range times {
		for j < len(times) && times[j].Sub(times[i]) < window {
			j++
		}
		most = max(most, j-i)
	}
	return most
}

// Two replicas sharing one Redis send 200 messages from one long code paced at 10 segments
// per second: together, measured at the stand-in's clock, they keep to the rate, and every
// message is sent once.
//
// The replicas book slots 110 ms apart on Redis's clock (pace.Headroom); each request then
// reaches the stand-in after its own delay (waking up, the HTTP round trip, on a busy
// machine). Messages n and n+10 are booked 1.1 s apart, so they fall in one second at the
// stand-in only if n is delayed 100 ms more than n+10; n and n+11, for rate+2 in a second,
// 210 ms; n and n+12, for rate+3, 320 ms. Delays were seen to differ by up to 160 ms, and by
// 250 ms with the machine's two cores saturated: so any second may hold rate+2, while the 200
// as a whole must take the 21.9 s the pace gives them. Replicas pacing each on its own would
// send 18 a second and finish in 11 s; no pacing at all, most of the 200 within a second.
func TestPacingSharedByTwoReplicas(t *testing.T) {
	w := newWorld(t)
	redis := redistest.Start(t)
	const n, rate = 200, 10
	for range 2 {
		w.startRun(t, "CONNECTOR_STATE_STORE=redis", "CONNECTOR_REDIS_URL="+redis.URL,
			fmt.Sprintf("TWILIO_PACE_SENDERS=+15005550006=%d", rate), "CONNECTOR_LOG_LEVEL=info").waitReady(t)
	}
	keys, recipients := w.createNotify(t, n, "Order ${n} is ready")
	w.waitCompleted(t, 90*time.Second, keys)

	for _, to := range recipients {
		if c := w.twilio.CountSentTo(to); c != 1 {
			t.Fatalf("%s got %d messages, want 1", to, c)
		}
	}
	times := messageTimes(w.twilio)
	if len(times) != n {
		t.Fatalf("the stand-in received %d message requests, want %d (one each)", len(times), n)
	}
	tightest := times[rate].Sub(times[0])
	for i := range times[rate:] {
		tightest = min(tightest, times[i+rate].Sub(times[i]))
	}
	most := mostInAWindow(times, time.Second)
	if most > rate+2 {
		t.Fatalf("%d messages within one second at the stand-in (the closest %d are %v apart); the pace is %d a second", most, rate+1, tightest, rate)
	}
	slot := time.Duration(math.Round(pace.Headroom * float64(time.Second) / rate))
	t.Logf("at most %d messages within one second at the stand-in, the closest %d %v apart (pace %d a second, slots booked %v apart on Redis's clock)",
		most, rate+1, tightest, rate, slot)
	least := time.Duration(n-1)*slot - 200*time.Millisecond
	if took := times[n-1].Sub(times[0]); took < least {
		t.Fatalf("%d messages took %v at the stand-in, less than the %v the pace allows", n, took, least)
	}
}

// A send whose slot is after the job's deadline is not attempted: the job is failed once with
// the wait as its backoff, keeping its retries, and sent when it comes back; no loop.
func TestPacingBeyondTheDeadlineFailsTheJobWithBackoff(t *testing.T) {
	w := newWorld(t)
	// 4.4 s per segment (4 s stretched by pace.Headroom); jobs must finish within 3 s (a 4 s timeout less its margin).
	p := w.startRun(t, "TWILIO_PACE_SENDERS=+15005550006=0.25", "CONNECTOR_JOB_TIMEOUT=4s")
	p.waitReady(t)
	keys, _ := w.createNotify(t, 2, "hi")
	wait.Until(t, 10*time.Second, "a job failed for its pace", func() bool {
		for _, j := range w.eng.Jobs() {
			if j.State == engine.JobFailed && strings.Contains(j.ErrorMessage, "is paced") {
				if j.Retries != 3 {
					t.Fatalf("the paced job has %d retries left, want its 3 kept", j.Retries)
				}
				return true
			}
		}
		return false
	})
	if n := len(messageTimes(w.twilio)); n != 1 {
		t.Fatalf("%d message requests while the second job waits for its slot, want 1", n)
	}
	w.waitCompleted(t, 20*time.Second, keys)
	times := messageTimes(w.twilio)
	if len(times) != 2 || times[1].Sub(times[0]) < 4*time.Second-100*time.Millisecond {
		t.Fatalf("message requests at %v, want 2, 4 s apart", times)
	}
	_, m := httpGet("http://" + p.httpAddr + "/metrics")
	for _, want := range []string{
		`twilio_connector_pace_throttled_total{connection="default",sender="+15005550006"} 1`,
		`twilio_connector_jobs_total{outcome="failed",type="twilioConnector.send_sms"} 1`,
		`twilio_connector_pace_wait_seconds_count{connection="default",sender="+15005550006"} 2`,
	} {
		if !strings.Contains(m, want) {
			t.Errorf("metrics lack %s:\n%s", want, grepLines(m, "twilio_connector_"))
		}
	}
}
