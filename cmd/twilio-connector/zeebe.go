package main

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"regexp"
	"strconv"
	"time"

	"github.com/camunda/zeebe/clients/go/v8/pkg/zbc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/twilio-connector/twilio-connector/config"
	"github.com/twilio-connector/twilio-connector/worker"
)

// credentialsCheckTimeout bounds the credentials check of `run` at start.
const credentialsCheckTimeout = 5 * time.Second

// newZeebeClient connects to the gateway at addr with the configured credentials. The Zeebe
// client's own variables (ZEEBE_INSECURE_CONNECTION, ZEEBE_CA_CERTIFICATE_PATH, ...) still apply.
func newZeebeClient(cfg config.Config, addr string, plaintext bool, polls *worker.LongPolls) (zbc.Client, error) {
	creds, err := zeebeCredentials(cfg.ZeebeAuth, addr)
	if err != nil {
		return nil, err
	}
	client, err := zbc.NewClient(&zbc.ClientConfig{GatewayAddress: addr, UsePlaintextConnection: plaintext,
		CredentialsProvider: creds, DialOpts: zeebeDialOptions(polls)})
	if err != nil {
		return nil, fmt.Errorf("ZEEBE_ADDRESS: cannot create the Zeebe client: %w", err)
	}
	return client, nil
}

// zeebeCredentials is the credentials provider of the auth strategy; nil for none.
func zeebeCredentials(a config.ZeebeAuth, addr string) (zbc.CredentialsProvider, error) {
	switch a.Strategy {
	case config.AuthBasic:
		return basicAuth{"Basic " + base64.StdEncoding.EncodeToString([]byte(a.Username+":"+a.Password))}, nil
	case config.AuthOAuth:
		audience := a.Audience
		if audience == "" { // the Zeebe client's default: the gateway's host
			audience, _, _ = net.SplitHostPort(addr)
		}
		if audience == "" {
			return nil, errors.New("ZEEBE_TOKEN_AUDIENCE: is not set, and ZEEBE_ADDRESS has no host:port to take it from: give the gateway's audience (zeebe.camunda.io on SaaS)")
		}
		// The id, secret and URL are checked by config; what can still fail is the token cache file.
		p, err := zbc.NewOAuthCredentialsProvider(&zbc.OAuthProviderConfig{ClientID: a.ClientID, ClientSecret: a.ClientSecret,
			AuthorizationServerURL: a.OAuthURL, Audience: audience})
		if err != nil {
			return nil, fmt.Errorf("ZEEBE_CLIENT_CONFIG_PATH: cannot set up OAuth with its token cache (default $HOME/.camunda/credentials): %w", err)
		}
		return p, nil
	}
	return nil, nil
}

// basicAuth sends a user name and password with every call, as a Camunda 8.8 Self-Managed
// gateway expects them: the metadata "authorization: Basic base64(username:password)".
type basicAuth struct{ header string }

func (b basicAuth) ApplyCredentials(_ context.Context, headers map[string]string) error {
	headers["authorization"] = b.header
	return nil
}

// ShouldRetryRequest is always false: unlike an OAuth token, which may have expired, a password
// refused once is refused again, and retrying would only hide the refusal.
func (basicAuth) ShouldRetryRequest(context.Context, error) bool { return false }

// credentialsFix names the variable to look at when the credentials are refused, and what to
// check.
func credentialsFix(a config.ZeebeAuth) (variable, fix string) {
	switch a.Strategy {
	case config.AuthBasic:
		return "CAMUNDA_BASIC_AUTH_PASSWORD", "check CAMUNDA_BASIC_AUTH_USERNAME/PASSWORD"
	case config.AuthOAuth:
		return "ZEEBE_CLIENT_SECRET", "check ZEEBE_CLIENT_ID/SECRET, ZEEBE_AUTHORIZATION_SERVER_URL and ZEEBE_TOKEN_AUDIENCE"
	}
	return "CAMUNDA_AUTH_STRATEGY", "set CAMUNDA_AUTH_STRATEGY=BASIC with CAMUNDA_BASIC_AUTH_USERNAME/PASSWORD, or OAUTH with ZEEBE_CLIENT_ID/SECRET"
}

// tokenRefused is the OAuth provider's error when the authorization server refuses the client
// credentials: an OAuth error code (`oauth2: "invalid_client"`) or else an HTTP 4xx
// (`oauth2: cannot fetch token: 401 Unauthorized`).
var tokenRefused = regexp.MustCompile(`oauth2: (?:"([a-z_]+)"|cannot fetch token: (4\d\d[^\n]*))`)

// oauthRefusal is the OAuth error code or HTTP status of a refusal of the client credentials in
// msg, or "" (no refusal, or the server failing: worth retrying).
func oauthRefusal(msg string) string {
	m := tokenRefused.FindStringSubmatch(msg)
	switch {
	case m == nil || m[1] == "server_error" || m[1] == "temporarily_unavailable":
		return ""
	case m[1] != "":
		return m[1]
	}
	return "HTTP " + m[2]
}

// refusal says who refused which credentials, or "" when err is no refusal of them (success, an
// unreachable gateway or authorization server, a timeout).
func refusal(cfg config.Config, err error) string {
	a := cfg.ZeebeAuth
	msg := status.Convert(err).Message()
	if status.Code(err) == codes.Unauthenticated {
		who := "a call without credentials"
		switch a.Strategy {
		case config.AuthBasic:
			who = "the password of user " + strconv.Quote(a.Username)
		case config.AuthOAuth:
			who = "the OAuth token of client " + strconv.Quote(a.ClientID)
		}
		return fmt.Sprintf("the gateway at %s refused %s (%s)", cfg.ZeebeAddress, who, msg)
	}
	if why := oauthRefusal(msg); a.Strategy == config.AuthOAuth && why != "" {
		return fmt.Sprintf("the authorization server refused the credentials of client %q (%s)", a.ClientID, why)
	}
	return ""
}

// explainRefusal turns a refusal of the credentials into what to check; other errors pass
// unchanged.
func explainRefusal(cfg config.Config, err error) error {
	if refusal(cfg, err) == "" {
		return err
	}
	_, fix := credentialsFix(cfg.ZeebeAuth)
	return fmt.Errorf("unauthenticated: %s", fix)
}

// checkCredentials asks the gateway for its topology once, so that refused credentials stop
// `run` with one line saying what to fix, instead of a worker polling in vain. A gateway that
// does not answer does not stop the start: it may come later, and /readyz says it is down.
func checkCredentials(ctx context.Context, cfg config.Config, client zbc.Client) error {
	ctx, cancel := context.WithTimeout(ctx, credentialsCheckTimeout)
	defer cancel()
	_, err := client.NewTopologyCommand().Send(ctx)
	why := refusal(cfg, err)
	if why == "" {
		return nil
	}
	variable, fix := credentialsFix(cfg.ZeebeAuth)
	return fmt.Errorf("%s: %s: %s", variable, why, fix)
}
