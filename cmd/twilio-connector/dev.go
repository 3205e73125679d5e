package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"maps"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"

	"github.com/twilio-connector/twilio-connector/bpmn"
	"github.com/twilio-connector/twilio-connector/bpmn/engine"
	"github.com/twilio-connector/twilio-connector/bpmn/examples"
	"github.com/twilio-connector/twilio-connector/config"
	"github.com/twilio-connector/twilio-connector/sandbox"
	"github.com/twilio-connector/twilio-connector/store"
	"github.com/twilio-connector/twilio-connector/triggers"
	"github.com/twilio-connector/twilio-connector/worker"
)

// devCommand runs everything on one machine with nothing installed: the dev engine serving
// the Zeebe gateway API, the bundled examples deployed, the worker, and (without Twilio
// credentials) a local Twilio sandbox.
func devCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fset := flag.NewFlagSet("dev", flag.ContinueOnError)
	fset.SetOutput(stderr)
	gateway := fset.String("gateway-addr", "127.0.0.1:26500", "where the dev engine serves the Zeebe gateway API")
	httpAddr := fset.String("http-addr", "127.0.0.1:8080", "webhooks, health and metrics (CONNECTOR_HTTP_ADDR wins when set)")
	basicAuth := fset.String("basic-auth", "", "USER:PASSWORD: the dev engine requires these credentials, as Camunda 8.8 Self-Managed does")
	if err := fset.Parse(args); err != nil {
		return exitError(2)
	}
	var serveOpts []engine.ServeOption
	devAuth := config.ZeebeAuth{Strategy: config.AuthNone}
	if *basicAuth != "" {
		user, password, ok := strings.Cut(*basicAuth, ":")
		if !ok || user == "" || password == "" {
			return usageError{"--basic-auth must be USER:PASSWORD, both non-empty"}
		}
		serveOpts = append(serveOpts, engine.RequireBasicAuth(user, password))
		devAuth = config.ZeebeAuth{Strategy: config.AuthBasic, Username: user, Password: password}
	}
	cfg, err := config.Load(devEnv, 0)
	if err != nil {
		return err
	}
	cfg.ZeebeAuth = devAuth // dev's worker connects to its own engine
	if os.Getenv("CONNECTOR_HTTP_ADDR") == "" {
		cfg.HTTPAddr = *httpAddr
	}
	if cfg.PublicURL == "" {
		cfg.PublicURL = "http://" + cfg.HTTPAddr
	}
	if err := devConsole(&cfg); err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	routeLibraryLogs(log)
	twilioNote := "Twilio account " + cfg.AccountSID
	if cfg.AccountSID == "" || cfg.AuthToken == "" {
		// No account: a local sandbox speaks Twilio's API, gives SIDs, honours Twilio's
		// test-credential magic numbers and posts signed status callbacks back to us.
		sb, baseURL, err := sandbox.Listen(ctx, "127.0.0.1:0", sandbox.Options{
			Logger: log.With("component", "twilio-sandbox"), StatusCallbacks: true,
			AccountSID: devSandboxAccountSID, AuthToken: devSandboxAuthToken,
		})
		if err != nil {
			return err
		}
		defer sb.Close()
		cfg.AccountSID, cfg.AuthToken, cfg.APIBaseURL = sb.AccountSID, sb.AuthToken, baseURL
		twilioNote = "local Twilio sandbox at " + baseURL + " (no TWILIO_ACCOUNT/TWILIO_TOKEN set; nothing leaves this machine)"
	}

	// Processes deployed to the engine (the examples, or yours from Camunda Modeler or zbctl)
	// bring their SMS_RECEIVED triggers with them.
	reg := triggers.NewRegistry()
	if err := loadTriggers(cfg, reg); err != nil {
		return err
	}
	eng := engine.New(engine.Options{Logger: log.With("component", "dev-engine"), OnDeploy: func(defs *bpmn.Definitions) {
		ts, err := triggers.FromDefinitions(defs, cfg.MatchTimeout)
		if err != nil {
			log.Error("invalid SMS_RECEIVED triggers in a deployment; the valid ones are active", "resource", defs.Name, "err", err)
		}
		reg.Set(defs.Name, ts)
	}})
	// The engine outlives ctx: on Ctrl-C the worker finishes its jobs against it first.
	srv, err := eng.Serve(context.WithoutCancel(ctx), *gateway, serveOpts...)
	if err != nil {
		return fmt.Errorf("--gateway-addr: %w", err)
	}
	defer srv.Close()
	ids, err := deployExamples(eng)
	if err != nil {
		return err
	}
	log.Info("example processes deployed", "processes", strings.Join(ids, ", "))

	polls := worker.NewLongPolls()
	client, err := newZeebeClient(cfg, srv.Addr(), true, polls)
	if err != nil {
		return err
	}
	defer client.Close()
	cfg.ZeebeAddress = srv.Addr()

	printTryIt(stdout, cfg, srv.Addr(), twilioNote)
	return serve(ctx, cfg, log, client, polls, store.NewMemory(cfg.StoreRetention), reg)
}

// devEnv is the environment with dev-friendly defaults for what the user left unset.
func devEnv(name string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	switch name {
	case "CONNECTOR_LOG_FORMAT":
		return "text"
	case "TWILIO_DEFAULT_FROM":
		return "+15005550006"
	}
	return ""
}

func deployExamples(eng *engine.Engine) ([]string, error) {
	var ids []string
	err := fs.WalkDir(examples.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := examples.FS.ReadFile(path)
		if err != nil {
			return err
		}
		_, deployed, err := eng.Deploy(engine.Resource{Name: path, Content: data})
		if err != nil {
			return fmt.Errorf("deploy example %s: %w", path, err)
		}
		for _, p := range deployed {
			ids = append(ids, p.BpmnProcessID)
		}
		return nil
	})
	return ids, err
}

// devConsole turns dev's console on: open when dev listens on a loopback address (the
// default), behind the sign-in of run otherwise, so that a dev reachable from the network does
// not let anyone send through its connections.
func devConsole(cfg *config.Config) error {
	host, _, err := net.SplitHostPort(cfg.HTTPAddr)
	ip := net.ParseIP(host)
	cfg.Console, cfg.ConsoleOpen = true, err == nil && (host == "localhost" || ip != nil && ip.IsLoopback())
	if !cfg.ConsoleOpen && cfg.ConsolePassword == "" && cfg.APIKeys == "" {
		return &config.Error{Variable: "CONNECTOR_HTTP_ADDR (or --http-addr)", Problem: fmt.Sprintf(
			"%s is reachable from other machines and dev's console would be open to them: listen on 127.0.0.1, or set CONNECTOR_CONSOLE_PASSWORD (or CONNECTOR_API_KEYS) to sign in with", cfg.HTTPAddr)}
	}
	return nil
}

// printTryIt shows a zbctl line that runs the outbound example, a curl line that plays
// Twilio posting an inbound SMS (signed as Twilio signs it) to the inbound example, and the
// `sms` command that does the same for any text, to reach the user's own models.
func printTryIt(w io.Writer, cfg config.Config, gateway, twilioNote string) {
	webhook := smsWebhook(cfg.PublicURL)
	form := url.Values{
		"AccountSid": {cfg.AccountSID}, "MessageSid": {"SM" + randomHex(16)}, "From": {"+14155550100"},
		"To": {cfg.DefaultFrom}, "Body": {"status A-1042"}, "NumMedia": {"0"}, "ApiVersion": {"2010-04-01"},
	}
	var curl strings.Builder
	fmt.Fprintf(&curl, "curl -s %s -H 'X-Twilio-Signature: %s'", webhook, triggers.Signature(cfg.AuthToken, webhook, form))
	for _, k := range slices.Sorted(maps.Keys(form)) {
		fmt.Fprintf(&curl, " \\\n    --data-urlencode '%s=%s'", k, form.Get(k))
	}
	fmt.Fprintf(w, `
twilio-connector dev is running (development engine: not for production).
  Zeebe gateway API  %s   (zbctl, the Zeebe Go client, Camunda Modeler "Deploy" all work)
  Webhooks           %s   (point a Twilio number here through a tunnel)
  HTTP               http://%s   (/healthz /readyz /metrics)
  Console            http://%s/console/   (send, try triggers, watch activity and health in a browser)
  Twilio             %s

Try it:
  # a process that texts a customer (outbound)%s
  zbctl --insecure --address %s create instance orderReadyForPickup --withResult \
    --variables '{"customerName":"Ana","customerPhone":"+14155550100","orderId":"A-1042","store":"Main Street"}'

  # an inbound SMS, as Twilio would post it, starting the "order status by SMS" process
  %s

  # an inbound SMS to your own models' SMS received triggers: any text, signed as Twilio signs it
  %s sms --url %s --from +14155550100 --to %s 'status A-1042'
%s%s
`, gateway, webhook, cfg.HTTPAddr, cfg.HTTPAddr, twilioNote, zbctlNote(cfg), gateway, curl.String(), selfCommand(), webhook, cfg.DefaultFrom, mqttTryIt(cfg), amqpTryIt(cfg))
}

// zbctlNote says why the zbctl line fails when the engine requires basic authentication.
func zbctlNote(cfg config.Config) string {
	if cfg.ZeebeAuth.Strategy != config.AuthBasic {
		return ""
	}
	return `
  # (not while --basic-auth is on: zbctl 8.3 cannot send basic auth; Camunda's Node SDK and
  #  'twilio-connector run' with CAMUNDA_AUTH_STRATEGY=BASIC can)`
}

// mqttTryIt is a mosquitto_pub line publishing the Greengrass connector's example request,
// when the MQTT entry point is on.
func mqttTryIt(cfg config.Config) string {
	u, err := url.Parse(cfg.MQTTURL)
	if cfg.MQTTURL == "" || err != nil {
		return ""
	}
	login := ""
	if u.User != nil {
		login = " -u USER -P PASSWORD" // never print the configured secret
	}
	port := u.Port()
	if port == "" {
		port = "1883"
	}
	return fmt.Sprintf(`
  # an SMS over MQTT, as an AWS Greengrass publisher sends it (the answer comes on %[1]s/message/status)
  mosquitto_pub -h %[2]s -p %[3]s%[4]s -q 1 -t %[1]s/txt -m '{"request": {"recipient": {"name": "Darla", "phone_number": "14155550100", "message": "Hello from the edge"}, "from_number": "15005550006"}, "id": "request123"}'
`, cfg.MQTTTopicPrefix, u.Hostname(), port, login)
}

// amqpTryIt is the README's rabbitmqadmin lines (a reply queue, a request, its reply), when
// the AMQP entry point is on. rabbitmqadmin talks to the broker's management plugin, whose
// defaults (localhost, guest) it leaves out.
func amqpTryIt(cfg config.Config) string {
	u, err := url.Parse(cfg.AMQPURL)
	if cfg.AMQPURL == "" || err != nil {
		return ""
	}
	admin := "rabbitmqadmin"
	if h := u.Hostname(); h != "127.0.0.1" && h != "localhost" {
		admin += " -H " + h
	}
	if u.User != nil && u.User.Username() != "guest" {
		admin += " -u USER -p PASSWORD" // never print the configured secret
	}
	return fmt.Sprintf(`
  # an SMS over AMQP, as Zato sends it (rabbitmqadmin needs: rabbitmq-plugins enable rabbitmq_management)
  %[1]s declare queue name=client.replies durable=true
  %[1]s publish routing_key=%[2]s properties='{"message_id": "order-4711-ready", "correlation_id": "4711", "reply_to": "client.replies", "content_type": "application/json"}' payload='{"smsFrom": "+15005550006", "smsTo": ["+14155550101"], "smsBody": "Your order #${orderNumber?c} is ready for pickup.", "variables": {"orderNumber": 4711}}'
  %[1]s get queue=client.replies ackmode=ack_requeue_false -f pretty_json
`, admin, cfg.AMQPQueue)
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
