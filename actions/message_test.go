package actions

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twilio-connector/twilio-connector/errs"
)

// A scheduled message is reported by get_message and canceled by cancel_message; a repeated
// cancel succeeds alike, and a message that is not scheduled cannot be canceled.
func TestCancelAndGetMessage(t *testing.T) {
	f := newFixture(t, fixtureOpts{}, nil)
	ctx := context.Background()
	conns := f.sms.conns
	get, cancel := NewGetMessage(conns), NewCancelMessage(conns)

	res, err := f.sms.Invoke(ctx, Invocation{Vars: vars("smsFrom", service, "smsTo", alice, "smsBody", "later", "smsSendAt", ahead(time.Hour))})
	if err != nil || res.TwilioError != nil || res.TwilioResult[0].Status != StatusScheduled {
		t.Fatalf("schedule: err=%v %+v %+v", err, res.TwilioResult, res.TwilioError)
	}
	sid := *res.TwilioResult[0].SID

	got, err := get.Invoke(ctx, Invocation{Vars: vars("messageSid", sid)})
	if err != nil || got.TwilioError != nil {
		t.Fatalf("get: err=%v %+v", err, got.TwilioError)
	}
	r := got.TwilioResult[0]
	if *r.SID != sid || r.To != alice || r.Status != StatusScheduled || r.DateCreated == "" || r.PriceUnit != "USD" || r.ErrorCode != nil {
		t.Fatalf("get %+v", r)
	}

	for i := range 2 {
		res, err := cancel.Invoke(ctx, Invocation{Vars: vars("messageSid", sid)})
		if err != nil || res.TwilioError != nil || res.TwilioResult[0].Status != StatusCanceled || *res.TwilioResult[0].SID != sid {
			t.Fatalf("cancel %d: err=%v %+v %+v", i+1, err, res.TwilioResult, res.TwilioError)
		}
	}
	if m, _ := f.fake.Message(sid); m.Status != StatusCanceled {
		t.Fatalf("the stand-in has %q", m.Status)
	}

	res, _ = f.sms.Invoke(ctx, Invocation{Vars: vars("smsFrom", fromNumber, "smsTo", bob, "smsBody", "now")})
	res, err = cancel.Invoke(ctx, Invocation{Vars: vars("messageSid", *res.TwilioResult[0].SID)})
	if e := res.Failure(); err != nil || e == nil || e.Code != errs.TwilioRequestRejected || e.TwilioCode != 30409 || e.Field != FieldMessageSID {
		t.Fatalf("cancel of a queued message: err=%v %+v", err, e)
	}
}

func TestMessageActionsInputs(t *testing.T) {
	_, _, sms, _ := keysFixture(t)
	ctx := context.Background()
	for _, act := range []*Message{NewGetMessage(sms.conns), NewCancelMessage(sms.conns)} {
		for _, tc := range []struct {
			inv   Invocation
			code  errs.Code
			field string
			says  string
		}{
			{Invocation{Vars: vars()}, errs.MissingInput, FieldMessageSID, "twilioResult[1].sid"},
			{Invocation{Vars: vars("messageSid", 7.0)}, errs.InvalidInput, FieldMessageSID, "give a string"},
			{Invocation{Vars: vars("messageSid", "CA0123456789abcdef0123456789abcdef")}, errs.InvalidInput, FieldMessageSID, "not a message SID"},
			{Invocation{Connection: "keys", Vars: vars("messageSid", "SM0123456789abcdef0123456789abcdef")}, errs.InvalidInput, "connection", `connection "keys" (keys) cannot look up or cancel messages`},
			{Invocation{Vars: vars("messageSid", "SM0123456789abcdef0123456789abcdef")}, errs.TwilioRequestRejected, FieldMessageSID, "was not found"},
		} {
			res, err := act.Invoke(ctx, tc.inv)
			e := res.Failure()
			if err != nil || e == nil || e.Code != tc.code || e.Field != tc.field || !strings.Contains(e.Message, tc.says) {
				t.Errorf("%s %v: err=%v failure=%+v", act.spec().Name, tc.inv.Vars, err, e)
			}
		}
	}
}
