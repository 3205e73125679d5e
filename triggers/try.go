package triggers

import (
	"fmt"
	"strings"
	"time"
)

// Tried is what Try prints: whether the message matched, its groups, whether the trigger's
// activationCondition let it fire, the message it would publish (or the property that failed)
// and the rendered replies (or why a reply template failed). The JSON is the output of
// `twilio-connector match`.
type Tried struct {
	Matched     bool           `json:"matched"`
	MatchGroups map[string]any `json:"matchGroups,omitempty"`
	// Activated is the activationCondition's verdict, nil without one (or without a match).
	Activated *bool `json:"activated,omitempty"`
	// PropertyError names the FEEL property that failed on this message: the trigger would
	// not fire (the webhook logs it as a warning).
	PropertyError string `json:"propertyError,omitempty"`
	// Publishes is the Zeebe message the trigger would publish; nil when it would not fire.
	Publishes        *TriedMessage `json:"publishes,omitempty"`
	Echo             *string       `json:"echo,omitempty"`
	EchoRenderError  string        `json:"echoRenderError,omitempty"`
	EchoError        *string       `json:"echoError,omitempty"`
	EchoErrorRenderE string        `json:"echoErrorRenderError,omitempty"`
}

// TriedMessage is the Zeebe message a trigger would publish.
type TriedMessage struct {
	Name           string         `json:"name"`
	CorrelationKey string         `json:"correlationKey"`
	MessageID      string         `json:"messageId"`
	TTL            string         `json:"ttl"` // as time.Duration prints it (0s, 1h0m0s)
	Variables      map[string]any `json:"variables"`
}

// TryExample is the id of the message Try renders the replies for (the messageSid variable).
const TryExample = "SM00000000000000000000000000000000"

// TryReceivedAt is when the message Try tries arrived (the receivedAt variable): a fixed
// example, so trying the same trigger twice prints the same.
var TryReceivedAt = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

// TryMessageName is the message name Try uses when the definition has none.
const TryMessageName = "match"

// Try tries a trigger (its pattern, FEEL properties and reply templates; Kind "" is a start
// event) on one message, offline, with the matcher, FEEL evaluation and template engine the
// webhook uses; from and to are the sender and receiving numbers. Start events without
// messageTtl get DefaultMessageTTL, as `run` does unless CONNECTOR_MESSAGE_TTL says otherwise.
// The replies are rendered only when the trigger fires, as the webhook replies. The error is
// a definition error (naming the field) or a pattern failure (a match timeout, not a
// *DefinitionError).
func Try(d Definition, message, from, to string) (Tried, error) {
	if d.MessageName == "" {
		d.MessageName = TryMessageName
	}
	t, err := Compile(d, 0)
	if err != nil {
		return Tried{}, err
	}
	groups, ok, err := t.Pattern().Match(message)
	if err != nil {
		return Tried{}, fmt.Errorf("%s: %w", FieldPattern, err)
	}
	out := Tried{Matched: ok, MatchGroups: groups}
	if !ok {
		return out, nil
	}
	in := Inbound{Key: TryExample, ID: TryExample, From: from, To: to, Text: message,
		Channel: TwilioChannel(from), Connection: DefaultConnection, ReceivedAt: TryReceivedAt}
	if t.Connection != "" {
		in.Connection = t.Connection
	}
	if t.activation != nil {
		if active, err := t.activated(feelVars(groups, in)); err == nil {
			out.Activated = &active
		}
	}
	f, err := t.fire(groups, in, DefaultMessageTTL)
	if err != nil {
		out.PropertyError = err.Error()
	}
	if f == nil {
		return out, nil
	}
	out.Publishes = &TriedMessage{Name: f.msg.Name, CorrelationKey: f.msg.CorrelationKey, MessageID: f.msg.MessageID,
		TTL: f.msg.TTL.String(), Variables: f.msg.Variables}
	if d.Echo != "" {
		if s, err := t.Render(false, groups, in); err != nil {
			out.EchoRenderError = err.Error()
		} else {
			out.Echo = &s
		}
	}
	if d.EchoError != "" {
		if s, err := t.Render(true, groups, in); err != nil {
			out.EchoErrorRenderE = err.Error()
		} else {
			out.EchoError = &s
		}
	}
	return out, nil
}

// CheckSample evaluates t's FEEL properties on a sample message, as the webhook would: every
// named group of the pattern matched "1" (a string that number() takes too), from +15005550101 to +15005550006. It returns
// the field and error of the first property that fails on it (a misspelt group, a result
// that is not a context), "" and nil when none does; lint reports it. The other properties
// are evaluated even when the activationCondition is not true for the sample.
func (t *Trigger) CheckSample() (field string, err error) {
	groups := make(map[string]any, len(t.pattern.Groups))
	for _, g := range t.pattern.Groups {
		groups[g] = "1"
	}
	from := "+15005550101"
	in := Inbound{Key: TryExample, ID: TryExample, From: from, To: "+15005550006", Text: "1",
		Channel: TwilioChannel(from), Connection: DefaultConnection, ReceivedAt: TryReceivedAt}
	if _, err := t.activated(feelVars(groups, in)); err != nil {
		return FieldActivationCondition, err
	}
	active := *t
	active.activation = nil
	if _, err := active.fire(groups, in, DefaultMessageTTL); err != nil {
		for _, f := range []string{FieldCorrelationKey, FieldMessageID, FieldResultExpression} {
			if strings.HasPrefix(err.Error(), f) {
				return f, err
			}
		}
		return "", err
	}
	return "", nil
}
