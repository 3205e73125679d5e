package twilio

import (
	"context"
	"strconv"
	"time"

	api "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/twilio-connector/twilio-connector/metrics"
	"github.com/twilio-connector/twilio-connector/providers"
)

// Options lists the message options Twilio's Messages API takes: all of them.
func (t *Twilio) Options() []providers.Option {
	return []providers.Option{providers.OptionContent, providers.OptionSchedule, providers.OptionValidityPeriod,
		providers.OptionSmartEncoded, providers.OptionShortenURLs}
}

// MessagingService reports whether a Messaging Service is configured (messaging_service_sid,
// TWILIO_MESSAGING_SERVICE_SID).
func (t *Twilio) MessagingService() bool { return t.opts.MessagingServiceSID != "" }

// setOptions adds the message options to a create request.
func setOptions(p *api.CreateMessageParams, o providers.MessageOptions) {
	if o.ContentSID != "" {
		p.SetContentSid(o.ContentSID)
		if o.ContentVariables != "" {
			p.SetContentVariables(o.ContentVariables)
		}
	}
	if !o.SendAt.IsZero() {
		p.SetScheduleType("fixed")
		p.SetSendAt(o.SendAt.UTC())
	}
	if o.ValidityPeriod > 0 {
		p.SetValidityPeriod(o.ValidityPeriod)
	}
	if o.SmartEncoded != nil {
		p.SetSmartEncoded(*o.SmartEncoded)
	}
	if o.ShortenURLs != nil {
		p.SetShortenUrls(*o.ShortenURLs)
	}
}

// Message fetches one message. Failures are *errs.Error as for Send.
func (t *Twilio) Message(ctx context.Context, sid string) (providers.MessageInfo, error) {
	svc, ct, done := t.service(ctx)
	defer done()
	start := time.Now()
	res, err := svc.FetchMessage(sid, &api.FetchMessageParams{})
	metrics.TwilioSeconds.Observe(time.Since(start).Seconds())
	if err != nil {
		return providers.MessageInfo{}, classify(ct.ctx, err, ct)
	}
	return messageInfo(res), nil
}

// canceled is the status of a canceled scheduled message.
const canceled = "canceled"

// Cancel cancels a scheduled message (POST Status=canceled). When Twilio refuses because the
// message is not scheduled, the message is fetched: one already canceled (by an earlier
// attempt of the same request) is success.
func (t *Twilio) Cancel(ctx context.Context, sid string) (providers.MessageInfo, error) {
	svc, ct, done := t.service(ctx)
	defer done()
	p := &api.UpdateMessageParams{}
	p.SetStatus(canceled)
	start := time.Now()
	res, err := svc.UpdateMessage(sid, p)
	metrics.TwilioSeconds.Observe(time.Since(start).Seconds())
	if err == nil {
		return messageInfo(res), nil
	}
	e := classify(ct.ctx, err, ct)
	if e.Retryable() {
		return providers.MessageInfo{}, e
	}
	if m, ferr := t.Message(ctx, sid); ferr == nil && m.Status == canceled {
		return m, nil
	}
	return providers.MessageInfo{}, e
}

func messageInfo(m *api.ApiV2010Message) providers.MessageInfo {
	info := providers.MessageInfo{SID: deref(m.Sid), To: deref(m.To), From: deref(m.From), Status: deref(m.Status),
		Segments: atoi(m.NumSegments), Price: deref(m.Price), PriceUnit: deref(m.PriceUnit),
		DateCreated: rfc1123(m.DateCreated), DateSent: rfc1123(m.DateSent), DateUpdated: rfc1123(m.DateUpdated)}
	if m.ErrorCode != nil {
		info.ErrorCode = *m.ErrorCode
	}
	return info
}

// atoi reads a count Twilio writes as a string ("2"); 0 when absent or not a number.
func atoi(s *string) int {
	if s == nil {
		return 0
	}
	n, _ := strconv.Atoi(*s)
	return n
}

// rfc1123 reads Twilio's dates (RFC 1123 with a numeric zone); zero when absent.
func rfc1123(s *string) time.Time {
	if s == nil {
		return time.Time{}
	}
	t, _ := time.Parse(time.RFC1123Z, *s)
	return t
}

var (
	_ providers.OptionsProvider = (*Twilio)(nil)
	_ providers.MessageManager  = (*Twilio)(nil)
)
