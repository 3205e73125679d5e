package worker

import (
	"context"
	"errors"

	"github.com/camunda/zeebe/clients/go/v8/pkg/zbc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/twilio-connector/twilio-connector/triggers"
)

// Publisher publishes the SMS_RECEIVED trigger's messages to Zeebe. Publishing is idempotent:
// the trigger derives each message id from the Twilio MessageSid, and Zeebe's ALREADY_EXISTS
// (a message with that id is still buffered) counts as success.
type Publisher struct {
	client zbc.Client
}

var _ triggers.Publisher = (*Publisher)(nil)

// NewPublisher returns a Publisher over client. It is safe for concurrent use.
func NewPublisher(client zbc.Client) *Publisher { return &Publisher{client: client} }

// Publish sends one PublishMessage command. Failures are *triggers.PublishError, Temporary for
// the gRPC codes that may succeed later unchanged (UNAVAILABLE, RESOURCE_EXHAUSTED,
// DEADLINE_EXCEEDED, and a cancelled or timed-out context).
func (p *Publisher) Publish(ctx context.Context, m triggers.Message) error {
	cmd := p.client.NewPublishMessageCommand().MessageName(m.Name).CorrelationKey(m.CorrelationKey).
		MessageId(m.MessageID).TimeToLive(m.TTL)
	if m.Variables != nil {
		var err error
		if cmd, err = cmd.VariablesFromMap(m.Variables); err != nil {
			return &triggers.PublishError{Err: err}
		}
	}
	_, err := cmd.Send(ctx)
	return classifyPublish(err)
}

func classifyPublish(err error) error {
	if err == nil {
		return nil
	}
	switch status.Code(err) {
	case codes.AlreadyExists:
		return nil
	case codes.Unavailable, codes.ResourceExhausted, codes.DeadlineExceeded:
		return &triggers.PublishError{Temporary: true, Err: err}
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return &triggers.PublishError{Temporary: true, Err: err}
	}
	return &triggers.PublishError{Err: err}
}
