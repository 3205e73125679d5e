package httpapi

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twilio-connector/twilio-connector/actions"
	"github.com/twilio-connector/twilio-connector/errs"
	"github.com/twilio-connector/twilio-connector/pace"
	"github.com/twilio-connector/twilio-connector/providers"
	"github.com/twilio-connector/twilio-connector/providers/twilio"
	"github.com/twilio-connector/twilio-connector/store"
	"github.com/twilio-connector/twilio-connector/test/syncbuf"
	"github.com/twilio-connector/twilio-connector/test/twiliotest"
)

const (
	alice      = "+14155550101"
	bob        = "+14155550102"
	fromNumber = "+15005550006"
	goodKey    = "k3y-for-tests-0123456789abcdef"
	otherKey   = "second-key-abcdefabcdef"
	badKey     = "not-a-configured-key-xyz"
)

type harness struct {
	t    *testing.T
	fake *twiliotest.Server
	st   *store.Memory
	h    http.Handler
	logs *syncbuf.Buffer
}

type harnessOptions struct {
	keys          []string
	noCredentials bool
	maxBody       int64
	pace          *pace.Pacer
}

func newHarness(t *testing.T, o harnessOptions) *harness {
	t.Helper()
	if o.keys == nil {
		o.keys = []string{goodKey, otherKey}
	}
	fake := twiliotest.New(t)
	logs := &syncbuf.Buffer{}
	log := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	st := store.NewMemory(0)
	delivery := func(kind string) *actions.Delivery {
		return &actions.Delivery{Kind: kind, Store: st, Attempts: 2, Parallelism: 2,
			BaseBackoff: time.Millisecond, MaxBackoff: 2 * time.Millisecond, Logger: log}
	}
	def := &providers.Connection{Name: providers.DefaultConnection, DefaultFrom: fromNumber}
	if !o.noCredentials {
		tw, err := twilio.New(twilio.Options{AccountSID: fake.AccountSID, AuthToken: fake.AuthToken,
			BaseURL: fake.URL(), Timeout: 2 * time.Second, Pace: o.pace})
		if err != nil {
			t.Fatal(err)
		}
		def.Provider = tw
	}
	// ops has default recipients, so requests through it may leave out smsTo and callTo.
	ops := &providers.Connection{Name: "ops", Provider: def.Provider, DefaultFrom: fromNumber, DefaultTo: []string{"+14155550109"}}
	conns := providers.Connections{providers.DefaultConnection: def, ops.Name: ops}
	h := New(Options{
		Messages:   actions.NewSMS(conns, delivery("sms"), actions.SMSOptions{}),
		Calls:      actions.NewCalls(conns, delivery("call"), actions.CallOptions{}),
		GetMessage: actions.NewGetMessage(conns), CancelMessage: actions.NewCancelMessage(conns),
		Store: st, APIKeys: o.keys, MaxBodyBytes: o.maxBody, Timeout: 5 * time.Second, Logger: log,
	})
	return &harness{t: t, fake: fake, st: st, h: h, logs: logs}
}

type call struct {
	method, path, body string
	headers            map[string]string
}

type response struct {
	status int
	header http.Header
	body   []byte
}

// result decodes the body as a Result, failing the test if it is not one.
func (r response) result(t *testing.T) actions.Result {
	t.Helper()
	var res actions.Result
	dec := json.NewDecoder(bytes.NewReader(r.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&res); err != nil {
		t.Fatalf("body is not a result: %v\n%s", err, r.body)
	}
	return res
}

func (r response) firstCode(t *testing.T) string {
	res := r.result(t)
	if len(res.TwilioError) == 0 {
		return ""
	}
	return string(res.TwilioError[0].Code)
}

func (h *harness) do(c call) response {
	if c.method == "" {
		c.method = http.MethodPost
	}
	req := httptest.NewRequest(c.method, c.path, strings.NewReader(c.body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+goodKey)
	for k, v := range c.headers {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	rec := httptest.NewRecorder()
	h.h.ServeHTTP(rec, req)
	return response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
}

// post sends body to path with the good key and, when idem is not empty, an Idempotency-Key.
func (h *harness) post(path, idem, body string) response {
	c := call{path: path, body: body}
	if idem != "" {
		c.headers = map[string]string{"Idempotency-Key": idem}
	}
	return h.do(c)
}

func smsBody(to ...string) string {
	b, _ := json.Marshal(map[string]any{"smsTo": to, "smsBody": "Order ${orderNumber} is ready", "variables": map[string]any{"orderNumber": 4711}})
	return string(b)
}

func TestAuthentication(t *testing.T) {
	cases := []struct {
		name    string
		headers map[string]string
		want    int
	}{
		{"no key", map[string]string{"Authorization": ""}, http.StatusUnauthorized},
		{"bearer, unknown key", map[string]string{"Authorization": "Bearer " + badKey}, http.StatusUnauthorized},
		{"bearer, good key", map[string]string{"Authorization": "Bearer " + goodKey}, http.StatusOK},
		{"bearer, lower-case scheme", map[string]string{"Authorization": "bearer " + goodKey}, http.StatusOK},
		{"bearer, second configured key", map[string]string{"Authorization": "Bearer " + otherKey}, http.StatusOK},
		{"bearer, empty token", map[string]string{"Authorization": "Bearer "}, http.StatusUnauthorized},
		{"basic scheme", map[string]string{"Authorization": "Basic " + goodKey}, http.StatusUnauthorized},
		{"X-API-Key, good key", map[string]string{"Authorization": "", "X-API-Key": goodKey}, http.StatusOK},
		{"X-API-Key, unknown key", map[string]string{"Authorization": "", "X-API-Key": badKey}, http.StatusUnauthorized},
		{"X-API-Key, prefix of a key", map[string]string{"Authorization": "", "X-API-Key": goodKey[:10]}, http.StatusUnauthorized},
		{"both headers, same key", map[string]string{"X-API-Key": goodKey}, http.StatusOK},
		{"both headers, different keys", map[string]string{"X-API-Key": otherKey}, http.StatusUnauthorized},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, harnessOptions{})
			r := h.do(call{path: "/v1/messages", body: smsBody(alice), headers: tc.headers})
			if r.status != tc.want {
				t.Fatalf("status %d, want %d: %s", r.status, tc.want, r.body)
			}
			wantSent := 0
			if tc.want == http.StatusOK {
				wantSent = 1
			} else {
				if got := r.firstCode(t); got != string(errs.APIKeyRejected) {
					t.Errorf("code %q, want %s", got, errs.APIKeyRejected)
				}
				if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("WWW-Authenticate %q", r.header.Get("WWW-Authenticate"))
				}
			}
			if n := h.fake.CountSentTo(alice); n != wantSent {
				t.Errorf("sent %d messages, want %d", n, wantSent)
			}
		})
	}
}

func TestAPIOffWithoutKeys(t *testing.T) {
	for _, keys := range [][]string{{}, {"", " "}} {
		h := newHarness(t, harnessOptions{keys: keys})
		for _, c := range []call{
			{path: "/v1/messages", body: smsBody(alice)},
			{path: "/v1/calls", body: `{"callTo":["` + alice + `"],"callMessage":"hi"}`},
			{method: http.MethodGet, path: "/v1/openapi.json"},
		} {
			if r := h.do(c); r.status != http.StatusNotFound {
				t.Errorf("%s %s with keys %q: status %d, want 404", c.method, c.path, keys, r.status)
			}
		}
		if len(h.fake.Requests()) != 0 {
			t.Errorf("Twilio was called while the API is off")
		}
		if !strings.Contains(h.logs.String(), "HTTP API off") {
			t.Errorf("the log does not say the API is off:\n%s", h.logs)
		}
	}
}

func TestParseAPIKeys(t *testing.T) {
	const a, b, c = "aaaaaaaaaaaaaaaa", "bbbbbbbbbbbbbbbbbbbb", "cccccccccccccccc"
	cases := []struct {
		in      string
		want    []string
		wantErr string
	}{
		{in: ""},
		{in: a, want: []string{a}},
		{in: " " + a + " , " + b + ",," + a + " ", want: []string{a, b}},
		{in: "# keys for the shop\n" + a + "\n\n  " + b + "  \n#" + c + "\n", want: []string{a, b}},
		{in: a + "," + b + "\n" + c, want: []string{a, b, c}},
		{in: a + ",short-secret", wantErr: "key 2 has 12 characters"},
		{in: "aaaaaaaa bbbbbbbbbbbb", wantErr: "key 1 contains a space"},
	}
	for _, tc := range cases {
		got, err := ParseAPIKeys(tc.in)
		if tc.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) || strings.Contains(err.Error(), "short-secret") {
				t.Errorf("ParseAPIKeys(%q) error %v, want %q without the key", tc.in, err, tc.wantErr)
			}
			continue
		}
		if err != nil || !slices.Equal(got, tc.want) {
			t.Errorf("ParseAPIKeys(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

// TestStatusCodes produces every status the endpoints can answer, checks each body against the
// OpenAPI Result schema, and checks the set of statuses equals the documented one per path.
func TestStatusCodes(t *testing.T) {
	spec := loadSpec(t)
	result := spec.schema(t, "Result")
	type tcase struct {
		name     string
		opts     harnessOptions
		setup    func(h *harness)
		call     call
		want     int
		wantCode string
		check    func(t *testing.T, h *harness, r response)
	}
	const messages, calls = "/v1/messages", "/v1/calls"
	key := map[string]string{"Idempotency-Key": "order-4711"}
	cases := []tcase{
		{name: "sms to every recipient", call: call{path: messages, body: smsBody(alice, bob)}, want: 200,
			check: func(t *testing.T, h *harness, r response) {
				res := r.result(t)
				if res.TwilioError != nil || len(res.TwilioResult) != 2 || res.TwilioResult[0].SID == nil {
					t.Errorf("result %s", r.body)
				}
				if sent := h.fake.Sent(); len(sent) != 2 || sent[0].Body != "Order 4,711 is ready" {
					t.Errorf("sent %+v", sent)
				}
			}},
		{name: "sms, one recipient rejected permanently", setup: func(h *harness) { h.fake.FailTimes(bob, 1, 400, 21211) },
			call: call{path: messages, body: smsBody(alice, bob)}, want: 200, wantCode: "INVALID_TO_PHONE_NUMBER_ERROR",
			check: func(t *testing.T, h *harness, r response) {
				if h.fake.CountSentTo(alice) != 1 || h.fake.CountSentTo(bob) != 0 {
					t.Errorf("sent %+v", h.fake.Sent())
				}
			}},
		{name: "sms testing mode", call: call{path: messages, body: `{"smsTo":"` + alice + `","smsBody":"hi","smsTesting":true}`}, want: 200,
			check: func(t *testing.T, h *harness, r response) {
				if res := r.result(t); res.TwilioResult[0].Status != actions.StatusTesting || len(h.fake.Requests()) != 0 {
					t.Errorf("result %s, requests %d", r.body, len(h.fake.Requests()))
				}
			}},
		{name: "call", call: call{path: calls, body: `{"callTo":["` + alice + `"],"callMessage":"Order ${n} is ready","variables":{"n":"A7"}}`}, want: 200,
			check: func(t *testing.T, h *harness, r response) {
				if c := h.fake.Calls(); len(c) != 1 || !strings.Contains(c[0].Twiml, "Order A7 is ready") {
					t.Errorf("calls %+v", c)
				}
			}},
		{name: "sms without body", call: call{path: messages, body: `{"smsTo":["` + alice + `"]}`}, want: 400, wantCode: "MISSING_INPUT"},
		{name: "sms without recipients", call: call{path: messages, body: `{"smsBody":"hi"}`}, want: 400, wantCode: "MISSING_INPUT"},
		{name: "call with two contents", call: call{path: calls, body: `{"callTo":"` + alice + `","callMessage":"hi","callTwimlUrl":"https://example.com/t.xml"}`}, want: 400, wantCode: "INVALID_INPUT"},
		{name: "template references a missing variable", call: call{path: messages, body: `{"smsTo":"` + alice + `","smsBody":"hi ${name}"}`}, want: 400, wantCode: "INVALID_INPUT"},
		{name: "unknown field", call: call{path: messages, body: `{"smsTo":"` + alice + `","smsBody":"hi","smsBdy":"x"}`}, want: 400, wantCode: "INVALID_INPUT"},
		{name: "call field on the sms endpoint", call: call{path: messages, body: `{"smsTo":"` + alice + `","smsBody":"hi","callMessage":"x"}`}, want: 400, wantCode: "INVALID_INPUT"},
		{name: "body is a list", call: call{path: messages, body: `[{"smsTo":"` + alice + `"}]`}, want: 400, wantCode: "INVALID_INPUT"},
		{name: "body is null", call: call{path: messages, body: `null`}, want: 400, wantCode: "INVALID_INPUT"},
		{name: "two JSON values", call: call{path: messages, body: `{"smsTo":"` + alice + `","smsBody":"hi"}{}`}, want: 400, wantCode: "INVALID_INPUT"},
		{name: "connection default by name", call: call{path: messages, body: `{"smsTo":"` + alice + `","smsBody":"hi","connection":"default"}`}, want: 200,
			check: func(t *testing.T, h *harness, r response) {
				if h.fake.CountSentTo(alice) != 1 {
					t.Errorf("sent %+v", h.fake.Sent())
				}
			}},
		{name: "unknown connection", call: call{path: calls, body: `{"callTo":"` + alice + `","callMessage":"hi","connection":"nope"}`}, want: 400, wantCode: "INVALID_INPUT",
			check: func(t *testing.T, h *harness, r response) {
				if f := r.result(t).Failure(); f.Field != "connection" || len(h.fake.Requests()) != 0 {
					t.Errorf("result %s", r.body)
				}
			}},
		{name: "connection not a string", call: call{path: messages, body: `{"smsTo":"` + alice + `","smsBody":"hi","connection":7}`}, want: 400, wantCode: "INVALID_INPUT"},
		{name: "bad templateEngine", call: call{path: messages, body: `{"smsTo":"` + alice + `","smsBody":"hi","templateEngine":"jinja"}`}, want: 400, wantCode: "INVALID_INPUT"},
		{name: "variable named like a field", call: call{path: messages, body: `{"smsTo":"` + alice + `","smsBody":"hi","variables":{"smsTo":"x"}}`}, want: 400, wantCode: "INVALID_INPUT"},
		{name: "Idempotency-Key with a space", call: call{path: messages, body: smsBody(alice), headers: map[string]string{"Idempotency-Key": "a b"}}, want: 400, wantCode: "INVALID_INPUT"},
		{name: "Idempotency-Key over 255 characters", call: call{path: messages, body: smsBody(alice), headers: map[string]string{"Idempotency-Key": strings.Repeat("k", 256)}}, want: 400, wantCode: "INVALID_INPUT"},
		{name: "no API key", call: call{path: calls, body: `{}`, headers: map[string]string{"Authorization": ""}}, want: 401, wantCode: string(errs.APIKeyRejected)},
		{name: "unknown API key", call: call{path: messages, body: smsBody(alice), headers: map[string]string{"Authorization": "Bearer " + badKey}}, want: 401, wantCode: string(errs.APIKeyRejected)},
		{name: "GET on messages", call: call{method: http.MethodGet, path: messages}, want: 405},
		{name: "GET on calls", call: call{method: http.MethodGet, path: calls}, want: 405},
		{name: "key held by a running request", setup: func(h *harness) {
			h.st.PutIfAbsent(context.Background(), claimsBucket, "messages/"+keyID(sha256.Sum256([]byte(goodKey)))+"/order-4711", []byte("x"), time.Minute)
		}, call: call{path: messages, body: smsBody(alice), headers: key}, want: 409, wantCode: string(errs.IdempotencyKeyInProgress)},
		{name: "call key held by a running request", setup: func(h *harness) {
			h.st.PutIfAbsent(context.Background(), claimsBucket, "calls/"+keyID(sha256.Sum256([]byte(goodKey)))+"/order-4711", []byte("x"), time.Minute)
		}, call: call{path: calls, body: `{"callTo":"` + alice + `","callMessage":"a"}`, headers: key}, want: 409, wantCode: string(errs.IdempotencyKeyInProgress)},
		{name: "call body over the limit", opts: harnessOptions{maxBody: 10}, call: call{path: calls, body: `{"callTo":"` + alice + `","callMessage":"a"}`}, want: 413, wantCode: "INVALID_INPUT"},
		{name: "call without Twilio credentials", opts: harnessOptions{noCredentials: true}, call: call{path: calls, body: `{"callTo":"` + alice + `","callMessage":"a"}`}, want: 500, wantCode: "AUTHENTICATION_CONNECTION_ERROR"},
		{name: "body over the limit", opts: harnessOptions{maxBody: 100}, call: call{path: messages, body: smsBody(strings.Repeat("1", 200))}, want: 413, wantCode: "INVALID_INPUT"},
		{name: "form body", call: call{path: messages, body: "smsTo=1", headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}}, want: 415, wantCode: "INVALID_INPUT"},
		{name: "no content type", call: call{path: calls, body: `{}`, headers: map[string]string{"Content-Type": ""}}, want: 415, wantCode: "INVALID_INPUT"},
		{name: "key reused with another body", setup: func(h *harness) {
			if r := h.post(messages, "order-4711", smsBody(bob)); r.status != 200 {
				h.t.Fatalf("first request: %d %s", r.status, r.body)
			}
		}, call: call{path: messages, body: smsBody(alice), headers: key}, want: 422, wantCode: string(errs.IdempotencyKeyReused),
			check: func(t *testing.T, h *harness, r response) {
				if h.fake.CountSentTo(alice) != 0 {
					t.Errorf("sent to alice")
				}
			}},
		{name: "key reused on calls", setup: func(h *harness) {
			h.post(calls, "order-4711", `{"callTo":"`+alice+`","callMessage":"a"}`)
		}, call: call{path: calls, body: `{"callTo":"` + alice + `","callMessage":"b"}`, headers: key}, want: 422, wantCode: string(errs.IdempotencyKeyReused)},
		{name: "no Twilio credentials", opts: harnessOptions{noCredentials: true}, call: call{path: messages, body: smsBody(alice)}, want: 500, wantCode: "AUTHENTICATION_CONNECTION_ERROR"},
		{name: "Twilio unavailable", setup: func(h *harness) { h.fake.FailTimes(alice, 2, 503, 0) },
			call: call{path: messages, body: smsBody(alice)}, want: 503, wantCode: "TWILIO_CONNECTION_ERROR",
			check: func(t *testing.T, h *harness, r response) {
				if r.header.Get("Retry-After") != "5" {
					t.Errorf("Retry-After %q", r.header.Get("Retry-After"))
				}
			}},
		{name: "Twilio rate limit on calls", setup: func(h *harness) { h.fake.FailTimes(alice, 2, 429, 0) },
			call: call{path: calls, body: `{"callTo":"` + alice + `","callTwiml":"<Response/>"}`}, want: 503, wantCode: "TWILIO_RATE_LIMITED"},
	}
	seen := map[string]map[string]bool{}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := newHarness(t, tc.opts)
			if tc.setup != nil {
				tc.setup(h)
			}
			r := h.do(tc.call)
			if r.status != tc.want {
				t.Fatalf("status %d, want %d: %s", r.status, tc.want, r.body)
			}
			if seen[tc.call.path] == nil {
				seen[tc.call.path] = map[string]bool{}
			}
			seen[tc.call.path][itoa(r.status)] = true
			if r.status != http.StatusMethodNotAllowed {
				if err := validate(result, r.body); err != nil {
					t.Errorf("body does not match the Result schema: %v\n%s", err, r.body)
				}
				if got := r.firstCode(t); got != tc.wantCode {
					t.Errorf("code %q, want %q: %s", got, tc.wantCode, r.body)
				}
			}
			if tc.check != nil {
				tc.check(t, h, r)
			}
		})
	}
	for _, path := range []string{messages, calls} {
		documented := spec.statuses(t, path, "post")
		for s := range seen[path] {
			if !documented[s] {
				t.Errorf("%s answers %s, which openapi.json does not document", path, s)
			}
		}
		for s := range documented {
			if !seen[path][s] {
				t.Errorf("openapi.json documents %s for %s, which no case produced", s, path)
			}
		}
	}
}

func TestIdempotentReplaySendsOnce(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	first := h.post("/v1/messages", "order-4711", smsBody(alice, bob))
	// Same content, other key order and spacing.
	again := h.post("/v1/messages", "order-4711", `{ "variables": {"orderNumber": 4711}, "smsBody": "Order ${orderNumber} is ready", "smsTo": ["`+alice+`", "`+bob+`"] }`)
	if first.status != 200 || again.status != 200 {
		t.Fatalf("statuses %d, %d", first.status, again.status)
	}
	if !bytes.Equal(first.body, again.body) {
		t.Errorf("replay differs:\n%s\n%s", first.body, again.body)
	}
	if first.header.Get("Idempotent-Replayed") != "" || again.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("Idempotent-Replayed %q, %q", first.header.Get("Idempotent-Replayed"), again.header.Get("Idempotent-Replayed"))
	}
	if h.fake.CountSentTo(alice) != 1 || h.fake.CountSentTo(bob) != 1 || len(h.fake.Requests()) != 2 {
		t.Fatalf("Twilio got %d requests: %+v", len(h.fake.Requests()), h.fake.Sent())
	}

	// Keys are scoped per API key and per endpoint; no header means a new request each time.
	other := h.do(call{path: "/v1/messages", body: smsBody(alice, bob),
		headers: map[string]string{"Authorization": "Bearer " + otherKey, "Idempotency-Key": "order-4711"}})
	callR := h.post("/v1/calls", "order-4711", `{"callTo":"`+alice+`","callMessage":"hi"}`)
	plain1 := h.post("/v1/messages", "", smsBody(alice))
	plain2 := h.post("/v1/messages", "", smsBody(alice))
	for _, r := range []response{other, callR, plain1, plain2} {
		if r.status != 200 || r.header.Get("Idempotent-Replayed") != "" {
			t.Errorf("status %d replayed %q: %s", r.status, r.header.Get("Idempotent-Replayed"), r.body)
		}
	}
	if n := h.fake.CountSentTo(alice); n != 5 {
		t.Errorf("alice got %d messages and calls, want 5 (1 first, 1 other key, 1 call, 2 without key)", n)
	}
	if n := len(h.fake.Calls()); n != 1 {
		t.Errorf("%d calls, want 1", n)
	}
}

func TestBadRequestDoesNotPinTheKey(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	if r := h.post("/v1/messages", "k1", `{"smsTo":"`+alice+`"}`); r.status != 400 {
		t.Fatalf("status %d", r.status)
	}
	if r := h.post("/v1/messages", "k1", smsBody(alice)); r.status != 200 || h.fake.CountSentTo(alice) != 1 {
		t.Fatalf("corrected request with the same key: %d %s", r.status, r.body)
	}
}

func TestCallPlacedOnce(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	body := `{"callTo":["` + alice + `"],"callMessage":"Your code is ${code}","callVoice":"alice","variables":{"code":"1 2 3"}}`
	var sids []string
	for i := 0; i < 3; i++ {
		r := h.post("/v1/calls", "call-1", body)
		if r.status != 200 {
			t.Fatalf("attempt %d: %d %s", i, r.status, r.body)
		}
		res := r.result(t)
		sids = append(sids, *res.TwilioResult[0].SID)
	}
	calls := h.fake.Calls()
	if len(calls) != 1 || !strings.Contains(calls[0].Twiml, "Your code is 1 2 3") || calls[0].SID != sids[0] {
		t.Fatalf("calls %+v, sids %v", calls, sids)
	}
	if sids[1] != sids[0] || sids[2] != sids[0] {
		t.Errorf("replays answered other SIDs: %v", sids)
	}
}

func TestConcurrentSameKeySendsOnce(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	h.fake.SetLatency(300 * time.Millisecond)
	const n = 6
	results := make([]response, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			results[i] = h.post("/v1/messages", "same", smsBody(alice))
		}()
	}
	close(start)
	wg.Wait()
	var fresh, conflicts int
	for _, r := range results {
		switch {
		case r.status == 200 && r.header.Get("Idempotent-Replayed") == "":
			fresh++
		case r.status == 409:
			conflicts++
			if !strings.Contains(string(r.body), "in progress") {
				t.Errorf("409 body %s", r.body)
			}
		case r.status == 200:
		default:
			t.Errorf("status %d: %s", r.status, r.body)
		}
	}
	if fresh != 1 || conflicts == 0 {
		t.Errorf("%d requests sent and %d got 409; want 1 and at least 1", fresh, conflicts)
	}
	if got := h.fake.CountTo(alice); got != 1 {
		t.Errorf("Twilio got %d requests for alice, want 1", got)
	}
	// Once the first has finished, the key answers with its result.
	if r := h.post("/v1/messages", "same", smsBody(alice)); r.status != 200 || r.header.Get("Idempotent-Replayed") != "true" {
		t.Errorf("after the race: %d %q", r.status, r.header.Get("Idempotent-Replayed"))
	}
}

func TestTransientFailureThenReplaySendsOnlyMissing(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	h.fake.FailTimes(bob, 2, 503, 0) // both attempts of the first request
	first := h.post("/v1/messages", "order-9", smsBody(alice, bob))
	if first.status != 503 || first.header.Get("Retry-After") == "" {
		t.Fatalf("first: %d Retry-After %q %s", first.status, first.header.Get("Retry-After"), first.body)
	}
	res := first.result(t)
	if res.TwilioResult[0].SID == nil || res.TwilioResult[1].SID != nil || len(res.TwilioError) != 1 || *res.TwilioError[0].To != bob {
		t.Fatalf("partial result %s", first.body)
	}
	if h.fake.CountSentTo(alice) != 1 || h.fake.CountSentTo(bob) != 0 {
		t.Fatalf("after the failure: alice %d bob %d", h.fake.CountSentTo(alice), h.fake.CountSentTo(bob))
	}
	if r := h.post("/v1/messages", "order-9", smsBody(alice)); r.status != 422 {
		t.Errorf("another body after a 503: %d, want 422", r.status)
	}

	second := h.post("/v1/messages", "order-9", smsBody(alice, bob))
	if second.status != 200 || second.header.Get("Idempotent-Replayed") != "" {
		t.Fatalf("repeat: %d %s", second.status, second.body)
	}
	res2 := second.result(t)
	if res2.TwilioError != nil || *res2.TwilioResult[0].SID != *res.TwilioResult[0].SID || res2.TwilioResult[1].SID == nil {
		t.Errorf("repeat result %s", second.body)
	}
	if h.fake.CountSentTo(alice) != 1 || h.fake.CountSentTo(bob) != 1 {
		t.Errorf("after the repeat: alice %d bob %d, want 1 and 1", h.fake.CountSentTo(alice), h.fake.CountSentTo(bob))
	}
	third := h.post("/v1/messages", "order-9", smsBody(alice, bob))
	if third.status != 200 || third.header.Get("Idempotent-Replayed") != "true" || !bytes.Equal(third.body, second.body) {
		t.Errorf("third: %d %q", third.status, third.header.Get("Idempotent-Replayed"))
	}
	if len(h.fake.Sent()) != 2 {
		t.Errorf("%d messages in all, want 2", len(h.fake.Sent()))
	}
}

func TestAPIKeysNeverLogged(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	h.fake.FailTimes(bob, 2, 503, 0)
	h.do(call{path: "/v1/messages", body: smsBody(alice), headers: map[string]string{"Authorization": "Bearer " + badKey}})
	h.do(call{path: "/v1/messages", body: smsBody(alice), headers: map[string]string{"Authorization": "", "X-API-Key": otherKey}})
	h.post("/v1/messages", "k", smsBody(alice, bob))
	h.post("/v1/messages", "k", smsBody(alice, bob))
	h.post("/v1/calls", "", `{"callTo":"`+alice+`"}`)
	logs := h.logs.String()
	for _, secret := range []string{goodKey, otherKey, badKey, h.fake.AuthToken} {
		if strings.Contains(logs, secret) {
			t.Errorf("the log contains the secret %q:\n%s", secret, logs)
		}
	}
	id := keyID(sha256.Sum256([]byte(goodKey)))
	if !strings.Contains(logs, "apiKey="+id) {
		t.Errorf("the log does not name the caller's key id %s:\n%s", id, logs)
	}
}

func itoa(n int) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// TestMountedOnServerMux mounts the API as cmd/twilio-connector does, next to method-specific
// routes, and talks to it over a real connection.
func TestMountedOnServerMux(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { io.WriteString(w, "ok") })
	mux.Handle("/v1/", h.h)
	srv := httptest.NewServer(mux)
	defer srv.Close()
	req, _ := http.NewRequest(http.MethodPost, srv.URL+"/v1/messages", strings.NewReader(smsBody(alice)))
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("X-API-Key", goodKey)
	req.Header.Set("Idempotency-Key", "order-4711")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 || h.fake.CountSentTo(alice) != 1 {
		t.Fatalf("status %d: %s", resp.StatusCode, body)
	}
	for path, want := range map[string]int{"/v1/nope": 404, "/healthz": 200, "/v1/openapi.json": 200} {
		r, err := srv.Client().Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode != want {
			t.Errorf("GET %s: %d, want %d", path, r.StatusCode, want)
		}
	}
}

// get_message and cancel_message over HTTP: a scheduled message is reported, canceled (a repeat
// succeeds alike), and every answer matches the Result schema and the documented statuses.
func TestMessageEndpoints(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	spec := loadSpec(t)
	result := spec.schema(t, "Result")
	const service = "MG0123456789abcdef0123456789abcdef"
	sendAt := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	r := h.post("/v1/messages", "", `{"smsFrom":"`+service+`","smsTo":["`+alice+`"],"smsBody":"later","smsSendAt":"`+sendAt+`"}`)
	var sent actions.Result
	if err := json.Unmarshal(r.body, &sent); err != nil || r.status != 200 || sent.TwilioResult[0].Status != actions.StatusScheduled {
		t.Fatalf("schedule: %d %s", r.status, r.body)
	}
	sid := *sent.TwilioResult[0].SID
	queued := h.post("/v1/messages", "", smsBody(bob))
	if err := json.Unmarshal(queued.body, &sent); err != nil || queued.status != 200 {
		t.Fatalf("send: %d %s", queued.status, queued.body)
	}
	queuedSID := *sent.TwilioResult[0].SID
	unknown := "SM0123456789abcdef0123456789abcdef"

	for _, tc := range []struct {
		method, path, wantStatus string
		path2                    string // the documented path
		want                     string // in the body
	}{
		{"GET", "/v1/messages/" + sid, "200", "/v1/messages/{messageSid}", `"status":"scheduled"`},
		{"GET", "/v1/messages/" + sid + "?connection=default", "200", "/v1/messages/{messageSid}", `"dateCreated":"`},
		{"GET", "/v1/messages/SM12", "400", "/v1/messages/{messageSid}", `"field":"messageSid"`},
		{"GET", "/v1/messages/" + sid + "?conection=default", "400", "/v1/messages/{messageSid}", `unknown query parameter \"conection\"`},
		{"GET", "/v1/messages/" + unknown, "404", "/v1/messages/{messageSid}", `"twilioCode":20404`},
		{"POST", "/v1/messages/" + sid + "/cancel", "200", "/v1/messages/{messageSid}/cancel", `"status":"canceled"`},
		{"POST", "/v1/messages/" + sid + "/cancel", "200", "/v1/messages/{messageSid}/cancel", `"status":"canceled"`},
		{"POST", "/v1/messages/" + queuedSID + "/cancel", "400", "/v1/messages/{messageSid}/cancel", `"twilioCode":30409`},
		{"POST", "/v1/messages/" + unknown + "/cancel", "404", "/v1/messages/{messageSid}/cancel", `"twilioCode":20404`},
		{"POST", "/v1/messages/" + sid + "/cancel?connection=nope", "400", "/v1/messages/{messageSid}/cancel", `"field":"connection"`},
	} {
		r := h.do(call{method: tc.method, path: tc.path, headers: map[string]string{"Content-Type": ""}})
		if itoa(r.status) != tc.wantStatus || !strings.Contains(string(r.body), tc.want) {
			t.Errorf("%s %s: %d %s, want %s with %s", tc.method, tc.path, r.status, r.body, tc.wantStatus, tc.want)
		}
		if err := validate(result, r.body); err != nil {
			t.Errorf("%s %s: body does not match Result: %v", tc.method, tc.path, err)
		}
		if !spec.statuses(t, tc.path2, strings.ToLower(tc.method))[tc.wantStatus] {
			t.Errorf("%s %s answers %s, which openapi.json does not document", tc.method, tc.path2, tc.wantStatus)
		}
	}
	if m, _ := h.fake.Message(sid); m.Status != actions.StatusCanceled {
		t.Fatalf("the stand-in has %q", m.Status)
	}
	for _, c := range []call{{method: "POST", path: "/v1/messages/" + sid}, {method: "GET", path: "/v1/messages/" + sid + "/cancel"}} {
		if r := h.do(c); r.status != http.StatusMethodNotAllowed {
			t.Errorf("%s %s: %d, want 405", c.method, c.path, r.status)
		}
	}
	// The key check comes before the path: a request without a key learns nothing.
	if r := h.do(call{method: "GET", path: "/v1/messages/" + sid, headers: map[string]string{"Authorization": ""}}); r.status != 401 {
		t.Errorf("without a key: %d", r.status)
	}
}

// A send whose paced slot is after the request's deadline is answered 503 TWILIO_RATE_LIMITED
// with the wait as Retry-After, nothing sent; the client comes back then.
func TestPacedSendAnswers503WithTheWait(t *testing.T) {
	// 110 s per segment (100 s stretched by pace.Headroom): the second send's slot is far beyond the 5 s request timeout.
	p := pace.New(providers.DefaultConnection, "AC", pace.Rates{Senders: map[string]float64{fromNumber: 0.01}}, nil)
	h := newHarness(t, harnessOptions{pace: p})
	if r := h.post("/v1/messages", "", smsBody(alice)); r.status != 200 {
		t.Fatalf("first send: %d %s", r.status, r.body)
	}
	r := h.post("/v1/messages", "", smsBody(bob))
	if r.status != 503 || r.firstCode(t) != string(errs.RateLimited) {
		t.Fatalf("paced send: %d %s", r.status, r.body)
	}
	if ra := r.header.Get("Retry-After"); ra != "110" && ra != "109" {
		t.Errorf("Retry-After %q, want the wait for the slot (about 110 s)", ra)
	}
	if n := h.fake.CountSentTo(bob); n != 0 {
		t.Errorf("%d messages to bob while paced", n)
	}
}
