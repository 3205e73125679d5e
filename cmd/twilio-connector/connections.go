package main

import (
	"fmt"
	"maps"
	"slices"

	"github.com/twilio-connector/twilio-connector/config"
	"github.com/twilio-connector/twilio-connector/pace"
	"github.com/twilio-connector/twilio-connector/providers"
	"github.com/twilio-connector/twilio-connector/providers/httpchannel"
	"github.com/twilio-connector/twilio-connector/providers/pushover"
	smppprovider "github.com/twilio-connector/twilio-connector/providers/smpp"
	"github.com/twilio-connector/twilio-connector/providers/twilio"
	"github.com/twilio-connector/twilio-connector/store"
	"github.com/twilio-connector/twilio-connector/triggers"
)

// providerKinds are the provider kinds a connections file may name (provider: KIND): each
// kind's constructor, one line per kind.
var providerKinds = map[string]providers.Constructor{
	"twilio":   twilio.FromConnection,
	"pushover": pushover.Construct,
	"http":     httpchannel.Construct,
	"smpp":     smppprovider.Construct,
}

// newConnections builds the connection default from the TWILIO_* variables (without a provider
// when no credentials are set: it then serves testing mode only) and the connections of
// CONNECTOR_CONNECTIONS_FILE. Their pace buckets are kept in st when it is Redis (shared by
// the replicas), else in this process.
func newConnections(cfg config.Config, st store.Store) (providers.Connections, error) {
	var limiter pace.Limiter = pace.NewLocal()
	if r, ok := st.(*store.Redis); ok {
		limiter = r
	}
	def := &providers.Connection{Name: providers.DefaultConnection, DefaultFrom: cfg.DefaultFrom}
	if cfg.AccountSID != "" && cfg.AuthToken != "" {
		var pacer *pace.Pacer
		if cfg.Pace != nil {
			pacer = pace.New(providers.DefaultConnection, cfg.AccountSID, *cfg.Pace, limiter)
		}
		tw, err := twilio.New(twilio.Options{
			AccountSID: cfg.AccountSID, AuthToken: cfg.AuthToken, MessagingServiceSID: cfg.MessagingServiceSID,
			BaseURL: cfg.APIBaseURL, Timeout: cfg.TwilioTimeout, MaxConcurrent: cfg.TwilioConcurrency, Pace: pacer,
			MissingSender: "set it on the task, or configure TWILIO_DEFAULT_FROM or TWILIO_MESSAGING_SERVICE_SID on the connector",
		})
		if err != nil {
			return nil, err
		}
		def.Provider = tw
	}
	conns := providers.Connections{}
	if cfg.ConnectionsFile != "" {
		var err error
		conns, err = providers.Load(cfg.ConnectionsFile, providerKinds,
			providers.Settings{Timeout: cfg.TwilioTimeout, MaxConcurrent: cfg.TwilioConcurrency, Limiter: limiter}, cfg.DefaultRegion)
		if err != nil {
			return nil, fmt.Errorf("CONNECTOR_CONNECTIONS_FILE: %w", err)
		}
	}
	if _, inFile := conns[providers.DefaultConnection]; inFile {
		if def.Provider != nil {
			return nil, fmt.Errorf("CONNECTOR_CONNECTIONS_FILE: connection %s is the account of TWILIO_ACCOUNT: name the file's connection otherwise, or unset TWILIO_ACCOUNT", providers.DefaultConnection)
		}
		return conns, nil
	}
	conns[providers.DefaultConnection] = def
	return conns, nil
}

// twilioAccounts are the accounts of the twilio connections (TWILIO_* and the file's), by
// Account SID: Twilio signs an account's webhooks and status callbacks with its token, and they
// are its connection's (default, or the first by name, when connections share an account).
func twilioAccounts(conns providers.Connections) map[string]triggers.Account {
	accounts := map[string]triggers.Account{}
	for _, name := range slices.Sorted(maps.Keys(conns)) {
		tw, ok := conns[name].Provider.(*twilio.Twilio)
		if !ok {
			continue
		}
		sid, token := tw.Credentials()
		if _, seen := accounts[sid]; !seen || name == providers.DefaultConnection {
			accounts[sid] = triggers.Account{Token: token, Connection: name}
		}
	}
	return accounts
}
