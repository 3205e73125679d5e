package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"

	"github.com/twilio-connector/twilio-connector/triggers"
)

// matchCommand tries an SMS_RECEIVED pattern and its reply templates on one message, offline,
// with the same matcher and template engine the webhook uses. It prints a JSON object
// (matched, matchGroups, echo, echoError, or the template errors) and exits 1 when the
// message does not match.
func matchCommand(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("match", flag.ContinueOnError)
	fs.SetOutput(stderr)
	pattern := fs.String("pattern", "", "Java regular expression the whole (trimmed) message must match (required)")
	echo := fs.String("echo", "", "reply template, e.g. 'Your reference number is ${orderNumber}'")
	echoError := fs.String("echo-error", "", "reply template used when publishing fails")
	message := fs.String("message", "", "the SMS text to try (required)")
	from := fs.String("from", "+15005550101", "sender number (the from variable)")
	to := fs.String("to", "+15005550006", "receiving number (the to variable)")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: twilio-connector match --pattern P [--echo T] [--echo-error T] --message M")
		fmt.Fprintln(stderr, "Tries an SMS_RECEIVED trigger on a message; exit status 1 when it does not match.")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return nil
		}
		return exitError(2)
	}
	if fs.NArg() > 0 {
		return usageError{fmt.Sprintf("unexpected argument %q: quote the message and pass it with --message", fs.Arg(0))}
	}
	if *pattern == "" {
		return usageError{"--pattern is required, e.g. --pattern 'Order Number (?<orderNumber>.+)'"}
	}
	var messageSet bool
	fs.Visit(func(f *flag.Flag) { messageSet = messageSet || f.Name == "message" })
	if !messageSet {
		return usageError{"--message is required: the SMS text to try"}
	}
	out, err := triggers.Try(*pattern, *echo, *echoError, *message, *from, *to)
	var defErr *triggers.DefinitionError
	if errors.As(err, &defErr) {
		return usageError{err.Error()}
	}
	if err != nil {
		return err
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	if err := enc.Encode(out); err != nil {
		return err
	}
	if !out.Matched {
		return exitError(1)
	}
	return nil
}
