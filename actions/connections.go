package actions

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"maps"
	"strings"

	"github.com/twilio-connector/twilio-connector/errs"
	"github.com/twilio-connector/twilio-connector/providers"
)

// connection returns the named connection. The default connection always exists: without a
// provider (no TWILIO_* credentials) it serves testing mode only.
func connection(conns providers.Connections, name string) (*providers.Connection, *errs.Error) {
	if name == "" || name == providers.DefaultConnection {
		if c, ok := conns[providers.DefaultConnection]; ok {
			return c, nil
		}
		return &providers.Connection{Name: providers.DefaultConnection}, nil
	}
	return conns.Get(name)
}

// addressBook checks senders and recipients: a provider, or phone rules.
type addressBook interface {
	addressing
	From(field, given, region string) (string, error)
}

// unconfigured checks addresses for a connection without a provider (testing mode, lint) as
// the default Twilio connection would.
var unconfigured = providers.Phone{TwilioSenders: true,
	MissingSender: "set it on the task, or configure TWILIO_DEFAULT_FROM or TWILIO_MESSAGING_SERVICE_SID on the connector"}

func addresses(c *providers.Connection) addressBook {
	if c.Provider == nil {
		return unconfigured
	}
	return c.Provider
}

// kind is the provider label of a connection's metrics.
func kind(c *providers.Connection) string {
	if c.Provider == nil {
		return "none"
	}
	return c.Provider.Kind()
}

// withDefaultTo returns vars with the connection's default_to as field when vars give no
// recipients; vars itself is not changed.
func withDefaultTo(vars map[string]any, field string, c *providers.Connection) map[string]any {
	if len(c.DefaultTo) == 0 {
		return vars
	}
	switch v := vars[field].(type) {
	case nil:
	case string:
		if strings.TrimSpace(v) != "" {
			return vars
		}
	case []any:
		if len(v) > 0 {
			return vars
		}
	default:
		return vars
	}
	out := maps.Clone(vars)
	if out == nil {
		out = map[string]any{}
	}
	out[field] = c.DefaultTo
	return out
}

// messageID is the connector's id of one message to one recipient: the same on every attempt
// of a request with an idempotency key, random for one-off sends.
func messageID(key, to string) string {
	if key == "" {
		return rand.Text()
	}
	sum := sha256.Sum256([]byte(key + "\x00" + to))
	return hex.EncodeToString(sum[:16])
}
