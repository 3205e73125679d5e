package twilio

import (
	"maps"
	"regexp"
	"slices"

	"gopkg.in/yaml.v3"

	"github.com/twilio-connector/twilio-connector/pace"
	"github.com/twilio-connector/twilio-connector/providers"
)

var (
	accountPattern = regexp.MustCompile(`^AC[0-9a-fA-F]{32}$`)
	servicePattern = regexp.MustCompile(`^MG[0-9a-fA-F]{32}$`)
	alphanumeric   = regexp.MustCompile(`^[A-Za-z0-9]+$`)
)

// FromConnection is the constructor of "twilio" connections: fields account, token (or
// token_file), api_base_url, messaging_service_sid and pace.
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
	rates, err := readPace(f)
	if err != nil {
		return nil, err
	}
	var pacer *pace.Pacer
	if rates != nil {
		pacer = pace.New(s.Name, account, *rates, s.Limiter)
	}
	t, err := New(Options{AccountSID: account, AuthToken: token, MessagingServiceSID: service, BaseURL: base,
		BaseURLField: "api_base_url", Timeout: s.Timeout, MaxConcurrent: s.MaxConcurrent, Transport: s.Transport,
		Connection: s.Name, Pace: pacer,
		MissingSender: "set it on the task, or default_from or messaging_service_sid on connection " + s.Name})
	if err != nil {
		return nil, f.Errorf("api_base_url", "is not an absolute URL")
	}
	return t, nil
}

// paceExample is how the pace field is written.
const paceExample = `pace: {senders: {"+15005550006": 10}, default: 1, account: 100}`

// readPace reads the pace field, {senders: {SENDER: RATE, …}, default: RATE or kind, account:
// RATE} in segments per second (every part optional); nil when absent: no pacing.
func readPace(f *providers.Fields) (*pace.Rates, error) {
	n, ok := f.Node("pace")
	if !ok {
		return nil, nil
	}
	var parts map[string]yaml.Node
	if n.Kind != yaml.MappingNode || n.Decode(&parts) != nil {
		return nil, f.Errorf("pace", "is not a map: write it like %s", paceExample)
	}
	r := &pace.Rates{}
	for _, name := range slices.Sorted(maps.Keys(parts)) {
		v := parts[name]
		field := "pace." + name
		if name == "senders" {
			var raw map[string]string
			if v.Kind != yaml.MappingNode || v.Decode(&raw) != nil {
				return nil, f.Errorf(field, "is not a map of senders to segments per second: write it like senders: {\"+15005550006\": 10}")
			}
			r.Senders = map[string]float64{}
			for _, sender := range slices.Sorted(maps.Keys(raw)) {
				rate, err := pace.ParseRate(raw[sender])
				if err != nil {
					return nil, f.Errorf(field, "sender %s: %v", sender, err)
				}
				r.Senders[sender] = rate
			}
			if err := pace.CheckSenders(r.Senders); err != nil {
				return nil, f.Errorf(field, "%v", err)
			}
			continue
		}
		if v.Kind != yaml.ScalarNode {
			return nil, f.Errorf(field, "is not a number: write it like %s", paceExample)
		}
		var err error
		switch name {
		case "default":
			r.Default, err = pace.ParseDefault(v.Value)
		case "account":
			r.Account, err = pace.ParseRate(v.Value)
		default:
			return nil, f.Errorf(field, "is not a part of pace: give senders, default or account (%s)", paceExample)
		}
		if err != nil {
			return nil, f.Errorf(field, "%v", err)
		}
	}
	return r, nil
}
