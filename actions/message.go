package actions

import (
	"context"
	"regexp"
	"strings"
	"time"

	"github.com/twilio-connector/twilio-connector/errs"
	"github.com/twilio-connector/twilio-connector/providers"
)

// FieldMessageSID is the input of cancel_message and get_message: the sid a send returned.
const FieldMessageSID = "messageSid"

var messageSIDPattern = regexp.MustCompile(`^(SM|MM)[0-9a-fA-F]{32}$`)

// Message is the cancel_message or get_message action: one request to the provider about one
// message it accepted. Both are safe to repeat: get_message only reads, and canceling a message
// that is already canceled succeeds with the same result.
type Message struct {
	conns  providers.Connections
	cancel bool
}

// NewCancelMessage returns cancel_message: it cancels a scheduled message (status canceled).
func NewCancelMessage(conns providers.Connections) *Message {
	return &Message{conns: conns, cancel: true}
}

// NewGetMessage returns get_message: it reports a message's status, error code, segments,
// price and dates, for processes that poll instead of waiting for a status callback.
func NewGetMessage(conns providers.Connections) *Message { return &Message{conns: conns} }

func (a *Message) spec() Spec {
	if a.cancel {
		return CancelMessage
	}
	return GetMessage
}

// Invoke runs the action. The error is non-nil only for a transient failure worth retrying.
func (a *Message) Invoke(ctx context.Context, inv Invocation) (Result, error) {
	conn, e := connection(a.conns, inv.Connection)
	if e != nil {
		return RequestFailure(e), nil
	}
	sid, err := optionalString(inv.Vars, FieldMessageSID)
	if err != nil {
		return RequestFailure(errs.As(err)), nil
	}
	if sid = strings.TrimSpace(sid); sid == "" {
		return RequestFailure(errs.Missing(FieldMessageSID, "give the sid of the message, e.g. =twilioResult[1].sid of the Send SMS task")), nil
	}
	if !messageSIDPattern.MatchString(sid) {
		return RequestFailure(errs.Invalid(FieldMessageSID, "%s %q is not a message SID: give SM or MM followed by 32 hex digits, as twilioResult[].sid of a Send SMS task", FieldMessageSID, sid)), nil
	}
	if conn.Provider == nil {
		return RequestFailure(errNoCredentials()), nil
	}
	mgr, ok := conn.Provider.(providers.MessageManager)
	if !ok {
		return RequestFailure(errs.Invalid(providers.FieldConnection, "connection %q (%s) cannot look up or cancel messages (%s): use a Twilio connection",
			conn.Name, conn.Provider.Kind(), a.spec().Name)), nil
	}
	var info providers.MessageInfo
	if a.cancel {
		info, err = mgr.Cancel(ctx, sid)
	} else {
		info, err = mgr.Message(ctx, sid)
	}
	if err != nil {
		e := errs.As(err)
		if e.Field == "" {
			e.Field = FieldMessageSID
		}
		res := RequestFailure(e)
		if e.Retryable() {
			return res, e
		}
		return res, nil
	}
	r := RecipientResult{To: info.To, SID: &info.SID, Status: info.Status, Segments: info.Segments,
		Price: info.Price, PriceUnit: info.PriceUnit,
		DateCreated: rfc3339(info.DateCreated), DateSent: rfc3339(info.DateSent), DateUpdated: rfc3339(info.DateUpdated)}
	if info.ErrorCode != 0 {
		c := info.ErrorCode
		r.ErrorCode = &c
	}
	return Result{TwilioResult: []RecipientResult{r}}, nil
}

func rfc3339(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}
