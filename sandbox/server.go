// Package sandbox is a local stand-in for the Twilio REST endpoints the connector calls
// (create, fetch and cancel a Message; create a Call). `twilio-connector dev` serves it on 127.0.0.1 when no Twilio
// credentials are set, and test/twiliotest wraps it for tests: programmed errors, latency,
// hangs, distinct SIDs, exact request counts, status callbacks.
//
// It answers like api.twilio.com: HTTP basic auth with the account SID and auth token (401 and
// error 20003 otherwise), form-encoded requests, 201 with the resource JSON, and errors as
// {"code", "message", "more_info", "status"}. For messages it also honours the magic numbers of
// Twilio's test credentials (https://www.twilio.com/docs/iam/test-credentials), whatever the
// credentials: To +15005550001 (21211), +15005550002 (21612), +15005550003 (21408),
// +15005550004 (21610), +15005550009 (21614); From +15005550001 (21212), +15005550007 (21606),
// +15005550008 (21611). Any other number is accepted.
//
// Differences from Twilio a test may trip over: a message sent with MessagingServiceSid and no
// From comes back with status "accepted" and from null, as on Twilio; the sandbox changes a status on
// its own only with Options.StatusCallbacks (otherwise use SendStatus); it does not validate E.164 syntax.
//
// Message options: ScheduleType=fixed with SendAt (15 minutes to 35 days ahead, a Messaging
// Service as sender) makes a message "scheduled" (35111, 35114, 35118 otherwise); it is never
// sent, and POST Status=canceled on it makes it "canceled" (30409 for any other message). With
// a ContentSid the body shown is "[content HX…] " and the ContentVariables, since the sandbox
// has no templates. num_segments is counted from the body (package segments).
package sandbox

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/twilio-connector/twilio-connector/providers"
	"github.com/twilio-connector/twilio-connector/providers/segments"
)

// APIVersion is the path prefix and the api_version the fake reports.
const APIVersion = "2010-04-01"

// MaxBodyLength is Twilio's limit on a message body, in characters; longer bodies get 21617.
const MaxBodyLength = 1600

// Server is a fake Twilio REST API. All methods are safe for concurrent use.
type Server struct {
	// AccountSID and AuthToken are the credentials the server accepts. A test may change them
	// between requests (to make the client's credentials wrong), never while one is in flight.
	AccountSID string
	AuthToken  string

	opts      Options
	logger    *slog.Logger
	closing   chan struct{}
	closeOnce sync.Once
	closed    bool // under mu; no callback goroutine starts once set
	cbWG      sync.WaitGroup
	cbClient  *http.Client
	httpSrv   *http.Server

	mu          sync.Mutex
	latency     time.Duration
	acceptFirst bool
	rules       []*rule
	requests    []Request
	messages    []Message
	calls       []Call
}

// Request is one HTTP request the server received, whatever the answer.
type Request struct {
	Method string
	Path   string
	// Form holds every value of every key of the form body, in the order sent.
	Form url.Values
	// User is the basic-auth user name ("" without basic auth); the password is never kept.
	User       string
	Authorized bool
	// Status is the HTTP status answered, or 0 while the request hangs or is delayed.
	Status int
	Time   time.Time
}

// Message is a message the server accepted (answered 201).
type Message struct {
	SID                 string
	AccountSID          string
	To                  string
	From                string
	MessagingServiceSID string
	Body                string
	MediaURLs           []string
	StatusCallback      string
	Status              string
	// ContentSID and ContentVariables are the content template and its variables; the
	// sandbox shows them as the body.
	ContentSID, ContentVariables string
	// SendAt is when a scheduled message (status "scheduled") is due; zero otherwise.
	SendAt time.Time
	// Form is the whole request form, for fields the struct does not name.
	Form    url.Values
	Created time.Time
	Updated time.Time
}

// Call is a call the server accepted (answered 201).
type Call struct {
	SID                  string
	AccountSID           string
	To                   string
	From                 string
	URL                  string
	Twiml                string
	StatusCallback       string
	StatusCallbackEvents []string
	Status               string
	Form                 url.Values
	Created              time.Time
}

// Error is Twilio's error body.
type Error struct {
	Code     int    `json:"code"`
	Message  string `json:"message"`
	MoreInfo string `json:"more_info"`
	Status   int    `json:"status"`
	// Detail is only set by some errors (20003).
	Detail string `json:"detail,omitempty"`
}

// Options configures a Server.
type Options struct {
	// AccountSID and AuthToken are the credentials the server accepts; empty ones are generated.
	AccountSID string
	AuthToken  string
	// Logger, when set, gets one line per accepted message or call (sid, to, from, body).
	Logger *slog.Logger
	// StatusCallbacks makes the server post Twilio-style signed status callbacks to the
	// StatusCallback URL of each accepted message (sent, then delivered) and call (the
	// StatusCallbackEvent events asked for, "completed" when none), like Twilio does.
	StatusCallbacks bool
	// CallbackDelay is the pause before each status callback; 0 means DefaultCallbackDelay.
	CallbackDelay time.Duration
}

// DefaultCallbackDelay is the pause before each automatic status callback.
const DefaultCallbackDelay = 200 * time.Millisecond

// CallbackTimeout bounds each automatic status callback request.
const CallbackTimeout = 10 * time.Second

// New returns a sandbox Twilio API as an http.Handler; serve it yourself or use Listen. Call
// Close to stop pending status callbacks.
func New(opts Options) *Server {
	if opts.AccountSID == "" {
		opts.AccountSID = NewSID("AC")
	}
	if opts.AuthToken == "" {
		opts.AuthToken = randomHex(16)
	}
	if opts.CallbackDelay <= 0 {
		opts.CallbackDelay = DefaultCallbackDelay
	}
	return &Server{
		AccountSID: opts.AccountSID,
		AuthToken:  opts.AuthToken,
		opts:       opts,
		logger:     opts.Logger,
		closing:    make(chan struct{}),
		cbClient:   &http.Client{Timeout: CallbackTimeout},
	}
}

// Listen serves a new sandbox on addr (e.g. "127.0.0.1:0") until ctx ends or Close is called,
// and returns it with its base URL (no trailing slash).
func Listen(ctx context.Context, addr string, opts Options) (*Server, string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, "", fmt.Errorf("sandbox: listen %s: %w", addr, err)
	}
	s := New(opts)
	s.httpSrv = &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = s.httpSrv.Serve(ln) }()
	go func() {
		select {
		case <-ctx.Done():
			s.Close()
		case <-s.closing:
		}
	}()
	return s, "http://" + ln.Addr().String(), nil
}

// Close stops the server started by Listen (if any), answers hanging requests by dropping them,
// cancels pending status callbacks and waits for their goroutines. It is safe to call twice.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		close(s.closing)
		if s.httpSrv != nil {
			_ = s.httpSrv.Close()
		}
	})
	s.cbWG.Wait()
}

// UnusedRules describes every FailTimes/FailWith/AcceptThenDrop rule with a finite count that
// is not used up, for a test harness to report.
func (s *Server) UnusedRules() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, r := range s.rules {
		if r.times > 0 {
			out = append(out, fmt.Sprintf("FailTimes(%q, %d, %d, %d) left %d failure(s) unused",
				r.to, r.total, r.fail.Status, r.fail.Code, r.times))
		}
	}
	return out
}

// MessagesPath is the path of the create-message endpoint for the server's account.
func (s *Server) MessagesPath() string {
	return "/" + APIVersion + "/Accounts/" + s.AccountSID + "/Messages.json"
}

// CallsPath is the path of the create-call endpoint for the server's account.
func (s *Server) CallsPath() string {
	return "/" + APIVersion + "/Accounts/" + s.AccountSID + "/Calls.json"
}

// SetLatency delays every answer by d (0 turns it off). A client that gives up earlier gets no
// answer, as from a slow Twilio.
func (s *Server) SetLatency(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.latency = d
}

// Failure is a programmed error answer.
type Failure struct {
	Status int // HTTP status
	Code   int // Twilio error code; 0 picks one from Status (429 -> 20429, 5xx -> 20500/20503)
	// Message defaults to a generic text for Code.
	Message string
	// RetryAfter, when set, is sent as the Retry-After header (seconds or an HTTP date).
	RetryAfter string
}

// Fail makes every request (message or call) to the recipient to ("" for every recipient) fail.
func (s *Server) Fail(to string, status, code int, msg string) {
	s.FailWith(to, -1, Failure{Status: status, Code: code, Message: msg})
}

// FailTimes makes the next n requests to to ("" for every recipient) fail, after which they
// are accepted again: the transient errors (429, 500, 503) a client should retry.
func (s *Server) FailTimes(to string, n, status, code int) {
	s.FailWith(to, n, Failure{Status: status, Code: code})
}

// FailWith makes the next n requests to to ("" for every recipient) fail with f; n < 0 means
// every request. Rules for a recipient are checked before rules for everyone, older before
// newer, and the first one that is not used up decides.
func (s *Server) FailWith(to string, n int, f Failure) {
	if f.Status < 100 || f.Status > 599 {
		panic(fmt.Sprintf("sandbox: Failure.Status %d is not an HTTP status", f.Status))
	}
	if f.Code == 0 {
		f.Code = defaultCode(f.Status)
	}
	if f.Message == "" {
		f.Message = defaultMessage(f.Status)
	}
	s.addRule(&rule{to: to, times: n, total: n, fail: f})
}

// Hang makes requests to to ("" for every recipient) never get an answer: the client sees a
// timeout. The handler returns when the client gives up or the server closes.
func (s *Server) Hang(to string) {
	s.addRule(&rule{to: to, times: -1, hang: true})
}

// SetAcceptFirst makes the server create each message or call as soon as the request arrives
// and only then wait out the latency, as Twilio does: a client that dies or gives up while
// waiting has still sent it.
func (s *Server) SetAcceptFirst(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.acceptFirst = on
}

// AcceptThenDrop makes the next n requests to to ("" for every recipient; n < 0 for all)
// be accepted (the message or call is created, as Twilio would) while the connection is dropped
// without an answer: the client cannot tell whether its request went through.
func (s *Server) AcceptThenDrop(to string, n int) {
	s.addRule(&rule{to: to, times: n, total: n, drop: true})
}

// ClearRules removes every Fail, FailTimes and Hang rule.
func (s *Server) ClearRules() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rules = nil
}

// Requests returns a copy of every request received so far, in arrival order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.requests))
	for i, r := range s.requests {
		r.Form = cloneValues(r.Form)
		out[i] = r
	}
	return out
}

// Sent returns a copy of the messages accepted so far, in order.
func (s *Server) Sent() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, len(s.messages))
	for i, m := range s.messages {
		m.Form = cloneValues(m.Form)
		m.MediaURLs = append([]string(nil), m.MediaURLs...)
		out[i] = m
	}
	return out
}

// Calls returns a copy of the calls accepted so far, in order.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Call, len(s.calls))
	for i, c := range s.calls {
		c.Form = cloneValues(c.Form)
		c.StatusCallbackEvents = append([]string(nil), c.StatusCallbackEvents...)
		out[i] = c
	}
	return out
}

// CountTo is the number of create-message and create-call requests for recipient to, whatever
// their outcome (rejected, failed, hanging or accepted): the attempts the client made.
func (s *Server) CountTo(to string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.requests {
		if isCreate(r.Path) && r.Form.Get("To") == to {
			n++
		}
	}
	return n
}

// CountSentTo is the number of messages and calls accepted for recipient to.
func (s *Server) CountSentTo(to string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, m := range s.messages {
		if m.To == to {
			n++
		}
	}
	for _, c := range s.calls {
		if c.To == to {
			n++
		}
	}
	return n
}

// Message returns the accepted message with the given SID.
func (s *Server) Message(sid string) (Message, bool) {
	for _, m := range s.Sent() {
		if m.SID == sid {
			return m, true
		}
	}
	return Message{}, false
}

type rule struct {
	to    string
	times int // remaining uses; < 0 means unlimited
	total int
	fail  Failure
	hang  bool
	drop  bool // create, then drop the connection (AcceptThenDrop)
}

func (s *Server) addRule(r *rule) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rules = append(s.rules, r)
}

// takeRule returns the rule deciding a request to to, using it up by one. Caller holds s.mu.
func (s *Server) takeRule(to string) *rule {
	for _, global := range []bool{false, true} {
		for _, r := range s.rules {
			if (r.to == "") != global || (!global && r.to != to) || r.times == 0 {
				continue
			}
			if r.times > 0 {
				r.times--
			}
			return r
		}
	}
	return nil
}

func isCreate(path string) bool {
	return strings.HasSuffix(path, "/Messages.json") || strings.HasSuffix(path, "/Calls.json")
}

// ServeHTTP answers one request as api.twilio.com would.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	user, pass, hasAuth := r.BasicAuth()
	authorized := hasAuth && user == s.AccountSID && pass == s.AuthToken

	s.mu.Lock()
	idx := len(s.requests)
	s.requests = append(s.requests, Request{
		Method:     r.Method,
		Path:       r.URL.Path,
		Form:       cloneValues(r.PostForm),
		User:       user,
		Authorized: authorized,
		Time:       time.Now(),
	})
	latency, acceptFirst := s.latency, s.acceptFirst
	var decided *rule
	if authorized && r.Method == http.MethodPost && isCreate(r.URL.Path) {
		decided = s.takeRule(r.PostForm.Get("To"))
	}
	s.mu.Unlock()

	wait := latency
	if decided != nil && decided.hang {
		wait = -1
	}
	if decided != nil && decided.drop {
		s.answer(r, authorized, nil)
		panic(http.ErrAbortHandler)
	}
	var status int
	var body any
	var header map[string]string
	answered := false
	if acceptFirst && decided == nil {
		status, body, header = s.answer(r, authorized, nil)
		answered = true
	}
	if !s.wait(r.Context(), wait) {
		// Drop the connection without an answer; returning would send an empty 200.
		panic(http.ErrAbortHandler)
	}

	if !answered {
		status, body, header = s.answer(r, authorized, decided)
	}
	for k, v := range header {
		w.Header().Set(k, v)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)

	s.mu.Lock()
	s.requests[idx].Status = status
	s.mu.Unlock()
}

// wait sleeps for d (forever if d < 0) and reports whether the request should still be answered.
func (s *Server) wait(ctx context.Context, d time.Duration) bool {
	if d == 0 {
		return true
	}
	var timeout <-chan time.Time
	if d > 0 {
		timer := time.NewTimer(d)
		defer timer.Stop()
		timeout = timer.C
	}
	select {
	case <-timeout:
		return true
	case <-ctx.Done():
	case <-s.closing:
	}
	return false
}

func (s *Server) answer(r *http.Request, authorized bool, decided *rule) (int, any, map[string]string) {
	if !authorized {
		e := newError(http.StatusUnauthorized, 20003, "Authenticate")
		e.Detail = "Your AccountSid or AuthToken was incorrect."
		return e.Status, e, map[string]string{"WWW-Authenticate": `Basic realm="Twilio API"`}
	}
	prefix := "/" + APIVersion + "/Accounts/" + s.AccountSID + "/"
	kind, ok := strings.CutPrefix(r.URL.Path, prefix)
	if sid, one := strings.CutPrefix(kind, "Messages/"); ok && one && strings.HasSuffix(sid, ".json") && !strings.Contains(sid, "/") {
		return s.messageResource(r, strings.TrimSuffix(sid, ".json"))
	}
	if !ok || (kind != "Messages.json" && kind != "Calls.json") {
		e := newError(http.StatusNotFound, 20404, fmt.Sprintf("The requested resource %s was not found", r.URL.Path))
		return e.Status, e, nil
	}
	if r.Method == http.MethodGet {
		return s.list(kind, r.URL.Query())
	}
	if r.Method != http.MethodPost {
		e := newError(http.StatusMethodNotAllowed, 20004, "Method not allowed")
		return e.Status, e, nil
	}
	if decided != nil {
		f := decided.fail
		var h map[string]string
		if f.RetryAfter != "" {
			h = map[string]string{"Retry-After": f.RetryAfter}
		}
		e := newError(f.Status, f.Code, f.Message)
		return e.Status, e, h
	}
	if kind == "Messages.json" {
		return s.createMessage(r.PostForm)
	}
	return s.createCall(r.PostForm)
}

// list answers the Messages and Calls list endpoints, filtered by To and From, newest first,
// one page of PageSize (default 50) as Twilio pages them.
func (s *Server) list(kind string, q url.Values) (int, any, map[string]string) {
	size := 50
	if n, err := strconv.Atoi(q.Get("PageSize")); err == nil && n > 0 {
		size = n
	}
	match := func(to, from string) bool {
		return (q.Get("To") == "" || q.Get("To") == to) && (q.Get("From") == "" || q.Get("From") == from)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var items []map[string]any
	key := "messages"
	if kind == "Messages.json" {
		for i := len(s.messages) - 1; i >= 0 && len(items) < size; i-- {
			if m := s.messages[i]; match(m.To, m.From) {
				items = append(items, messageResource(m))
			}
		}
	} else {
		key = "calls"
		for i := len(s.calls) - 1; i >= 0 && len(items) < size; i-- {
			if c := s.calls[i]; match(c.To, c.From) {
				items = append(items, callResource(c))
			}
		}
	}
	if items == nil {
		items = []map[string]any{}
	}
	return http.StatusOK, map[string]any{key: items, "page": 0, "page_size": size, "next_page_uri": nil}, nil
}

func (s *Server) createMessage(form url.Values) (int, any, map[string]string) {
	to, from, msid, body := form.Get("To"), form.Get("From"), form.Get("MessagingServiceSid"), form.Get("Body")
	if e := messageError(to, from, msid, body, form["MediaUrl"], form.Get("ContentSid")); e != nil {
		return e.Status, e, nil
	}
	if providers.IsMessagingService(from) {
		from, msid = "", from
	}
	sendAt, e := optionsError(form, msid)
	if e != nil {
		return e.Status, e, nil
	}
	if sid := form.Get("ContentSid"); sid != "" {
		// What the recipient would see depends on the template the sandbox does not have:
		// show which template with which variables.
		body = "[content " + sid + "] " + form.Get("ContentVariables")
	}
	now := time.Now().UTC()
	m := Message{
		SID:                 NewSID("SM"),
		AccountSID:          s.AccountSID,
		To:                  to,
		From:                from,
		MessagingServiceSID: msid,
		Body:                body,
		MediaURLs:           append([]string(nil), form["MediaUrl"]...),
		StatusCallback:      form.Get("StatusCallback"),
		Status:              "queued",
		ContentSID:          form.Get("ContentSid"),
		ContentVariables:    form.Get("ContentVariables"),
		SendAt:              sendAt,
		Form:                cloneValues(form),
		Created:             now,
		Updated:             now,
	}
	switch {
	case !sendAt.IsZero():
		m.Status = "scheduled"
	case from == "":
		m.Status = "accepted"
	}
	s.mu.Lock()
	s.messages = append(s.messages, m)
	s.mu.Unlock()
	s.accepted(m)
	return http.StatusCreated, messageResource(m), nil
}

func messageError(to, from, msid, body string, media []string, contentSID string) *Error {
	switch {
	case to == "":
		return newError(400, 21604, "A 'To' phone number is required.")
	case from == "" && msid == "":
		return newError(400, 21603, "A 'From' phone number is required.")
	case body == "" && len(media) == 0 && contentSID == "":
		return newError(400, 21602, "Message body is required.")
	case utf8.RuneCountInString(body) > MaxBodyLength:
		return newError(400, 21617, "The concatenated message body exceeds the 1600 character limit.")
	}
	switch from {
	case "+15005550001":
		return newError(400, 21212, fmt.Sprintf("The 'From' number %s is not a valid phone number, shortcode, or alphanumeric sender ID.", from))
	case "+15005550007":
		return newError(400, 21606, "The 'From' phone number provided is not a valid message-capable Twilio phone number for this destination/account.")
	case "+15005550008":
		return newError(400, 21611, "This 'From' number has exceeded the maximum number of queued messages.")
	}
	switch to {
	case "+15005550001":
		return newError(400, 21211, fmt.Sprintf("The 'To' number %s is not a valid phone number.", to))
	case "+15005550002":
		return newError(400, 21612, fmt.Sprintf("The 'To' phone number: %s, is not currently reachable using the 'From' phone number: %s via SMS.", to, from))
	case "+15005550003":
		return newError(400, 21408, fmt.Sprintf("Permission to send an SMS has not been enabled for the region indicated by the 'To' number: %s.", to))
	case "+15005550004":
		return newError(400, 21610, "Attempt to send to unsubscribed recipient")
	case "+15005550009":
		return newError(400, 21614, fmt.Sprintf("'To' number %s is not a valid mobile number", to))
	}
	return nil
}

// Scheduling window Twilio accepts for SendAt (error 35114 outside it).
const (
	MinScheduleAhead = 15 * time.Minute
	MaxScheduleAhead = 35 * 24 * time.Hour
)

// optionsError checks the scheduling, content and delivery options of a create request as
// Twilio does, returning SendAt of a scheduled message.
func optionsError(form url.Values, msid string) (time.Time, *Error) {
	if sid := form.Get("ContentSid"); sid != "" && !contentSIDPattern.MatchString(sid) {
		return time.Time{}, newError(400, 21655, "The ContentSid is Invalid.")
	}
	if v := form.Get("ContentVariables"); v != "" {
		var vars map[string]string
		if form.Get("ContentSid") == "" || json.Unmarshal([]byte(v), &vars) != nil {
			return time.Time{}, newError(400, 21656, "The ContentVariables Parameter is invalid.")
		}
	}
	if v := form.Get("ValidityPeriod"); v != "" {
		if n, err := strconv.Atoi(v); err != nil || n < 1 || n > 36000 {
			return time.Time{}, newError(400, 21620, "ValidityPeriod must be between 1 and 36000 seconds.")
		}
	}
	if form.Get("ShortenUrls") == "true" && msid == "" {
		return time.Time{}, newError(400, 21659, "ShortenUrls requires a MessagingServiceSid.")
	}
	typ, at := form.Get("ScheduleType"), form.Get("SendAt")
	switch {
	case typ == "" && at == "":
		return time.Time{}, nil
	case typ != "fixed":
		return time.Time{}, newError(400, 35110, "ScheduleType must be 'fixed' to schedule a message.")
	case at == "":
		return time.Time{}, newError(400, 35111, "You must indicate SendAt timestamp if ScheduleType is 'fixed'.")
	case msid == "":
		return time.Time{}, newError(400, 35118, "MessagingServiceSid is required to schedule a message.")
	}
	t, err := time.Parse(time.RFC3339, at)
	if ahead := time.Until(t); err != nil || ahead < MinScheduleAhead || ahead > MaxScheduleAhead {
		return time.Time{}, newError(400, 35114, "SendAt time must be between 900 seconds and 35 days (3024000 seconds) in the future, inclusive.")
	}
	return t.UTC(), nil
}

var contentSIDPattern = regexp.MustCompile(`^HX[0-9a-fA-F]{32}$`)

// messageResource answers GET (fetch) and POST (update: Status=canceled cancels a scheduled
// message, 30409 for any other) on one message.
func (s *Server) messageResource(r *http.Request, sid string) (int, any, map[string]string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	i := slices.IndexFunc(s.messages, func(m Message) bool { return m.SID == sid })
	if i < 0 {
		e := newError(http.StatusNotFound, 20404, fmt.Sprintf("The requested resource %s was not found", r.URL.Path))
		return e.Status, e, nil
	}
	m := &s.messages[i]
	switch r.Method {
	case http.MethodGet:
	case http.MethodPost:
		if st := r.PostForm.Get("Status"); st != "" {
			if st != "canceled" || m.Status != "scheduled" {
				e := newError(400, 30409, "This message cannot be canceled")
				return e.Status, e, nil
			}
			m.Status, m.Updated = "canceled", time.Now().UTC()
		}
	default:
		e := newError(http.StatusMethodNotAllowed, 20004, "Method not allowed")
		return e.Status, e, nil
	}
	return http.StatusOK, messageResource(*m), nil
}

func (s *Server) createCall(form url.Values) (int, any, map[string]string) {
	c := Call{
		SID:                  NewSID("CA"),
		AccountSID:           s.AccountSID,
		To:                   form.Get("To"),
		From:                 form.Get("From"),
		URL:                  form.Get("Url"),
		Twiml:                form.Get("Twiml"),
		StatusCallback:       form.Get("StatusCallback"),
		StatusCallbackEvents: append([]string(nil), form["StatusCallbackEvent"]...),
		Status:               "queued",
		Form:                 cloneValues(form),
		Created:              time.Now().UTC(),
	}
	var e *Error
	switch {
	case c.To == "":
		e = newError(400, 21201, "No 'To' number is specified")
	case c.From == "":
		e = newError(400, 21213, "No 'From' number is specified")
	case c.URL == "" && c.Twiml == "" && form.Get("ApplicationSid") == "":
		e = newError(400, 21205, "Url parameter is required.")
	}
	if e != nil {
		return e.Status, e, nil
	}
	s.mu.Lock()
	s.calls = append(s.calls, c)
	s.mu.Unlock()
	s.acceptedCall(c)
	return http.StatusCreated, callResource(c), nil
}

func newError(status, code int, msg string) *Error {
	return &Error{
		Code:     code,
		Message:  msg,
		MoreInfo: fmt.Sprintf("https://www.twilio.com/docs/errors/%d", code),
		Status:   status,
	}
}

func defaultCode(status int) int {
	switch {
	case status == http.StatusTooManyRequests:
		return 20429
	case status == http.StatusServiceUnavailable:
		return 20503
	case status >= 500:
		return 20500
	}
	return 20001
}

func defaultMessage(status int) string {
	if t := http.StatusText(status); t != "" {
		return t
	}
	return "Error"
}

func twilioTime(t time.Time) string { return t.UTC().Format(time.RFC1123Z) }

func nullable(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func messageResource(m Message) map[string]any {
	uri := "/" + APIVersion + "/Accounts/" + m.AccountSID + "/Messages/" + m.SID
	return map[string]any{
		"account_sid":           m.AccountSID,
		"api_version":           APIVersion,
		"body":                  m.Body,
		"date_created":          twilioTime(m.Created),
		"date_sent":             nil,
		"date_updated":          twilioTime(m.Updated),
		"direction":             "outbound-api",
		"error_code":            nil,
		"error_message":         nil,
		"from":                  nullable(m.From),
		"messaging_service_sid": nullable(m.MessagingServiceSID),
		"num_media":             fmt.Sprint(len(m.MediaURLs)),
		"num_segments":          fmt.Sprint(numSegments(m)),
		"price":                 nil,
		"price_unit":            "USD",
		"sid":                   m.SID,
		"status":                m.Status,
		"subresource_uris":      map[string]string{"media": uri + "/Media.json"},
		"to":                    m.To,
		"uri":                   uri + ".json",
	}
}

// numSegments is what Twilio reports: the body's segments, at least 1; 0 while a Messaging
// Service has not picked a sender (no From).
func numSegments(m Message) int {
	if m.From == "" {
		return 0
	}
	n, _ := segments.Count(m.Body)
	return max(n, 1)
}

func callResource(c Call) map[string]any {
	uri := "/" + APIVersion + "/Accounts/" + c.AccountSID + "/Calls/" + c.SID
	return map[string]any{
		"account_sid":      c.AccountSID,
		"answered_by":      nil,
		"api_version":      APIVersion,
		"caller_name":      nil,
		"date_created":     twilioTime(c.Created),
		"date_updated":     twilioTime(c.Created),
		"direction":        "outbound-api",
		"duration":         nil,
		"end_time":         nil,
		"forwarded_from":   nil,
		"from":             c.From,
		"from_formatted":   c.From,
		"parent_call_sid":  nil,
		"phone_number_sid": nil,
		"price":            nil,
		"price_unit":       "USD",
		"sid":              c.SID,
		"start_time":       nil,
		"status":           c.Status,
		"subresource_uris": map[string]string{
			"notifications": uri + "/Notifications.json",
			"recordings":    uri + "/Recordings.json",
		},
		"to":           c.To,
		"to_formatted": c.To,
		"uri":          uri + ".json",
	}
}

// NewSID returns a random SID with the given two-letter prefix ("SM", "CA", "AC", "MG"…)
// followed by 32 lowercase hex digits, as Twilio's are.
func NewSID(prefix string) string { return prefix + randomHex(16) }

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}
