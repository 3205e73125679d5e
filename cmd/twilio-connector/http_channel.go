package main

import (
	"context"
	"log/slog"

	"github.com/twilio-connector/twilio-connector/actions"
	"github.com/twilio-connector/twilio-connector/providers"
	"github.com/twilio-connector/twilio-connector/templates"
	"github.com/twilio-connector/twilio-connector/triggers"
)

// inboundSecreter is implemented by providers whose connection takes inbound messages on the
// HTTP channel's endpoints (provider http with inbound_secret).
type inboundSecreter interface {
	InboundSecret() string
}

// inboundSecrets returns, for the HTTP channel's endpoints, the inbound_secret of each
// connection that has one. It warns about triggers listening on a connection that does not
// exist or takes no inbound messages (neither an http one with inbound_secret nor an smpp
// one): they would never fire.
func inboundSecrets(conns providers.Connections, reg *triggers.Registry, log *slog.Logger) func(string) (string, bool) {
	secrets := map[string]string{}
	for name, c := range conns {
		if p, ok := c.Provider.(inboundSecreter); ok && p.InboundSecret() != "" {
			secrets[name] = p.InboundSecret()
		}
	}
	sessions := smppConnections(conns)
	for _, t := range reg.Triggers() {
		_, ok := secrets[t.Connection]
		if _, smpp := sessions[t.Connection]; t.Connection == "" || t.Connection == triggers.DefaultConnection || ok || smpp {
			continue
		}
		if _, ok := conns[t.Connection]; !ok {
			log.Warn("trigger listens on a connection that is not configured: it never fires; fix the name or define it in CONNECTOR_CONNECTIONS_FILE",
				"trigger", t.Where(), "connection", t.Connection)
		} else {
			log.Warn("trigger listens on a connection that takes no inbound messages: it never fires; only default (Twilio), http connections with inbound_secret and smpp connections do",
				"trigger", t.Where(), "connection", t.Connection)
		}
	}
	return func(conn string) (string, bool) {
		s, ok := secrets[conn]
		return s, ok
	}
}

// replier sends the replies of the HTTP channel and of SMPP connections with send_sms through
// the connection they came in on, from the reply's From or else the connection's
// default_from: the same idempotency as a task (the reply id is the
// idempotency key, so a reply tried again is not sent twice), retries and metrics. A transient
// failure keeps the reply in the outbox; a permanent one (a rejected recipient, an unknown
// connection) is logged and dropped, as trying again cannot help.
func replier(sms actions.Action, log *slog.Logger) triggers.Replier {
	log = log.With("component", "channel-replies")
	return func(ctx context.Context, r triggers.Reply) error {
		vars := map[string]any{actions.FieldSMSTo: r.To, actions.FieldSMSBody: r.Text}
		if r.From != "" {
			vars[actions.FieldSMSFrom] = r.From
		}
		res, err := sms.Invoke(ctx, actions.Invocation{
			Connection: r.Connection, Engine: templates.Literal, IdempotencyKey: "reply:" + r.ID, Vars: vars,
		})
		if err != nil {
			return err
		}
		for _, e := range res.TwilioError {
			log.Error("the reply was refused; it is dropped", "connection", r.Connection, "replyId", r.ID, "code", e.Code, "field", e.Field, "err", e.Message)
		}
		return nil
	}
}
