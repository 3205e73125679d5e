package console

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"maps"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/twilio-connector/twilio-connector/actions"
	"github.com/twilio-connector/twilio-connector/errs"
	"github.com/twilio-connector/twilio-connector/providers"
	"github.com/twilio-connector/twilio-connector/providers/segments"
	"github.com/twilio-connector/twilio-connector/templates"
	"github.com/twilio-connector/twilio-connector/triggers"
)

// sendForm is the Send page's form and what the send gave.
type sendForm struct {
	Connections                      []string
	Connection, From, To, Body, Vars string
	Testing                          bool
	RequestID                        string // the send's idempotency key: a form submitted twice sends once
	Problem                          string // the variables are not a JSON object
	Rendered, RenderError, Encoding  string
	Segments                         int
	Result                           string // the result JSON, as a job completes with
	Transient                        string // the transient failure, if any
	Sent                             bool
}

func (c *Console) connectionNames() []string {
	return slices.Sorted(maps.Keys(c.opts.Connections))
}

func (c *Console) sendPage(w http.ResponseWriter, r *http.Request, s *session) {
	f := sendForm{Connections: c.connectionNames(), Connection: providers.DefaultConnection, Vars: "{}", Testing: true, RequestID: rand.Text()}
	c.render(w, http.StatusOK, "send", page{Title: "Send", CSRF: s.csrf, Data: f})
}

func (c *Console) send(w http.ResponseWriter, r *http.Request, s *session) {
	f := sendForm{
		Connections: c.connectionNames(), Connection: r.PostFormValue("connection"), From: r.PostFormValue("from"),
		To: r.PostFormValue("to"), Body: r.PostFormValue("body"), Vars: r.PostFormValue("variables"),
		Testing: r.PostFormValue("testing") != "", RequestID: r.PostFormValue("requestId"),
	}
	status := http.StatusOK
	defer func() {
		f.RequestID = rand.Text() // the next submission is a new request
		c.render(w, status, "send", page{Title: "Send", CSRF: s.csrf, Data: f})
	}()
	vars := map[string]any{}
	if strings.TrimSpace(f.Vars) != "" {
		dec := json.NewDecoder(strings.NewReader(f.Vars))
		dec.UseNumber()
		if err := dec.Decode(&vars); err != nil || vars == nil {
			f.Problem = "variables must be a JSON object such as {\"orderId\": \"A-7\"}"
			if err != nil {
				f.Problem += ": " + err.Error()
			}
			status = http.StatusBadRequest
			return
		}
	}
	if t, err := templates.Compile(actions.FieldSMSBody, f.Body, templates.Freemarker); err != nil {
		f.RenderError = errs.As(err).Message
	} else if body, err := t.Render(vars); err != nil {
		f.RenderError = errs.As(err).Message
	} else {
		f.Rendered = body
		n, enc := segments.Count(body)
		f.Segments, f.Encoding = n, string(enc)
	}
	vars[actions.FieldSMSFrom] = f.From
	vars[actions.FieldSMSTo] = f.To
	vars[actions.FieldSMSBody] = f.Body
	vars[actions.FieldSMSTesting] = f.Testing
	inv := actions.Invocation{Connection: f.Connection, Vars: vars}
	if f.RequestID != "" {
		inv.IdempotencyKey = "console/" + f.RequestID
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(r.Context()), c.opts.Timeout)
	defer cancel()
	res, err := c.opts.Messages.Invoke(ctx, inv)
	if err != nil {
		f.Transient = "transient failure, the result says who got nothing; submit again to send only what is missing: " + errs.As(err).Message
		f.RequestID = inv.IdempotencyKey
	}
	if res.TwilioResult == nil {
		res.TwilioResult = []actions.RecipientResult{}
	}
	out, _ := json.MarshalIndent(res, "", "  ")
	f.Result, f.Sent = string(out), true
}

// tryForm is the Try a trigger page's form and the match output.
type tryForm struct {
	Pattern, Echo, EchoError, Message, From, To string
	Problem                                     string
	Output                                      string // as twilio-connector match prints it
	Tried                                       *triggers.Tried
}

func (c *Console) tryPage(w http.ResponseWriter, r *http.Request, s *session) {
	c.render(w, http.StatusOK, "try", page{Title: "Try a trigger", CSRF: s.csrf, Data: tryForm{From: "+15005550101", To: "+15005550006"}})
}

func (c *Console) try(w http.ResponseWriter, r *http.Request, s *session) {
	f := tryForm{Pattern: r.PostFormValue("pattern"), Echo: r.PostFormValue("echo"), EchoError: r.PostFormValue("echoError"),
		Message: r.PostFormValue("message"), From: r.PostFormValue("from"), To: r.PostFormValue("to")}
	status := http.StatusOK
	if tried, err := triggers.Try(triggers.Definition{Pattern: f.Pattern, Echo: f.Echo, EchoError: f.EchoError}, f.Message, f.From, f.To); err != nil {
		f.Problem, status = err.Error(), http.StatusBadRequest
	} else {
		out, _ := json.MarshalIndent(tried, "", "  ")
		f.Output, f.Tried = string(out), &tried
	}
	c.render(w, status, "try", page{Title: "Try a trigger", CSRF: s.csrf, Data: f})
}

// triggerRow is one loaded trigger.
type triggerRow struct {
	Source, Element, MessageName, Kind, Pattern, Connection, To string
	TTL                                                         time.Duration
	Properties                                                  []property // the FEEL properties set
}

// property is one of a trigger's FEEL properties, named as in a triggers file.
type property struct{ Name, Expression string }

func properties(d triggers.Definition) []property {
	var out []property
	for _, p := range []property{
		{triggers.FieldActivationCondition, d.ActivationCondition}, {triggers.FieldCorrelationKey, d.CorrelationKeyExpression},
		{triggers.FieldResultExpression, d.ResultExpression}, {triggers.FieldMessageID, d.MessageIDExpression},
	} {
		if p.Expression != "" {
			out = append(out, p)
		}
	}
	return out
}

func (c *Console) triggersPage(w http.ResponseWriter, r *http.Request, s *session) {
	var rows []triggerRow
	for _, t := range c.opts.Triggers.Triggers() {
		el := t.Element
		if t.Process != "" {
			el = t.Process + "/" + el
		}
		conn := t.Connection
		if conn == "" {
			conn = providers.DefaultConnection
		}
		rows = append(rows, triggerRow{Source: t.Source, Element: el, MessageName: t.MessageName, Kind: string(t.Kind),
			Pattern: t.Definition.Pattern, Connection: conn, To: t.To, TTL: t.TTL(c.opts.MessageTTL),
			Properties: properties(t.Definition)})
	}
	c.render(w, http.StatusOK, "triggers", page{Title: "Triggers", CSRF: s.csrf, Data: rows})
}

// activity is the Activity page's data.
type activity struct {
	Sends   []SendRecord
	Inbound []inboundRow
}

type inboundRow struct {
	InboundRecord
	Matches []matchRow
}

type matchRow struct {
	triggers.ObservedMatch
	State string // published, waiting in the outbox, published by the outbox
}

func (c *Console) activity(ctx context.Context) activity {
	sends, inbound := c.opts.Activity.Snapshot()
	a := activity{Sends: sends}
	for _, in := range inbound {
		row := inboundRow{InboundRecord: in}
		for _, m := range in.Matches {
			state := "published"
			if !m.Published {
				state = "waiting in the outbox"
				if c.opts.Store != nil {
					if _, found, err := c.opts.Store.Get(ctx, triggers.OutboxBucket, m.MessageID); err == nil && !found {
						state = "published by the outbox"
					}
				}
			}
			row.Matches = append(row.Matches, matchRow{ObservedMatch: m, State: state})
		}
		a.Inbound = append(a.Inbound, row)
	}
	return a
}

func (c *Console) activityPage(w http.ResponseWriter, r *http.Request, s *session) {
	c.render(w, http.StatusOK, "activity", page{Title: "Activity", CSRF: s.csrf, Data: c.activity(r.Context())})
}

// activityLive is the Activity page's tables alone, which its script fetches every few
// seconds.
func (c *Console) activityLive(w http.ResponseWriter, r *http.Request, _ *session) {
	c.execute(w, http.StatusOK, c.pages["activity"], "tables", c.activity(r.Context()))
}

// health is the Health page's data.
type health struct {
	Checks      []checkRow
	Connections []connectionRow
}

type checkRow struct{ Name, State, Reason string }

type connectionRow struct{ Name, Provider, State, Reason string }

// providerHealth is implemented by providers that hold a session to their service and can
// tell whether it is up now (SMPP: the bind).
type providerHealth interface {
	Bound(context.Context) error
}

func (c *Console) healthPage(w http.ResponseWriter, r *http.Request, s *session) {
	var h health
	if c.opts.Health != nil {
		for _, ch := range c.opts.Health(r.Context()) {
			row := checkRow{Name: ch.Name, State: "up"}
			if ch.Err != nil {
				row.State, row.Reason = "down", ch.Err.Error()
			}
			h.Checks = append(h.Checks, row)
		}
	}
	for _, name := range c.connectionNames() {
		conn := c.opts.Connections[name]
		row := connectionRow{Name: name, Provider: "none", State: "testing only", Reason: "no credentials: it validates and renders (testing), sends nothing"}
		if conn.Provider != nil {
			row.Provider, row.State, row.Reason = conn.Provider.Kind(), "configured", "the provider has no health check: a send shows whether it works"
			if ph, ok := conn.Provider.(providerHealth); ok {
				ctx, cancel := context.WithTimeout(r.Context(), time.Second)
				err := ph.Bound(ctx)
				cancel()
				row.State, row.Reason = "up", ""
				if err != nil {
					row.State, row.Reason = "down", err.Error()
				}
			}
		}
		h.Connections = append(h.Connections, row)
	}
	c.render(w, http.StatusOK, "health", page{Title: "Health", CSRF: s.csrf, Data: h})
}
