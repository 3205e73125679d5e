package config

import (
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/twilio-connector/twilio-connector/pace"
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
	amqpURLFile := filepath.Join(dir, "amqp_url")
	os.WriteFile(amqpURLFile, []byte("amqp://u:secretpw@broker:5672/\n"), 0o600)
	emptyQueueFile := filepath.Join(dir, "empty_queue.yaml")
	os.WriteFile(emptyQueueFile, []byte("CONNECTOR_AMQP_QUEUE: \"\"\n"), 0o600)
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
		{"pace senders without rates", map[string]string{"TWILIO_PACE_SENDERS": "+15005550006"}, 0, "TWILIO_PACE_SENDERS"},
		{"pace sender rate not a number", map[string]string{"TWILIO_PACE_SENDERS": "+15005550006=fast"}, 0, "TWILIO_PACE_SENDERS"},
		{"pace sender not a sender", map[string]string{"TWILIO_PACE_SENDERS": "+1 500 555 0006=1"}, 0, "TWILIO_PACE_SENDERS"},
		{"pace default zero", map[string]string{"TWILIO_PACE_DEFAULT": "0"}, 0, "TWILIO_PACE_DEFAULT"},
		{"pace account not a number", map[string]string{"TWILIO_PACE_ACCOUNT": "lots"}, 0, "TWILIO_PACE_ACCOUNT"},
		{"pace by kind", map[string]string{"TWILIO_PACE_DEFAULT": "kind"}, 0, ""},
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
		{"amqp url of another scheme", map[string]string{"CONNECTOR_AMQP_URL": "tcp://u:secretpw@broker:5672"}, 0, "CONNECTOR_AMQP_URL"},
		{"amqp url without host", map[string]string{"CONNECTOR_AMQP_URL": "amqp:///vhost"}, 0, "CONNECTOR_AMQP_URL"},
		{"amqp reserved queue", map[string]string{"CONNECTOR_AMQP_QUEUE": "amq.requests"}, 0, "CONNECTOR_AMQP_QUEUE"},
		{"amqp empty queue", map[string]string{"CONNECTOR_CONFIG_FILE": emptyQueueFile}, 0, "CONNECTOR_AMQP_QUEUE"},
		{"amqp prefetch 0", map[string]string{"CONNECTOR_AMQP_PREFETCH": "0"}, 0, "CONNECTOR_AMQP_PREFETCH"},
		{"amqp prefetch too high", map[string]string{"CONNECTOR_AMQP_PREFETCH": "100000"}, 0, "CONNECTOR_AMQP_PREFETCH"},
		{"amqp ok", map[string]string{"CONNECTOR_AMQP_URL": "amqps://u:secretpw@broker:5671/prod", "CONNECTOR_AMQP_PREFETCH": "64"}, 0, ""},
		{"amqp url from file", map[string]string{"CONNECTOR_AMQP_URL_FILE": amqpURLFile}, 0, ""},
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

// TWILIO_PACE_* make the default connection's pace; without them there is none.
func TestPace(t *testing.T) {
	cfg, err := Load(env(map[string]string{
		"TWILIO_PACE_SENDERS": "+15005550006=10, MG0123456789abcdef0123456789abcdef=50",
		"TWILIO_PACE_DEFAULT": "2", "TWILIO_PACE_ACCOUNT": "100",
	}), 0)
	if err != nil {
		t.Fatal(err)
	}
	want := pace.Rates{Senders: map[string]float64{"+15005550006": 10, "MG0123456789abcdef0123456789abcdef": 50}, Default: 2, Account: 100}
	if cfg.Pace == nil || !reflect.DeepEqual(*cfg.Pace, want) {
		t.Fatalf("pace %+v, want %+v", cfg.Pace, want)
	}
	if cfg, _ := Load(env(map[string]string{}), 0); cfg.Pace != nil {
		t.Fatalf("pace %+v without TWILIO_PACE_*, want none", cfg.Pace)
	}
	if cfg, _ := Load(env(map[string]string{"TWILIO_PACE_DEFAULT": "kind"}), 0); cfg.Pace == nil || cfg.Pace.Default != 0 {
		t.Fatalf("TWILIO_PACE_DEFAULT=kind: pace %+v, want by kind", cfg.Pace)
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
		{"amqp % escape", "CONNECTOR_AMQP_URL", map[string]string{"CONNECTOR_AMQP_URL": "amqp://u:s3cr%tPW@broker:5672/"}},
		{"amqp wrong scheme", "CONNECTOR_AMQP_URL", map[string]string{"CONNECTOR_AMQP_URL": "http://u:s3cretPW@broker:5672/"}},
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

// CONNECTOR_AMQP_URL_FILE is read like every secret's _FILE, without its final newline.
func TestAMQPURLFromFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "amqp_url")
	os.WriteFile(file, []byte("amqps://svc:s3cretPW@rabbit:5671/prod\n"), 0o600)
	cfg, err := Load(env(map[string]string{"CONNECTOR_AMQP_URL_FILE": file}), 0)
	if err != nil || cfg.AMQPURL != "amqps://svc:s3cretPW@rabbit:5671/prod" || cfg.AMQPQueue != DefaultAMQPQueue || cfg.AMQPPrefetch != DefaultAMQPPrefetch {
		t.Fatalf("url %q, queue %q, prefetch %d, error %v", cfg.AMQPURL, cfg.AMQPQueue, cfg.AMQPPrefetch, err)
	}
}

// Every secret's NAME_FILE works in the configuration file as in the environment (the file's
// list of known settings once missed TWILIO_TOKEN_FILE).
func TestSecretFileNamedInTheConfigurationFile(t *testing.T) {
	dir := t.TempDir()
	tokenFile := filepath.Join(dir, "token")
	os.WriteFile(tokenFile, []byte(token+"\n"), 0o600)
	file := filepath.Join(dir, "connector.yaml")
	os.WriteFile(file, []byte("TWILIO_ACCOUNT: "+sid+"\nTWILIO_TOKEN_FILE: "+tokenFile+"\n"), 0o600)
	cfg, err := Load(env(map[string]string{"CONNECTOR_CONFIG_FILE": file}), NeedTwilio)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.AuthToken != token {
		t.Fatalf("the token was not read from TWILIO_TOKEN_FILE")
	}
}

func TestVariables(t *testing.T) {
	vs := Variables()
	if !slices.IsSorted(vs) || len(slices.Compact(slices.Clone(vs))) != len(vs) {
		t.Fatalf("not sorted and unique: %v", vs)
	}
	for _, want := range []string{"TWILIO_ACCOUNT", "TWILIO_TOKEN_FILE", "CONNECTOR_REDIS_URL_FILE", "CAMUNDA_BASIC_AUTH_PASSWORD_FILE",
		"CONNECTOR_STATE_STORE", "CONNECTOR_CONFIG_FILE", "ZEEBE_INSECURE_CONNECTION", "ZEEBE_CLIENT_CONFIG_PATH"} {
		if !slices.Contains(vs, want) {
			t.Errorf("%s missing from %v", want, vs)
		}
	}
	// Only secrets have a _FILE variant.
	for _, notRead := range []string{"CONNECTOR_HTTP_ADDR_FILE", "ZEEBE_CLIENT_ID_FILE", "CAMUNDA_BASIC_AUTH_USERNAME_FILE"} {
		if slices.Contains(vs, notRead) {
			t.Errorf("%s is listed but not read", notRead)
		}
	}
	// Each listed setting is read: set alone to a bad value, it is the one an error names.
	for _, v := range []string{"CONNECTOR_CONCURRENCY", "CONNECTOR_JOB_TIMEOUT", "CONNECTOR_DIRECTORY_REDIS"} {
		if _, err := Load(env(map[string]string{v: "bad"}), 0); err == nil || !strings.Contains(err.Error(), v) {
			t.Errorf("%s=bad: %v", v, err)
		}
	}
}

// The README's Configuration section names every variable the connector reads (a secret's
// NAME_FILE through its NAME: the section says every secret can be a file).
func TestVariablesDocumented(t *testing.T) {
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, _ := strings.Cut(string(readme), "\n## Configuration\n")
	section, _, _ = strings.Cut(section, "\n## ")
	for _, v := range Variables() {
		name := strings.TrimSuffix(v, "_FILE")
		if !slices.Contains(Variables(), name) {
			name = v // a variable of its own, such as CONNECTOR_CONFIG_FILE
		}
		if !strings.Contains(section, "`"+name+"`") && !strings.Contains(section, "`"+name+" ") {
			t.Errorf("README.md's Configuration section does not name %s", name)
		}
	}
}
