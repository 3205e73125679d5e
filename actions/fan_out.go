package actions

import (
	"context"

	"github.com/twilio-connector/twilio-connector/errs"
)

// fanOutRequest is the recipient side of a send_sms or make_call request.
type fanOutRequest struct {
	field   string // smsTo, callTo: named in errors
	region  string
	to      []string
	key     string // idempotency key
	testing bool
	preview string // what testing mode reports as the body
}

// fanOut validates the recipients and runs send once per distinct valid recipient through the
// Delivery. The result has one slot per distinct recipient in input order; invalid numbers fail
// their slot without reaching Twilio. The error is the first transient failure, if any, so the
// transport can retry the request later.
func fanOut(ctx context.Context, d *Delivery, r fanOutRequest, send sendFunc) (Result, error) {
	if len(r.to) > MaxRecipients {
		return RequestFailure(errs.Invalid(r.field, "%s has %d recipients; at most %d per task: split the list", r.field, len(r.to), MaxRecipients)), nil
	}
	res := Result{TwilioResult: []RecipientResult{}}
	var slotErr []*errs.Error
	var valid []string
	var validSlot []int
	seen := map[string]bool{}
	for _, raw := range r.to {
		n, err := normalizeNumber(r.field, raw, r.region)
		if err != nil {
			res.TwilioResult = append(res.TwilioResult, RecipientResult{To: raw, Status: StatusFailed})
			slotErr = append(slotErr, &errs.Error{Code: errs.InvalidToPhoneNumber, Field: r.field, Message: err.Error()})
			continue
		}
		if seen[n] {
			continue
		}
		seen[n] = true
		valid, validSlot = append(valid, n), append(validSlot, len(res.TwilioResult))
		res.TwilioResult = append(res.TwilioResult, RecipientResult{To: n})
		slotErr = append(slotErr, nil)
	}

	var transient error
	if r.testing {
		for _, i := range validSlot {
			res.TwilioResult[i].Status, res.TwilioResult[i].Body = StatusTesting, r.preview
		}
	} else {
		for k, o := range d.deliver(ctx, r.key, valid, send) {
			slot := &res.TwilioResult[validSlot[k]]
			if o.err != nil {
				slot.Status, slotErr[validSlot[k]] = StatusFailed, o.err
				if o.err.Retryable() && transient == nil {
					transient = o.err
				}
				continue
			}
			sid := o.sent.SID
			slot.SID, slot.Status = &sid, o.sent.Status
		}
	}
	for i, e := range slotErr {
		if e != nil {
			res.TwilioError = append(res.TwilioError, newRecipientError(res.TwilioResult[i].To, e))
		}
	}
	return res, transient
}

func errNoCredentials() *errs.Error {
	return errs.New(errs.Authentication, "TWILIO_ACCOUNT", "no Twilio credentials are configured: set TWILIO_ACCOUNT and TWILIO_TOKEN, or use testing mode")
}
