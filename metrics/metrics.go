// Package metrics holds the connector's Prometheus collectors. Labels carry only bounded,
// non-secret values: job types, taxonomy codes, outcomes.
package metrics

import (
	"context"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Registry is the connector's own registry, served at /metrics.
var Registry = prometheus.NewRegistry()

var (
	// Jobs counts handled Zeebe jobs by job type and outcome (completed, failed, incident,
	// error_thrown, handed_back, command_failed).
	Jobs = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "twilio_connector_jobs_total", Help: "Zeebe jobs handled, by job type and outcome.",
	}, []string{"type", "outcome"})
	// JobSeconds is the time from activation to the job command, by job type.
	JobSeconds = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "twilio_connector_job_duration_seconds", Help: "Time to handle a job, by job type.",
		Buckets: prometheus.ExponentialBuckets(0.005, 2, 14),
	}, []string{"type"})
	// Sends counts outbound messages and calls by kind (sms, call), connection (its
	// configured name), provider (twilio, pushover, http) and outcome (sent, a taxonomy code).
	Sends = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "twilio_connector_sends_total", Help: "Outbound provider requests by kind, connection, provider and outcome.",
	}, []string{"kind", "connection", "provider", "outcome"})
	// TwilioSeconds is the latency of Twilio API requests.
	TwilioSeconds = prometheus.NewHistogram(prometheus.HistogramOpts{
		Name: "twilio_connector_twilio_request_duration_seconds", Help: "Latency of Twilio API requests.",
		Buckets: prometheus.ExponentialBuckets(0.005, 2, 14),
	})
	// PaceWait is how long sends waited for their paced slot (package pace), by connection and
	// sender: the sender itself when listed in the connection's pace, else its kind
	// (long_code, toll_free, short_code, alphanumeric, …), which keeps label values few.
	PaceWait = prometheus.NewHistogramVec(prometheus.HistogramOpts{
		Name: "twilio_connector_pace_wait_seconds", Help: "Time sends waited for their paced slot, by connection and sender (or sender kind).",
		Buckets: prometheus.ExponentialBuckets(0.01, 3, 12),
	}, []string{"connection", "sender"})
	// PaceThrottled counts sends whose paced slot came after their deadline: nothing was sent
	// and the job was failed with the wait as its backoff. Labels as PaceWait.
	PaceThrottled = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "twilio_connector_pace_throttled_total", Help: "Sends deferred to a retry because their paced slot came after their deadline, by connection and sender (or sender kind).",
	}, []string{"connection", "sender"})
	// TwilioRefusals counts Twilio's answers that a sender's queue is full (code "21611") or
	// that requests come too fast (code "429", HTTP 429), by connection.
	TwilioRefusals = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "twilio_connector_twilio_refusals_total", Help: "Twilio answers 21611 (sender queue full) and HTTP 429 (too many requests), by connection and code.",
	}, []string{"connection", "code"})
	// Webhooks counts inbound webhook requests by outcome.
	Webhooks = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "twilio_connector_webhook_requests_total", Help: "Inbound webhook requests by outcome.",
	}, []string{"outcome"})
	// MQTTRequests counts MQTT requests by topic kind (txt, call) and outcome (success, fail,
	// replayed, invalid).
	MQTTRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "twilio_connector_mqtt_requests_total", Help: "MQTT requests by topic kind and outcome.",
	}, []string{"kind", "outcome"})
	// AMQPRequests counts AMQP requests by action (send_sms, make_call, unknown) and outcome
	// (success: answered 200, fail: another answer of the action, replayed: answered from the
	// record, invalid: refused before the action ran).
	AMQPRequests = prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "twilio_connector_amqp_requests_total", Help: "AMQP requests by action and outcome.",
	}, []string{"action", "outcome"})
)

// outboxPending is the outbox's backlog: inbound messages, delivery statuses and replies
// waiting for the engine, counted in the state store at each scrape. Replicas sharing one
// Redis share one outbox and each reports all of it.
var outboxPending = &countCollector{desc: prometheus.NewDesc("twilio_connector_outbox_pending",
	"Inbound messages, delivery statuses and replies waiting in the outbox for the engine.", nil, nil)}

// outboxCountTimeout bounds the count at a scrape.
const outboxCountTimeout = 2 * time.Second

// SetOutboxPending makes the twilio_connector_outbox_pending gauge report count (the outbox's
// Pending) from now on.
func SetOutboxPending(count func(context.Context) (int, error)) { outboxPending.count.Store(&count) }

// countCollector reports a gauge counted when scraped.
type countCollector struct {
	desc  *prometheus.Desc
	count atomic.Pointer[func(context.Context) (int, error)]
}

func (c *countCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.desc }

// Collect reports nothing before a count is set or when counting fails (the store is down:
// /readyz says so), rather than failing the whole scrape.
func (c *countCollector) Collect(ch chan<- prometheus.Metric) {
	count := c.count.Load()
	if count == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), outboxCountTimeout)
	defer cancel()
	if n, err := (*count)(ctx); err == nil {
		ch <- prometheus.MustNewConstMetric(c.desc, prometheus.GaugeValue, float64(n))
	}
}

func init() {
	Registry.MustRegister(Jobs, JobSeconds, Sends, TwilioSeconds, PaceWait, PaceThrottled, TwilioRefusals, Webhooks, MQTTRequests, AMQPRequests, outboxPending,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
}

// Handler serves the registry in the Prometheus text format.
func Handler() http.Handler {
	return promhttp.HandlerFor(Registry, promhttp.HandlerOpts{Registry: Registry})
}
