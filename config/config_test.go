package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

const (
	sid   = "AC0123456789abcdef0123456789abcdef"
	token = "0123456789abcdef0123456789abcdef"
)

func env(m map[string]string) func(string) string { return func(k string) string { return m[k] } }

func TestLoadErrorsNameTheVariable(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	os.WriteFile(tokenFile, []byte(token+"\n"), 0o600)
	cases := []struct {
		name string
		env  map[string]string
		need Requirement
		want string // the variable named in the error; "" means success
	}{
		{"nothing needed", map[string]string{}, 0, ""},
		{"missing account", map[string]string{"TWILIO_TOKEN": token}, NeedTwilio, "TWILIO_ACCOUNT"},
		{"missing token", map[string]string{"TWILIO_ACCOUNT": sid}, NeedTwilio, "TWILIO_TOKEN"},
		{"bad account shape", map[string]string{"TWILIO_ACCOUNT": "ACnope", "TWILIO_TOKEN": token}, NeedTwilio, "TWILIO_ACCOUNT"},
		{"token with quotes", map[string]string{"TWILIO_ACCOUNT": sid, "TWILIO_TOKEN": `"` + token + `"`}, NeedTwilio, "TWILIO_TOKEN"},
		{"aliases", map[string]string{"TWILIO_ACCOUNT_SID": sid, "TWILIO_AUTH_TOKEN": token}, NeedTwilio, ""},
		{"token from file", map[string]string{"TWILIO_ACCOUNT": sid, "TWILIO_TOKEN_FILE": tokenFile}, NeedTwilio, ""},
		{"alias token from file", map[string]string{"TWILIO_ACCOUNT": sid, "TWILIO_AUTH_TOKEN_FILE": tokenFile}, NeedTwilio, ""},
		{"token file missing", map[string]string{"TWILIO_ACCOUNT": sid, "TWILIO_TOKEN_FILE": filepath.Join(dir, "nope")}, NeedTwilio, "TWILIO_TOKEN_FILE"},
		{"token and file", map[string]string{"TWILIO_ACCOUNT": sid, "TWILIO_TOKEN": token, "TWILIO_TOKEN_FILE": tokenFile}, NeedTwilio, "TWILIO_TOKEN_FILE"},
		{"bad service sid", map[string]string{"TWILIO_MESSAGING_SERVICE_SID": "MG1"}, 0, "TWILIO_MESSAGING_SERVICE_SID"},
		{"bad base url", map[string]string{"TWILIO_API_BASE_URL": "localhost:4010"}, 0, "TWILIO_API_BASE_URL"},
		{"bad public url", map[string]string{"CONNECTOR_PUBLIC_URL": "/twilio"}, 0, "CONNECTOR_PUBLIC_URL"},
		{"bad duration", map[string]string{"CONNECTOR_JOB_TIMEOUT": "5 minutes"}, 0, "CONNECTOR_JOB_TIMEOUT"},
		{"negative duration", map[string]string{"CONNECTOR_JOB_TIMEOUT": "-5s"}, 0, "CONNECTOR_JOB_TIMEOUT"},
		{"bad integer", map[string]string{"CONNECTOR_CONCURRENCY": "four"}, 0, "CONNECTOR_CONCURRENCY"},
		{"zero integer", map[string]string{"CONNECTOR_MAX_JOBS_ACTIVE": "0"}, 0, "CONNECTOR_MAX_JOBS_ACTIVE"},
		{"bad prefix", map[string]string{"CONNECTOR_JOB_TYPE_PREFIX": "my prefix"}, 0, "CONNECTOR_JOB_TYPE_PREFIX"},
		{"bad log format", map[string]string{"CONNECTOR_LOG_FORMAT": "xml"}, 0, "CONNECTOR_LOG_FORMAT"},
		{"bad region", map[string]string{"CONNECTOR_DEFAULT_REGION": "usa"}, 0, "CONNECTOR_DEFAULT_REGION"},
		{"bad bool", map[string]string{"CONNECTOR_WEBHOOK_SKIP_SIGNATURE": "sure"}, 0, "CONNECTOR_WEBHOOK_SKIP_SIGNATURE"},
		{"zeebe needed", map[string]string{}, NeedZeebe, "ZEEBE_ADDRESS"},
		{"zero Twilio concurrency", map[string]string{"TWILIO_CONCURRENCY": "0"}, 0, "TWILIO_CONCURRENCY"},
		{"mqtt url without scheme", map[string]string{"CONNECTOR_MQTT_URL": "broker:1883"}, 0, "CONNECTOR_MQTT_URL"},
		{"mqtt url of another scheme", map[string]string{"CONNECTOR_MQTT_URL": "http://u:secretpw@broker:1883"}, 0, "CONNECTOR_MQTT_URL"},
		{"mqtt topic prefix with a wildcard", map[string]string{"CONNECTOR_MQTT_TOPIC_PREFIX": "twilio/#"}, 0, "CONNECTOR_MQTT_TOPIC_PREFIX"},
		{"mqtt ok", map[string]string{"CONNECTOR_MQTT_URL": "ssl://u:secretpw@broker:8883"}, 0, ""},
		{"console in run without a login", map[string]string{"ZEEBE_ADDRESS": "zeebe:26500", "CONNECTOR_CONSOLE": "true"}, NeedZeebe, "CONNECTOR_CONSOLE"},
		{"console in run with a password", map[string]string{"ZEEBE_ADDRESS": "zeebe:26500", "CONNECTOR_CONSOLE": "true", "CONNECTOR_CONSOLE_PASSWORD": "secretpw-secretpw"}, NeedZeebe, ""},
		{"console in run with API keys", map[string]string{"ZEEBE_ADDRESS": "zeebe:26500", "CONNECTOR_CONSOLE": "true", "CONNECTOR_API_KEYS": "secretpw-secretpw"}, NeedZeebe, ""},
		{"short console password", map[string]string{"CONNECTOR_CONSOLE_PASSWORD": "secretpw"}, 0, "CONNECTOR_CONSOLE_PASSWORD"},
		{"console password from file", map[string]string{"CONNECTOR_CONSOLE_PASSWORD_FILE": tokenFile}, 0, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Load(env(c.env), c.need)
			if c.want == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			ce, ok := err.(*Error)
			if !ok || ce.Variable != c.want {
				t.Fatalf("error %v, want one naming %s", err, c.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error spans lines: %q", err)
			}
			if strings.Contains(err.Error(), token) || strings.Contains(err.Error(), "secretpw") {
				t.Fatalf("error reveals the token: %q", err)
			}
		})
	}
}

func TestLoadValuesAndPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "connector.yaml")
	os.WriteFile(file, []byte("TWILIO_ACCOUNT: "+sid+"\nTWILIO_TOKEN: "+token+"\nCONNECTOR_CONCURRENCY: 3\nCONNECTOR_JOB_TYPE_PREFIX: fromFile\n"), 0o600)
	cfg, err := Load(env(map[string]string{
		"CONNECTOR_CONFIG_FILE":     file,
		"CONNECTOR_JOB_TYPE_PREFIX": "fromEnv",
		"CONNECTOR_JOB_TIMEOUT":     "90s",
	}), NeedTwilio)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.JobTypePrefix != "fromEnv" {
		t.Errorf("environment must win over the file: prefix %q", cfg.JobTypePrefix)
	}
	if cfg.AccountSID != sid || cfg.AuthToken != token || cfg.Concurrency != 3 {
		t.Errorf("file values not read: %+v", cfg)
	}
	if cfg.JobTimeout != 90*time.Second || cfg.MaxJobsActive != DefaultMaxJobsActive {
		t.Errorf("timeout %v, max jobs %d", cfg.JobTimeout, cfg.MaxJobsActive)
	}

	os.WriteFile(file, []byte("TWILIO_ACOUNT: x\n"), 0o600)
	_, err = Load(env(map[string]string{"CONNECTOR_CONFIG_FILE": file}), 0)
	if ce, ok := err.(*Error); !ok || ce.Variable != "TWILIO_ACOUNT" {
		t.Fatalf("a misspelled file setting must be named: %v", err)
	}
}

// A secret-bearing variable's error names the variable and never repeats the value, whichever
// check it fails (a literal % in a password is common, and url.Parse quotes the whole URL).
func TestSecretsNeverInErrors(t *testing.T) {
	dir := t.TempDir()
	yamlFile := filepath.Join(dir, "config.yaml")
	os.WriteFile(yamlFile, []byte("s3cretPW\n"), 0o600) // a secret file given as the configuration file
	base := map[string]string{"TWILIO_ACCOUNT": sid, "TWILIO_TOKEN": token}
	for _, c := range []struct {
		name, variable string
		env            map[string]string
	}{
		{"redis % escape", "CONNECTOR_REDIS_URL", map[string]string{"CONNECTOR_STATE_STORE": "redis", "CONNECTOR_REDIS_URL": "redis://:s3cr%tPW@host/0"}},
		{"redis user % escape", "CONNECTOR_REDIS_URL", map[string]string{"CONNECTOR_STATE_STORE": "redis", "CONNECTOR_REDIS_URL": "redis://user:s3cr%tPW@host/0"}},
		{"redis wrong scheme", "CONNECTOR_REDIS_URL", map[string]string{"CONNECTOR_STATE_STORE": "redis", "CONNECTOR_REDIS_URL": "http://:s3cretPW@host/0"}},
		{"redis no host", "CONNECTOR_REDIS_URL", map[string]string{"CONNECTOR_DIRECTORY_REDIS": "true", "CONNECTOR_REDIS_URL": "redis://:s3cretPW@/0"}},
		{"mqtt % escape", "CONNECTOR_MQTT_URL", map[string]string{"CONNECTOR_MQTT_URL": "tcp://u:s3cr%tPW@broker:1883"}},
		{"mqtt wrong scheme", "CONNECTOR_MQTT_URL", map[string]string{"CONNECTOR_MQTT_URL": "http://u:s3cretPW@broker:1883"}},
		{"token with a quote", "TWILIO_TOKEN", map[string]string{"TWILIO_TOKEN": `s3cret"PW`}},
		{"token and its file", "TWILIO_TOKEN_FILE", map[string]string{"TWILIO_TOKEN": "s3cretPW", "TWILIO_TOKEN_FILE": yamlFile}},
		{"api keys and their file", "CONNECTOR_API_KEYS_FILE", map[string]string{"CONNECTOR_API_KEYS": "s3cretPW", "CONNECTOR_API_KEYS_FILE": yamlFile}},
		{"yaml file holding a scalar", "CONNECTOR_CONFIG_FILE", map[string]string{"CONNECTOR_CONFIG_FILE": yamlFile}},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := map[string]string{}
			for k, v := range base {
				e[k] = v
			}
			for k, v := range c.env {
				e[k] = v
			}
			_, err := Load(env(e), NeedTwilio)
			if err == nil || !strings.Contains(err.Error(), c.variable) {
				t.Fatalf("error %v, want one naming %s", err, c.variable)
			}
			if strings.Contains(err.Error(), "s3cr") {
				t.Fatalf("the secret is in the error: %v", err)
			}
		})
	}
}

func TestHTTPWriteTimeoutCoversTheAPITimeout(t *testing.T) {
	c, err := Load(env(map[string]string{}), 0)
	if err != nil || c.HTTPWriteTimeout <= c.APITimeout || c.HTTPReadTimeout <= 0 || c.HTTPIdleTimeout <= 0 {
		t.Fatalf("defaults %+v %v", c, err)
	}
	_, err = Load(env(map[string]string{"CONNECTOR_API_TIMEOUT": "50s"}), 0)
	if err == nil || !strings.Contains(err.Error(), "CONNECTOR_HTTP_WRITE_TIMEOUT") || !strings.Contains(err.Error(), "CONNECTOR_API_TIMEOUT") {
		t.Fatalf("API timeout beyond the write timeout: %v", err)
	}
	if _, err := Load(env(map[string]string{"CONNECTOR_API_TIMEOUT": "50s", "CONNECTOR_HTTP_WRITE_TIMEOUT": "1m"}), 0); err != nil {
		t.Fatal(err)
	}
}
