// Package config loads the connector's deploy-time settings (docs/design.md §9): environment
// first, then an optional YAML file (CONNECTOR_CONFIG_FILE) for anything the environment leaves
// unset.
// Every secret can also be read from a file named by the same variable with a _FILE suffix.
// Load validates everything once and fails with one line naming the bad variable.
//
// The Zeebe client reads its own ZEEBE_* variables for the address and TLS; this package checks
// ZEEBE_ADDRESS for shape and reads the credentials (auth.go: basic authentication or OAuth).
package config

import (
	"fmt"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/camunda/zeebe/clients/go/v8/pkg/zbc"
	"gopkg.in/yaml.v3"

	"github.com/twilio-connector/twilio-connector/pace"
	"github.com/twilio-connector/twilio-connector/providers"
)

// Config is every setting of the connector.
type Config struct {
	// Twilio
	AccountSID          string        // TWILIO_ACCOUNT (alias TWILIO_ACCOUNT_SID)
	AuthToken           string        // TWILIO_TOKEN (alias TWILIO_AUTH_TOKEN); secret
	DefaultFrom         string        // TWILIO_DEFAULT_FROM
	MessagingServiceSID string        // TWILIO_MESSAGING_SERVICE_SID
	APIBaseURL          string        // TWILIO_API_BASE_URL
	TwilioTimeout       time.Duration // TWILIO_TIMEOUT: per HTTP request to Twilio
	TwilioConcurrency   int           // TWILIO_CONCURRENCY: requests to Twilio in flight at once (the account's limit)
	DefaultRegion       string        // CONNECTOR_DEFAULT_REGION: lets recipients be written in national format
	DirectoryFile       string        // CONNECTOR_DIRECTORY_FILE: YAML of user names -> phone numbers (user:NAME recipients)
	ConnectionsFile     string        // CONNECTOR_CONNECTIONS_FILE: YAML of named connections besides default (providers.Load)
	// Pace of the default connection's senders (TWILIO_PACE_SENDERS, TWILIO_PACE_DEFAULT,
	// TWILIO_PACE_ACCOUNT); nil when none is set: no pacing.
	Pace *pace.Rates

	// Connector
	JobTypePrefix    string        // CONNECTOR_JOB_TYPE_PREFIX
	HTTPAddr         string        // CONNECTOR_HTTP_ADDR: health, metrics, webhooks
	HTTPReadTimeout  time.Duration // CONNECTOR_HTTP_READ_TIMEOUT: reading one request, headers and body
	HTTPWriteTimeout time.Duration // CONNECTOR_HTTP_WRITE_TIMEOUT: from the end of the headers to the end of the answer
	HTTPIdleTimeout  time.Duration // CONNECTOR_HTTP_IDLE_TIMEOUT: a kept-alive connection waiting for its next request
	PublicURL        string        // CONNECTOR_PUBLIC_URL: how Twilio reaches us (status callbacks, signatures)
	StoreKind        string        // CONNECTOR_STATE_STORE: bolt (one replica) | redis (several)
	RedisURL         string        // CONNECTOR_REDIS_URL (or _FILE): redis://[:password@]host:port/db; secret
	RedisPrefix      string        // CONNECTOR_REDIS_PREFIX: key namespace of this deployment
	DirectoryRedis   bool          // CONNECTOR_DIRECTORY_REDIS: resolve user:NAME from Redis hashes users.<name>
	StorePath        string        // CONNECTOR_STATE_FILE: bbolt file of the default state store
	StoreRetention   time.Duration // CONNECTOR_STATE_RETENTION
	LogFormat        string        // CONNECTOR_LOG_FORMAT: json | text
	LogLevel         string        // CONNECTOR_LOG_LEVEL: debug | info | warn | error
	SendAttempts     int           // CONNECTOR_SEND_ATTEMPTS: tries per recipient inside one job
	SendParallelism  int           // CONNECTOR_SEND_PARALLELISM: recipients of one job sent at once
	ShutdownGrace    time.Duration // CONNECTOR_SHUTDOWN_GRACE

	// Zeebe job worker
	ZeebeAddress      string        // ZEEBE_ADDRESS (read by the Zeebe client too)
	ZeebeAuth         ZeebeAuth     // CAMUNDA_AUTH_STRATEGY and its credentials (auth.go); checked with NeedZeebe
	WorkerName        string        // CONNECTOR_WORKER_NAME
	MaxJobsActive     int           // CONNECTOR_MAX_JOBS_ACTIVE
	Concurrency       int           // CONNECTOR_CONCURRENCY
	JobTimeout        time.Duration // CONNECTOR_JOB_TIMEOUT
	PollInterval      time.Duration // CONNECTOR_POLL_INTERVAL
	RequestTimeout    time.Duration // CONNECTOR_REQUEST_TIMEOUT: ActivateJobs long-poll timeout
	RetryBackoff      time.Duration // CONNECTOR_RETRY_BACKOFF: FailJob backoff for transient failures
	BPMNDir           string        // CONNECTOR_BPMN_DIR
	TriggersFile      string        // CONNECTOR_TRIGGERS_FILE
	SkipSignatureTest bool          // CONNECTOR_WEBHOOK_SKIP_SIGNATURE: only for local experiments

	// SMS_RECEIVED triggers and delivery status
	MessageTTL            time.Duration // CONNECTOR_MESSAGE_TTL: how long Zeebe buffers a published message
	MatchTimeout          time.Duration // CONNECTOR_MATCH_TIMEOUT: per pattern and message
	StatusMessageName     string        // CONNECTOR_STATUS_MESSAGE_NAME
	OptOutStartsProcesses bool          // CONNECTOR_OPT_OUT_STARTS_PROCESSES
	PublishTimeout        time.Duration // CONNECTOR_PUBLISH_TIMEOUT
	OutboxInterval        time.Duration // CONNECTOR_OUTBOX_INTERVAL
	OutboxMaxBackoff      time.Duration // CONNECTOR_OUTBOX_MAX_BACKOFF
	WebhookMaxBody        int           // CONNECTOR_WEBHOOK_MAX_BODY: bytes

	// HTTP API (/v1/messages, /v1/calls)
	APIKeys    string        // CONNECTOR_API_KEYS (or _FILE): comma or newline separated; secret; empty = API off
	APIMaxBody int           // CONNECTOR_API_MAX_BODY: bytes
	APITimeout time.Duration // CONNECTOR_API_TIMEOUT: sending time of one HTTP API or MQTT request

	// MQTT entry point (Greengrass-compatible topics)
	MQTTURL         string // CONNECTOR_MQTT_URL (or _FILE): tcp://[user:password@]host:1883; secret; empty = MQTT off
	MQTTClientID    string // CONNECTOR_MQTT_CLIENT_ID: names the persistent session; one per replica
	MQTTTopicPrefix string // CONNECTOR_MQTT_TOPIC_PREFIX: <prefix>/txt, <prefix>/call, <prefix>/message/status

	// AMQP entry point (requests on a queue, replies to reply_to)
	AMQPURL      string // CONNECTOR_AMQP_URL (or _FILE): amqp://user:password@host:5672/vhost; secret; empty = AMQP off
	AMQPQueue    string // CONNECTOR_AMQP_QUEUE: the request queue, declared durable if absent
	AMQPPrefetch int    // CONNECTOR_AMQP_PREFETCH: unacknowledged requests at once
	// Console (/console): always on in dev; in run only with CONNECTOR_CONSOLE=true, behind a login
	Console         bool   // CONNECTOR_CONSOLE
	ConsolePassword string // CONNECTOR_CONSOLE_PASSWORD (or _FILE): signs in besides the API keys; secret
	ConsoleOpen     bool   // set by dev, not a variable: the console needs no login
}

// Defaults. The worker's concurrency is far above the Zeebe Go client's own (Twilio answers in
// 50-200 ms, so throughput is about concurrency / latency; docs/performance.md), Twilio
// requests are capped at the account's usual limit, and the job timeout is shorter than the
// client's so that a crashed connector's jobs come back sooner.
const (
	DefaultJobTypePrefix   = "twilioConnector"
	DefaultMQTTClientID    = "twilio-connector"
	DefaultMQTTTopicPrefix = "twilio"
	DefaultAMQPQueue       = "twilio-connector.requests"
	DefaultAMQPPrefetch    = 16
	MaxAMQPPrefetch        = 1000
	DefaultHTTPAddr        = ":8080"
	// The HTTP server's bounds: Twilio gives a webhook 15 s; the write timeout covers the
	// longest answer, an HTTP API request sending for CONNECTOR_API_TIMEOUT (validate checks).
	DefaultHTTPReadTimeout  = 10 * time.Second
	DefaultHTTPWriteTimeout = 45 * time.Second
	DefaultHTTPIdleTimeout  = 60 * time.Second
	DefaultAPITimeout       = 30 * time.Second
	DefaultStorePath        = "twilio-connector-state.db"
	DefaultTwilioTimeout    = 15 * time.Second
	DefaultSendAttempts     = 3
	DefaultSendParallelism  = 4
	DefaultShutdownGrace    = 30 * time.Second
	DefaultMaxJobsActive    = 512
	DefaultConcurrency      = 128
	DefaultJobTimeout       = 2 * time.Minute
	DefaultPollInterval     = 100 * time.Millisecond
	DefaultRequestTimeout   = 10 * time.Second
	DefaultRetryBackoff     = 10 * time.Second
	DefaultMessageTTL       = time.Hour
	DefaultMatchTimeout     = 100 * time.Millisecond
	DefaultStatusMessage    = "twilioMessageStatus"
	DefaultPublishTimeout   = 5 * time.Second
	DefaultOutboxInterval   = 5 * time.Second
	DefaultOutboxBackoff    = 5 * time.Minute
	DefaultWebhookMaxBody   = 64 << 10
	// MinConsolePassword is the shortest CONNECTOR_CONSOLE_PASSWORD, as for API keys.
	MinConsolePassword = 16
)

// Default returns a Config holding only defaults.
func Default() Config {
	return Config{
		JobTypePrefix:     DefaultJobTypePrefix,
		HTTPAddr:          DefaultHTTPAddr,
		HTTPReadTimeout:   DefaultHTTPReadTimeout,
		HTTPWriteTimeout:  DefaultHTTPWriteTimeout,
		HTTPIdleTimeout:   DefaultHTTPIdleTimeout,
		StorePath:         DefaultStorePath,
		StoreKind:         "bolt",
		TwilioTimeout:     DefaultTwilioTimeout,
		TwilioConcurrency: providers.DefaultMaxConcurrent,
		SendAttempts:      DefaultSendAttempts,
		SendParallelism:   DefaultSendParallelism,
		ShutdownGrace:     DefaultShutdownGrace,
		LogFormat:         "json",
		LogLevel:          "info",
		MaxJobsActive:     DefaultMaxJobsActive,
		Concurrency:       DefaultConcurrency,
		JobTimeout:        DefaultJobTimeout,
		PollInterval:      DefaultPollInterval,
		RequestTimeout:    DefaultRequestTimeout,
		RetryBackoff:      DefaultRetryBackoff,
		WorkerName:        "twilio-connector",

		MessageTTL:        DefaultMessageTTL,
		MatchTimeout:      DefaultMatchTimeout,
		StatusMessageName: DefaultStatusMessage,
		PublishTimeout:    DefaultPublishTimeout,
		OutboxInterval:    DefaultOutboxInterval,
		OutboxMaxBackoff:  DefaultOutboxBackoff,
		WebhookMaxBody:    DefaultWebhookMaxBody,
		APIMaxBody:        DefaultWebhookMaxBody,
		APITimeout:        DefaultAPITimeout,
		MQTTClientID:      DefaultMQTTClientID,
		MQTTTopicPrefix:   DefaultMQTTTopicPrefix,
		AMQPQueue:         DefaultAMQPQueue,
		AMQPPrefetch:      DefaultAMQPPrefetch,
	}
}

// Requirement says which settings a command needs.
type Requirement int

const (
	// NeedTwilio: credentials must be set (run, send without --testing), unless a connections
	// file configures the connections.
	NeedTwilio Requirement = 1 << iota
	// NeedZeebe: a Zeebe gateway must be configured (run).
	NeedZeebe
)

// Error is a configuration error; its text is the one line printed at start.
type Error struct {
	Variable string
	Problem  string
}

func (e *Error) Error() string { return "configuration: " + e.Variable + ": " + e.Problem }

// Load reads the configuration from getenv (os.Getenv in production) and the optional YAML
// file it names, and validates it for the given requirements.
func Load(getenv func(string) string, need Requirement) (Config, error) {
	l := loader{getenv: getenv}
	if path := getenv(configFileVar); path != "" {
		data, err := os.ReadFile(path)
		if err != nil {
			return Config{}, &Error{configFileVar, fmt.Sprintf("cannot read %s: %v", path, err)}
		}
		if err := yaml.Unmarshal(data, &l.file); err != nil {
			// yaml quotes the offending value, which may be a secret; keep only where it is.
			where := strings.Join(strings.Fields(quotedYAML.ReplaceAllString(err.Error(), "(value not shown)")), " ")
			return Config{}, &Error{configFileVar, fmt.Sprintf("%s is not a YAML map of VARIABLE: value: %s", path, where)}
		}
		known := settings()
		for k := range l.file {
			if !slices.Contains(known, k) {
				return Config{}, &Error{k, fmt.Sprintf("unknown setting in %s (check the spelling against the README's configuration table)", path)}
			}
		}
	}
	c := Default()
	l.read(&c)
	if l.err != nil {
		return Config{}, l.err
	}
	return c, c.validate(need)
}

// read reads every setting into c. Each setting is read here and only here: Variables lists
// the names this asks for.
func (l *loader) read(c *Config) {
	l.str(&c.AccountSID, "TWILIO_ACCOUNT", "TWILIO_ACCOUNT_SID")
	l.secret(&c.AuthToken, "TWILIO_TOKEN", "TWILIO_AUTH_TOKEN")
	l.str(&c.DefaultFrom, "TWILIO_DEFAULT_FROM")
	l.str(&c.MessagingServiceSID, "TWILIO_MESSAGING_SERVICE_SID")
	l.str(&c.APIBaseURL, "TWILIO_API_BASE_URL")
	l.duration(&c.TwilioTimeout, "TWILIO_TIMEOUT")
	l.integer(&c.TwilioConcurrency, "TWILIO_CONCURRENCY")
	l.str(&c.DefaultRegion, "CONNECTOR_DEFAULT_REGION")
	l.str(&c.DirectoryFile, "CONNECTOR_DIRECTORY_FILE")
	l.str(&c.ConnectionsFile, "CONNECTOR_CONNECTIONS_FILE")
	l.pace(&c.Pace)
	l.str(&c.JobTypePrefix, "CONNECTOR_JOB_TYPE_PREFIX")
	l.str(&c.HTTPAddr, "CONNECTOR_HTTP_ADDR")
	l.duration(&c.HTTPReadTimeout, "CONNECTOR_HTTP_READ_TIMEOUT")
	l.duration(&c.HTTPWriteTimeout, "CONNECTOR_HTTP_WRITE_TIMEOUT")
	l.duration(&c.HTTPIdleTimeout, "CONNECTOR_HTTP_IDLE_TIMEOUT")
	l.str(&c.PublicURL, "CONNECTOR_PUBLIC_URL")
	l.str(&c.StorePath, "CONNECTOR_STATE_FILE")
	l.str(&c.StoreKind, "CONNECTOR_STATE_STORE")
	l.secret(&c.RedisURL, "CONNECTOR_REDIS_URL")
	l.str(&c.RedisPrefix, "CONNECTOR_REDIS_PREFIX")
	l.boolean(&c.DirectoryRedis, "CONNECTOR_DIRECTORY_REDIS")
	l.duration(&c.StoreRetention, "CONNECTOR_STATE_RETENTION")
	l.str(&c.LogFormat, "CONNECTOR_LOG_FORMAT")
	l.str(&c.LogLevel, "CONNECTOR_LOG_LEVEL")
	l.integer(&c.SendAttempts, "CONNECTOR_SEND_ATTEMPTS")
	l.integer(&c.SendParallelism, "CONNECTOR_SEND_PARALLELISM")
	l.duration(&c.ShutdownGrace, "CONNECTOR_SHUTDOWN_GRACE")
	l.str(&c.ZeebeAddress, "ZEEBE_ADDRESS")
	l.loadAuth(&c.ZeebeAuth)
	l.str(&c.WorkerName, "CONNECTOR_WORKER_NAME")
	l.integer(&c.MaxJobsActive, "CONNECTOR_MAX_JOBS_ACTIVE")
	l.integer(&c.Concurrency, "CONNECTOR_CONCURRENCY")
	l.duration(&c.JobTimeout, "CONNECTOR_JOB_TIMEOUT")
	l.duration(&c.PollInterval, "CONNECTOR_POLL_INTERVAL")
	l.duration(&c.RequestTimeout, "CONNECTOR_REQUEST_TIMEOUT")
	l.duration(&c.RetryBackoff, "CONNECTOR_RETRY_BACKOFF")
	l.str(&c.BPMNDir, "CONNECTOR_BPMN_DIR")
	l.str(&c.TriggersFile, "CONNECTOR_TRIGGERS_FILE")
	l.boolean(&c.SkipSignatureTest, "CONNECTOR_WEBHOOK_SKIP_SIGNATURE")
	l.duration(&c.MessageTTL, "CONNECTOR_MESSAGE_TTL")
	l.duration(&c.MatchTimeout, "CONNECTOR_MATCH_TIMEOUT")
	l.str(&c.StatusMessageName, "CONNECTOR_STATUS_MESSAGE_NAME")
	l.boolean(&c.OptOutStartsProcesses, "CONNECTOR_OPT_OUT_STARTS_PROCESSES")
	l.duration(&c.PublishTimeout, "CONNECTOR_PUBLISH_TIMEOUT")
	l.duration(&c.OutboxInterval, "CONNECTOR_OUTBOX_INTERVAL")
	l.duration(&c.OutboxMaxBackoff, "CONNECTOR_OUTBOX_MAX_BACKOFF")
	l.integer(&c.WebhookMaxBody, "CONNECTOR_WEBHOOK_MAX_BODY")
	l.secret(&c.APIKeys, "CONNECTOR_API_KEYS")
	l.integer(&c.APIMaxBody, "CONNECTOR_API_MAX_BODY")
	l.duration(&c.APITimeout, "CONNECTOR_API_TIMEOUT")
	l.secret(&c.MQTTURL, "CONNECTOR_MQTT_URL")
	l.str(&c.MQTTClientID, "CONNECTOR_MQTT_CLIENT_ID")
	l.str(&c.MQTTTopicPrefix, "CONNECTOR_MQTT_TOPIC_PREFIX")
	l.secret(&c.AMQPURL, "CONNECTOR_AMQP_URL")
	l.str(&c.AMQPQueue, "CONNECTOR_AMQP_QUEUE")
	l.integer(&c.AMQPPrefetch, "CONNECTOR_AMQP_PREFETCH")
	l.boolean(&c.Console, "CONNECTOR_CONSOLE")
	l.secret(&c.ConsolePassword, "CONNECTOR_CONSOLE_PASSWORD")
}

// RedisURLProblem says what is wrong with a Redis URL without repeating any of it (url.Parse's
// errors quote the whole URL, password included), or "" when it has the right shape.
func RedisURLProblem(raw string) string {
	const shape = "redis://[:password@]host:6379/0 or rediss:// for TLS"
	u, err := url.Parse(raw)
	switch {
	case err != nil && strings.Contains(err.Error(), "invalid URL escape"):
		return "is not a valid URL: it contains a % not followed by two hex digits; write a % in the password as %25 (the value is not shown because it holds a password)"
	case err != nil:
		return "is not a valid URL (the value is not shown because it may hold a password): expected " + shape
	case u.Scheme != "redis" && u.Scheme != "rediss" && u.Scheme != "unix":
		return "must start with redis:// or rediss:// (expected " + shape + ")"
	case u.Scheme != "unix" && u.Host == "":
		return "has no host: expected " + shape
	}
	return ""
}

var mqttSchemes = map[string]bool{"tcp": true, "mqtt": true, "ssl": true, "tls": true, "mqtts": true, "ws": true, "wss": true}

// quotedYAML is a value quoted in a yaml error: `value` or "value".
var quotedYAML = regexp.MustCompile("`[^`]*`|\"[^\"]*\"")

var (
	accountSIDPattern = regexp.MustCompile(`^AC[0-9a-fA-F]{32}$`)
	serviceSIDPattern = regexp.MustCompile(`^MG[0-9a-fA-F]{32}$`)
	alphanumeric      = regexp.MustCompile(`^[A-Za-z0-9]+$`)
	prefixPattern     = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)
)

func (c *Config) validate(need Requirement) error {
	if need&NeedTwilio != 0 && c.ConnectionsFile == "" {
		switch {
		case c.AccountSID == "":
			return &Error{"TWILIO_ACCOUNT", "is not set: give your Account SID (AC followed by 32 hex digits) from the Twilio console"}
		case c.AuthToken == "":
			return &Error{"TWILIO_TOKEN", "is not set: give the auth token from the Twilio console (or TWILIO_TOKEN_FILE for a file holding it)"}
		}
	}
	if c.AccountSID != "" && !accountSIDPattern.MatchString(c.AccountSID) {
		return &Error{"TWILIO_ACCOUNT", "is not an Account SID: expected AC followed by 32 hex digits"}
	}
	// twilio-go refuses non-alphanumeric credentials on every request (error 21224); say so now.
	if c.AuthToken != "" && !alphanumeric.MatchString(c.AuthToken) {
		return &Error{"TWILIO_TOKEN", "contains characters other than letters and digits: copy the token again without spaces or quotes"}
	}
	if c.MessagingServiceSID != "" && !serviceSIDPattern.MatchString(c.MessagingServiceSID) {
		return &Error{"TWILIO_MESSAGING_SERVICE_SID", "is not a Messaging Service SID: expected MG followed by 32 hex digits"}
	}
	for _, u := range []struct{ name, value string }{{"TWILIO_API_BASE_URL", c.APIBaseURL}, {"CONNECTOR_PUBLIC_URL", c.PublicURL}} {
		if u.value == "" {
			continue
		}
		p, err := url.Parse(u.value)
		if err != nil || (p.Scheme != "http" && p.Scheme != "https") || p.Host == "" {
			return &Error{u.name, "must be an absolute http(s) URL such as https://example.com"}
		}
	}
	if c.MQTTURL != "" {
		p, err := url.Parse(c.MQTTURL)
		if err != nil && strings.Contains(err.Error(), "invalid URL escape") {
			return &Error{"CONNECTOR_MQTT_URL", "is not a valid URL: it contains a % not followed by two hex digits; write a % in the password as %25 (the value is not shown because it holds a password)"}
		}
		if err != nil || p.Host == "" || !mqttSchemes[p.Scheme] {
			return &Error{"CONNECTOR_MQTT_URL", "must be a broker URL such as tcp://127.0.0.1:1883 (schemes tcp, mqtt, ssl, tls, mqtts, ws, wss)"}
		}
	}
	if strings.TrimSpace(c.MQTTClientID) == "" {
		return &Error{"CONNECTOR_MQTT_CLIENT_ID", "must not be empty (default " + DefaultMQTTClientID + ")"}
	}
	if strings.ContainsAny(c.MQTTTopicPrefix, "#+") || c.MQTTTopicPrefix == "" {
		return &Error{"CONNECTOR_MQTT_TOPIC_PREFIX", "must be a topic without wildcards (default " + DefaultMQTTTopicPrefix + ")"}
	}
	if c.AMQPURL != "" {
		p, err := url.Parse(c.AMQPURL)
		if err != nil && strings.Contains(err.Error(), "invalid URL escape") {
			return &Error{"CONNECTOR_AMQP_URL", "is not a valid URL: it contains a % not followed by two hex digits; write a % in the password as %25 (the value is not shown because it holds a password)"}
		}
		if err != nil || p.Host == "" || (p.Scheme != "amqp" && p.Scheme != "amqps") {
			return &Error{"CONNECTOR_AMQP_URL", "must be a broker URL such as amqp://user:password@127.0.0.1:5672/ (schemes amqp, amqps; the value is not shown because it may hold a password)"}
		}
	}
	if c.AMQPQueue == "" || len(c.AMQPQueue) > 255 || strings.HasPrefix(c.AMQPQueue, "amq.") {
		return &Error{"CONNECTOR_AMQP_QUEUE", "must be a queue name of 1 to 255 bytes not starting with amq. (default " + DefaultAMQPQueue + ")"}
	}
	if c.AMQPPrefetch < 1 || c.AMQPPrefetch > MaxAMQPPrefetch {
		return &Error{"CONNECTOR_AMQP_PREFETCH", fmt.Sprintf("must be between 1 and %d (default %d): the requests handled at once", MaxAMQPPrefetch, DefaultAMQPPrefetch)}
	}
	if !prefixPattern.MatchString(c.JobTypePrefix) {
		return &Error{"CONNECTOR_JOB_TYPE_PREFIX", "must be letters, digits, '_', '.' or '-' (default " + DefaultJobTypePrefix + ")"}
	}
	switch {
	case c.StoreKind != "bolt" && c.StoreKind != "redis":
		return &Error{"CONNECTOR_STATE_STORE", "must be bolt (an embedded file, one replica) or redis (several replicas)"}
	case c.StoreKind == "redis" && c.RedisURL == "":
		return &Error{"CONNECTOR_REDIS_URL", "is not set but CONNECTOR_STATE_STORE is redis: give redis://host:6379/0 (or CONNECTOR_REDIS_URL_FILE)"}
	case c.DirectoryRedis && c.RedisURL == "":
		return &Error{"CONNECTOR_REDIS_URL", "is not set but CONNECTOR_DIRECTORY_REDIS is true: give redis://host:6379/0"}
	case c.RedisURL != "":
		if problem := RedisURLProblem(c.RedisURL); problem != "" {
			return &Error{"CONNECTOR_REDIS_URL", problem}
		}
	}
	if c.LogFormat != "json" && c.LogFormat != "text" {
		return &Error{"CONNECTOR_LOG_FORMAT", "must be json or text"}
	}
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		return &Error{"CONNECTOR_LOG_LEVEL", "must be debug, info, warn or error"}
	}
	if c.DefaultRegion != "" && (len(c.DefaultRegion) != 2 || strings.ToUpper(c.DefaultRegion) != c.DefaultRegion) {
		return &Error{"CONNECTOR_DEFAULT_REGION", "must be a two-letter upper-case region code such as US or GB"}
	}
	for _, n := range []struct {
		name  string
		value int
	}{{"TWILIO_CONCURRENCY", c.TwilioConcurrency}, {"CONNECTOR_SEND_ATTEMPTS", c.SendAttempts}, {"CONNECTOR_SEND_PARALLELISM", c.SendParallelism}, {"CONNECTOR_MAX_JOBS_ACTIVE", c.MaxJobsActive}, {"CONNECTOR_CONCURRENCY", c.Concurrency}, {"CONNECTOR_WEBHOOK_MAX_BODY", c.WebhookMaxBody}, {"CONNECTOR_API_MAX_BODY", c.APIMaxBody}} {
		if n.value < 1 {
			return &Error{n.name, "must be at least 1"}
		}
	}
	for _, d := range []struct {
		name  string
		value time.Duration
	}{{"TWILIO_TIMEOUT", c.TwilioTimeout}, {"CONNECTOR_JOB_TIMEOUT", c.JobTimeout}, {"CONNECTOR_POLL_INTERVAL", c.PollInterval}, {"CONNECTOR_REQUEST_TIMEOUT", c.RequestTimeout}, {"CONNECTOR_SHUTDOWN_GRACE", c.ShutdownGrace},
		{"CONNECTOR_MESSAGE_TTL", c.MessageTTL}, {"CONNECTOR_MATCH_TIMEOUT", c.MatchTimeout}, {"CONNECTOR_PUBLISH_TIMEOUT", c.PublishTimeout},
		{"CONNECTOR_OUTBOX_INTERVAL", c.OutboxInterval}, {"CONNECTOR_OUTBOX_MAX_BACKOFF", c.OutboxMaxBackoff},
		{"CONNECTOR_API_TIMEOUT", c.APITimeout}, {"CONNECTOR_HTTP_READ_TIMEOUT", c.HTTPReadTimeout},
		{"CONNECTOR_HTTP_WRITE_TIMEOUT", c.HTTPWriteTimeout}, {"CONNECTOR_HTTP_IDLE_TIMEOUT", c.HTTPIdleTimeout}} {
		if d.value <= 0 {
			return &Error{d.name, "must be a positive duration such as 30s or 2m"}
		}
	}
	// An answer cut off by the write timeout is lost to the client after the work was done.
	for _, d := range []struct {
		name  string
		value time.Duration
	}{{"CONNECTOR_API_TIMEOUT", c.APITimeout}, {"CONNECTOR_PUBLISH_TIMEOUT", c.PublishTimeout}} {
		if c.HTTPWriteTimeout <= d.value {
			return &Error{"CONNECTOR_HTTP_WRITE_TIMEOUT", fmt.Sprintf("is %v, not longer than %s (%v): answers would be cut off; make it longer, e.g. %v", c.HTTPWriteTimeout, d.name, d.value, d.value+15*time.Second)}
		}
	}
	if c.StatusMessageName == "" {
		return &Error{"CONNECTOR_STATUS_MESSAGE_NAME", "must not be empty (default " + DefaultStatusMessage + ")"}
	}
	if need&NeedZeebe != 0 && c.ZeebeAddress == "" && os.Getenv(zbc.GatewayHostEnvVar) == "" {
		return &Error{"ZEEBE_ADDRESS", "is not set: give the gateway address, e.g. 127.0.0.1:26500 or your Camunda SaaS cluster's address"}
	}
	if c.ConsolePassword != "" && len(c.ConsolePassword) < MinConsolePassword {
		return &Error{"CONNECTOR_CONSOLE_PASSWORD", fmt.Sprintf("has %d characters; use at least %d random ones (e.g. openssl rand -hex 32)", len(c.ConsolePassword), MinConsolePassword)}
	}
	// run's console needs a login (dev's is open to this machine only).
	if need&NeedZeebe != 0 && c.Console && c.ConsolePassword == "" && c.APIKeys == "" {
		return &Error{"CONNECTOR_CONSOLE", "is true but nobody could sign in: set CONNECTOR_CONSOLE_PASSWORD (or _FILE) or CONNECTOR_API_KEYS"}
	}
	if need&NeedZeebe != 0 {
		if err := c.ZeebeAuth.validate(); err != nil {
			return err
		}
	}
	return nil
}

// configFileVar names the YAML file of settings.
const configFileVar = "CONNECTOR_CONFIG_FILE"

// zeebeClientVariables are read by the Zeebe Go client itself, from the environment only.
var zeebeClientVariables = []string{zbc.GatewayHostEnvVar, zbc.GatewayPortEnvVar, zbc.InsecureEnvVar, zbc.CaCertificatePath,
	zbc.OverrideAuthorityEnvVar, zbc.KeepAliveEnvVar, zbc.OAuthCachePathEnvVar, zbc.OAuthRequestTimeoutEnvVar}

// settings returns the name of every setting Load reads, in the order it reads them: what the
// environment and a CONNECTOR_CONFIG_FILE may set.
func settings() []string {
	l := loader{getenv: func(string) string { return "" }}
	var c Config
	l.read(&c)
	return l.names
}

// Variables returns, sorted, every environment variable the connector reads: its settings
// (NAME_FILE included for secrets), CONNECTOR_CONFIG_FILE and the Zeebe client's own.
// Deployment manifests and documentation are checked against it.
func Variables() []string {
	vs := append(append(settings(), configFileVar), zeebeClientVariables...)
	slices.Sort(vs)
	return slices.Compact(vs)
}

type loader struct {
	getenv func(string) string
	file   map[string]any
	err    error
	names  []string // every setting asked for, in order
}

// lookup returns the first set value among names, from the environment then the file, with
// the name it was found under.
func (l *loader) lookup(names ...string) (string, string, bool) {
	for _, n := range names {
		if v := l.getenv(n); v != "" {
			return n, v, true
		}
	}
	for _, n := range names {
		if v, ok := l.file[n]; ok && v != nil {
			return n, fmt.Sprint(v), true
		}
	}
	return "", "", false
}

// setting is lookup for names that are settings: it records them for Variables.
func (l *loader) setting(names ...string) (string, string, bool) {
	l.names = append(l.names, names...)
	return l.lookup(names...)
}

func (l *loader) str(dst *string, names ...string) {
	if _, v, ok := l.setting(names...); ok {
		*dst = strings.TrimSpace(v)
	}
}

// secret reads names, or the file named by NAME_FILE. Both set is an error: which one wins
// would be a guess.
func (l *loader) secret(dst *string, names ...string) {
	n, v, ok := l.setting(names...)
	var fileNames []string
	for _, n := range names {
		fileNames = append(fileNames, n+"_FILE")
	}
	fn, path, fok := l.setting(fileNames...)
	if l.err != nil {
		return
	}
	switch {
	case ok && fok:
		l.err = &Error{fn, "is set together with " + n + ": set only one of them"}
	case ok:
		*dst = strings.TrimSpace(v)
	case fok:
		data, err := os.ReadFile(path)
		if err != nil {
			l.err = &Error{fn, fmt.Sprintf("cannot read the secret file %s: %v", path, unwrapPath(err))}
			return
		}
		*dst = strings.TrimSpace(string(data))
	}
}

func unwrapPath(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

func (l *loader) integer(dst *int, name string) {
	if _, v, ok := l.setting(name); ok && l.err == nil {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			l.err = &Error{name, fmt.Sprintf("%q is not a whole number", v)}
			return
		}
		*dst = n
	}
}

func (l *loader) duration(dst *time.Duration, name string) {
	if _, v, ok := l.setting(name); ok && l.err == nil {
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil {
			l.err = &Error{name, fmt.Sprintf("%q is not a duration: write it like 30s, 500ms or 2m", v)}
			return
		}
		*dst = d
	}
}

// pace reads TWILIO_PACE_SENDERS (SENDER=RATE,…), TWILIO_PACE_DEFAULT (a rate or kind) and
// TWILIO_PACE_ACCOUNT (a rate); any of them turns pacing on for the default connection.
func (l *loader) pace(dst **pace.Rates) {
	var senders, def, account string
	l.str(&senders, "TWILIO_PACE_SENDERS")
	l.str(&def, "TWILIO_PACE_DEFAULT")
	l.str(&account, "TWILIO_PACE_ACCOUNT")
	if l.err != nil || senders+def+account == "" {
		return
	}
	r := &pace.Rates{}
	var err error
	if r.Senders, err = pace.ParseSenders(senders); err != nil {
		l.err = &Error{"TWILIO_PACE_SENDERS", err.Error()}
		return
	}
	if err = pace.CheckSenders(r.Senders); err != nil {
		l.err = &Error{"TWILIO_PACE_SENDERS", err.Error()}
		return
	}
	if def != "" {
		if r.Default, err = pace.ParseDefault(def); err != nil {
			l.err = &Error{"TWILIO_PACE_DEFAULT", err.Error()}
			return
		}
	}
	if account != "" {
		if r.Account, err = pace.ParseRate(account); err != nil {
			l.err = &Error{"TWILIO_PACE_ACCOUNT", err.Error()}
			return
		}
	}
	*dst = r
}

func (l *loader) boolean(dst *bool, name string) {
	if _, v, ok := l.setting(name); ok && l.err == nil {
		b, err := strconv.ParseBool(strings.TrimSpace(v))
		if err != nil {
			l.err = &Error{name, fmt.Sprintf("%q is not true or false", v)}
			return
		}
		*dst = b
	}
}
