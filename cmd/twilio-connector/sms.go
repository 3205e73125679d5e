package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/twilio-connector/twilio-connector/config"
	"github.com/twilio-connector/twilio-connector/sandbox"
)

// The local sandbox's credentials under `dev` without a Twilio account: fixed, so that `sms`
// signs for a running `dev` without being told a token. They are worth nothing outside it.
const (
	devSandboxAccountSID = "AC0000000000000000000000000000dec0"
	devSandboxAuthToken  = "devSandboxAuthToken0000000000000"
)

// defaultWebhook is the inbound SMS webhook of a `dev` started without flags.
const defaultWebhook = "http://127.0.0.1:8080/twilio/sms"

// smsWebhook is the inbound SMS webhook under the connector's public base URL.
func smsWebhook(publicURL string) string {
	return strings.TrimRight(publicURL, "/") + "/twilio/sms"
}

// smsCommand plays Twilio delivering an inbound SMS: it posts Twilio's form to a running
// connector's webhook, signed with the auth token the connector verifies with, and prints the
// TwiML the connector answers. A refused request (a wrong token or URL: 403) exits 1.
func smsCommand(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := config.Load(devEnv, 0)
	if err != nil {
		return err
	}
	webhook := defaultWebhook
	if cfg.PublicURL != "" {
		webhook = smsWebhook(cfg.PublicURL)
	}
	fs := flag.NewFlagSet("sms", flag.ContinueOnError)
	fs.SetOutput(stderr)
	rawURL := fs.String("url", webhook, "the connector's inbound SMS webhook, exactly as Twilio would call it (it is part of the signature)")
	from := fs.String("from", "+14155550100", "sender: the texting phone (the from variable)")
	to := fs.String("to", cfg.DefaultFrom, "receiving number: your Twilio number (the to variable; default TWILIO_DEFAULT_FROM)")
	body := fs.String("body", "", "message text; or give it as the argument")
	whatsapp := fs.Bool("whatsapp", false, "deliver it as a WhatsApp message (whatsapp: before both numbers)")
	sid := fs.String("message-sid", "", "MessageSid (default a fresh SM… id; the same one again is a redelivery)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: twilio-connector sms [flags] [message text]")
		fmt.Fprintln(stderr, "Posts an inbound SMS to a running connector, signed as Twilio signs it, and prints its TwiML reply.")
		fmt.Fprintln(stderr, "The signing token is TWILIO_TOKEN, or the sandbox's token of a `dev` without a Twilio account.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return exitError(2)
	}
	text := *body
	switch {
	case fs.NArg() > 0 && text != "":
		return usageError{"give the message text either with --body or as the argument, not both"}
	case fs.NArg() > 0:
		text = strings.Join(fs.Args(), " ")
	}
	if *to == "" {
		return usageError{"--to is required: the Twilio number the SMS is sent to"}
	}
	account, token := cfg.AccountSID, cfg.AuthToken
	switch {
	case token == "":
		account, token = devSandboxAccountSID, devSandboxAuthToken
	case account == "":
		// The connector checks the signature with the token of the account the SMS names.
		return usageError{"TWILIO_TOKEN is set but TWILIO_ACCOUNT is not: set both, as for the connector (the webhook verifies an SMS with the token of the account it names)"}
	}
	sender, recipient := *from, *to
	if *whatsapp {
		sender, recipient = withWhatsApp(sender), withWhatsApp(recipient)
	}
	form := sandbox.InboundForm(account, sender, recipient, text)
	if *sid != "" {
		for _, k := range []string{"MessageSid", "SmsMessageSid", "SmsSid"} {
			form.Set(k, *sid)
		}
	}

	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	res, err := sandbox.PostForm(ctx, *rawURL, token, form)
	if err != nil {
		return fmt.Errorf("--url %s: %w (is the connector running?)", *rawURL, err)
	}
	defer res.Body.Close()
	reply, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return fmt.Errorf("--url %s: reading the answer: %w", *rawURL, err)
	}
	switch {
	case res.StatusCode == http.StatusForbidden:
		return fmt.Errorf("the connector refused the signature (%s: %s): sign with the auth token it verifies with "+
			"(set TWILIO_TOKEN as for the connector; unset for a `dev` using the local sandbox) and give --url exactly as "+
			"its webhook is configured (CONNECTOR_PUBLIC_URL + /twilio/sms)", res.Status, strings.TrimSpace(string(reply)))
	case res.StatusCode/100 != 2:
		return fmt.Errorf("--url %s answered %s: %s", *rawURL, res.Status, strings.TrimSpace(string(reply)))
	}
	fmt.Fprintln(stdout, strings.TrimSpace(string(reply)))
	return nil
}

func withWhatsApp(number string) string {
	if strings.HasPrefix(number, "whatsapp:") {
		return number
	}
	return "whatsapp:" + number
}

// selfCommand is how the user runs this program again: `go run ./cmd/twilio-connector` when
// it was started by `go run`, otherwise the name or path it was started with.
func selfCommand() string {
	if exe, err := os.Executable(); err == nil && strings.Contains(exe, string(filepath.Separator)+"go-build") {
		return "go run ./cmd/twilio-connector"
	}
	name := os.Args[0]
	if strings.ContainsRune(name, filepath.Separator) {
		if abs, err := filepath.Abs(name); err == nil {
			name = abs
		}
	}
	if strings.ContainsAny(name, " '\"$\\") {
		return "'" + strings.ReplaceAll(name, "'", `'\''`) + "'"
	}
	return name
}
