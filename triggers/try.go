package triggers

import "fmt"

// Tried is what Try prints: whether the message matched, its groups and the rendered
// replies (or why a reply template failed). The JSON is the output of `twilio-connector match`.
type Tried struct {
	Matched          bool           `json:"matched"`
	MatchGroups      map[string]any `json:"matchGroups,omitempty"`
	Echo             *string        `json:"echo,omitempty"`
	EchoRenderError  string         `json:"echoRenderError,omitempty"`
	EchoError        *string        `json:"echoError,omitempty"`
	EchoErrorRenderE string         `json:"echoErrorRenderError,omitempty"`
}

// TryExample is the id of the message Try renders the replies for (the messageSid variable).
const TryExample = "SM00000000000000000000000000000000"

// Try tries a trigger's pattern and reply templates on one message, offline, with the matcher
// and template engine the webhook uses; from and to are the sender and receiving numbers of
// the reply variables. The error is a definition error (naming the field) or a pattern
// failure (a match timeout, not a *DefinitionError).
func Try(pattern, echo, echoError, message, from, to string) (Tried, error) {
	t, err := Compile(Definition{MessageName: "match",
		Pattern: pattern, Echo: echo, EchoError: echoError}, 0)
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
	in := Inbound{ID: TryExample, From: from, To: to, Text: message, Channel: TwilioChannel(from), Connection: DefaultConnection}
	if echo != "" {
		if s, err := t.Render(false, groups, in); err != nil {
			out.EchoRenderError = err.Error()
		} else {
			out.Echo = &s
		}
	}
	if echoError != "" {
		if s, err := t.Render(true, groups, in); err != nil {
			out.EchoErrorRenderE = err.Error()
		} else {
			out.EchoError = &s
		}
	}
	return out, nil
}
