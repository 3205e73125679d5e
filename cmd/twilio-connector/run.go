package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/camunda/zeebe/clients/go/v8/pkg/zbc"
	"google.golang.org/grpc"

	"github.com/twilio-connector/twilio-connector/actions"
	"github.com/twilio-connector/twilio-connector/amqpapi"
	"github.com/twilio-connector/twilio-connector/config"
	"github.com/twilio-connector/twilio-connector/console"
	"github.com/twilio-connector/twilio-connector/httpapi"
	"github.com/twilio-connector/twilio-connector/metrics"
	"github.com/twilio-connector/twilio-connector/mqttapi"
	"github.com/twilio-connector/twilio-connector/store"
	"github.com/twilio-connector/twilio-connector/triggers"
	"github.com/twilio-connector/twilio-connector/worker"
)

// runCommand is production: the job worker against ZEEBE_ADDRESS plus the HTTP endpoints.
func runCommand(ctx context.Context, args []string, _, stderr io.Writer) error {
	if len(args) > 0 {
		return usageError{"run takes no arguments; it is configured by the environment (see README.md)"}
	}
	cfg, err := config.Load(os.Getenv, config.NeedTwilio|config.NeedZeebe)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	routeLibraryLogs(log)
	st, err := openStore(ctx, cfg)
	if err != nil {
		return err
	}
	defer st.Close()
	polls := worker.NewLongPolls()
	client, err := newZeebeClient(cfg, cfg.ZeebeAddress, false, polls)
	if err != nil {
		return err
	}
	defer client.Close()
	if err := checkCredentials(ctx, cfg, client); err != nil {
		return err
	}
	reg := triggers.NewRegistry()
	if err := loadTriggers(cfg, reg); err != nil {
		return err
	}
	return serve(ctx, cfg, log, client, polls, st, reg)
}

// zeebeDialOptions are the connector's additions to the Zeebe client's connection: job
// activation backs off while the gateway pushes back, and the worker's Stop ends pending long
// polls through polls.
func zeebeDialOptions(polls *worker.LongPolls) []grpc.DialOption {
	return []grpc.DialOption{
		worker.ActivationBackoff(worker.DefaultActivationBackoff, worker.DefaultMaxActivationBackoff),
		polls.DialOption(),
	}
}

// openStore opens the configured state store: the bbolt file for one replica, Redis for
// several.
func openStore(ctx context.Context, cfg config.Config) (store.Store, error) {
	if cfg.StoreKind == "redis" {
		r, err := store.OpenRedis(ctx, cfg.RedisURL, cfg.RedisPrefix, cfg.StoreRetention)
		if err != nil {
			return nil, fmt.Errorf("CONNECTOR_REDIS_URL: %w", err)
		}
		return r, nil
	}
	b, err := store.OpenBolt(cfg.StorePath, cfg.StoreRetention)
	if err != nil {
		return nil, fmt.Errorf("CONNECTOR_STATE_FILE: %w", err)
	}
	return b, nil
}

// loadTriggers reads SMS_RECEIVED triggers from CONNECTOR_BPMN_DIR and CONNECTOR_TRIGGERS_FILE.
func loadTriggers(cfg config.Config, reg *triggers.Registry) error {
	if cfg.BPMNDir != "" {
		ts, err := triggers.LoadDir(cfg.BPMNDir, cfg.MatchTimeout)
		if err != nil {
			return fmt.Errorf("CONNECTOR_BPMN_DIR: %w", err)
		}
		reg.Set("CONNECTOR_BPMN_DIR", ts)
	}
	if cfg.TriggersFile != "" {
		ts, err := triggers.LoadFile(cfg.TriggersFile, cfg.MatchTimeout)
		if err != nil {
			return fmt.Errorf("CONNECTOR_TRIGGERS_FILE: %w", err)
		}
		reg.Set("CONNECTOR_TRIGGERS_FILE", ts)
	}
	return nil
}

// serve runs the worker, the webhooks, the outbox and the MQTT and AMQP entry points until ctx ends, then shuts down
// gracefully: stop taking work, finish in-flight jobs, stop the HTTP server.
func serve(ctx context.Context, cfg config.Config, log *slog.Logger, client zbc.Client, polls *worker.LongPolls, st store.Store, reg *triggers.Registry) error {
	conns, err := newConnections(cfg, st)
	if err != nil {
		return err
	}
	acts, err := newActions(cfg, conns, st, log)
	if err != nil {
		return err
	}
	// The console watches every entry point's sends and the inbound endpoints.
	var activity *console.Activity
	var observer triggers.Observer
	if cfg.Console {
		activity = console.NewActivity(0)
		observer = activity
		for name, a := range acts {
			acts[name] = activity.Observe(name, a)
		}
	}
	apiKeys, err := httpapi.ParseAPIKeys(cfg.APIKeys)
	if err != nil {
		return fmt.Errorf("CONNECTOR_API_KEYS: %w", err)
	}
	w := worker.New(client, acts, worker.Options{
		Prefix: cfg.JobTypePrefix, Name: cfg.WorkerName, MaxJobsActive: cfg.MaxJobsActive,
		Concurrency: cfg.Concurrency, JobTimeout: cfg.JobTimeout, PollInterval: cfg.PollInterval,
		RequestTimeout: cfg.RequestTimeout, RetryBackoff: cfg.RetryBackoff, Logger: log, LongPolls: polls,
	})

	ready := newReadiness(log, client, cfg, st)
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(rw http.ResponseWriter, _ *http.Request) { fmt.Fprintln(rw, "ok") })
	mux.Handle("GET /readyz", ready)
	mux.Handle("GET /metrics", metrics.Handler())
	mux.Handle("/v1/", httpapi.New(httpapi.Options{
		Messages: acts[actions.SendSMS.Name], Calls: acts[actions.MakeCall.Name], Store: st, APIKeys: apiKeys,
		GetMessage: acts[actions.GetMessage.Name], CancelMessage: acts[actions.CancelMessage.Name],
		MaxBodyBytes: int64(cfg.APIMaxBody), Timeout: cfg.APITimeout, Logger: log,
	}))

	// Inbound: routes without a method so the handlers answer 405 themselves (and count it).
	pub := worker.NewPublisher(client)
	outbox := triggers.NewOutbox(st, pub, triggers.OutboxOptions{
		Interval: cfg.OutboxInterval, MaxBackoff: cfg.OutboxMaxBackoff, PublishTimeout: cfg.PublishTimeout, Logger: log,
		Replier: replier(acts[actions.SendSMS.Name], log),
	})
	metrics.SetOutboxPending(outbox.Pending)
	verifier := triggers.Verifier{Accounts: twilioAccounts(conns), PublicURL: cfg.PublicURL, Skip: cfg.SkipSignatureTest}
	// inbound is what every inbound channel (Twilio's webhook, the HTTP channel, SMPP) shares.
	inbound := triggers.Options{
		Triggers: reg, Publisher: pub, Store: st, Outbox: outbox, MessageTTL: cfg.MessageTTL,
		MaxBodyBytes: int64(cfg.WebhookMaxBody), MatchOptOutKeywords: cfg.OptOutStartsProcesses,
		PublishTimeout: cfg.PublishTimeout, Logger: log, Observer: observer,
	}
	twilioInbound := inbound
	twilioInbound.Verifier = verifier
	mux.Handle("/twilio/sms", triggers.NewSMSReceived(twilioInbound))
	mux.Handle("/twilio/status", triggers.NewStatusCallback(triggers.StatusOptions{
		Publisher: pub, Store: st, Outbox: outbox, Verifier: verifier, MessageName: cfg.StatusMessageName,
		MessageTTL: cfg.MessageTTL, MaxBodyBytes: int64(cfg.WebhookMaxBody), PublishTimeout: cfg.PublishTimeout, Logger: log,
		Observer: observer,
	}))
	secrets := inboundSecrets(conns, reg, log)
	triggers.NewHTTPChannel(triggers.HTTPOptions{
		Options: inbound, Secret: secrets, StatusMessageName: cfg.StatusMessageName,
	}).Register(mux)
	stopSMPP := startSMPP(ctx, conns, triggers.NewSMPPChannel(triggers.SMPPOptions{
		Options: inbound, StatusMessageName: cfg.StatusMessageName,
	}), ready, log)
	defer stopSMPP() // after the worker's last jobs, which may still submit
	if cfg.Console {
		mountConsole(mux, cfg, log, conns, acts, reg, ready, activity, st, apiKeys)
	}
	outboxDone := make(chan struct{})
	go func() { defer close(outboxDone); outbox.Run(ctx) }()
	log.Info("SMS_RECEIVED triggers loaded", "count", len(reg.Triggers()))
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("CONNECTOR_HTTP_ADDR: cannot listen on %s: %w", cfg.HTTPAddr, err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: min(10*time.Second, cfg.HTTPReadTimeout),
		ReadTimeout: cfg.HTTPReadTimeout, WriteTimeout: cfg.HTTPWriteTimeout, IdleTimeout: cfg.HTTPIdleTimeout}
	go srv.Serve(ln)
	endpoints := "/twilio/sms /twilio/status /http/{connection}/receive /http/{connection}/status /v1/ /healthz /readyz /metrics"
	if cfg.Console {
		endpoints += " " + console.Path
	}
	log.Info("http listening", "addr", ln.Addr().String(), "endpoints", endpoints)

	var mq *mqttapi.Client
	if cfg.MQTTURL != "" {
		if mq, err = mqttapi.Start(mqttapi.Options{
			URL: cfg.MQTTURL, ClientID: cfg.MQTTClientID, TopicPrefix: cfg.MQTTTopicPrefix,
			SMS: acts[actions.SendSMS.Name], Calls: acts[actions.MakeCall.Name], DefaultFrom: cfg.DefaultFrom, DefaultRegion: cfg.DefaultRegion, Store: st,
			Timeout: cfg.APITimeout, Logger: log,
		}); err != nil {
			return err
		}
		ready.add("mqtt", func(context.Context) error { return mq.Health() })
	}
	var aq *amqpapi.Client
	if cfg.AMQPURL != "" {
		if aq, err = amqpapi.Start(amqpapi.Options{
			URL: cfg.AMQPURL, Queue: cfg.AMQPQueue, Prefetch: cfg.AMQPPrefetch, MaxBodyBytes: cfg.APIMaxBody,
			SMS: acts[actions.SendSMS.Name], Calls: acts[actions.MakeCall.Name], Store: st,
			Timeout: cfg.APITimeout, Logger: log,
		}); err != nil {
			return err
		}
		ready.add("amqp", func(context.Context) error { return aq.Health() })
	}

	w.Start()
	<-ctx.Done()

	log.Info("shutting down", "grace", cfg.ShutdownGrace)
	ready.stop()
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownGrace)
	defer cancel()
	if mq != nil {
		mq.Close(sctx) // requests it does not finish stay unacknowledged at the broker
	}
	if aq != nil {
		aq.Close(sctx) // likewise
	}
	werr := w.Stop(sctx)
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Warn("http shutdown", "err", err)
	}
	<-outboxDone // whatever it has not published stays in the store for the next start
	if werr != nil {
		return werr
	}
	log.Info("stopped")
	return nil
}
