package httpchanneltest

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

func post(t *testing.T, s *Server, contentType, body string, header ...string) int {
	t.Helper()
	req, _ := http.NewRequest(http.MethodPost, s.URL(), strings.NewReader(body))
	req.Header.Set("Content-Type", contentType)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	return res.StatusCode
}

func TestChecksTheContract(t *testing.T) {
	s := New(t)
	s.RequireHeader("X-Api-Key", "k")
	good := url.Values{"id": {"1"}, "text": {"hi"}, "to": {"+14155550100"}, "to_no_plus": {"14155550100"},
		"from": {"+15005550006"}, "from_no_plus": {"15005550006"}, "channel": {"gw"}}
	form := "application/x-www-form-urlencoded"
	if got := post(t, s, form, good.Encode(), "X-Api-Key", "k"); got != 200 {
		t.Fatalf("good form: %d", got)
	}
	if got := post(t, s, "application/json", `{"id":"2","text":"hi","to":"+1415","to_no_plus":"1415","channel":"gw"}`, "X-Api-Key", "k"); got != 200 {
		t.Fatalf("good JSON without a sender: %d", got)
	}
	cases := []struct {
		name        string
		contentType string
		body        string
		header      []string
		want        int
	}{
		{"no key", form, good.Encode(), nil, 401},
		{"wrong key", form, good.Encode(), []string{"X-Api-Key", "x"}, 401},
		{"text/plain", "text/plain", "hi", []string{"X-Api-Key", "k"}, 400},
		{"no text", form, strings.Replace(good.Encode(), "text=hi", "text=", 1), []string{"X-Api-Key", "k"}, 400},
		{"to_no_plus keeps the plus", form, strings.Replace(good.Encode(), "to_no_plus=14155550100", "to_no_plus=%2B14155550100", 1), []string{"X-Api-Key", "k"}, 400},
		{"unknown field", form, good.Encode() + "&body=hi", []string{"X-Api-Key", "k"}, 400},
		{"JSON numbers", "application/json", `{"id":1,"text":"hi","to":"+1","to_no_plus":"1","channel":"gw"}`, []string{"X-Api-Key", "k"}, 400},
	}
	for _, tc := range cases {
		if got := post(t, s, tc.contentType, tc.body, tc.header...); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
	if n := len(s.Sent()); n != 2 {
		t.Errorf("%d accepted, want 2", n)
	}
	if m := s.Sent()[0]; m.Format != "form" || m.GatewayID == "" || m.Fields["channel"] != "gw" {
		t.Errorf("recorded %+v", m)
	}
}
