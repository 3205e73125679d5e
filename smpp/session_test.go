package smpp_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twilio-connector/twilio-connector/smpp"
	"github.com/twilio-connector/twilio-connector/test/smsctest"
	"github.com/twilio-connector/twilio-connector/test/syncbuf"
	"github.com/twilio-connector/twilio-connector/test/wait"
)

// open binds a session to the SMSC and closes it when the test ends; logs go to the test's
// output and to the returned buffer.
func open(t *testing.T, s *smsctest.SMSC, h smpp.Handler, edit func(*smpp.Config)) (*smpp.Session, *syncbuf.Buffer) {
	t.Helper()
	var logs syncbuf.Buffer
	cfg := smpp.Config{
		Address: s.Addr, SystemID: s.SystemID, Password: s.Password, Name: "smsc",
		SourceTON: 5, SourceNPI: 0, DestTON: 1, DestNPI: 1,
		ResponseTimeout: 10 * time.Second,
		Logger:          slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	if edit != nil {
		edit(&cfg)
	}
	sess := smpp.Open(cfg, h)
	t.Cleanup(func() {
		sess.Close()
		if t.Failed() {
			t.Logf("session log:\n%s", logs.String())
		}
	})
	return sess, &logs
}

func ctx(t *testing.T, d time.Duration) context.Context {
	c, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return c
}

func mustBind(t *testing.T, sess *smpp.Session) {
	t.Helper()
	if err := sess.Bound(ctx(t, 15*time.Second)); err != nil {
		t.Fatal(err)
	}
}

func TestWrongPasswordIsOneClearError(t *testing.T) {
	s := smsctest.Start(t)
	sess, logs := open(t, s, nil, func(c *smpp.Config) { c.Password = "wrongpw" })
	// A caller waiting before the first bind has finished gets the refusal as soon as it comes,
	// not a plain "not bound" at its own deadline.
	start := time.Now()
	err := sess.Bound(ctx(t, time.Minute))
	var se *smpp.StatusError
	if !errors.As(err, &se) || time.Since(start) > 30*time.Second {
		t.Fatalf("Bound during the first bind: %v after %v, want the refusal", err, time.Since(start))
	}
	if !errors.Is(err, smpp.ErrNotBound) || se.Name() != "ESME_RINVPASWD" || se.Retryable() {
		t.Fatalf("Bound: %v (status %s), want ErrNotBound with ESME_RINVPASWD", err, se.Name())
	}
	msg := err.Error()
	for _, want := range []string{`"smsc"`, "check system_id and password", "ESME_RINVPASWD"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error %q does not contain %q", msg, want)
		}
	}
	// Bound does not wait for a refused bind, and Submit says the same at once.
	start = time.Now()
	_, serr := sess.Submit(ctx(t, 20*time.Second), "4711", "+4915100001", "hi")
	if !errors.As(serr, &se) || !errors.Is(serr, smpp.ErrNotBound) || time.Since(start) > 5*time.Second {
		t.Fatalf("Submit: %v after %v", serr, time.Since(start))
	}
	if strings.Contains(msg+serr.Error()+logs.String(), "wrongpw") {
		t.Fatal("the password appears in an error or the log")
	}
}

func TestSubmitTexts(t *testing.T) {
	s := smsctest.Start(t)
	sess, _ := open(t, s, nil, nil)
	mustBind(t, sess)
	texts := []struct {
		text   string
		coding byte
		parts  int
	}{
		{"Hello {world} [1] ~ € @ £", 0, 1},
		{"Grüße 👋 жжж", 8, 1},
		{strings.Repeat("GSM long text with € and {braces}. ", 13), 0, 4},
		{strings.Repeat("Юникод 😀 long ", 15), 8, 4},
	}
	for i, c := range texts {
		to := fmt.Sprintf("+49151000%02d", i)
		res, err := sess.Submit(ctx(t, 30*time.Second), "4711", to, c.text)
		if err != nil {
			t.Fatalf("%q: %v", c.text, err)
		}
		if res.DataCoding != c.coding || res.Parts != c.parts || len(res.MessageIDs) != c.parts {
			t.Fatalf("%q: %+v, want coding %d in %d parts", c.text, res, c.coding, c.parts)
		}
	}
	s.WaitSubmits(10, 10*time.Second)
	msgs := s.Messages()
	if len(msgs) != len(texts) {
		t.Fatalf("SMSC has %d messages, want %d: %+v", len(msgs), len(texts), msgs)
	}
	for i, m := range msgs {
		if m.Text != texts[i].text || m.DataCoding != texts[i].coding || m.Parts != texts[i].parts {
			t.Errorf("message %d at the SMSC: %q coding %d parts %d, want %q", i, m.Text, m.DataCoding, m.Parts, texts[i].text)
		}
	}
	sub := s.Submits()[0]
	if sub.Source != "4711" || sub.SourceTON != 5 || sub.DestTON != 1 || sub.DestNPI != 1 || sub.RegisteredDelivery != 1 {
		t.Errorf("submit_sm addressing %+v", sub)
	}
	// Two long messages to the same number get different references.
	if r1, r2 := s.Submits()[2].UDH, s.Submits()[6].UDH; r1 == nil || r2 == nil || r1.Ref == r2.Ref {
		t.Errorf("references %+v %+v", r1, r2)
	}
}

func TestThrottledIsRetryable(t *testing.T) {
	s := smsctest.Start(t)
	sess, _ := open(t, s, nil, nil)
	mustBind(t, sess)
	for _, status := range []uint32{smsctest.ESME_RTHROTTLED, smsctest.ESME_RMSGQFUL, smsctest.ESME_RSYSERR} {
		s.Throttle(1, status)
		_, err := sess.Submit(ctx(t, 20*time.Second), "4711", "+4915100001", "hi")
		var se *smpp.StatusError
		if !errors.As(err, &se) || se.Status != status || se.Command != "submit_sm" {
			t.Fatalf("status 0x%x: %v", status, err)
		}
		if want := status != smsctest.ESME_RSYSERR; se.Retryable() != want {
			t.Fatalf("%s: Retryable %v", se.Name(), se.Retryable())
		}
		if errors.Is(err, smpp.ErrUncertain) {
			t.Fatalf("a refused submit is not uncertain: %v", err)
		}
	}
	// A generic_nack is a refusal even with status 0 (section 4.3).
	s.Nack(1, 0)
	if _, err := sess.Submit(ctx(t, 20*time.Second), "4711", "+4915100001", "hi"); !errors.As(err, new(*smpp.StatusError)) {
		t.Fatalf("generic_nack with status 0: %v, want a StatusError", err)
	}
	if _, err := sess.Submit(ctx(t, 20*time.Second), "4711", "+4915100001", "hi"); err != nil {
		t.Fatalf("after throttling: %v", err)
	}
}

// TestSMSCRestartMidBatch: submits answered before the SMSC died keep their ids, submits the
// dead SMSC never answered are ErrUncertain (and not sent again), and submits still waiting
// for the window go out once the session is bound to the restarted SMSC.
func TestSMSCRestartMidBatch(t *testing.T) {
	s := smsctest.Start(t)
	const window = 3
	sess, _ := open(t, s, nil, func(c *smpp.Config) { c.Window = window })
	mustBind(t, sess)
	type result struct {
		res smpp.Submitted
		err error
	}
	results := make([]result, 10)
	var wg sync.WaitGroup
	submit := func(i int) {
		defer wg.Done()
		r, err := sess.Submit(ctx(t, 60*time.Second), "4711", fmt.Sprintf("+491510%04d", i), fmt.Sprintf("message %d", i))
		results[i] = result{r, err}
	}
	for i := range 3 {
		wg.Add(1)
		submit(i)
	}
	s.Silent(true)
	for i := 3; i < 10; i++ {
		wg.Add(1)
		go submit(i)
	}
	s.WaitSubmits(3+window, 15*time.Second)
	time.Sleep(300 * time.Millisecond) // the window holds the others back
	if n := len(s.Submits()); n != 3+window {
		t.Fatalf("%d submit_sm at the SMSC with a window of %d, want %d", n, window, 3+window)
	}
	s.Restart(500 * time.Millisecond)
	wg.Wait()
	uncertain, sent := 0, map[string]string{}
	for i, r := range results {
		switch {
		case r.err == nil:
			sent[fmt.Sprintf("+491510%04d", i)] = r.res.MessageIDs[0]
		case errors.Is(r.err, smpp.ErrUncertain):
			uncertain++
		default:
			t.Errorf("submit %d: %v", i, r.err)
		}
	}
	if uncertain != window || len(sent) != 10-window {
		t.Fatalf("%d uncertain and %d sent, want %d and %d", uncertain, len(sent), window, 10-window)
	}
	if n := len(s.Binds()); n != 2 {
		t.Fatalf("%d binds, want 2", n)
	}
	// At the SMSC: the silent ones once (unanswered), every other message once, with the id
	// the session returned.
	s.WaitSubmits(10, 10*time.Second)
	perDest := map[string]int{}
	for _, sub := range s.Submits() {
		perDest[sub.Dest]++
		if id, ok := sent[sub.Dest]; ok && sub.MessageID != id {
			t.Errorf("%s: SMSC answered %q, session returned %q", sub.Dest, sub.MessageID, id)
		}
	}
	for dest, n := range perDest {
		if n != 1 {
			t.Errorf("%s got %d submit_sm", dest, n)
		}
	}
	if len(perDest) != 10 {
		t.Errorf("%d recipients at the SMSC, want 10", len(perDest))
	}
}

func TestEnquireLink(t *testing.T) {
	s := smsctest.Start(t)
	sess, _ := open(t, s, nil, func(c *smpp.Config) {
		c.EnquireLink = 200 * time.Millisecond
		c.ResponseTimeout = time.Second
	})
	mustBind(t, sess)
	wait.Until(t, 15*time.Second, "3 enquire_link", func() bool { return s.EnquireLinks() >= 3 })
	if n := len(s.Binds()); n != 1 || sess.Bound(t.Context()) != nil {
		t.Fatalf("%d binds, bound: %v", n, sess.Bound(t.Context()))
	}
	// An SMSC that stops answering enquire_link is given up and bound again.
	s.Silent(true)
	wait.Until(t, 20*time.Second, "a new bind after enquire_link went unanswered", func() bool { return len(s.Binds()) >= 2 })
}

func TestCloseUnbinds(t *testing.T) {
	s := smsctest.Start(t)
	sess, _ := open(t, s, nil, nil)
	mustBind(t, sess)
	if err := sess.Close(); err != nil {
		t.Fatal(err)
	}
	wait.Until(t, 10*time.Second, "unbind at the SMSC", func() bool { return s.Unbinds() == 1 })
	if err := sess.Bound(t.Context()); !errors.Is(err, smpp.ErrNotBound) {
		t.Fatalf("Bound after Close: %v", err)
	}
}

func TestMaxTPS(t *testing.T) {
	s := smsctest.Start(t)
	sess, _ := open(t, s, nil, func(c *smpp.Config) { c.MaxTPS = 10 })
	mustBind(t, sess)
	start := time.Now()
	for range 5 {
		if _, err := sess.Submit(ctx(t, 20*time.Second), "4711", "+4915100001", "hi"); err != nil {
			t.Fatal(err)
		}
	}
	// Pacing is a lower bound: 5 submits at 10 per second need at least 0.4s.
	if d := time.Since(start); d < 400*time.Millisecond {
		t.Fatalf("5 submits in %v at max_tps 10", d)
	}
}

// handler collects deliveries; each call waits for release when gate is set.
type handler struct {
	mu    sync.Mutex
	got   []smpp.Deliver
	gate  chan error
	calls chan struct{}
}

func (h *handler) handle(_ context.Context, d smpp.Deliver) error {
	h.mu.Lock()
	h.got = append(h.got, d)
	h.mu.Unlock()
	if h.gate == nil {
		return nil
	}
	h.calls <- struct{}{}
	return <-h.gate
}

func (h *handler) delivered() []smpp.Deliver {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]smpp.Deliver(nil), h.got...)
}

func TestDeliverAnsweredAfterHandler(t *testing.T) {
	s := smsctest.Start(t)
	h := &handler{gate: make(chan error), calls: make(chan struct{}, 10)}
	sess, _ := open(t, s, h.handle, nil)
	mustBind(t, sess)

	tag := s.MO("+4915100001", "4711", "Grüße ж", 8, 1)
	select {
	case <-h.calls:
	case <-time.After(15 * time.Second):
		t.Fatal("the Handler was not called")
	}
	time.Sleep(300 * time.Millisecond)
	if r := s.DeliverResps(tag); len(r) != 0 {
		t.Fatalf("deliver_sm answered %v while the Handler runs", r)
	}
	h.gate <- nil
	wait.Until(t, 10*time.Second, "deliver_sm_resp", func() bool { return len(s.DeliverResps(tag)) == 1 })
	if r := s.DeliverResps(tag); r[0] != 0 {
		t.Fatalf("status 0x%x, want 0", r[0])
	}
	if d := h.delivered()[0]; d.From != "+4915100001" || d.To != "4711" || d.Text != "Grüße ж" || d.Receipt != nil {
		t.Fatalf("delivered %+v", d)
	}

	// A Handler error answers ESME_RX_T_APPN, so that the SMSC delivers again.
	tag = s.MO("+4915100001", "4711", "again", 0, 1)
	<-h.calls
	h.gate <- errors.New("store down")
	wait.Until(t, 10*time.Second, "deliver_sm_resp", func() bool { return len(s.DeliverResps(tag)) == 1 })
	if r := s.DeliverResps(tag); r[0] != 0x64 {
		t.Fatalf("status 0x%x, want ESME_RX_T_APPN 0x64", r[0])
	}
}

func TestDeliverCodingsAndConcatenation(t *testing.T) {
	s := smsctest.Start(t)
	h := &handler{}
	sess, _ := open(t, s, h.handle, nil)
	mustBind(t, sess)
	long := strings.Repeat("A long mobile-originated text with {€}. ", 8)
	cases := []struct {
		text   string
		coding byte
		parts  int
	}{
		{"GSM: @£$ {}[]~ €", 0, 1},
		{"Latin-1: çàü ÿ", 3, 1},
		{"UCS-2: ж 😀", 8, 1},
		{long, 0, 3},
		{strings.Repeat("Юникод 😀 ", 20), 8, 4},
	}
	for i, c := range cases {
		from := fmt.Sprintf("+49151%05d", i)
		tag := s.MO(from, "4711", c.text, c.coding, c.parts)
		wait.Until(t, 15*time.Second, "deliver_sm_resp", func() bool { return len(s.DeliverResps(tag)) == c.parts })
		for _, st := range s.DeliverResps(tag) {
			if st != 0 {
				t.Fatalf("%q: deliver_sm_resp status 0x%x", c.text, st)
			}
		}
		got := h.delivered()
		if len(got) != i+1 || got[i].Text != c.text || got[i].From != from {
			t.Fatalf("case %d: delivered %+v, want one message %q", i, got, c.text)
		}
	}
}

func TestReceipt(t *testing.T) {
	s := smsctest.Start(t)
	h := &handler{}
	sess, _ := open(t, s, h.handle, nil)
	mustBind(t, sess)
	res, err := sess.Submit(ctx(t, 20*time.Second), "4711", "+4915100001", "hi")
	if err != nil {
		t.Fatal(err)
	}
	id := res.MessageIDs[0]
	for i, c := range []struct {
		stat, errCode string
		tlv           bool
	}{{"DELIVRD", "000", false}, {"UNDELIV", "034", true}} {
		tag := s.Receipt(id, "+4915100001", "4711", c.stat, c.errCode, c.tlv)
		wait.Until(t, 15*time.Second, "deliver_sm_resp", func() bool { return len(s.DeliverResps(tag)) == 1 })
		d := h.delivered()[i]
		if d.Receipt == nil || d.Receipt.MessageID != id || d.Receipt.Stat != c.stat || d.Receipt.Err != c.errCode || d.Receipt.Done.IsZero() {
			t.Fatalf("receipt %+v (%q), want id %s stat %s err %s", d.Receipt, d.Text, id, c.stat, c.errCode)
		}
	}
}

func TestTLS(t *testing.T) {
	s := smsctest.StartTLS(t)
	sess, _ := open(t, s, nil, func(c *smpp.Config) { c.TLS, c.TLSConfig = true, s.TLSConfig() })
	mustBind(t, sess)
	if _, err := sess.Submit(ctx(t, 20*time.Second), "4711", "+4915100001", "over TLS"); err != nil {
		t.Fatal(err)
	}
	// Without trusting the certificate the handshake fails, and Bound says why.
	other, _ := open(t, s, nil, func(c *smpp.Config) { c.TLS = true; c.Name = "untrusted" })
	err := other.Bound(ctx(t, 3*time.Second))
	if !errors.Is(err, smpp.ErrNotBound) || !strings.Contains(err.Error(), "TLS handshake") {
		t.Fatalf("untrusted certificate: %v", err)
	}
}

func TestRequestsFromTheSMSC(t *testing.T) {
	s := smsctest.Start(t)
	sess, _ := open(t, s, nil, nil)
	mustBind(t, sess)
	answered := func(tag string) smsctest.Response {
		t.Helper()
		wait.Until(t, 10*time.Second, "the ESME's response", func() bool { return len(s.Responses(tag)) == 1 })
		return s.Responses(tag)[0]
	}
	if r := answered(s.Request("enquire_link", nil)); r.Command != "enquire_link_resp" || r.Status != 0 {
		t.Fatalf("enquire_link answered %+v", r)
	}
	// query_sm is an SMSC's operation (section 4.8): the ESME does not know it as a request.
	if r := answered(s.Request("query_sm", map[string]any{"message_id": "1"})); r.Command != "generic_nack" || r.Status != 0x03 {
		t.Fatalf("query_sm answered %+v, want generic_nack ESME_RINVCMDID", r)
	}
	// An unbind from the SMSC is answered, and the session binds again.
	if r := answered(s.Request("unbind", nil)); r.Command != "unbind_resp" || r.Status != 0 {
		t.Fatalf("unbind answered %+v", r)
	}
	wait.Until(t, 15*time.Second, "a new bind", func() bool { return len(s.Binds()) == 2 })
	mustBind(t, sess)
	if _, err := sess.Submit(ctx(t, 20*time.Second), "4711", "+4915100001", "after the SMSC's unbind"); err != nil {
		t.Fatal(err)
	}
}

// TestCloseWhileBinding: an SMSC that accepts the connection but never answers the bind does
// not keep Close waiting.
func TestCloseWhileBinding(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	accepted := make(chan net.Conn, 1)
	go func() {
		c, err := ln.Accept()
		if err == nil {
			accepted <- c
		}
	}()
	sess := smpp.Open(smpp.Config{Address: ln.Addr().String(), SystemID: "x", Password: "y", Name: "mute"}, nil)
	select {
	case c := <-accepted:
		defer c.Close()
	case <-time.After(10 * time.Second):
		t.Fatal("no connection")
	}
	closed := make(chan struct{})
	go func() { sess.Close(); close(closed) }()
	select {
	case <-closed:
	case <-time.After(10 * time.Second):
		t.Fatal("Close waits for the bind")
	}
}
