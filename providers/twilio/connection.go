package twilio

import (
	"regexp"

	"github.com/twilio-connector/twilio-connector/providers"
)

var (
	accountPattern = regexp.MustCompile(`^AC[0-9a-fA-F]{32}$`)
	servicePattern = regexp.MustCompile(`^MG[0-9a-fA-F]{32}$`)
	alphanumeric   = regexp.MustCompile(`^[A-Za-z0-9]+$`)
)

// FromConnection is the constructor of "twilio" connections: fields account, token (or
// token_file), api_base_url and messaging_service_sid.
func FromConnection(s providers.Settings) (providers.Provider, error) {
	f := s.Fields
	account, err := f.String("account")
	if err != nil {
		return nil, err
	}
	if !accountPattern.MatchString(account) {
		return nil, f.Errorf("account", "is not an Account SID: give AC followed by 32 hex digits, from the Twilio console")
	}
	token, err := f.Secret("token")
	if err != nil {
		return nil, err
	}
	if token == "" {
		return nil, f.Errorf("token", "is not set: give the account's auth token (or token_file, a file holding it)")
	}
	// twilio-go refuses non-alphanumeric credentials on every request (error 21224); say so now.
	if !alphanumeric.MatchString(token) {
		return nil, f.Errorf("token", "contains characters other than letters and digits: copy the token again without spaces or quotes")
	}
	base, err := f.String("api_base_url")
	if err != nil {
		return nil, err
	}
	service, err := f.String("messaging_service_sid")
	if err != nil {
		return nil, err
	}
	if service != "" && !servicePattern.MatchString(service) {
		return nil, f.Errorf("messaging_service_sid", "is not a Messaging Service SID: expected MG followed by 32 hex digits")
	}
	t, err := New(Options{AccountSID: account, AuthToken: token, MessagingServiceSID: service, BaseURL: base,
		BaseURLField: "api_base_url", Timeout: s.Timeout, MaxConcurrent: s.MaxConcurrent, Transport: s.Transport,
		MissingSender: "set it on the task, or default_from or messaging_service_sid on connection " + s.Name})
	if err != nil {
		return nil, f.Errorf("api_base_url", "is not an absolute URL")
	}
	return t, nil
}
