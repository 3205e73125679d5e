package actions

import (
	"context"
	"testing"
	"time"

	"github.com/twilio-connector/twilio-connector/errs"
	"github.com/twilio-connector/twilio-connector/providers"
	"github.com/twilio-connector/twilio-connector/store"
)

// byRecipient is a keyProvider answering each recipient with its own error.
type byRecipient struct {
	keyProvider
	errs map[string]error
}

func (p *byRecipient) Send(ctx context.Context, m providers.Message) (providers.Sent, error) {
	if err := p.errs[m.To]; err != nil {
		return providers.Sent{}, err
	}
	return p.keyProvider.Send(ctx, m)
}

// A send held back by its pace keeps the job's retries (worker.decide); when another recipient
// failed transiently for real, that failure is the one reported, so that a job failing for
// real uses up its retries and does not come back forever.
func TestPacedFailureReportedLast(t *testing.T) {
	paced := &errs.Error{Code: errs.RateLimited, Paced: true, RetryAfter: time.Minute, Message: "paced"}
	down := &errs.Error{Code: errs.Connection, Message: "no answer"}
	for _, order := range [][]string{{"uPaced", "uDown", "uOK"}, {"uOK", "uDown", "uPaced"}} {
		p := &byRecipient{errs: map[string]error{"uPaced": paced, "uDown": down}}
		sms := NewSMS(providers.Connections{providers.DefaultConnection: {Name: providers.DefaultConnection, Provider: p}},
			&Delivery{Kind: "sms", Store: store.NewMemory(0), Attempts: 1}, SMSOptions{})
		_, err := sms.Invoke(context.Background(), Invocation{IdempotencyKey: "job:1",
			Vars: map[string]any{FieldSMSTo: order, FieldSMSBody: "hi"}})
		if e := errs.As(err); e == nil || e.Code != errs.Connection || e.Paced {
			t.Fatalf("recipients %v: transient error %v, want the connection failure", order, err)
		}
		p.errs = map[string]error{"uPaced": paced}
		_, err = sms.Invoke(context.Background(), Invocation{IdempotencyKey: "job:2",
			Vars: map[string]any{FieldSMSTo: order, FieldSMSBody: "hi"}})
		if e := errs.As(err); e == nil || !e.Paced {
			t.Fatalf("recipients %v, only one paced: transient error %v, want the paced one", order, err)
		}
	}
}
