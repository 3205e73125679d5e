package actions

import (
	"context"
	"fmt"
	"strings"

	"github.com/twilio-connector/twilio-connector/errs"
	"github.com/twilio-connector/twilio-connector/providers"
)

// fanOutRequest is the recipient side of a send_sms or make_call request.
type fanOutRequest struct {
	field   string // smsTo, callTo: named in errors
	region  string
	to      []string
	key     string // idempotency key
	testing bool
	preview string // what testing mode reports as the body
	// segments and encoding are what testing mode reports of the body (0 and "" for none).
	segments int
	encoding string
	// whatsApp is whether the sender is a WhatsApp address: recipients must be on the same
	// channel, as Twilio requires. Calls have no WhatsApp sender and take no WhatsApp recipient.
	whatsApp  bool
	directory Directory // resolves user: recipients; nil means none is configured
	// addresses checks recipients: the connection's provider, or phone rules without one.
	addresses addressing
	// connection and provider label the metrics.
	connection, provider string
}

// addressing is the part of a provider that checks recipients.
type addressing interface {
	To(field, raw, region string) (string, error)
	DirectoryField() string
}

// resolve turns one raw recipient into the provider's form (E.164 numbers, whatsapp:
// addresses, Pushover keys), resolving user: names through the directory field of the
// provider. user is the name when the recipient was one.
func (r fanOutRequest) resolve(ctx context.Context, raw string) (number, user string, e *errs.Error) {
	bad := func(format string, args ...any) (string, string, *errs.Error) {
		return "", user, &errs.Error{Code: errs.InvalidToPhoneNumber, Field: r.field, Message: fmt.Sprintf(format, args...)}
	}
	if name, ok := strings.CutPrefix(raw, UserPrefix); ok {
		user = strings.TrimSpace(name)
		if r.directory == nil {
			return bad("%s %q names a user, but no recipient directory is configured: set CONNECTOR_DIRECTORY_FILE or give a phone number", r.field, raw)
		}
		address, found, err := r.directory.Lookup(ctx, user, r.addresses.DirectoryField())
		if err != nil {
			return "", user, &errs.Error{Code: errs.Internal, Field: r.field, Message: "recipient directory unavailable: " + err.Error(), Err: err}
		}
		if !found {
			if f := r.addresses.DirectoryField(); f != providers.DirectoryPhone {
				return bad("%s %q: user %q has no %s address in the recipient directory: add it, or give the address", r.field, raw, user, f)
			}
			return bad("%s %q: user %q is not in the recipient directory: add them, or give a phone number", r.field, raw, user)
		}
		raw = address
	}
	n, err := r.addresses.To(r.field, raw, r.region)
	if err != nil {
		return bad("%s", err.Error())
	}
	if isWA := strings.HasPrefix(n, WhatsAppPrefix); isWA != r.whatsApp {
		if r.whatsApp {
			return bad("%s %q is not a WhatsApp address but the sender is: write it as whatsapp:%s", r.field, raw, n)
		}
		return bad("%s %q is a WhatsApp address: send from a whatsapp: sender (smsFrom), or drop the prefix for SMS", r.field, raw)
	}
	return n, user, nil
}

// fanOut validates the recipients and runs send once per distinct valid recipient through the
// Delivery. The result has one slot per distinct recipient in input order; invalid numbers fail
// their slot without reaching Twilio. The error is the first transient failure, if any, so the
// transport can retry the request later.
func fanOut(ctx context.Context, d *Delivery, r fanOutRequest, send sendFunc, find findFunc) (Result, error) {
	if len(r.to) > MaxRecipients {
		return RequestFailure(errs.Invalid(r.field, "%s has %d recipients; at most %d per task: split the list", r.field, len(r.to), MaxRecipients)), nil
	}
	res := Result{TwilioResult: []RecipientResult{}}
	var slotErr []*errs.Error
	var valid []string
	var validSlot []int
	seen := map[string]bool{}
	for _, raw := range r.to {
		n, user, err := r.resolve(ctx, raw)
		if err != nil {
			res.TwilioResult = append(res.TwilioResult, RecipientResult{To: raw, User: user, Status: StatusFailed})
			slotErr = append(slotErr, err)
			continue
		}
		if seen[n] {
			continue
		}
		seen[n] = true
		valid, validSlot = append(valid, n), append(validSlot, len(res.TwilioResult))
		res.TwilioResult = append(res.TwilioResult, RecipientResult{To: n, User: user})
		slotErr = append(slotErr, nil)
	}

	var transient *errs.Error
	if r.testing {
		for _, i := range validSlot {
			slot := &res.TwilioResult[i]
			slot.Status, slot.Body, slot.Segments, slot.Encoding = StatusTesting, r.preview, r.segments, r.encoding
		}
	} else {
		for k, o := range d.deliver(ctx, r.key, valid, send, find, r.connection, r.provider) {
			slot := &res.TwilioResult[validSlot[k]]
			if o.err != nil {
				slot.Status, slotErr[validSlot[k]] = StatusFailed, o.err
				// A send held back by its pace keeps the job's retries: report another
				// recipient's transient failure before it, which does use one up.
				if o.err.Retryable() && (transient == nil || transient.Paced && !o.err.Paced) {
					transient = o.err
				}
				continue
			}
			sid := o.sent.SID
			slot.SID, slot.Status, slot.Segments, slot.Parts = &sid, o.sent.Status, o.sent.Segments, o.sent.Parts
		}
	}
	for i, e := range slotErr {
		if e != nil {
			res.TwilioError = append(res.TwilioError, newRecipientError(res.TwilioResult[i].To, e))
		}
	}
	if transient == nil {
		return res, nil
	}
	return res, transient
}

func errNoCredentials() *errs.Error {
	return errs.New(errs.Authentication, "TWILIO_ACCOUNT", "no Twilio credentials are configured: set TWILIO_ACCOUNT and TWILIO_TOKEN, or use testing mode")
}
