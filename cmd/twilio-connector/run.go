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
	"sync/atomic"
	"time"

	"github.com/camunda/zeebe/clients/go/v8/pkg/zbc"

	"github.com/twilio-connector/twilio-connector/config"
	"github.com/twilio-connector/twilio-connector/metrics"
	"github.com/twilio-connector/twilio-connector/store"
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
	st, err := store.OpenBolt(cfg.StorePath, cfg.StoreRetention)
	if err != nil {
		return fmt.Errorf("CONNECTOR_STATE_FILE: %w", err)
	}
	defer st.Close()
	client, err := zbc.NewClient(&zbc.ClientConfig{GatewayAddress: cfg.ZeebeAddress})
	if err != nil {
		return fmt.Errorf("ZEEBE_ADDRESS: cannot create the Zeebe client: %w", err)
	}
	defer client.Close()
	return serve(ctx, cfg, log, client, st)
}

// serve runs the worker and the HTTP endpoints until ctx ends, then shuts down gracefully.
func serve(ctx context.Context, cfg config.Config, log *slog.Logger, client zbc.Client, st store.Store) error {
	acts, err := newActions(cfg, st, log)
	if err != nil {
		return err
	}
	w := worker.New(client, acts, worker.Options{
		Prefix: cfg.JobTypePrefix, Name: cfg.WorkerName, MaxJobsActive: cfg.MaxJobsActive,
		Concurrency: cfg.Concurrency, JobTimeout: cfg.JobTimeout, PollInterval: cfg.PollInterval,
		RequestTimeout: cfg.RequestTimeout, RetryBackoff: cfg.RetryBackoff, Logger: log,
	})

	var ready atomic.Bool
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(rw http.ResponseWriter, _ *http.Request) { fmt.Fprintln(rw, "ok") })
	mux.HandleFunc("GET /readyz", func(rw http.ResponseWriter, _ *http.Request) {
		if !ready.Load() {
			http.Error(rw, "not ready: Zeebe gateway not reachable yet", http.StatusServiceUnavailable)
			return
		}
		fmt.Fprintln(rw, "ready")
	})
	mux.Handle("GET /metrics", metrics.Handler())
	ln, err := net.Listen("tcp", cfg.HTTPAddr)
	if err != nil {
		return fmt.Errorf("CONNECTOR_HTTP_ADDR: cannot listen on %s: %w", cfg.HTTPAddr, err)
	}
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	log.Info("http listening", "addr", ln.Addr().String(), "endpoints", "/healthz /readyz /metrics")

	go watchReadiness(ctx, client, &ready, log)
	w.Start()
	<-ctx.Done()

	log.Info("shutting down", "grace", cfg.ShutdownGrace)
	ready.Store(false)
	sctx, cancel := context.WithTimeout(context.Background(), cfg.ShutdownGrace)
	defer cancel()
	werr := w.Stop(sctx)
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		log.Warn("http shutdown", "err", err)
	}
	if werr != nil {
		return werr
	}
	log.Info("stopped")
	return nil
}

// watchReadiness marks the connector ready while the gateway answers Topology.
func watchReadiness(ctx context.Context, client zbc.Client, ready *atomic.Bool, log *slog.Logger) {
	t := time.NewTicker(5 * time.Second)
	defer t.Stop()
	for {
		tctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		_, err := client.NewTopologyCommand().Send(tctx)
		cancel()
		was := ready.Swap(err == nil)
		if was != (err == nil) {
			log.Info("zeebe gateway readiness changed", "ready", err == nil, "err", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}
