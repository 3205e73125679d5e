package sandbox

import (
	"context"
	"io"
	"net/url"
	"strconv"
	"time"
)

func (s *Server) accepted(m Message) {
	if s.logger != nil {
		s.logger.Info("sandbox accepted message", "sid", m.SID, "to", m.To, "from", m.From,
			"messaging_service_sid", m.MessagingServiceSID, "body", m.Body)
	}
	if !s.opts.StatusCallbacks || m.StatusCallback == "" || m.Status == "scheduled" {
		// A scheduled message stays scheduled (or is canceled): the sandbox never sends it.
		return
	}
	s.goCallbacks(func(ctx context.Context) {
		for _, st := range []string{"sent", "delivered"} {
			if !s.pause(ctx) {
				return
			}
			s.setMessageStatus(m.SID, st)
			m.Status = st
			s.post(ctx, m.StatusCallback, StatusForm(m, st, 0))
		}
	})
}

func (s *Server) acceptedCall(c Call) {
	if s.logger != nil {
		s.logger.Info("sandbox accepted call", "sid", c.SID, "to", c.To, "from", c.From, "url", c.URL)
	}
	if !s.opts.StatusCallbacks || c.StatusCallback == "" {
		return
	}
	events := c.StatusCallbackEvents
	if len(events) == 0 {
		events = []string{"completed"}
	}
	want := map[string]bool{}
	for _, e := range events {
		want[e] = true
	}
	s.goCallbacks(func(ctx context.Context) {
		seq := 0
		for _, ev := range []struct{ event, status string }{
			{"initiated", "queued"}, {"ringing", "ringing"}, {"answered", "in-progress"}, {"completed", "completed"},
		} {
			if !want[ev.event] {
				continue
			}
			if !s.pause(ctx) {
				return
			}
			s.setCallStatus(c.SID, ev.status)
			s.post(ctx, c.StatusCallback, CallStatusForm(c, ev.status, seq))
			seq++
		}
	})
}

// CallStatusForm is the form of Twilio's status callback for call c reaching status ("queued",
// "ringing", "in-progress", "completed", "busy", "no-answer", "failed"); seq is the
// SequenceNumber of the callback for this call, from 0.
func CallStatusForm(c Call, status string, seq int) url.Values {
	f := url.Values{
		"CallSid":        {c.SID},
		"AccountSid":     {c.AccountSID},
		"From":           {c.From},
		"To":             {c.To},
		"CallStatus":     {status},
		"Direction":      {"outbound-api"},
		"ApiVersion":     {APIVersion},
		"SequenceNumber": {strconv.Itoa(seq)},
		"Timestamp":      {twilioTime(time.Now())},
	}
	if status == "completed" {
		f.Set("CallDuration", "0")
	}
	return f
}

func (s *Server) goCallbacks(run func(ctx context.Context)) {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return
	}
	s.cbWG.Add(1)
	s.mu.Unlock()
	go func() {
		defer s.cbWG.Done()
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		go func() {
			select {
			case <-s.closing:
				cancel()
			case <-ctx.Done():
			}
		}()
		run(ctx)
	}()
}

func (s *Server) pause(ctx context.Context) bool {
	t := time.NewTimer(s.opts.CallbackDelay)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func (s *Server) post(ctx context.Context, rawURL string, form url.Values) {
	ctx, cancel := context.WithTimeout(ctx, CallbackTimeout)
	defer cancel()
	resp, err := postForm(ctx, s.cbClient, rawURL, s.AuthToken, form)
	if err != nil {
		if s.logger != nil && ctx.Err() == nil {
			s.logger.Warn("sandbox status callback failed", "error", err)
		}
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<16))
	_ = resp.Body.Close()
}

func (s *Server) setMessageStatus(sid, status string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.messages {
		if s.messages[i].SID == sid {
			s.messages[i].Status, s.messages[i].Updated = status, time.Now().UTC()
		}
	}
}

func (s *Server) setCallStatus(sid, status string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.calls {
		if s.calls[i].SID == sid {
			s.calls[i].Status = status
		}
	}
}
