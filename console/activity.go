package console

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/twilio-connector/twilio-connector/actions"
	"github.com/twilio-connector/twilio-connector/triggers"
)

// DefaultActivitySize is how many sends (one per recipient) and inbound messages Activity
// keeps when NewActivity is given 0.
const DefaultActivitySize = 100

// Activity keeps the last sends and inbound messages in memory for the Activity page. It is
// fed through narrow hooks, never by reading logs: Observe wraps the actions every entry
// point runs, and it is the triggers.Observer of the inbound endpoints and status callbacks.
// It is safe for concurrent use.
type Activity struct {
	size int
	now  func() time.Time

	mu       sync.Mutex
	sends    []SendRecord    // oldest first, at most size
	inbound  []InboundRecord // oldest first, at most size
	statuses map[string]string
	order    []string // keys of statuses, oldest first, at most 4*size
}

// SendRecord is one recipient of one send.
type SendRecord struct {
	At         time.Time
	Action     string // send_sms, make_call
	Connection string
	To         string
	SID        string // "" when nothing was sent
	Status     string // the latest delivery status known
	Error      string // the error code when it failed
}

// InboundRecord is one inbound message and what became of it.
type InboundRecord struct {
	At                          time.Time
	Connection, Channel         string
	From, To, Text, Outcome, ID string
	Matches                     []triggers.ObservedMatch
}

var _ triggers.Observer = (*Activity)(nil)

// NewActivity returns an empty activity log keeping size entries of each kind.
func NewActivity(size int) *Activity {
	if size <= 0 {
		size = DefaultActivitySize
	}
	return &Activity{size: size, now: time.Now, statuses: map[string]string{}}
}

// Observe returns act recording every result it gives in a.
func (a *Activity) Observe(name string, act actions.Action) actions.Action {
	return observed{a: a, name: name, next: act}
}

type observed struct {
	a    *Activity
	name string
	next actions.Action
}

func (o observed) Invoke(ctx context.Context, inv actions.Invocation) (actions.Result, error) {
	res, err := o.next.Invoke(ctx, inv)
	o.a.sent(o.name, inv.Connection, res)
	return res, err
}

func (a *Activity) sent(action, connection string, res actions.Result) {
	if connection == "" {
		connection = "default"
	}
	failed := map[string]string{}
	for _, e := range res.TwilioError {
		if e.To != nil {
			failed[*e.To] = string(e.Code)
		}
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	for _, r := range res.TwilioResult {
		rec := SendRecord{At: now, Action: action, Connection: connection, To: r.To, Status: r.Status, Error: failed[r.To]}
		if r.SID != nil {
			rec.SID = *r.SID
		}
		a.sends = appendBounded(a.sends, rec, a.size)
	}
	if len(res.TwilioResult) == 0 {
		for _, e := range res.TwilioError { // the request failed as a whole
			a.sends = appendBounded(a.sends, SendRecord{At: now, Action: action, Connection: connection, Status: actions.StatusFailed, Error: string(e.Code)}, a.size)
		}
	}
}

// Received records an inbound message (triggers.Observer).
func (a *Activity) Received(o triggers.Observed) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.inbound = appendBounded(a.inbound, InboundRecord{
		At: o.ReceivedAt, Connection: o.Connection, Channel: o.Channel, From: o.From, To: o.To, Text: o.Text,
		Outcome: o.Outcome, ID: o.ID, Matches: slices.Clone(o.Matches),
	}, a.size)
}

// Status records a delivery status (triggers.Observer). It may arrive before the send's
// result (the provider calls back while the send is still being recorded), and callbacks may
// arrive out of order: a status never replaces a later one.
func (a *Activity) Status(_, id, status string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	old, known := a.statuses[id]
	if known && statusRank(status) < statusRank(old) {
		return
	}
	if !known {
		a.order = append(a.order, id)
		if len(a.order) > 4*a.size {
			delete(a.statuses, a.order[0])
			a.order = a.order[1:]
		}
	}
	a.statuses[id] = status
}

// statusRank orders delivery statuses, Twilio's and the HTTP channel's, messages' and calls'.
func statusRank(s string) int {
	switch s {
	case "accepted", "scheduled", "queued", "initiated":
		return 1
	case "sending", "ringing":
		return 2
	case "sent", "in-progress":
		return 3
	case "read":
		return 5
	case "delivered", "undelivered", "failed", "canceled", "completed", "busy", "no-answer":
		return 4
	}
	return 0
}

// Snapshot returns the sends and inbound messages, newest first, each send with its latest
// delivery status.
func (a *Activity) Snapshot() ([]SendRecord, []InboundRecord) {
	a.mu.Lock()
	defer a.mu.Unlock()
	sends := slices.Clone(a.sends)
	for i := range sends {
		if s, ok := a.statuses[sends[i].SID]; ok && sends[i].SID != "" && statusRank(s) >= statusRank(sends[i].Status) {
			sends[i].Status = s
		}
	}
	slices.Reverse(sends)
	inbound := slices.Clone(a.inbound)
	slices.Reverse(inbound)
	return sends, inbound
}

func appendBounded[T any](s []T, v T, size int) []T {
	s = append(s, v)
	if len(s) > size {
		s = slices.Delete(s, 0, len(s)-size)
	}
	return s
}
