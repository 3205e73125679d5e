package main

import (
	"context"
	"encoding/base64"
	"fmt"
	"net"
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
	return zbc.NewClient(&zbc.ClientConfig{GatewayAddress: addr, UsePlaintextConnection: plaintext,
		CredentialsProvider: creds, DialOpts: zeebeDialOptions(polls)})
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
		p, err := zbc.NewOAuthCredentialsProvider(&zbc.OAuthProviderConfig{ClientID: a.ClientID, ClientSecret: a.ClientSecret,
			AuthorizationServerURL: a.OAuthURL, Audience: audience})
		if err != nil {
			return nil, fmt.Errorf("ZEEBE_CLIENT_ID: cannot set up OAuth: %w", err)
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

// credentialsFix names the variable to look at when the gateway refuses the credentials, and
// what to check.
func credentialsFix(a config.ZeebeAuth) (variable, fix string) {
	switch a.Strategy {
	case config.AuthBasic:
		return "CAMUNDA_BASIC_AUTH_PASSWORD", "check CAMUNDA_BASIC_AUTH_USERNAME/PASSWORD"
	case config.AuthOAuth:
		return "ZEEBE_CLIENT_SECRET", "check ZEEBE_CLIENT_ID/SECRET and ZEEBE_TOKEN_AUDIENCE"
	}
	return "CAMUNDA_AUTH_STRATEGY", "set CAMUNDA_AUTH_STRATEGY=BASIC with CAMUNDA_BASIC_AUTH_USERNAME/PASSWORD, or OAUTH with ZEEBE_CLIENT_ID/SECRET"
}

// explainUnauthenticated turns the gateway's refusal of the credentials into what to check;
// other errors pass unchanged.
func explainUnauthenticated(a config.ZeebeAuth, err error) error {
	if status.Code(err) != codes.Unauthenticated {
		return err
	}
	_, fix := credentialsFix(a)
	return fmt.Errorf("unauthenticated: %s", fix)
}

// checkCredentials asks the gateway for its topology once, so that credentials it refuses stop
// `run` with one line saying what to fix, instead of a worker polling in vain. A gateway that
// does not answer does not stop the start: it may come later, and /readyz says it is down.
func checkCredentials(ctx context.Context, cfg config.Config, client zbc.Client) error {
	ctx, cancel := context.WithTimeout(ctx, credentialsCheckTimeout)
	defer cancel()
	_, err := client.NewTopologyCommand().Send(ctx)
	if status.Code(err) != codes.Unauthenticated {
		return nil
	}
	variable, fix := credentialsFix(cfg.ZeebeAuth)
	who := "a call without credentials"
	switch cfg.ZeebeAuth.Strategy {
	case config.AuthBasic:
		who = fmt.Sprintf("the password of user %q", cfg.ZeebeAuth.Username)
	case config.AuthOAuth:
		who = "the OAuth token of client " + strconv.Quote(cfg.ZeebeAuth.ClientID)
	}
	return fmt.Errorf("%s: the gateway at %s refused %s (%s): %s", variable, cfg.ZeebeAddress, who, status.Convert(err).Message(), fix)
}
