// Package faults is the fault injection the stand-ins of outbound providers share
// (test/pushovertest, test/httpchanneltest), with the same rules as test/twiliotest: programmed
// error answers (5xx, 429 with Retry-After, permanent rejections), hangs (the client times
// out) and accepted-then-dropped answers (the message exists, the client gets no answer), for
// the next n requests to one recipient or to everyone.
package faults

import (
	"context"
	"fmt"
	"net/http"
	"sync"
)

// Failure is a programmed error answer.
type Failure struct {
	Status int
	// RetryAfter is the Retry-After header's value; "" sends none.
	RetryAfter string
	// Body is the answer's body; "" lets the stand-in write the provider's own error body.
	Body string
}

// Rule is what a stand-in does with one request. The zero Rule means answer normally.
type Rule struct {
	// Fail, when set, is the answer instead of the normal one; nothing is accepted.
	Fail *Failure
	// Hang: never answer; the handler returns when the client gives up or the stand-in closes.
	Hang bool
	// Drop: accept the request as usual, then drop the connection without an answer.
	Drop bool
}

type rule struct {
	to           string
	times, total int // remaining and initial uses; times < 0 means unlimited
	Rule
}

func (r *rule) String() string {
	what := "AcceptThenDrop"
	switch {
	case r.Fail != nil:
		what = fmt.Sprintf("FailWith(HTTP %d)", r.Fail.Status)
	case r.Hang:
		what = "Hang"
	}
	to := r.to
	if to == "" {
		to = "everyone"
	}
	return fmt.Sprintf("%s for %s: %d of %d requests not made", what, to, r.times, r.total)
}

// Rules is a stand-in's list of programmed faults. All methods are safe for concurrent use.
type Rules struct {
	mu        sync.Mutex
	rules     []*rule
	closing   chan struct{}
	closeOnce sync.Once
}

// New returns an empty list.
func New() *Rules { return &Rules{closing: make(chan struct{})} }

func (r *Rules) add(x *rule) {
	x.total = x.times
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rules = append(r.rules, x)
}

// FailWith makes the next n requests to to ("" for every recipient; n < 0 for all) fail with
// f. Rules for a recipient are checked before rules for everyone, older before newer, and the
// first one not used up decides.
func (r *Rules) FailWith(to string, n int, f Failure) {
	r.add(&rule{to: to, times: n, Rule: Rule{Fail: &f}})
}

// FailTimes makes the next n requests to to fail with status and the stand-in's own body.
func (r *Rules) FailTimes(to string, n, status int) { r.FailWith(to, n, Failure{Status: status}) }

// Hang makes every request to to ("" for everyone) go unanswered: the client times out.
func (r *Rules) Hang(to string) { r.add(&rule{to: to, times: -1, Rule: Rule{Hang: true}}) }

// AcceptThenDrop makes the next n requests to to (n < 0 for all) be accepted while the
// connection is dropped without an answer: the client cannot tell whether they went through.
func (r *Rules) AcceptThenDrop(to string, n int) {
	r.add(&rule{to: to, times: n, Rule: Rule{Drop: true}})
}

// Clear removes every rule.
func (r *Rules) Clear() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rules = nil
}

// Take returns the rule deciding a request to to, using it up by one.
func (r *Rules) Take(to string) Rule {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, global := range []bool{false, true} {
		for _, x := range r.rules {
			if (x.to == "") != global || (!global && x.to != to) || x.times == 0 {
				continue
			}
			if x.times > 0 {
				x.times--
			}
			return x.Rule
		}
	}
	return Rule{}
}

// Unused describes every rule with a finite count that is not used up: the code under test
// made fewer requests than the test expected.
func (r *Rules) Unused() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []string
	for _, x := range r.rules {
		if x.times > 0 {
			out = append(out, x.String())
		}
	}
	return out
}

// Wait blocks a hanging handler until the client gives up (ctx) or Close is called.
func (r *Rules) Wait(ctx context.Context) {
	select {
	case <-ctx.Done():
	case <-r.closing:
	}
}

// Close releases every hanging handler. It is safe to call twice.
func (r *Rules) Close() { r.closeOnce.Do(func() { close(r.closing) }) }

// Abort ends a handler without an answer: the client sees its connection closed.
func Abort() { panic(http.ErrAbortHandler) }

// Write sends f: its status, Retry-After and body (defaultBody when f.Body is empty, with
// contentType).
func Write(w http.ResponseWriter, f Failure, contentType, defaultBody string) {
	if f.RetryAfter != "" {
		w.Header().Set("Retry-After", f.RetryAfter)
	}
	body := f.Body
	if body == "" {
		body = defaultBody
	}
	w.Header().Set("Content-Type", contentType)
	w.WriteHeader(f.Status)
	_, _ = w.Write([]byte(body))
}
