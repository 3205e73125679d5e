package pushovertest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func post(t *testing.T, s *Server, contentType, body string) (int, map[string]any) {
	t.Helper()
	res, err := http.Post(s.URL()+MessagesPath, contentType, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var a map[string]any
	if err := json.NewDecoder(res.Body).Decode(&a); err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, a
}

func postForm(t *testing.T, s *Server, f url.Values) (int, map[string]any) {
	return post(t, s, "application/x-www-form-urlencoded", f.Encode())
}

func TestAnswersAsPushoverDoes(t *testing.T) {
	s := New(t)
	user := s.NewUser()
	ok := url.Values{"token": {s.Token()}, "user": {user}, "message": {"hi"}}

	status, a := postForm(t, s, ok)
	if status != 200 || a["status"] != float64(1) || len(a["request"].(string)) != 36 {
		t.Errorf("accepted: %d %v", status, a)
	}

	cases := []struct {
		name   string
		edit   func(url.Values)
		fields []string // the keys marking invalid fields
	}{
		{"wrong token", func(f url.Values) { f.Set("token", NewKey()) }, []string{"token"}},
		{"unknown user", func(f url.Values) { f.Set("user", NewKey()) }, []string{"user"}},
		{"malformed user", func(f url.Values) { f.Set("user", "+14155550100") }, []string{"user"}},
		{"no message, bad sound", func(f url.Values) { f.Del("message"); f.Set("sound", "trumpet") }, []string{"message", "sound"}},
		{"priority 2 without retry", func(f url.Values) { f.Set("priority", "2") }, []string{"expire"}},
		{"priority 3", func(f url.Values) { f.Set("priority", "3") }, []string{"priority"}},
		{"title too long", func(f url.Values) { f.Set("title", strings.Repeat("t", MaxTitle+1)) }, []string{"title"}},
	}
	for _, tc := range cases {
		f := url.Values{}
		for k, v := range ok {
			f[k] = v
		}
		tc.edit(f)
		status, a := postForm(t, s, f)
		errs, _ := a["errors"].([]any)
		if status != 400 || a["status"] != float64(0) || len(errs) != len(tc.fields) || a["request"] == "" {
			t.Errorf("%s: %d %v", tc.name, status, a)
		}
		for _, k := range tc.fields {
			if a[k] == nil {
				t.Errorf("%s: answer %v does not mark %s", tc.name, a, k)
			}
		}
	}
	if status, _ := post(t, s, "application/json", `{"token":"`+s.Token()+`"}`); status != 400 {
		t.Errorf("JSON body: %d, want 400 (the connector sends forms)", status)
	}
	if n := len(s.Sent()); n != 1 {
		t.Errorf("%d messages accepted, want 1", n)
	}
	for _, r := range s.Requests() {
		if r.Form.Get("token") != "" {
			t.Fatal("the stand-in keeps the token")
		}
	}
}

func TestRulesApplyToValidTokensOnly(t *testing.T) {
	s := New(t)
	user := s.NewUser()
	s.FailTimes(user, 1, 500)
	if status, _ := postForm(t, s, url.Values{"token": {"x"}, "user": {user}, "message": {"hi"}}); status != 400 {
		t.Errorf("wrong token: %d", status)
	}
	if status, _ := postForm(t, s, url.Values{"token": {s.Token()}, "user": {user}, "message": {"hi"}}); status != 500 {
		t.Errorf("programmed failure: %d", status)
	}
	if s.CountTo(user) != 2 || len(s.Unused()) != 0 {
		t.Errorf("CountTo %d, unused %v", s.CountTo(user), s.Unused())
	}
}
