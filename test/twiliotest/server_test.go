package twiliotest

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

type reply struct {
	status int
	header http.Header
	body   map[string]any
}

func (r reply) code() int {
	c, _ := r.body["code"].(float64)
	return int(c)
}

func post(t *testing.T, ctx context.Context, base, path, user, pass string, form url.Values) (reply, error) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+path, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if user != "" || pass != "" {
		req.SetBasicAuth(user, pass)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	r := reply{status: resp.StatusCode, header: resp.Header}
	if err := json.NewDecoder(resp.Body).Decode(&r.body); err != nil {
		t.Fatalf("decode answer: %v", err)
	}
	return r, nil
}

func sendSMS(t *testing.T, s *Server, form url.Values) reply {
	t.Helper()
	r, err := post(t, context.Background(), s.URL(), s.MessagesPath(), s.AccountSID, s.AuthToken, form)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func sms(to string) url.Values {
	return url.Values{"To": {to}, "From": {"+15005550006"}, "Body": {"hello"}}
}

func checkError(t *testing.T, r reply, status, code int) {
	t.Helper()
	if r.status != status || r.code() != code {
		t.Fatalf("got HTTP %d code %d (%v), want HTTP %d code %d", r.status, r.code(), r.body, status, code)
	}
	if r.body["status"] != float64(status) || r.body["more_info"] != "https://www.twilio.com/docs/errors/"+strconv.Itoa(code) || r.body["message"] == "" {
		t.Errorf("error body %v is not Twilio's shape", r.body)
	}
}

func TestAuth(t *testing.T) {
	s := New(t, WithCredentials("AC0123456789abcdef0123456789abcdef", "0123456789abcdef0123456789abcdef"))
	tests := []struct {
		name       string
		user, pass string
		want       int
	}{
		{"right credentials", s.AccountSID, s.AuthToken, 201},
		{"wrong token", s.AccountSID, "0123456789abcdef0123456789abcdeX", 401},
		{"wrong account", "AC0123456789abcdef0123456789abcdeX", s.AuthToken, 401},
		{"token as user", s.AuthToken, s.AccountSID, 401},
		{"no auth", "", "", 401},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := post(t, context.Background(), s.URL(), s.MessagesPath(), tc.user, tc.pass, sms("+15550100"))
			if err != nil {
				t.Fatal(err)
			}
			if tc.want == 201 {
				if r.status != 201 {
					t.Fatalf("got %d %v", r.status, r.body)
				}
			} else {
				checkError(t, r, 401, 20003)
				if r.header.Get("WWW-Authenticate") == "" {
					t.Error("401 without WWW-Authenticate")
				}
			}
			got := s.Requests()[i]
			if got.User != tc.user || got.Authorized != (tc.want == 201) || got.Status != tc.want {
				t.Errorf("recorded %+v", got)
			}
		})
	}
	if n := len(s.Sent()); n != 1 {
		t.Errorf("Sent() has %d messages, want 1", n)
	}
}

func TestDefaultCredentialsLookLikeTwilios(t *testing.T) {
	a, b := New(t), New(t)
	if !regexp.MustCompile(`^AC[0-9a-f]{32}$`).MatchString(a.AccountSID) || !regexp.MustCompile(`^[0-9a-f]{32}$`).MatchString(a.AuthToken) {
		t.Errorf("credentials %q %q", a.AccountSID, a.AuthToken)
	}
	if a.AccountSID == b.AccountSID || a.AuthToken == b.AuthToken {
		t.Error("two servers share credentials")
	}
}

func TestCreateMessage(t *testing.T) {
	s := New(t)
	sidRE := regexp.MustCompile(`^SM[0-9a-f]{32}$`)
	seen := map[string]bool{}
	for i := range 3 {
		form := sms("+15550100")
		form.Set("Body", "hello "+strconv.Itoa(i))
		form.Add("MediaUrl", "https://example.com/a.png")
		form.Add("MediaUrl", "https://example.com/b.png")
		form.Set("StatusCallback", "https://connector.example.com/status")
		r := sendSMS(t, s, form)
		if r.status != 201 {
			t.Fatalf("got %d %v", r.status, r.body)
		}
		sid, _ := r.body["sid"].(string)
		if !sidRE.MatchString(sid) || seen[sid] {
			t.Fatalf("sid %q is malformed or repeated", sid)
		}
		seen[sid] = true
		want := map[string]any{
			"to": "+15550100", "from": "+15005550006", "body": "hello " + strconv.Itoa(i), "status": "queued",
			"account_sid": s.AccountSID, "direction": "outbound-api", "num_media": "2", "error_code": nil,
			"uri": "/2010-04-01/Accounts/" + s.AccountSID + "/Messages/" + sid + ".json",
		}
		for k, v := range want {
			if r.body[k] != v {
				t.Errorf("%s = %#v, want %#v", k, r.body[k], v)
			}
		}
		if _, err := time.Parse(time.RFC1123Z, r.body["date_created"].(string)); err != nil {
			t.Errorf("date_created: %v", err)
		}
	}
	sent := s.Sent()
	if len(sent) != 3 {
		t.Fatalf("Sent() = %d messages", len(sent))
	}
	m := sent[2]
	if !seen[m.SID] || m.Body != "hello 2" || strings.Join(m.MediaURLs, " ") != "https://example.com/a.png https://example.com/b.png" ||
		m.StatusCallback != "https://connector.example.com/status" || m.Status != "queued" {
		t.Errorf("Sent()[2] = %+v", m)
	}
	if s.CountTo("+15550100") != 3 || s.CountSentTo("+15550100") != 3 || s.CountTo("+15550199") != 0 {
		t.Errorf("counts %d %d", s.CountTo("+15550100"), s.CountSentTo("+15550100"))
	}
}

func TestMessageValidationAndMagicNumbers(t *testing.T) {
	s := New(t)
	tests := []struct {
		name   string
		form   url.Values
		status int
		code   int
	}{
		{"valid", sms("+15550100"), 201, 0},
		{"no To", url.Values{"From": {"+15005550006"}, "Body": {"x"}}, 400, 21604},
		{"no From", url.Values{"To": {"+15550100"}, "Body": {"x"}}, 400, 21603},
		{"no Body", url.Values{"To": {"+15550100"}, "From": {"+15005550006"}}, 400, 21602},
		{"media only", url.Values{"To": {"+15550100"}, "From": {"+15005550006"}, "MediaUrl": {"https://example.com/a.png"}}, 201, 0},
		{"1600 chars", url.Values{"To": {"+15550100"}, "From": {"+15005550006"}, "Body": {strings.Repeat("é", 1600)}}, 201, 0},
		{"1601 chars", url.Values{"To": {"+15550100"}, "From": {"+15005550006"}, "Body": {strings.Repeat("é", 1601)}}, 400, 21617},
		{"To invalid", sms("+15005550001"), 400, 21211},
		{"To unroutable", sms("+15005550002"), 400, 21612},
		{"To no international permission", sms("+15005550003"), 400, 21408},
		{"To opted out", sms("+15005550004"), 400, 21610},
		{"To not mobile", sms("+15005550009"), 400, 21614},
		{"From invalid", url.Values{"To": {"+15550100"}, "From": {"+15005550001"}, "Body": {"x"}}, 400, 21212},
		{"From not owned", url.Values{"To": {"+15550100"}, "From": {"+15005550007"}, "Body": {"x"}}, 400, 21606},
		{"From queue full", url.Values{"To": {"+15550100"}, "From": {"+15005550008"}, "Body": {"x"}}, 400, 21611},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := sendSMS(t, s, tc.form)
			if tc.status == 201 {
				if r.status != 201 {
					t.Fatalf("got %d %v", r.status, r.body)
				}
				return
			}
			checkError(t, r, tc.status, tc.code)
		})
	}
}

func TestMessagingServiceWithoutFromIsAccepted(t *testing.T) {
	s := New(t)
	msid := NewSID("MG")
	r := sendSMS(t, s, url.Values{"To": {"+15550100"}, "MessagingServiceSid": {msid}, "Body": {"x"}})
	if r.status != 201 || r.body["status"] != "accepted" || r.body["from"] != nil || r.body["messaging_service_sid"] != msid {
		t.Fatalf("got %d %v", r.status, r.body)
	}
}

func TestFailRules(t *testing.T) {
	type attempt struct {
		to     string
		status int
		code   int
	}
	tests := []struct {
		name     string
		setup    func(s *Server)
		attempts []attempt
	}{
		{
			name: "per recipient, others unaffected",
			setup: func(s *Server) {
				s.Fail("+15550101", 400, 21211, "The 'To' number +15550101 is not a valid phone number.")
			},
			attempts: []attempt{
				{"+15550101", 400, 21211}, {"+15550102", 201, 0}, {"+15550101", 400, 21211},
			},
		},
		{
			name:     "global",
			setup:    func(s *Server) { s.Fail("", 503, 0, "") },
			attempts: []attempt{{"+15550101", 503, 20503}, {"+15550102", 503, 20503}},
		},
		{
			name: "recipient rule before global rule",
			setup: func(s *Server) {
				s.Fail("", 500, 20500, "boom")
				s.Fail("+15550101", 400, 21610, "Attempt to send to unsubscribed recipient")
			},
			attempts: []attempt{{"+15550101", 400, 21610}, {"+15550102", 500, 20500}},
		},
		{
			name:  "FailTimes then success",
			setup: func(s *Server) { s.FailTimes("+15550101", 2, 429, 0) },
			attempts: []attempt{
				{"+15550102", 201, 0}, {"+15550101", 429, 20429}, {"+15550101", 429, 20429}, {"+15550101", 201, 0}, {"+15550101", 201, 0},
			},
		},
		{
			name: "FailTimes rules queue up in order",
			setup: func(s *Server) {
				s.FailTimes("", 1, 500, 0)
				s.FailTimes("", 1, 503, 0)
			},
			attempts: []attempt{{"+15550101", 500, 20500}, {"+15550102", 503, 20503}, {"+15550101", 201, 0}},
		},
		{
			name: "ClearRules",
			setup: func(s *Server) {
				s.Fail("+15550101", 400, 21211, "x")
				s.ClearRules()
			},
			attempts: []attempt{{"+15550101", 201, 0}},
		},
		{
			name:     "rules win over magic numbers",
			setup:    func(s *Server) { s.FailTimes("+15005550001", 1, 503, 0) },
			attempts: []attempt{{"+15005550001", 503, 20503}, {"+15005550001", 400, 21211}},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := New(t)
			tc.setup(s)
			counts := map[string]int{}
			for i, a := range tc.attempts {
				r := sendSMS(t, s, sms(a.to))
				counts[a.to]++
				if a.status == 201 {
					if r.status != 201 {
						t.Fatalf("attempt %d to %s: got %d %v", i, a.to, r.status, r.body)
					}
					continue
				}
				checkError(t, r, a.status, a.code)
			}
			for to, n := range counts {
				if got := s.CountTo(to); got != n {
					t.Errorf("CountTo(%s) = %d, want %d", to, got, n)
				}
			}
		})
	}
}

func TestFailWithRetryAfter(t *testing.T) {
	s := New(t)
	s.FailWith("+15550101", 1, Failure{Status: 429, RetryAfter: "7"})
	r := sendSMS(t, s, sms("+15550101"))
	checkError(t, r, 429, 20429)
	if got := r.header.Get("Retry-After"); got != "7" {
		t.Errorf("Retry-After = %q", got)
	}
	if r := sendSMS(t, s, sms("+15550101")); r.status != 201 || r.header.Get("Retry-After") != "" {
		t.Errorf("second attempt: %d %v", r.status, r.header)
	}
}

// recordingTB captures what the server reports at cleanup instead of failing the real test.
type recordingTB struct {
	testing.TB
	mu       sync.Mutex
	cleanups []func()
	errors   []string
}

func (r *recordingTB) Cleanup(f func()) { r.cleanups = append(r.cleanups, f) }
func (r *recordingTB) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errors = append(r.errors, format)
}
func (r *recordingTB) runCleanups() {
	for i := len(r.cleanups) - 1; i >= 0; i-- {
		r.cleanups[i]()
	}
}

func TestUnusedFailTimesFailsTheTest(t *testing.T) {
	tests := []struct {
		name     string
		sends    int
		wantErrs int
	}{
		{"used up", 2, 0},
		{"one left", 1, 1},
		{"untouched", 0, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tb := &recordingTB{TB: t}
			s := New(tb)
			s.FailTimes("+15550101", 2, 503, 0)
			s.Fail("+15550102", 400, 21211, "permanent rules are never reported")
			for range tc.sends {
				sendSMS(t, s, sms("+15550101"))
			}
			tb.runCleanups()
			if len(tb.errors) != tc.wantErrs {
				t.Errorf("errors at cleanup: %q, want %d", tb.errors, tc.wantErrs)
			}
		})
	}
}

func TestLatency(t *testing.T) {
	s := New(t)
	s.SetLatency(time.Hour)
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := post(t, ctx, s.URL(), s.MessagesPath(), s.AccountSID, s.AuthToken, sms("+15550101"))
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("with an hour of latency the client got %v, want its deadline", err)
	}

	s.SetLatency(time.Millisecond)
	if r := sendSMS(t, s, sms("+15550101")); r.status != 201 {
		t.Fatalf("got %d", r.status)
	}
	if s.CountTo("+15550101") != 2 || s.CountSentTo("+15550101") != 1 {
		t.Errorf("CountTo %d CountSentTo %d", s.CountTo("+15550101"), s.CountSentTo("+15550101"))
	}
	if st := s.Requests()[0].Status; st != 0 {
		t.Errorf("request abandoned by the client recorded with status %d", st)
	}
}

func TestHang(t *testing.T) {
	s := New(t)
	s.Hang("+15550101")
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := post(t, ctx, s.URL(), s.MessagesPath(), s.AccountSID, s.AuthToken, sms("+15550101")); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("hung request: %v", err)
	}
	if r := sendSMS(t, s, sms("+15550102")); r.status != 201 {
		t.Fatalf("other recipient: %d", r.status)
	}
	if s.CountTo("+15550101") != 1 || s.CountSentTo("+15550101") != 0 {
		t.Errorf("CountTo %d CountSentTo %d", s.CountTo("+15550101"), s.CountSentTo("+15550101"))
	}
}

// A request still hanging when the test ends must not keep Close (and so the test) waiting.
func TestCloseReleasesHangingRequests(t *testing.T) {
	done := make(chan error, 1)
	t.Run("server", func(t *testing.T) {
		s := New(t)
		s.Hang("")
		go func() {
			req, _ := http.NewRequest(http.MethodPost, s.URL()+s.MessagesPath(), strings.NewReader(sms("+15550101").Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.SetBasicAuth(s.AccountSID, s.AuthToken)
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				resp.Body.Close()
			}
			done <- err
		}()
		for len(s.Requests()) == 0 {
			select {
			case err := <-done:
				t.Fatalf("request ended before reaching the server: %v", err)
			case <-time.After(time.Millisecond):
			}
		}
	})
	if err := <-done; err == nil {
		t.Fatal("the hanging request got an answer")
	}
}

func TestRequestsAreCopies(t *testing.T) {
	s := New(t)
	form := sms("+15550101")
	form.Add("MediaUrl", "https://example.com/a.png")
	form.Add("MediaUrl", "https://example.com/b.png")
	sendSMS(t, s, form)
	reqs := s.Requests()
	if got := reqs[0].Form["MediaUrl"]; len(got) != 2 || reqs[0].Path != s.MessagesPath() || reqs[0].Method != "POST" || reqs[0].Time.IsZero() {
		t.Fatalf("recorded %+v", reqs[0])
	}
	reqs[0].Form.Set("To", "changed")
	s.Sent()[0].MediaURLs[0] = "changed"
	if s.Requests()[0].Form.Get("To") != "+15550101" || s.Sent()[0].MediaURLs[0] != "https://example.com/a.png" {
		t.Error("changing a returned value changed the server's record")
	}
}

func TestConcurrentSends(t *testing.T) {
	s := New(t)
	const n = 40
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			to := "+1555010" + strconv.Itoa(i%4)
			r, err := post(t, context.Background(), s.URL(), s.MessagesPath(), s.AccountSID, s.AuthToken, sms(to))
			if err != nil || r.status != 201 {
				t.Errorf("send %d: %v %d", i, err, r.status)
			}
		})
	}
	wg.Wait()
	sids := map[string]bool{}
	for _, m := range s.Sent() {
		sids[m.SID] = true
	}
	if len(sids) != n {
		t.Errorf("%d distinct SIDs for %d messages", len(sids), n)
	}
	for i := range 4 {
		if got := s.CountSentTo("+1555010" + strconv.Itoa(i)); got != n/4 {
			t.Errorf("CountSentTo = %d, want %d", got, n/4)
		}
	}
}

func TestCreateCall(t *testing.T) {
	s := New(t)
	call := func(form url.Values) reply {
		t.Helper()
		r, err := post(t, context.Background(), s.URL(), s.CallsPath(), s.AccountSID, s.AuthToken, form)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	tests := []struct {
		name   string
		form   url.Values
		status int
		code   int
	}{
		{"url", url.Values{"To": {"+15550101"}, "From": {"+15005550006"}, "Url": {"https://example.com/t.xml"}}, 201, 0},
		{"twiml and events", url.Values{"To": {"+15550101"}, "From": {"+15005550006"}, "Twiml": {"<Response><Say>hi</Say></Response>"},
			"StatusCallback": {"https://connector.example.com/call"}, "StatusCallbackEvent": {"initiated", "completed"}}, 201, 0},
		{"no To", url.Values{"From": {"+15005550006"}, "Url": {"https://example.com/t.xml"}}, 400, 21201},
		{"no From", url.Values{"To": {"+15550101"}, "Url": {"https://example.com/t.xml"}}, 400, 21213},
		{"no Url or Twiml", url.Values{"To": {"+15550101"}, "From": {"+15005550006"}}, 400, 21205},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := call(tc.form)
			if tc.status != 201 {
				checkError(t, r, tc.status, tc.code)
				return
			}
			sid, _ := r.body["sid"].(string)
			if r.status != 201 || !regexp.MustCompile(`^CA[0-9a-f]{32}$`).MatchString(sid) || r.body["status"] != "queued" || r.body["to"] != "+15550101" {
				t.Fatalf("got %d %v", r.status, r.body)
			}
		})
	}
	calls := s.Calls()
	if len(calls) != 2 || calls[0].SID == calls[1].SID || strings.Join(calls[1].StatusCallbackEvents, ",") != "initiated,completed" ||
		calls[1].Twiml != "<Response><Say>hi</Say></Response>" || calls[0].URL != "https://example.com/t.xml" {
		t.Errorf("Calls() = %+v", calls)
	}
	if len(s.Sent()) != 0 || s.CountTo("+15550101") != 4 || s.CountSentTo("+15550101") != 2 {
		t.Errorf("calls counted wrongly: sent %d, CountTo %d, CountSentTo %d", len(s.Sent()), s.CountTo("+15550101"), s.CountSentTo("+15550101"))
	}
}

func TestUnknownResources(t *testing.T) {
	s := New(t)
	tests := []struct {
		name, path string
		status     int
		code       int
	}{
		{"other account", "/2010-04-01/Accounts/" + NewSID("AC") + "/Messages.json", 404, 20404},
		{"other resource", "/2010-04-01/Accounts/" + s.AccountSID + "/Recordings.json", 404, 20404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r, err := post(t, context.Background(), s.URL(), tc.path, s.AccountSID, s.AuthToken, sms("+15550101"))
			if err != nil {
				t.Fatal(err)
			}
			checkError(t, r, tc.status, tc.code)
		})
	}
	if len(s.Sent()) != 0 {
		t.Error("a message was accepted on an unknown path")
	}
}
