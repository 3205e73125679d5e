package main

import (
	"context"
	"log/slog"
	"maps"
	"slices"
	"time"

	"github.com/twilio-connector/twilio-connector/providers"
	smppprovider "github.com/twilio-connector/twilio-connector/providers/smpp"
	"github.com/twilio-connector/twilio-connector/smpp"
	"github.com/twilio-connector/twilio-connector/triggers"
)

// smppBindWait is how long the start waits for each SMPP connection's first bind before it
// logs why there is none (the session keeps trying; /readyz says it meanwhile).
const smppBindWait = 10 * time.Second

// smppConnections are the connections of provider smpp, by name.
func smppConnections(conns providers.Connections) map[string]*smppprovider.Provider {
	out := map[string]*smppprovider.Provider{}
	for name, c := range conns {
		if p, ok := c.Provider.(*smppprovider.Provider); ok {
			out[name] = p
		}
	}
	return out
}

// startSMPP opens the session of every smpp connection with the SMSC's deliver_sm going to ch
// (mobile-originated messages to the trigger pipeline, receipts to the status messages), adds
// each to the readiness checks, and logs one error per connection that cannot bind at start.
// The returned function closes the sessions.
func startSMPP(ctx context.Context, conns providers.Connections, ch *triggers.SMPPChannel, ready *readiness, log *slog.Logger) (stop func()) {
	ps := smppConnections(conns)
	for _, name := range slices.Sorted(maps.Keys(ps)) {
		p := ps[name]
		p.Start(log.With("component", "smpp"), func(ctx context.Context, d smpp.Deliver) error {
			if r := d.Receipt; r != nil {
				// A receipt comes from the recipient's handset to the message's sender.
				return ch.Receipt(ctx, name, triggers.SMPPReceipt{MessageID: r.MessageID, Stat: r.Stat, Err: r.Err, To: d.From, From: d.To})
			}
			return ch.Receive(ctx, name, d.From, d.To, d.Text)
		})
		ready.add("smpp "+name, p.Bound)
		go func() {
			if err := firstBind(ctx, p); err != nil {
				log.Error("SMPP connection is not bound: nothing can be sent through it nor received from it until it is (it keeps trying)",
					"connection", name, "err", err)
			}
		}()
	}
	return func() { closeSMPP(conns, log) }
}

// firstBind waits for the session's first bind: nil once bound, the reason when the SMSC
// refused the bind (a wrong password is not going to get better) or none came within
// smppBindWait, nil too when ctx ends first.
func firstBind(ctx context.Context, p *smppprovider.Provider) error {
	bctx, cancel := context.WithTimeout(ctx, smppBindWait)
	defer cancel()
	if err := p.Bound(bctx); err != nil && ctx.Err() == nil {
		return err
	}
	return nil
}

// closeSMPP unbinds and closes the session of every smpp connection.
func closeSMPP(conns providers.Connections, log *slog.Logger) {
	for name, p := range smppConnections(conns) {
		if err := p.Close(); err != nil {
			log.Warn("SMPP unbind failed", "connection", name, "err", err)
		}
	}
}
