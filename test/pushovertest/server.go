// Package pushovertest serves a stand-in for Pushover's message API on 127.0.0.1 for the length
// of a test. It checks what https://pushover.net/api documents and answers as Pushover does:
//
//   - POST /1/messages.json, form-encoded (application/x-www-form-urlencoded), with the
//     application token in the field `token` (there is no other authentication);
//   - `user` is a user or group key: 30 characters of [A-Za-z0-9], known to the server
//     (NewUser registers one); `message` is required, at most 1024 characters; `title` at most
//     250, `url` at most 512, `url_title` at most 100; `priority` is -2…2 and 2 needs `retry`
//     and `expire`; `sound` is one of Pushover's sound names;
//   - an accepted message is HTTP 200 {"status":1,"request":"<uuid>"}; invalid input is HTTP
//     400 {"<field>":"invalid"…,"errors":["…"],"status":0,"request":"<uuid>"}, every invalid
//     field at once; a wrong token is 400 with "token":"invalid" (Pushover answers a wrong
//     token with 400, not 401).
//
// Faults (package faults) are keyed by the `user` field and apply to requests with a valid
// token: FailWith/FailTimes (429 when over the monthly limit, 5xx), Hang, AcceptThenDrop.
// Error wording for lengths, priority and sound is the stand-in's, in Pushover's shape.
package pushovertest

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/twilio-connector/twilio-connector/test/faults"
)

// MessagesPath is the path of Pushover's message API.
const MessagesPath = "/1/messages.json"

// Pushover's documented limits, in characters.
const (
	MaxMessage  = 1024
	MaxTitle    = 250
	MaxURL      = 512
	MaxURLTitle = 100
)

// KeyPattern is the shape of Pushover's application tokens and user and group keys.
var KeyPattern = regexp.MustCompile(`^[A-Za-z0-9]{30}$`)

// Sounds are the names Pushover's `sound` field accepts.
var Sounds = []string{"pushover", "bike", "bugle", "cashregister", "classical", "cosmic", "falling",
	"gamelan", "incoming", "intermission", "magic", "mechanical", "pianobar", "siren", "spacealarm",
	"tugboat", "alien", "climb", "persistent", "echo", "updown", "vibrate", "none"}

// Request is one HTTP request the server received, whatever the answer.
type Request struct {
	Method, Path, ContentType string
	// Form is the request's form without the token, which is a secret.
	Form url.Values
	// TokenValid says whether the token was the server's.
	TokenValid bool
	// Status is the HTTP status answered, or 0 for none (hanging, dropped).
	Status int
	Time   time.Time
}

// Message is a message the server accepted.
type Message struct {
	// Request is the request id answered.
	Request                                              string
	User, Message, Title, URL, URLTitle, Sound, Priority string
	Form                                                 url.Values
	Created                                              time.Time
}

// Server is a stand-in Pushover API. All methods are safe for concurrent use.
type Server struct {
	*faults.Rules
	srv *httptest.Server

	mu       sync.Mutex
	token    string
	users    map[string]bool
	requests []Request
	messages []Message
}

// New starts a stand-in with a random application token on 127.0.0.1. It is closed when the
// test ends; the test then fails if a fault rule with a count was not used up.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{Rules: faults.New(), token: NewKey(), users: map[string]bool{}}
	s.srv = faults.Serve(t, "pushovertest", s, s.Rules.Close, s.Unused)
	return s
}

// URL is the base URL to use instead of https://api.pushover.net (no trailing slash).
func (s *Server) URL() string { return s.srv.URL }

// Token is the application token the server accepts.
func (s *Server) Token() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.token
}

// SetToken changes the accepted token (to make the client's wrong).
func (s *Server) SetToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.token = token
}

// NewUser registers and returns a new user (or group) key.
func (s *Server) NewUser() string {
	k := NewKey()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.users[k] = true
	return k
}

const keyChars = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// NewKey returns a random key of Pushover's shape (KeyPattern).
func NewKey() string {
	b := make([]byte, 30)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = keyChars[int(b[i])%len(keyChars)]
	}
	return string(b)
}

func newRequestID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6], b[8] = b[6]&0x0f|0x40, b[8]&0x3f|0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// Requests returns a copy of every request received so far, in arrival order.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Sent returns a copy of the messages accepted so far, in order.
func (s *Server) Sent() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Message(nil), s.messages...)
}

// CountTo is the number of requests for user, whatever their outcome.
func (s *Server) CountTo(user string) int {
	n := 0
	for _, r := range s.Requests() {
		if r.Form.Get("user") == user {
			n++
		}
	}
	return n
}

// answer is Pushover's JSON answer.
type answer map[string]any

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	form := url.Values{}
	for k, v := range r.PostForm {
		if k != "token" {
			form[k] = append([]string(nil), v...)
		}
	}
	s.mu.Lock()
	tokenValid := r.PostForm.Get("token") == s.token
	idx := len(s.requests)
	s.requests = append(s.requests, Request{Method: r.Method, Path: r.URL.Path, ContentType: r.Header.Get("Content-Type"),
		Form: form, TokenValid: tokenValid, Time: time.Now()})
	s.mu.Unlock()
	setStatus := func(status int) {
		s.mu.Lock()
		s.requests[idx].Status = status
		s.mu.Unlock()
	}

	id := newRequestID()
	if r.Method != http.MethodPost || r.URL.Path != MessagesPath {
		s.write(w, http.StatusNotFound, answer{"status": 0, "errors": []string{"resource not found"}, "request": id})
		setStatus(http.StatusNotFound)
		return
	}
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/x-www-form-urlencoded" {
		// Pushover also reads JSON and multipart bodies; the connector documents form encoding.
		s.write(w, http.StatusBadRequest, answer{"status": 0, "errors": []string{"the stand-in takes form-encoded requests only, got " + ct}, "request": id})
		setStatus(http.StatusBadRequest)
		return
	}
	if !tokenValid {
		s.write(w, http.StatusBadRequest, answer{"token": "invalid", "errors": []string{"application token is invalid, see https://pushover.net/api"}, "status": 0, "request": id})
		setStatus(http.StatusBadRequest)
		return
	}
	rule := s.Take(r.PostForm.Get("user"))
	switch {
	case rule.Hang:
		s.Wait(r.Context())
		faults.Abort()
	case rule.Fail != nil:
		body, _ := json.Marshal(answer{"status": 0, "errors": []string{http.StatusText(rule.Fail.Status)}, "request": id})
		faults.Write(w, *rule.Fail, "application/json; charset=utf-8", string(body))
		setStatus(rule.Fail.Status)
		return
	}
	status, body := s.create(r.PostForm, id)
	if rule.Drop {
		faults.Abort()
	}
	s.write(w, status, body)
	setStatus(status)
}

// create validates a message and accepts it.
func (s *Server) create(f url.Values, id string) (int, answer) {
	bad := answer{}
	var errors []string
	invalid := func(field, value, msg string) {
		bad[field] = value
		errors = append(errors, msg)
	}
	s.mu.Lock()
	known := s.users[f.Get("user")]
	s.mu.Unlock()
	if !KeyPattern.MatchString(f.Get("user")) || !known {
		invalid("user", "invalid", "user identifier is not a valid user, group, or subscribed user key, see https://pushover.net/api#identifiers")
	}
	if f.Get("message") == "" {
		invalid("message", "cannot be blank", "message cannot be blank")
	}
	for _, l := range []struct {
		field string
		max   int
	}{{"message", MaxMessage}, {"title", MaxTitle}, {"url", MaxURL}, {"url_title", MaxURLTitle}} {
		if utf8.RuneCountInString(f.Get(l.field)) > l.max {
			invalid(l.field, "is too long", fmt.Sprintf("%s is too long (at most %d characters)", l.field, l.max))
		}
	}
	if p := f.Get("priority"); p != "" {
		n, err := strconv.Atoi(p)
		switch {
		case err != nil || n < -2 || n > 2:
			invalid("priority", "invalid", "priority is invalid")
		case n == 2 && (f.Get("retry") == "" || f.Get("expire") == ""):
			invalid("expire", "must be supplied with priority=2", "retry and expire must be supplied with priority=2")
		}
	}
	if snd := f.Get("sound"); snd != "" && !slices.Contains(Sounds, snd) {
		invalid("sound", "invalid", "sound is invalid")
	}
	if len(errors) > 0 {
		bad["errors"], bad["status"], bad["request"] = errors, 0, id
		return http.StatusBadRequest, bad
	}
	m := Message{Request: id, User: f.Get("user"), Message: f.Get("message"), Title: f.Get("title"), URL: f.Get("url"),
		URLTitle: f.Get("url_title"), Sound: f.Get("sound"), Priority: f.Get("priority"), Created: time.Now().UTC()}
	m.Form = url.Values{}
	for k, v := range f {
		if k != "token" {
			m.Form[k] = v
		}
	}
	s.mu.Lock()
	s.messages = append(s.messages, m)
	s.mu.Unlock()
	return http.StatusOK, answer{"status": 1, "request": id}
}

func (s *Server) write(w http.ResponseWriter, status int, body answer) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(body)
}
