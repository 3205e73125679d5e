package triggers

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/twilio-connector/twilio-connector/metrics"
	"github.com/twilio-connector/twilio-connector/store"
	"github.com/twilio-connector/twilio-connector/test/syncbuf"
	"github.com/twilio-connector/twilio-connector/test/twiliotest"
)

const (
	testToken   = "0123456789abcdef0123456789abcdef"
	testAccount = "AC0123456789abcdef0123456789abcdef"
	customer    = "+15005550101"
	ourNumber   = "+15005550006"
	otherNumber = "+15005550007"
)

// fakePublisher records every publish call; the first failures calls fail with a temporary
// error. Like Zeebe, a message whose name, correlation key and id it already holds is not
// stored twice.
type fakePublisher struct {
	mu       sync.Mutex
	failures int
	calls    []Message
	held     map[string]Message
}

func (p *fakePublisher) Publish(_ context.Context, m Message) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.calls = append(p.calls, m)
	if p.failures > 0 {
		p.failures--
		return &PublishError{Temporary: true, Err: errors.New("UNAVAILABLE: engine down")}
	}
	if p.held == nil {
		p.held = map[string]Message{}
	}
	p.held[m.Name+"\x00"+m.CorrelationKey+"\x00"+m.MessageID] = m
	return nil
}

// published returns how many distinct messages the engine holds.
func (p *fakePublisher) published() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.held)
}

func (p *fakePublisher) callCount() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.calls)
}

func (p *fakePublisher) messages() []Message {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Message(nil), p.calls...)
}

// flakyStore fails every write while down is set. With downAfterClaim set, it goes down right
// after the next successful claim, as if the process died there.
type flakyStore struct {
	store.Store
	mu             sync.Mutex
	down           bool
	downAfterClaim bool
}

func (s *flakyStore) setDown(d bool) { s.mu.Lock(); s.down = d; s.mu.Unlock() }
func (s *flakyStore) err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.down {
		return errors.New("store: disk full")
	}
	return nil
}
func (s *flakyStore) claimed() {
	s.mu.Lock()
	s.down = s.down || s.downAfterClaim
	s.downAfterClaim = false
	s.mu.Unlock()
}
func (s *flakyStore) PutIfAbsent(ctx context.Context, b, k string, v []byte, ttl time.Duration) (bool, error) {
	if err := s.err(); err != nil {
		return false, err
	}
	ok, err := s.Store.PutIfAbsent(ctx, b, k, v, ttl)
	if ok {
		s.claimed()
	}
	return ok, err
}
func (s *flakyStore) ClaimWith(ctx context.Context, claim store.Entry, with ...store.Entry) (bool, error) {
	if err := s.err(); err != nil {
		return false, err
	}
	ok, err := s.Store.ClaimWith(ctx, claim, with...)
	if ok {
		s.claimed()
	}
	return ok, err
}
func (s *flakyStore) Delete(ctx context.Context, b, k string) error {
	if err := s.err(); err != nil {
		return err
	}
	return s.Store.Delete(ctx, b, k)
}
func (s *flakyStore) Put(ctx context.Context, b, k string, v []byte, ttl time.Duration) error {
	if err := s.err(); err != nil {
		return err
	}
	return s.Store.Put(ctx, b, k, v, ttl)
}

// harness is the SMS_RECEIVED and status webhooks served over loopback with a fake publisher
// and an in-memory store.
type harness struct {
	t       *testing.T
	srv     *httptest.Server
	pub     *fakePublisher
	store   *flakyStore
	outbox  *Outbox
	logs    *syncbuf.Buffer
	replies *fakeReplier
	seen    *recordingObserver
}

// Connections of the HTTP channel in the harness, with their inbound secrets.
const (
	httpConn    = "rapidpro"
	httpSecret  = "inbound-secret-0123456789"
	otherConn   = "other"
	otherSecret = "other-secret-9876543210"
)

// fakeReplier records the replies the HTTP channel sends; the first failures calls fail.
type fakeReplier struct {
	mu       sync.Mutex
	failures int
	calls    int
	sent     []Reply
}

func (f *fakeReplier) Reply(_ context.Context, r Reply) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls++
	if f.failures > 0 {
		f.failures--
		return errors.New("provider: 503 Service Unavailable")
	}
	f.sent = append(f.sent, r)
	return nil
}

func (f *fakeReplier) replies() []Reply {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]Reply(nil), f.sent...)
}

type harnessOptions struct {
	publicURL string
	optOut    bool
	maxBody   int64
	accounts  map[string]Account // Verifier.Accounts
}

func newHarness(t *testing.T, defs []Definition, ho harnessOptions) *harness {
	t.Helper()
	var ts []*Trigger
	for _, d := range defs {
		tr, err := Compile(d, 0)
		if err != nil {
			t.Fatalf("compile %s: %v", d.Where(), err)
		}
		ts = append(ts, tr)
	}
	h := &harness{t: t, pub: &fakePublisher{}, store: &flakyStore{Store: store.NewMemory(0)}, logs: &syncbuf.Buffer{}, replies: &fakeReplier{}, seen: &recordingObserver{}}
	log := slog.New(slog.NewTextHandler(h.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	h.outbox = NewOutbox(h.store, h.pub, OutboxOptions{Logger: log, Replier: h.replies.Reply})
	v := Verifier{AuthToken: testToken, Accounts: ho.accounts, PublicURL: ho.publicURL}
	mux := http.NewServeMux()
	mux.Handle("/twilio/sms", NewSMSReceived(Options{
		Triggers: NewRegistry(ts...), Publisher: h.pub, Store: h.store, Outbox: h.outbox, Verifier: v,
		MatchOptOutKeywords: ho.optOut, MaxBodyBytes: ho.maxBody, Logger: log, Observer: h.seen,
	}))
	mux.Handle("/twilio/status", NewStatusCallback(StatusOptions{Publisher: h.pub, Store: h.store, Outbox: h.outbox, Verifier: v, Logger: log, Observer: h.seen}))
	secrets := map[string]string{httpConn: httpSecret, otherConn: otherSecret}
	NewHTTPChannel(HTTPOptions{
		Options: Options{Triggers: NewRegistry(ts...), Publisher: h.pub, Store: h.store, Outbox: h.outbox,
			MatchOptOutKeywords: ho.optOut, MaxBodyBytes: ho.maxBody, Logger: log, Observer: h.seen},
		Secret: func(c string) (string, bool) { s, ok := secrets[c]; return s, ok },
	}).Register(mux)
	h.srv = httptest.NewServer(mux)
	t.Cleanup(h.srv.Close)
	t.Cleanup(func() {
		// No secret reaches the logs, whatever the test did.
		for _, secret := range []string{testToken, httpSecret, otherSecret} {
			if strings.Contains(h.logs.String(), secret) {
				t.Errorf("a secret appears in the logs")
			}
		}
	})
	return h
}

type response struct {
	status      int
	body        string
	contentType string
}

// post sends form to path, signed for signURL (the harness URL of path when "") with token.
func (h *harness) post(path string, form url.Values, signURL, token string, mutate func(*http.Request)) response {
	h.t.Helper()
	target := h.srv.URL + path
	if signURL == "" {
		signURL = target
	}
	req, err := http.NewRequest(http.MethodPost, target, strings.NewReader(form.Encode()))
	if err != nil {
		h.t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set(twiliotest.SignatureHeader, twiliotest.Sign(token, signURL, form))
	if mutate != nil {
		mutate(req)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, string(b), resp.Header.Get("Content-Type")}
}

// send posts a correctly signed inbound SMS.
func (h *harness) send(form url.Values) response {
	h.t.Helper()
	return h.post("/twilio/sms", form, "", testToken, nil)
}

func inbound(from, to, body string) url.Values {
	return twiliotest.InboundForm(testAccount, from, to, body)
}

// outcomeDelta returns a function reporting how much the outcome counter grew since.
func outcomeDelta(outcome string) func() float64 {
	before := counterValue(outcome)
	return func() float64 { return counterValue(outcome) - before }
}

func counterValue(outcome string) float64 {
	var m dto.Metric
	if err := metrics.Webhooks.WithLabelValues(outcome).Write(&m); err != nil {
		panic(err)
	}
	return m.GetCounter().GetValue()
}

const emptyReply = `<?xml version="1.0" encoding="UTF-8"?><Response/>`

func reply(msgs ...string) string {
	s := `<?xml version="1.0" encoding="UTF-8"?><Response>`
	for _, m := range msgs {
		s += "<Message>" + m + "</Message>"
	}
	return s + "</Response>"
}
