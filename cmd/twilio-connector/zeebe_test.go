package main

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path/filepath"
	"strings"
	"testing"

	"github.com/camunda/zeebe/clients/go/v8/pkg/zbc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/twilio-connector/twilio-connector/bpmn/engine"
	"github.com/twilio-connector/twilio-connector/config"
	"github.com/twilio-connector/twilio-connector/store"
	"github.com/twilio-connector/twilio-connector/worker"
)

// The basic-auth credentials reach a gateway requiring them; refused ones are one line naming
// CAMUNDA_BASIC_AUTH_PASSWORD at start and a reason on /readyz, never the password.
func TestBasicAuthAgainstAGatewayRequiringIt(t *testing.T) {
	const password = "right-pw"
	discard := slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, err := engine.New(engine.Options{Logger: discard}).Serve(ctx, "127.0.0.1:0", engine.RequireBasicAuth("demo", password))
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	connect := func(auth config.ZeebeAuth) (config.Config, func() error) {
		cfg := config.Config{ZeebeAddress: srv.Addr(), ZeebeAuth: auth}
		client, err := newZeebeClient(cfg, srv.Addr(), true, worker.NewLongPolls())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { client.Close() })
		return cfg, func() error { return checkCredentials(ctx, cfg, client) }
	}

	_, check := connect(config.ZeebeAuth{Strategy: config.AuthBasic, Username: "demo", Password: password})
	if err := check(); err != nil {
		t.Fatalf("right credentials: %v", err)
	}

	wrong := config.ZeebeAuth{Strategy: config.AuthBasic, Username: "demo", Password: "wrong-pw"}
	cfg, check := connect(wrong)
	err = check()
	if err == nil || !strings.HasPrefix(err.Error(), "CAMUNDA_BASIC_AUTH_PASSWORD: ") || strings.Contains(err.Error(), "wrong-pw") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("wrong password: %v, want one line naming CAMUNDA_BASIC_AUTH_PASSWORD without the password", err)
	}
	client, err := newZeebeClient(cfg, srv.Addr(), true, worker.NewLongPolls())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	ready := newReadiness(discard, client, cfg, store.NewMemory(0))
	rec := httptest.NewRecorder()
	ready.ServeHTTP(rec, httptest.NewRequest("GET", "/readyz", nil))
	if want := "zeebe: down: unauthenticated: check CAMUNDA_BASIC_AUTH_USERNAME/PASSWORD\n"; rec.Code != 503 || !strings.Contains(rec.Body.String(), want) {
		t.Fatalf("/readyz %d %q, want 503 with %q", rec.Code, rec.Body, want)
	}

	_, check = connect(config.ZeebeAuth{Strategy: config.AuthNone})
	if err := check(); err == nil || !strings.HasPrefix(err.Error(), "CAMUNDA_AUTH_STRATEGY: ") {
		t.Fatalf("no credentials: %v, want an error naming CAMUNDA_AUTH_STRATEGY", err)
	}
}

// A refused password is not retried: the same password would be refused again.
func TestBasicAuthIsNotRetried(t *testing.T) {
	creds, err := zeebeCredentials(config.ZeebeAuth{Strategy: config.AuthBasic, Username: "demo", Password: "pw"}, "zeebe:26500")
	if err != nil {
		t.Fatal(err)
	}
	if creds.ShouldRetryRequest(context.Background(), status.Error(codes.Unauthenticated, "invalid credentials")) {
		t.Fatal("ShouldRetryRequest is true for Unauthenticated")
	}
	headers := map[string]string{}
	if err := creds.ApplyCredentials(context.Background(), headers); err != nil || headers["authorization"] != "Basic ZGVtbzpwdw==" {
		t.Fatalf("headers %v, err %v", headers, err)
	}
}

// A gateway that does not answer at start does not stop `run`: it may come later.
func TestCredentialsCheckIgnoresAnUnreachableGateway(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	cfg := config.Config{ZeebeAddress: addr, ZeebeAuth: config.ZeebeAuth{Strategy: config.AuthBasic, Username: "demo", Password: "pw"}}
	client, err := newZeebeClient(cfg, addr, true, worker.NewLongPolls())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	if err := checkCredentials(context.Background(), cfg, client); err != nil {
		t.Fatalf("unreachable gateway: %v", err)
	}
}

// OAuth is set up from config's variables (the Camunda SDK's names included), not only from
// the Zeebe client's own: the token request carries them and calls carry the token.
func TestOAuthFromConfig(t *testing.T) {
	// The Zeebe client caches tokens in this file ($HOME/.camunda/credentials; in tests it reads
	// no environment variables, so ZEEBE_CLIENT_CONFIG_PATH cannot move it).
	defaultCache := zbc.DefaultOauthYamlCachePath
	zbc.DefaultOauthYamlCachePath = filepath.Join(t.TempDir(), "credentials")
	t.Cleanup(func() { zbc.DefaultOauthYamlCachePath = defaultCache })
	var form url.Values
	idp := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		form = r.PostForm
		rw.Header().Set("Content-Type", "application/json")
		io.WriteString(rw, `{"access_token":"tok-123","token_type":"Bearer","expires_in":3600}`)
	}))
	defer idp.Close()
	cfg, err := config.Load(func(k string) string {
		return map[string]string{"ZEEBE_ADDRESS": "zeebe.example.com:26500", "CAMUNDA_AUTH_STRATEGY": "OAUTH",
			"CAMUNDA_CLIENT_ID": "connector", "CAMUNDA_CLIENT_SECRET": "client-secret", "CAMUNDA_OAUTH_URL": idp.URL + "/token"}[k]
	}, config.NeedZeebe)
	if err != nil {
		t.Fatal(err)
	}
	creds, err := zeebeCredentials(cfg.ZeebeAuth, cfg.ZeebeAddress)
	if err != nil {
		t.Fatal(err)
	}
	headers := map[string]string{}
	if err := creds.ApplyCredentials(context.Background(), headers); err != nil {
		t.Fatal(err)
	}
	if headers["Authorization"] != "Bearer tok-123" {
		t.Fatalf("headers %v", headers)
	}
	if form.Get("client_id") != "connector" || form.Get("client_secret") != "client-secret" || form.Get("audience") != "zeebe.example.com" {
		t.Fatalf("token request %v", form)
	}
}

// An authorization server refusing the client credentials stops `run` at start like a gateway
// refusing a password; one that cannot be reached does not.
func TestOAuthRefusedAtStart(t *testing.T) {
	defaultCache := zbc.DefaultOauthYamlCachePath
	zbc.DefaultOauthYamlCachePath = filepath.Join(t.TempDir(), "credentials")
	t.Cleanup(func() { zbc.DefaultOauthYamlCachePath = defaultCache })
	answer := `{"error":"invalid_client"}` // as Keycloak answers a wrong client secret
	idp := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(answer, "{") {
			rw.Header().Set("Content-Type", "application/json")
		}
		rw.WriteHeader(http.StatusUnauthorized)
		io.WriteString(rw, answer)
	}))
	defer idp.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	srv, err := engine.New(engine.Options{Logger: slog.New(slog.NewTextHandler(io.Discard, nil))}).Serve(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	check := func(tokenURL string) error {
		cfg := config.Config{ZeebeAddress: srv.Addr(), ZeebeAuth: config.ZeebeAuth{Strategy: config.AuthOAuth,
			ClientID: "connector", ClientSecret: "wrong-secret", OAuthURL: tokenURL, Audience: "zeebe-api"}}
		client, err := newZeebeClient(cfg, srv.Addr(), true, worker.NewLongPolls())
		if err != nil {
			t.Fatal(err)
		}
		defer client.Close()
		return checkCredentials(ctx, cfg, client)
	}
	for _, c := range []struct{ answer, why string }{
		{`{"error":"invalid_client"}`, "(invalid_client)"},
		{"Unauthorized", "(HTTP 401 Unauthorized)"}, // no OAuth error code
	} {
		answer = c.answer
		err = check(idp.URL + "/token")
		want := `ZEEBE_CLIENT_SECRET: the authorization server refused the credentials of client "connector" ` + c.why + ": check ZEEBE_CLIENT_ID/SECRET"
		if err == nil || !strings.HasPrefix(err.Error(), want) || strings.Contains(err.Error(), "\n") || strings.Contains(err.Error(), "wrong-secret") {
			t.Fatalf("refused client credentials: %v, want %q…", err, want)
		}
	}
	idp.Close()
	if err := check(idp.URL + "/token"); err != nil {
		t.Fatalf("unreachable authorization server: %v", err)
	}
}

// Without ZEEBE_TOKEN_AUDIENCE the audience is the gateway's host; an address without a port
// leaves none, which is said before any token is asked for.
func TestOAuthAudienceMissing(t *testing.T) {
	_, err := zeebeCredentials(config.ZeebeAuth{Strategy: config.AuthOAuth, ClientID: "id", ClientSecret: "s"}, "zeebe")
	if err == nil || !strings.HasPrefix(err.Error(), "ZEEBE_TOKEN_AUDIENCE: ") {
		t.Fatalf("%v, want an error naming ZEEBE_TOKEN_AUDIENCE", err)
	}
}
