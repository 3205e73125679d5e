package triggers

import (
	"context"
	"errors"
	"time"
)

// Publisher hands a message to the process engine. Implementations must be safe for concurrent
// use and idempotent on MessageID: publishing a message whose id the engine already holds
// succeeds without a second message (Zeebe answers ALREADY_EXISTS, which counts as success).
// worker.Publisher is the Zeebe implementation.
type Publisher interface {
	Publish(ctx context.Context, m Message) error
}

// Message is one Zeebe message to publish.
type Message struct {
	Name string `json:"name"`
	// CorrelationKey is empty for message start events.
	CorrelationKey string `json:"correlationKey"`
	MessageID      string `json:"messageId"`
	// TTL is how long Zeebe buffers the message when nothing is waiting for it yet.
	TTL       time.Duration  `json:"ttl"`
	Variables map[string]any `json:"variables"`
}

// PublishError is what a Publisher returns when the engine did not take the message.
// Temporary says whether trying again unchanged may succeed (engine unavailable, overloaded,
// timeout); the outbox retries either kind, but logs permanent failures as errors.
type PublishError struct {
	Temporary bool
	Err       error
}

func (e *PublishError) Error() string { return "publish message: " + e.Err.Error() }
func (e *PublishError) Unwrap() error { return e.Err }

// IsTemporary reports whether err is a temporary publish failure.
func IsTemporary(err error) bool {
	var pe *PublishError
	return errors.As(err, &pe) && pe.Temporary
}
