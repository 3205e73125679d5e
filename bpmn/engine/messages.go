package engine

import (
	"maps"
	"slices"
	"time"

	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/twilio-connector/twilio-connector/bpmn"
)

// Message correlation, as in Zeebe:
//
//   - A published message is buffered for its time to live (TTL 0: not buffered; it only
//     reaches subscriptions open at publish time). While buffered, another message with the same
//     name, correlation key and messageId is rejected with ALREADY_EXISTS.
//   - A message is correlated at most once per process (BPMN process id): to one waiting
//     element of one instance, or to one new instance via a message start event.
//   - A message start event of the latest version of a process starts an instance for every
//     message with its name. If the message has a correlation key, no second instance of that
//     process is started for the same key while one started that way is active; the message
//     stays buffered and starts the next instance when the active one ends (if its TTL allows).
//   - An element waiting for a message (receive task, intermediate catch event) evaluates its
//     correlation key on activation and takes the oldest buffered message that matches, else
//     waits for one to be published.
//
// Buffered messages are not correlated to message start events of processes deployed after
// publication.

type message struct {
	key            int64
	name           string
	correlationKey string
	id             string
	vars           map[string]any
	expires        time.Time
	correlated     map[string]bool // BPMN process ids
	instances      []int64         // process instances it was correlated to or started
}

func (m *message) alive(now time.Time) bool { return now.Before(m.expires) }

type subscription struct {
	ei             *elementInstance
	name           string
	correlationKey string
}

// maxMessageHistory bounds how many expired messages are kept for PublishedMessages.
const maxMessageHistory = 10000

// publishMessage publishes a message and correlates it; it returns the message key.
func (e *Engine) publishMessage(name, correlationKey, messageID string, ttl time.Duration, vars map[string]any) (int64, error) {
	if name == "" {
		return 0, status.Error(codes.InvalidArgument, "Expected message name to be non-empty")
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	now := time.Now()
	if messageID != "" {
		for _, m := range e.messages {
			if m.alive(now) && m.id == messageID && m.name == name && m.correlationKey == correlationKey {
				return 0, status.Errorf(codes.AlreadyExists, "Command 'PUBLISH' rejected with code 'ALREADY_EXISTS': Expected to publish a new message with id '%s', but a message with that id was already published", messageID)
			}
		}
	}
	m := &message{
		key:            e.nextKey(),
		name:           name,
		correlationKey: correlationKey,
		id:             messageID,
		vars:           vars,
		expires:        now.Add(max(ttl, 0)),
		correlated:     map[string]bool{},
	}
	e.pruneMessages(now)
	e.messages = append(e.messages, m)
	e.log.Debug("message published", "name", name, "correlationKey", correlationKey, "messageId", messageID, "ttl", ttl)

	// Waiting instances first, then message start events, as Zeebe does.
	for _, sub := range slices.Clone(e.subscriptions) {
		if sub.ei.sub != sub || sub.name != name || sub.correlationKey != correlationKey {
			continue
		}
		if m.correlated[sub.ei.inst.proc.def.ID] {
			continue
		}
		e.correlate(m, sub.ei)
	}
	for _, pid := range slices.Sorted(maps.Keys(e.versions)) {
		e.tryStartByMessage(e.latest(pid), m)
	}
	e.broadcast()
	return m.key, nil
}

// tryStartByMessage starts an instance of proc if one of its message start events takes m.
func (e *Engine) tryStartByMessage(proc *process, m *message) bool {
	pid := proc.def.ID
	if m.correlated[pid] {
		return false
	}
	var start *bpmn.Element
	for _, s := range proc.messageStarts {
		if s.Message.Name == m.name {
			start = s
			break
		}
	}
	if start == nil {
		return false
	}
	if m.correlationKey != "" {
		for _, inst := range e.instances {
			if inst.state == StateActive && inst.proc.def.ID == pid && inst.startCorrelationKey == m.correlationKey {
				return false
			}
		}
	}
	inst := e.newInstance(proc, map[string]any{})
	inst.startCorrelationKey = m.correlationKey
	m.correlated[pid] = true
	m.instances = append(m.instances, inst.key)
	e.enter(inst, start, copyVars(m.vars))
	return true
}

// releaseStartLock starts the next instance for a correlation key whose message-started
// instance just ended, from the oldest buffered message waiting for it.
func (e *Engine) releaseStartLock(ended *instance) {
	if ended.startCorrelationKey == "" {
		return
	}
	proc := e.latest(ended.proc.def.ID)
	now := time.Now()
	for _, m := range e.messages {
		if m.alive(now) && m.correlationKey == ended.startCorrelationKey && e.tryStartByMessage(proc, m) {
			return
		}
	}
}

// openSubscription makes ei wait for a message, correlating a buffered one at once if any.
func (e *Engine) openSubscription(ei *elementInstance, correlationKey string) {
	name := ei.el.Message.Name
	pid := ei.inst.proc.def.ID
	now := time.Now()
	for _, m := range e.messages {
		if m.alive(now) && m.name == name && m.correlationKey == correlationKey && !m.correlated[pid] {
			e.correlate(m, ei)
			return
		}
	}
	sub := &subscription{ei: ei, name: name, correlationKey: correlationKey}
	ei.sub = sub
	e.subscriptions = append(e.subscriptions, sub)
}

func (e *Engine) closeSubscription(sub *subscription) {
	e.subscriptions = slices.DeleteFunc(e.subscriptions, func(s *subscription) bool { return s == sub })
}

func (e *Engine) correlate(m *message, ei *elementInstance) {
	m.correlated[ei.inst.proc.def.ID] = true
	m.instances = append(m.instances, ei.inst.key)
	if ei.sub != nil {
		e.closeSubscription(ei.sub)
		ei.sub = nil
	}
	e.complete(ei, copyVars(m.vars), ei.el.Outgoing)
}

// pruneMessages drops the oldest expired messages beyond maxMessageHistory.
func (e *Engine) pruneMessages(now time.Time) {
	excess := len(e.messages) - maxMessageHistory
	if excess <= 0 {
		return
	}
	e.messages = slices.DeleteFunc(e.messages, func(m *message) bool {
		if excess > 0 && !m.alive(now) {
			excess--
			return true
		}
		return false
	})
}
