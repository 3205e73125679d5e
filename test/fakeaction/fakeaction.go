// Package fakeaction is an actions.Action for transport tests: it records the idempotency key
// of each invocation and answers one queued SMS, or, while blocked, waits.
package fakeaction

import (
	"context"
	"sync"

	"github.com/twilio-connector/twilio-connector/actions"
	"github.com/twilio-connector/twilio-connector/errs"
)

// SID is the sid of the SMS every invocation answers, to +12345000000.
const SID = "SM00000000000000000000000000000001"

// Action records invocations; Block, when set, holds each one until it is closed or the
// context ends (then it fails with TWILIO_CONNECTION_ERROR "cut off").
type Action struct {
	Block chan struct{}

	mu   sync.Mutex
	keys []string
}

// Invoke records inv's idempotency key and answers.
func (f *Action) Invoke(ctx context.Context, inv actions.Invocation) (actions.Result, error) {
	f.mu.Lock()
	f.keys = append(f.keys, inv.IdempotencyKey)
	f.mu.Unlock()
	if f.Block != nil {
		select {
		case <-f.Block:
		case <-ctx.Done():
			e := &errs.Error{Code: errs.Connection, Message: "cut off"}
			return actions.Result{TwilioError: []actions.RecipientError{{Code: e.Code, Message: e.Message}}}, e
		}
	}
	sid := SID
	return actions.Result{TwilioResult: []actions.RecipientResult{{To: "+12345000000", SID: &sid, Status: "queued"}}}, nil
}

// Invocations are the idempotency keys of the invocations so far, in order.
func (f *Action) Invocations() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.keys...)
}
