package main

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twilio-connector/twilio-connector/actions"
	"github.com/twilio-connector/twilio-connector/amqpapi"
	"github.com/twilio-connector/twilio-connector/config"
	"github.com/twilio-connector/twilio-connector/console"
	"github.com/twilio-connector/twilio-connector/store"
	"github.com/twilio-connector/twilio-connector/test/wait"
	"github.com/twilio-connector/twilio-connector/triggers"
	"github.com/twilio-connector/twilio-connector/worker"
)

// Every page of run's console, signed in, after sends through every connection (testing and
// real ones that fail), a tried trigger and an inbound message, with a configuration full of
// secrets: none of them appears.
func TestConsoleRendersNoSecret(t *testing.T) {
	secrets := map[string]string{
		"twilio token":       "0123456789abcdef0123456789abcdef",
		"api key":            "apikey-secret-0123456789",
		"console password":   "console-secret-0123456789",
		"redis password":     "redissecret0123",
		"mqtt password":      "mqttsecret0123",
		"camunda password":   "camundasecret0123",
		"base url password":  "baseurlsecret0123",
		"second token":       "fedcba9876543210fedcba9876543210",
		"pushover token":     "azGDORePK8gMaC0QOYAMyEEuzJnyUi",
		"gateway url secret": "gatewayurlsecret0123",
		"gateway header":     "headersecret0123",
		"inbound secret":     "inboundsecret0123",
		"smpp password":      "smpp9x7q",
		"amqp password":      "amqpsecret0123",
	}
	conns := writeFile(t, "connections.yaml", `connections:
  marketing:
    provider: twilio
    account: AC0123456789abcdef0123456789abcdef
    token: `+secrets["second token"]+`
    api_base_url: http://127.0.0.1:1
    default_from: ACME
  pager:
    provider: pushover
    token: `+secrets["pushover token"]+`
    api_base_url: http://127.0.0.1:1
  gateway:
    provider: http
    url: http://user:`+secrets["gateway url secret"]+`@127.0.0.1:1/send?key=`+secrets["gateway url secret"]+`
    headers:
      Authorization: "Bearer `+secrets["gateway header"]+`"
    inbound_secret: `+secrets["inbound secret"]+`
  smsc:
    provider: smpp
    address: 127.0.0.1:1
    system_id: acme
    password: `+secrets["smpp password"]+`
`)
	env := map[string]string{
		"TWILIO_ACCOUNT": "AC0123456789abcdef0123456789abcdef", "TWILIO_TOKEN": secrets["twilio token"],
		"TWILIO_API_BASE_URL": "http://user:" + secrets["base url password"] + "@127.0.0.1:1", "TWILIO_DEFAULT_FROM": "+15005550006",
		"CONNECTOR_API_KEYS": secrets["api key"], "CONNECTOR_CONSOLE": "true", "CONNECTOR_CONSOLE_PASSWORD": secrets["console password"],
		"CONNECTOR_STATE_STORE": "redis", "CONNECTOR_REDIS_URL": "redis://:" + secrets["redis password"] + "@127.0.0.1:1/0",
		"CONNECTOR_MQTT_URL": "tcp://user:" + secrets["mqtt password"] + "@127.0.0.1:1", "CONNECTOR_CONNECTIONS_FILE": conns,
		"CONNECTOR_AMQP_URL": "amqp://user:" + secrets["amqp password"] + "@127.0.0.1:1/",
		"ZEEBE_ADDRESS":      "127.0.0.1:1", "CAMUNDA_AUTH_STRATEGY": "BASIC", "CAMUNDA_BASIC_AUTH_USERNAME": "connector",
		"CAMUNDA_BASIC_AUTH_PASSWORD": secrets["camunda password"], "CONNECTOR_SEND_ATTEMPTS": "1",
		"CONNECTOR_API_TIMEOUT": "2s", // the unbound SMSC connection's send waits this long for a bind
	}
	cfg, err := config.Load(func(k string) string { return env[k] }, config.NeedTwilio|config.NeedZeebe)
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	cs, err := newConnections(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	st := store.NewMemory(time.Hour) // the Redis URL is configured but unreachable: its check fails as Redis's would
	acts, err := newActions(cfg, cs, st, log)
	if err != nil {
		t.Fatal(err)
	}
	client, err := newZeebeClient(cfg, cfg.ZeebeAddress, true, worker.NewLongPolls())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	ready := newReadiness(log, client, cfg, st)
	ready.add("mqtt", func(context.Context) error { return nil })
	// SMPP sessions and the AMQP entry point as run starts them: both fail to connect and say why.
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	defer startSMPP(ctx, cs, triggers.NewSMPPChannel(triggers.SMPPOptions{Options: triggers.Options{Store: st, Logger: log}}), ready, log)()
	aq, err := amqpapi.Start(amqpapi.Options{URL: cfg.AMQPURL, SMS: acts[actions.SendSMS.Name], Calls: acts[actions.MakeCall.Name], Store: st, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer aq.Close(context.Background())
	ready.add("amqp", func(context.Context) error { return aq.Health() })
	wait.Until(t, 30*time.Second, "the AMQP entry point's first connection failure", func() bool {
		err := aq.Health()
		return err != nil && !strings.Contains(err.Error(), "yet")
	})
	activity := console.NewActivity(0)
	for name, a := range acts {
		acts[name] = activity.Observe(name, a)
	}
	activity.Received(triggers.Observed{Inbound: triggers.Inbound{ID: "SM1", From: "+14155550100", To: "+15005550006", Text: "hello",
		Channel: "sms", Connection: "default", ReceivedAt: time.Now()}, Outcome: triggers.OutcomeNoMatch})
	mux := http.NewServeMux()
	apiKeys := []string{secrets["api key"]}
	mountConsole(mux, cfg, log, cs, acts, triggers.NewRegistry(), ready, activity, st, apiKeys)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar, Timeout: 30 * time.Second}
	var pages []string
	fetch := func(method, path string, form url.Values) string {
		t.Helper()
		var res *http.Response
		var err error
		if method == http.MethodPost {
			res, err = hc.PostForm(srv.URL+path, form)
		} else {
			res, err = hc.Get(srv.URL + path)
		}
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		pages = append(pages, method+" "+path+"\n"+string(b))
		return string(b)
	}
	csrf := regexp.MustCompile(`name="csrf" value="([^"]+)"`)
	token := func(page string) string {
		m := csrf.FindStringSubmatch(page)
		if m == nil {
			t.Fatalf("no CSRF token in\n%s", page)
		}
		return m[1]
	}
	login := fetch("GET", "/console/login", nil)
	if page := fetch("POST", "/console/login", url.Values{"csrf": {token(login)}, "secret": {secrets["api key"]}}); !strings.Contains(page, "Sign out") {
		t.Fatalf("not signed in:\n%s", page)
	}
	tok := token(fetch("GET", "/console/send", nil))
	for _, conn := range []string{"default", "marketing", "pager", "gateway", "smsc"} {
		for _, testing := range []string{"true", ""} {
			fetch("POST", "/console/send", url.Values{"csrf": {tok}, "connection": {conn}, "to": {"+14155550100"},
				"body": {"token ${t}"}, "variables": {`{"t": "x"}`}, "testing": {testing}})
		}
	}
	fetch("POST", "/console/try", url.Values{"csrf": {tok}, "pattern": {"(?<word>.+)"}, "echo": {"got ${word}"}, "message": {"hi"}})
	for _, path := range []string{"/console/try", "/console/triggers", "/console/activity", "/console/activity/live", "/console/health"} {
		fetch("GET", path, nil)
	}
	health := pages[len(pages)-1]
	for _, dep := range []string{"zeebe", "amqp", "smpp smsc"} {
		if !regexp.MustCompile(`<td data-label="Dependency">` + dep + `</td><td data-label="State" class="down">down</td><td data-label="Reason">[^<]+</td>`).MatchString(health) {
			t.Errorf("the unreachable %s is not down with a reason on the Health page:\n%s", dep, health)
		}
	}
	if !regexp.MustCompile(`<td data-label="Connection">smsc</td><td data-label="Provider">smpp</td><td data-label="State" class="down">down</td><td data-label="Note">[^<]+</td>`).MatchString(health) {
		t.Errorf("the SMPP connection's row does not show its session down with the reason:\n%s", health)
	}
	if live := pages[len(pages)-2]; strings.Count(live, "<tr>") < 8 {
		t.Fatalf("the sends are not in the activity:\n%s", live)
	}
	for _, page := range pages {
		for name, s := range secrets {
			if strings.Contains(page, s) {
				t.Errorf("the %s appears on %s", name, page)
			}
		}
	}
}

// dev's console is open on a loopback address only; elsewhere it needs run's sign-in, and
// without a way to sign in dev does not start.
func TestDevConsoleIsOpenOnlyOnLoopback(t *testing.T) {
	for _, tc := range []struct {
		addr, apiKeys, password string
		open, refused           bool
	}{
		{addr: "127.0.0.1:8080", open: true},
		{addr: "[::1]:8080", open: true},
		{addr: "localhost:8080", open: true},
		{addr: ":8080", refused: true},
		{addr: "0.0.0.0:8080", refused: true},
		{addr: "192.0.2.10:8080", refused: true},
		{addr: "0.0.0.0:8080", password: "console-password-0123456789"},
		{addr: ":8080", apiKeys: "dev-key-0123456789abcdef"},
	} {
		cfg := config.Config{HTTPAddr: tc.addr, APIKeys: tc.apiKeys, ConsolePassword: tc.password}
		err := devConsole(&cfg)
		if tc.refused {
			if err == nil || !strings.Contains(err.Error(), "CONNECTOR_HTTP_ADDR") || !strings.Contains(err.Error(), "CONNECTOR_CONSOLE_PASSWORD") {
				t.Errorf("%s without a way to sign in: %v, want an error naming CONNECTOR_HTTP_ADDR and CONNECTOR_CONSOLE_PASSWORD", tc.addr, err)
			}
			continue
		}
		if err != nil || !cfg.Console || cfg.ConsoleOpen != tc.open {
			t.Errorf("%s (keys %q, password %q): console %v open %v err %v, want open %v", tc.addr, tc.apiKeys, tc.password, cfg.Console, cfg.ConsoleOpen, err, tc.open)
		}
	}
}
