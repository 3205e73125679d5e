package main

import (
	"log/slog"
	"net/http"
	"strings"

	"github.com/twilio-connector/twilio-connector/actions"
	"github.com/twilio-connector/twilio-connector/config"
	"github.com/twilio-connector/twilio-connector/console"
	"github.com/twilio-connector/twilio-connector/providers"
	"github.com/twilio-connector/twilio-connector/store"
	"github.com/twilio-connector/twilio-connector/triggers"
	"github.com/twilio-connector/twilio-connector/worker"
)

// mountConsole serves the console at /console/: open in dev, behind a login with an API key or
// CONNECTOR_CONSOLE_PASSWORD in run. acts are already observed by activity.
func mountConsole(mux *http.ServeMux, cfg config.Config, log *slog.Logger, conns providers.Connections, acts map[string]worker.Action,
	reg *triggers.Registry, ready *readiness, activity *console.Activity, st store.Store, apiKeys []string) {
	var secrets []string
	if !cfg.ConsoleOpen {
		secrets = append(secrets, apiKeys...)
		if cfg.ConsolePassword != "" {
			secrets = append(secrets, cfg.ConsolePassword)
		}
	}
	c := console.New(console.Options{
		Messages: acts[actions.SendSMS.Name], Connections: conns, Triggers: reg, MessageTTL: cfg.MessageTTL,
		Health: ready.checks, Activity: activity, Store: st, Secrets: secrets,
		SecureCookies: strings.HasPrefix(cfg.PublicURL, "https://"), Timeout: cfg.APITimeout, Logger: log,
	})
	mux.Handle(console.Path, c)
	mux.Handle("GET /console", http.RedirectHandler(console.Path, http.StatusSeeOther))
	log.Info("console on", "path", console.Path, "login", !c.Open())
}
