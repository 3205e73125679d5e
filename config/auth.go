package config

import (
	"cmp"
	"net/url"
	"strings"
)

// Auth strategies of CAMUNDA_AUTH_STRATEGY, as the Camunda SDKs name them.
const (
	AuthNone  = "NONE"  // no credentials: a dev engine, Camunda 8 Run, a gateway without authentication
	AuthBasic = "BASIC" // user name and password: Camunda 8.8 Self-Managed's default
	AuthOAuth = "OAUTH" // client credentials: Camunda SaaS, Self-Managed with OIDC
)

// ZeebeAuth is how the connector authenticates to the Zeebe gateway. The names are the
// Camunda SDK's (CAMUNDA_*); the Zeebe Go client's own OAuth names (ZEEBE_*) are read first.
type ZeebeAuth struct {
	Strategy string // CAMUNDA_AUTH_STRATEGY: NONE | BASIC | OAUTH; unset: inferred from the credentials given

	Username string // CAMUNDA_BASIC_AUTH_USERNAME
	Password string // CAMUNDA_BASIC_AUTH_PASSWORD (or _FILE); secret

	ClientID     string // ZEEBE_CLIENT_ID (alias CAMUNDA_CLIENT_ID)
	ClientSecret string // ZEEBE_CLIENT_SECRET (alias CAMUNDA_CLIENT_SECRET; or _FILE); secret
	OAuthURL     string // ZEEBE_AUTHORIZATION_SERVER_URL (alias CAMUNDA_OAUTH_URL); empty: Camunda SaaS's
	Audience     string // ZEEBE_TOKEN_AUDIENCE (aliases CAMUNDA_TOKEN_AUDIENCE, CAMUNDA_ZEEBE_OAUTH_AUDIENCE); empty: the gateway's host

	basicVar, oauthVar string // the first basic and OAuth variable set, by the name it was given
}

// Variable names, each in one place.
var (
	authStrategyVars = []string{"CAMUNDA_AUTH_STRATEGY"}
	usernameVars     = []string{"CAMUNDA_BASIC_AUTH_USERNAME"}
	passwordVars     = []string{"CAMUNDA_BASIC_AUTH_PASSWORD"}
	clientIDVars     = []string{"ZEEBE_CLIENT_ID", "CAMUNDA_CLIENT_ID"}
	clientSecretVars = []string{"ZEEBE_CLIENT_SECRET", "CAMUNDA_CLIENT_SECRET"}
	oauthURLVars     = []string{"ZEEBE_AUTHORIZATION_SERVER_URL", "CAMUNDA_OAUTH_URL"}
	audienceVars     = []string{"ZEEBE_TOKEN_AUDIENCE", "CAMUNDA_TOKEN_AUDIENCE", "CAMUNDA_ZEEBE_OAUTH_AUDIENCE"}
)

// loadAuth reads the Zeebe authentication settings.
func (l *loader) loadAuth(a *ZeebeAuth) {
	l.str(&a.Strategy, authStrategyVars...)
	a.Strategy = strings.ToUpper(a.Strategy)
	a.basicVar = l.firstSet(usernameVars, passwordVars)
	l.str(&a.Username, usernameVars...)
	l.secret(&a.Password, passwordVars...)
	a.oauthVar = l.firstSet(clientIDVars, clientSecretVars, oauthURLVars, audienceVars)
	l.str(&a.ClientID, clientIDVars...)
	l.secret(&a.ClientSecret, clientSecretVars...)
	l.str(&a.OAuthURL, oauthURLVars...)
	l.str(&a.Audience, audienceVars...)
}

// firstSet returns the name of the first variable set (itself or as NAME_FILE) among groups.
func (l *loader) firstSet(groups ...[]string) string {
	for _, names := range groups {
		for _, n := range names {
			if name, _, ok := l.lookup(n, n+"_FILE"); ok {
				return name
			}
		}
	}
	return ""
}

// validate settles the strategy (unset: OAUTH when OAuth settings are given, BASIC when basic
// ones are, else NONE) and checks that exactly its settings are given.
func (a *ZeebeAuth) validate() error {
	if a.Strategy == "" {
		switch {
		case a.basicVar != "" && a.oauthVar != "":
			return &Error{"CAMUNDA_AUTH_STRATEGY", "is not set, and both " + a.basicVar + " (basic authentication) and " + a.oauthVar + " (OAuth) are: set CAMUNDA_AUTH_STRATEGY to BASIC or OAUTH and remove the other's settings"}
		case a.basicVar != "":
			a.Strategy = AuthBasic
		case a.oauthVar != "":
			a.Strategy = AuthOAuth
		default:
			a.Strategy = AuthNone
		}
	}
	switch a.Strategy {
	case AuthNone:
		if a.basicVar != "" || a.oauthVar != "" {
			return &Error{cmp.Or(a.basicVar, a.oauthVar), "is set but CAMUNDA_AUTH_STRATEGY is NONE: remove it, or set CAMUNDA_AUTH_STRATEGY to BASIC or OAUTH"}
		}
	case AuthBasic:
		switch {
		case a.oauthVar != "":
			return &Error{a.oauthVar, "is an OAuth setting but CAMUNDA_AUTH_STRATEGY is BASIC: remove it, or set CAMUNDA_AUTH_STRATEGY=OAUTH and remove CAMUNDA_BASIC_AUTH_*"}
		case a.Username == "":
			return &Error{"CAMUNDA_BASIC_AUTH_USERNAME", "is not set but CAMUNDA_AUTH_STRATEGY is BASIC: give the user name of a Camunda user (Identity) allowed to work on jobs"}
		case strings.Contains(a.Username, ":"):
			return &Error{"CAMUNDA_BASIC_AUTH_USERNAME", "contains ':', which basic authentication cannot carry in a user name: check the value"}
		case a.Password == "":
			return &Error{"CAMUNDA_BASIC_AUTH_PASSWORD", "is not set but CAMUNDA_AUTH_STRATEGY is BASIC: give the user's password (or CAMUNDA_BASIC_AUTH_PASSWORD_FILE for a file holding it)"}
		}
	case AuthOAuth:
		switch {
		case a.basicVar != "":
			return &Error{a.basicVar, "is a basic authentication setting but CAMUNDA_AUTH_STRATEGY is OAUTH: remove it, or set CAMUNDA_AUTH_STRATEGY=BASIC and remove the OAuth settings"}
		case a.ClientID == "":
			return &Error{"ZEEBE_CLIENT_ID", "is not set but CAMUNDA_AUTH_STRATEGY is OAUTH: give the client id of the cluster's API client (or CAMUNDA_CLIENT_ID)"}
		case a.ClientSecret == "":
			return &Error{"ZEEBE_CLIENT_SECRET", "is not set but CAMUNDA_AUTH_STRATEGY is OAUTH: give the client secret (or ZEEBE_CLIENT_SECRET_FILE for a file holding it)"}
		}
		if a.OAuthURL != "" {
			if p, err := url.Parse(a.OAuthURL); err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
				return &Error{"ZEEBE_AUTHORIZATION_SERVER_URL", "must be the token endpoint's absolute URL, such as https://login.cloud.camunda.io/oauth/token"}
			}
		}
	default:
		return &Error{"CAMUNDA_AUTH_STRATEGY", "is " + a.Strategy + ": must be NONE (no credentials), BASIC (user name and password, Camunda 8.8 Self-Managed) or OAUTH (client credentials, Camunda SaaS)"}
	}
	return nil
}
