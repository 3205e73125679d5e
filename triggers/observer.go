package triggers

// Observer is told what the inbound endpoints did, for a live view (the console's Activity
// page). It is called on the request's goroutine after the work is done and must return
// quickly; nil Options.Observer or StatusOptions.Observer means nobody watches.
type Observer interface {
	// Received reports an inbound message handled for the first time (redeliveries are not
	// reported), whatever channel it came in on.
	Received(Observed)
	// Status reports a delivery status callback, progress or final, for the message or call
	// id (a SID for Twilio) sent through connection.
	Status(connection, id, status string)
}

// Observed is what the pipeline did with one inbound message.
type Observed struct {
	Inbound
	// Outcome is OutcomePublished, OutcomeEngineFailed (kept in the outbox), OutcomeNoMatch or
	// OutcomeOptOut.
	Outcome string
	Matches []ObservedMatch
}

// ObservedMatch is one trigger that matched an inbound message.
type ObservedMatch struct {
	Trigger     string // where it is defined (Definition.Where)
	MessageName string
	// MessageID is the published message's id, also its key in OutboxBucket while it waits
	// there.
	MessageID string
	Published bool
}

func observed(in Inbound, outcome string, matches []*fired) Observed {
	o := Observed{Inbound: in, Outcome: outcome}
	for _, f := range matches {
		o.Matches = append(o.Matches, ObservedMatch{Trigger: f.t.Where(), MessageName: f.msg.Name, MessageID: f.msg.MessageID, Published: f.ok})
	}
	return o
}
