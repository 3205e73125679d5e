package test

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
)

// A hostile template sent to the HTTP API of `twilio-connector run` (one that used to pin a core
// for seconds to minutes building strings of many MB) is refused with 400 INVALID_INPUT naming
// the field and the limit, nothing is sent, and the server keeps answering.
func TestHTTPAPIRefusesHostileTemplates(t *testing.T) {
	w := newWorld(t)
	const key = "tmpl-key-0123456789abcdef"
	p := w.startRun(t, "CONNECTOR_API_KEYS="+key)
	p.waitReady(t)
	post := func(t *testing.T, body map[string]any) (int, string) {
		t.Helper()
		b, err := json.Marshal(body)
		if err != nil {
			t.Fatal(err)
		}
		req, _ := http.NewRequest("POST", "http://"+p.httpAddr+"/v1/messages", strings.NewReader(string(b)))
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		res, err := httpClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		out, _ := io.ReadAll(res.Body)
		return res.StatusCode, string(out)
	}
	xs := make([]int, 3000)
	for _, tc := range []struct {
		name   string
		engine string
		body   string
		want   string
	}{
		{"freemarker", "freemarker", `<#list xs as i><#assign s = s?html></#list>${s}`, "more than the limit of 65536 bytes per value"},
		{"pongo2", "pongo2", `{% for i in xs %}{% for j in xs %}{% set s = s|upper|lower %}{% endfor %}{% endfor %}{{ s }}`, "more than 100000 steps of work"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			code, res := post(t, map[string]any{"smsTo": []string{alice}, "smsBody": tc.body, "templateEngine": tc.engine,
				"variables": map[string]any{"xs": xs, "s": strings.Repeat("<", 1000)}})
			if code != http.StatusBadRequest {
				t.Fatalf("status %d, want 400: %s", code, res)
			}
			for _, want := range []string{`"code":"INVALID_INPUT"`, `"field":"smsBody"`, "render smsBody", tc.want} {
				if !strings.Contains(res, want) {
					t.Errorf("answer does not contain %s: %s", want, res)
				}
			}
		})
	}
	code, res := post(t, map[string]any{"smsTo": []string{alice}, "smsBody": "Order ${n?c} is ready", "variables": map[string]any{"n": 7}})
	if code != http.StatusOK {
		t.Fatalf("a legitimate message after the hostile ones: %d %s", code, res)
	}
	if m := w.twilio.Sent(); len(m) != 1 || m[0].Body != "Order 7 is ready" {
		t.Fatalf("sent %+v, want only the legitimate message", m)
	}
}
