package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"strings"

	"github.com/twilio-connector/twilio-connector/actions"
	"github.com/twilio-connector/twilio-connector/config"
	"github.com/twilio-connector/twilio-connector/providers"
	"github.com/twilio-connector/twilio-connector/store"
	"github.com/twilio-connector/twilio-connector/worker"
)

func newLogger(cfg config.Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(cfg.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if cfg.LogFormat == "text" {
		return slog.New(slog.NewTextHandler(w, opts))
	}
	return slog.New(slog.NewJSONHandler(w, opts))
}

// newActions builds every action from the configuration and the connections (newConnections).
// Without credentials the actions can still serve testing (dry-run) requests.
func newActions(cfg config.Config, conns providers.Connections, st store.Store, log *slog.Logger) (map[string]worker.Action, error) {
	var dir actions.Directory
	switch {
	case cfg.DirectoryFile != "":
		d, err := actions.LoadDirectoryFile(cfg.DirectoryFile)
		if err != nil {
			return nil, fmt.Errorf("CONNECTOR_DIRECTORY_FILE: %w", err)
		}
		dir = d
	case cfg.DirectoryRedis:
		r, ok := st.(*store.Redis)
		if !ok {
			var err error
			if r, err = store.OpenRedis(context.Background(), cfg.RedisURL, cfg.RedisPrefix, cfg.StoreRetention); err != nil {
				return nil, fmt.Errorf("CONNECTOR_REDIS_URL: %w", err)
			}
		}
		dir = store.RedisDirectory{R: r}
	}
	delivery := func(kind string) *actions.Delivery {
		return &actions.Delivery{
			Kind: kind, Store: st, Attempts: cfg.SendAttempts, Parallelism: cfg.SendParallelism,
			Logger: log.With("component", kind),
		}
	}
	sms := actions.NewSMS(conns, delivery("sms"), actions.SMSOptions{
		DefaultRegion: cfg.DefaultRegion, StatusCallbackURL: statusCallbackURL(cfg), Directory: dir,
	})
	calls := actions.NewCalls(conns, delivery("call"), actions.CallOptions{
		DefaultRegion: cfg.DefaultRegion, StatusCallbackURL: statusCallbackURL(cfg), Directory: dir,
	})
	return map[string]worker.Action{actions.SendSMS.Name: sms, actions.MakeCall.Name: calls,
		actions.CancelMessage.Name: actions.NewCancelMessage(conns), actions.GetMessage.Name: actions.NewGetMessage(conns)}, nil
}

// statusCallbackURL is where Twilio posts delivery status, when the connector is reachable.
func statusCallbackURL(cfg config.Config) string {
	if cfg.PublicURL == "" {
		return ""
	}
	return strings.TrimRight(cfg.PublicURL, "/") + "/twilio/status"
}
