// Package httpchanneltest serves a stand-in for a gateway speaking the generic HTTP channel's
// outgoing contract (RapidPro's "external" channel) on 127.0.0.1 for the length of a test:
//
//   - POST to Path with the fields id, text, to, to_no_plus, from, from_no_plus and channel,
//     as JSON (an object of strings) or form-encoded; id, text, to and channel are required,
//     to_no_plus and from_no_plus must be to and from without a leading "+";
//   - every header set with RequireHeader must be there with its value (401 otherwise);
//   - an accepted message is HTTP 200 {"id":"<gateway id>"}, or what SetReply says.
//
// Faults (package faults) are keyed by the `to` field and apply to authorised, well-formed
// requests: FailWith/FailTimes (429, 5xx, other 4xx), Hang, AcceptThenDrop.
package httpchanneltest

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"maps"
	"mime"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twilio-connector/twilio-connector/test/faults"
)

// Path is where the stand-in takes messages.
const Path = "/send"

// Fields are the contract's fields, in the order RapidPro documents them.
var Fields = []string{"id", "text", "to", "to_no_plus", "from", "from_no_plus", "channel"}

var required = []string{"id", "text", "to", "channel"}

// Request is one HTTP request the server received, whatever the answer.
type Request struct {
	Method, Path string
	// Format is "json" or "form" (from the Content-Type), "" for anything else.
	Format string
	Header http.Header
	// Fields are the body's fields ("" for absent ones); nil when the body could not be read.
	Fields map[string]string
	// Status is the HTTP status answered, 0 for none (hanging, dropped).
	Status int
	Time   time.Time
}

// Message is a message the server accepted.
type Message struct {
	// GatewayID is the id the server answered with ("" when SetReply's body has none).
	GatewayID string
	Format    string
	Fields    map[string]string
	Created   time.Time
}

// Server is a stand-in gateway. All methods are safe for concurrent use.
type Server struct {
	*faults.Rules
	srv *httptest.Server

	mu       sync.Mutex
	headers  map[string]string
	reply    *reply // the answer to an accepted message; nil: 200 {"id": …}
	requests []Request
	messages []Message
}

// New starts a stand-in on 127.0.0.1. It is closed when the test ends; the test then fails
// if a fault rule with a count was not used up.
func New(t testing.TB) *Server {
	t.Helper()
	s := &Server{Rules: faults.New(), headers: map[string]string{}}
	s.srv = faults.Serve(t, "httpchanneltest", s, s.Rules.Close, s.Unused)
	return s
}

// URL is the address to configure as the connection's url.
func (s *Server) URL() string { return s.srv.URL + Path }

// RequireHeader makes every request need header name with value (e.g. Authorization).
func (s *Server) RequireHeader(name, value string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.headers[http.CanonicalHeaderKey(name)] = value
}

// SetReply makes accepted messages answered with status and body (a gateway that answers
// 202 "queued", or JSON without an id) instead of 200 {"id": …}.
func (s *Server) SetReply(status int, contentType, body string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reply = &reply{status, contentType, body}
}

type reply struct {
	status            int
	contentType, body string
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

// CountTo is the number of requests to recipient to, whatever their outcome.
func (s *Server) CountTo(to string) int {
	n := 0
	for _, r := range s.Requests() {
		if r.Fields["to"] == to {
			n++
		}
	}
	return n
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	rec := Request{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Time: time.Now()}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/json":
		rec.Format = "json"
		var body map[string]string
		if json.NewDecoder(r.Body).Decode(&body) == nil {
			rec.Fields = body
		}
	case "application/x-www-form-urlencoded":
		rec.Format = "form"
		if r.ParseForm() == nil {
			rec.Fields = map[string]string{}
			for k := range r.PostForm {
				rec.Fields[k] = r.PostForm.Get(k)
			}
		}
	}
	s.mu.Lock()
	idx := len(s.requests)
	s.requests = append(s.requests, rec)
	headers, custom := maps.Clone(s.headers), s.reply
	s.mu.Unlock()
	answer := func(status int, contentType, body string) {
		w.Header().Set("Content-Type", contentType)
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
		s.mu.Lock()
		s.requests[idx].Status = status
		s.mu.Unlock()
	}
	problem := func(status int, msg string) {
		b, _ := json.Marshal(map[string]string{"error": msg})
		answer(status, "application/json", string(b))
	}

	if r.Method != http.MethodPost || r.URL.Path != Path {
		problem(http.StatusNotFound, "POST "+Path+" only")
		return
	}
	for name, want := range headers {
		if r.Header.Get(name) != want {
			problem(http.StatusUnauthorized, "header "+name+" is missing or wrong")
			return
		}
	}
	if msg := check(rec); msg != "" {
		problem(http.StatusBadRequest, msg)
		return
	}
	rule := s.Take(rec.Fields["to"])
	switch {
	case rule.Hang:
		s.Wait(r.Context())
		faults.Abort()
	case rule.Fail != nil:
		b, _ := json.Marshal(map[string]string{"error": http.StatusText(rule.Fail.Status)})
		faults.Write(w, *rule.Fail, "application/json", string(b))
		s.mu.Lock()
		s.requests[idx].Status = rule.Fail.Status
		s.mu.Unlock()
		return
	}
	m := Message{Format: rec.Format, Fields: rec.Fields, Created: time.Now().UTC()}
	status, contentType, body := http.StatusOK, "application/json", ""
	if custom != nil {
		status, contentType, body = custom.status, custom.contentType, custom.body
		var x struct {
			ID string `json:"id"`
		}
		if json.Unmarshal([]byte(body), &x) == nil {
			m.GatewayID = x.ID
		}
	} else {
		m.GatewayID = newID()
		b, _ := json.Marshal(map[string]string{"id": m.GatewayID})
		body = string(b)
	}
	s.mu.Lock()
	s.messages = append(s.messages, m)
	s.mu.Unlock()
	if rule.Drop {
		faults.Abort()
	}
	answer(status, contentType, body)
}

// check returns what is wrong with a request's body, "" when nothing is.
func check(r Request) string {
	if r.Format == "" {
		return "the body must be JSON (application/json) or a form (application/x-www-form-urlencoded)"
	}
	if r.Fields == nil {
		return "the " + r.Format + " body cannot be read"
	}
	for _, f := range required {
		if r.Fields[f] == "" {
			return "field " + f + " is required"
		}
	}
	for k := range r.Fields {
		if !slices.Contains(Fields, k) {
			return "field " + k + " is not part of the contract"
		}
	}
	for _, f := range []string{"to", "from"} {
		if r.Fields[f+"_no_plus"] != strings.TrimPrefix(r.Fields[f], "+") {
			return "field " + f + "_no_plus is not " + f + " without its +"
		}
	}
	return ""
}

func newID() string {
	b := make([]byte, 8)
	_, _ = rand.Read(b)
	return "gw-" + hex.EncodeToString(b)
}
