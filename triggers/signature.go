package triggers

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/base64"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// SignatureHeader carries Twilio's request signature.
const SignatureHeader = "X-Twilio-Signature"

// Signature computes Twilio's X-Twilio-Signature for a form-encoded webhook posted to rawURL:
// base64(HMAC-SHA1(authToken, rawURL + k1 + v1 + k2 + v2 …)) with the keys sorted and, for a
// key sent several times, each distinct value, sorted (as Twilio's helper libraries do).
// twilio-go's RequestValidator uses only the first value of a repeated key, so it is not used.
func Signature(authToken, rawURL string, form url.Values) string {
	mac := hmac.New(sha1.New, []byte(authToken))
	mac.Write([]byte(rawURL))
	for _, k := range slices.Sorted(maps.Keys(form)) {
		vs := slices.Clone(form[k])
		slices.Sort(vs)
		for _, v := range slices.Compact(vs) {
			mac.Write([]byte(k))
			mac.Write([]byte(v))
		}
	}
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// Verifier checks X-Twilio-Signature. Twilio signs the URL it was configured with, so behind
// a proxy or load balancer the connector must be told its public URL: the expected URL is
// PublicURL (scheme, host and any path prefix the proxy strips) + the request path + query.
type Verifier struct {
	// AuthToken is the auth token of a single account (secret: never logged); used only when
	// Accounts is empty.
	AuthToken string
	// Accounts are the Twilio accounts the webhooks take, by Account SID. When set, a request
	// is verified with the token of the account its AccountSid form field names, and is the
	// account's connection's; a request naming another account (or none) is refused.
	Accounts map[string]Account
	// PublicURL is the connector's base URL as Twilio sees it, e.g.
	// https://connector.example.com or https://example.com/twilio-connector. Empty: the
	// request's own scheme and Host header (only right without a proxy in front).
	PublicURL string
	// Skip turns verification off (local experiments only).
	Skip bool
}

// Account is a Twilio account the webhooks take.
type Account struct {
	// Token is the account's auth token (secret: never logged).
	Token string
	// Connection is the connection its messages and statuses are attributed to.
	Connection string
}

// connection is the connection of form's account; fallback when Accounts does not name it.
func (v *Verifier) connection(form url.Values, fallback string) string {
	if a, ok := v.Accounts[form.Get("AccountSid")]; ok && a.Connection != "" {
		return a.Connection
	}
	return fallback
}

// ExpectedURL is the URL Twilio signed for r.
func (v *Verifier) ExpectedURL(r *http.Request) string {
	base := strings.TrimSuffix(v.PublicURL, "/")
	if base == "" {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		base = scheme + "://" + r.Host
	}
	if bu, err := url.Parse(base); err == nil && bu.User != nil {
		// Twilio signs the URL without the basic-auth credentials it may carry.
		bu.User = nil
		base = bu.String()
	}
	u := base + r.URL.EscapedPath()
	if r.URL.RawQuery != "" {
		u += "?" + r.URL.RawQuery
	}
	return u
}

// Verify reports whether r's signature matches form. It also accepts the URL with the
// scheme's default port added or removed, since Twilio signs the URL as configured.
func (v *Verifier) Verify(r *http.Request, form url.Values) bool {
	if v.Skip {
		return true
	}
	got, token := r.Header.Get(SignatureHeader), v.token(form)
	if got == "" || token == "" {
		return false
	}
	for _, u := range urlVariants(v.ExpectedURL(r)) {
		if hmac.Equal([]byte(got), []byte(Signature(token, u, form))) {
			return true
		}
	}
	return false
}

// token is the auth token form's signature is checked with; "" when there is none.
func (v *Verifier) token(form url.Values) string {
	if len(v.Accounts) == 0 {
		return v.AuthToken
	}
	return v.Accounts[form.Get("AccountSid")].Token
}

// knowsAccount reports whether form's AccountSid is one Verify has a token for.
func (v *Verifier) knowsAccount(form url.Values) bool {
	return v.Skip || len(v.Accounts) == 0 || v.token(form) != ""
}

// configured reports whether any token is set.
func (v *Verifier) configured() bool {
	return v.AuthToken != "" || len(v.Accounts) > 0
}

func urlVariants(raw string) []string {
	out := []string{raw}
	u, err := url.Parse(raw)
	if err != nil {
		return out
	}
	def := map[string]string{"http": "80", "https": "443"}[u.Scheme]
	if def == "" {
		return out
	}
	switch u.Port() {
	case "":
		u.Host += ":" + def
		out = append(out, u.String())
	case def:
		u.Host = u.Hostname()
		out = append(out, u.String())
	}
	return out
}
