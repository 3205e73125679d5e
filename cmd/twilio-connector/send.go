package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/twilio-connector/twilio-connector/actions"
	"github.com/twilio-connector/twilio-connector/config"
	"github.com/twilio-connector/twilio-connector/providers"
	"github.com/twilio-connector/twilio-connector/store"
	"github.com/twilio-connector/twilio-connector/templates"
)

// previewSender is the sender of a --testing preview when none is given or configured:
// Twilio's magic test number, valid for any account.
const previewSender = "+15005550006"

type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(s string) error { *l = append(*l, s); return nil }

// sendCommand is a one-off send with the configured credentials. It prints the same JSON a
// job completes with and exits 1 when twilioError is not null.
// optionFlags are send's flags of the message options and their send_sms inputs.
var optionFlags = map[string]string{
	"content-sid": actions.FieldSMSContentSID, "content-variables": actions.FieldSMSContentVariables,
	"send-at": actions.FieldSMSSendAt, "validity-period": actions.FieldSMSValidityPeriod,
	"smart-encoded": actions.FieldSMSSmartEncoded, "shorten-urls": actions.FieldSMSShortenURLs,
}

func sendCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("send", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var to, media listFlag
	from := fs.String("from", "", "sender: E.164 number, alphanumeric sender id or Messaging Service SID (default TWILIO_DEFAULT_FROM)")
	fs.Var(&to, "to", "recipient in E.164 form; repeat the flag or separate with commas")
	body := fs.String("body", "", "message text: a Freemarker-style template such as 'Order ${orderId} is ready'")
	subject := fs.String("subject", "", "title above the message, for providers that show one (Pushover)")
	connection := fs.String("connection", "", "the connection to send through (default: the TWILIO_* account; others from CONNECTOR_CONNECTIONS_FILE)")
	vars := fs.String("vars", "{}", "template variables as a JSON object")
	fs.Var(&media, "media", "MMS media URL; repeatable")
	engine := fs.String("template-engine", "", "freemarker (default) or pongo2")
	testing := fs.Bool("testing", false, "validate and render, print the result (with the segments the body takes), send nothing")
	fs.String("content-sid", "", "Twilio content template (HX…) to send instead of --body")
	fs.String("content-variables", "", `the content template's variables as a JSON object, such as '{"1": "${name}"}'`)
	fs.String("send-at", "", "schedule for this ISO 8601 date-time (15 minutes to 7 days ahead; needs a Messaging Service)")
	fs.String("validity-period", "", "seconds the message may wait in Twilio's queue (1-36000)")
	fs.Bool("smart-encoded", false, "let Twilio replace Unicode characters that have a GSM-7 look-alike (--smart-encoded=false turns it off)")
	fs.Bool("shorten-urls", false, "let Twilio shorten links (needs a Messaging Service)")
	if err := fs.Parse(args); err != nil {
		return exitError(2)
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q: flags only", fs.Arg(0))}
	}
	input := map[string]any{}
	dec := json.NewDecoder(strings.NewReader(*vars))
	dec.UseNumber()
	if err := dec.Decode(&input); err != nil {
		return usageError{fmt.Sprintf("--vars is not a JSON object: %v", err)}
	}
	input[actions.FieldSMSFrom] = *from
	input[actions.FieldSMSTo] = strings.Join(to, ",")
	input[actions.FieldSMSBody] = *body
	if *subject != "" {
		input[actions.FieldSMSSubject] = *subject
	}
	if len(media) > 0 {
		ms := make([]any, len(media))
		for i, m := range media {
			ms[i] = m
		}
		input[actions.FieldSMSMediaURL] = ms
	}
	input[actions.FieldSMSTesting] = *testing
	// The message options are inputs only when their flag is given.
	fs.Visit(func(f *flag.Flag) {
		if field, ok := optionFlags[f.Name]; ok {
			input[field] = f.Value.(flag.Getter).Get()
		}
	})

	need := config.NeedTwilio
	if *testing {
		need = 0
	}
	cfg, err := config.Load(os.Getenv, need)
	if err != nil {
		return err
	}
	onDefault := *connection == "" || *connection == providers.DefaultConnection
	if *testing && onDefault && *from == "" && cfg.DefaultFrom == "" && cfg.MessagingServiceSID == "" {
		// A preview needs no real sender; say which one it uses, since a send would need one.
		input[actions.FieldSMSFrom] = previewSender
		fmt.Fprintf(stderr, "no --from and no TWILIO_DEFAULT_FROM: previewing with %s (Twilio's test sender); a real send needs one of them\n", previewSender)
	}
	eng, err := templates.ParseEngine("--template-engine", *engine)
	if err != nil {
		return usageError{err.Error()}
	}
	log := newLogger(cfg, stderr)
	st := store.NewMemory(0)
	conns, err := newConnections(cfg, st)
	if err != nil {
		return err
	}
	defer closeSMPP(conns, log)
	acts, err := newActions(cfg, conns, st, log)
	if err != nil {
		return err
	}
	res, err := acts[actions.SendSMS.Name].Invoke(ctx, actions.Invocation{Vars: input, Engine: eng, Connection: *connection})
	return printResult(res, err, stdout, stderr)
}

// messageCommand is get-message or cancel-message: one request about one message sent
// before, printing the action's result as send does.
func messageCommand(spec actions.Spec) func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return func(ctx context.Context, args []string, stdout, stderr io.Writer) error {
		fs := flag.NewFlagSet(strings.ReplaceAll(spec.Name, "_", "-"), flag.ContinueOnError)
		fs.SetOutput(stderr)
		sid := fs.String("sid", "", "the message's SID (SM…), as twilioResult[].sid of a send")
		connection := fs.String("connection", "", "the connection the message was sent through (default: the TWILIO_* account)")
		if err := fs.Parse(args); err != nil {
			return exitError(2)
		}
		if fs.NArg() > 0 {
			return usageError{fmt.Sprintf("unexpected argument %q: flags only", fs.Arg(0))}
		}
		cfg, err := config.Load(os.Getenv, config.NeedTwilio)
		if err != nil {
			return err
		}
		st := store.NewMemory(0)
		conns, err := newConnections(cfg, st)
		if err != nil {
			return err
		}
		acts, err := newActions(cfg, conns, st, newLogger(cfg, stderr))
		if err != nil {
			return err
		}
		res, err := acts[spec.Name].Invoke(ctx, actions.Invocation{Vars: map[string]any{actions.FieldMessageSID: *sid}, Connection: *connection})
		return printResult(res, err, stdout, stderr)
	}
}

// printResult prints an action's result as JSON; exit status 1 when twilioError is not null.
func printResult(res actions.Result, err error, stdout, stderr io.Writer) error {
	if err != nil {
		// A transient failure after the in-request retries: the result says who got nothing.
		fmt.Fprintf(stderr, "transient failure, try again later: %v\n", err)
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(res); err != nil {
		return err
	}
	if res.TwilioError != nil {
		return exitError(1)
	}
	return nil
}
