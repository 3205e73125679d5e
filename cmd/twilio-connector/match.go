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

// matchCommand tries an SMS_RECEIVED trigger (pattern, FEEL properties, reply templates) on
// one message, offline, with the same matcher, FEEL and template engine the webhook uses. It
// prints a JSON object (triggers.Tried: matched, matchGroups, activated, the message it would
// publish or the property that failed, the replies) and exits 1 when the trigger does not fire.
func matchCommand(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("match", flag.ContinueOnError)
	fs.SetOutput(stderr)
	pattern := fs.String("pattern", "", "Java regular expression the whole (trimmed) message must match (required)")
	echo := fs.String("echo", "", "reply template, e.g. 'Your reference number is ${orderNumber}'")
	echoError := fs.String("echo-error", "", "reply template used when publishing fails")
	message := fs.String("message", "", "the SMS text to try (required)")
	from := fs.String("from", "+15005550101", "sender number (the from variable)")
	to := fs.String("to", "+15005550006", "receiving number (the to variable)")
	kind := fs.String("kind", string(triggers.StartEvent), "start (a message start event) or catch (a catch event: default correlation key =from)")
	name := fs.String("name", triggers.TryMessageName, "the message name the trigger publishes")
	ttl := fs.String("message-ttl", "", "inbound.messageTtl: ISO 8601 duration, e.g. PT30M")
	connection := fs.String("connection", "", "inbound.connection: the connection the message arrives on (default: default)")
	activation := fs.String("activation-condition", "", `inbound.activationCondition: FEEL, e.g. '=matchGroups.answer = "YES"'`)
	correlationKey := fs.String("correlation-key-expression", "", "inbound.correlationKeyExpression: FEEL, e.g. '=matchGroups.ref'")
	result := fs.String("result-expression", "", "inbound.resultExpression: FEEL context, e.g. '={reference: matchGroups.ref, phone: from}'")
	messageID := fs.String("message-id-expression", "", `inbound.messageIdExpression: FEEL, e.g. '="order-" + matchGroups.ref'`)
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: twilio-connector match --pattern P [--echo T] [--echo-error T] [--kind start|catch] [--activation-condition X]")
		fmt.Fprintln(stderr, "         [--correlation-key-expression X] [--result-expression X] [--message-id-expression X] --message M")
		fmt.Fprintln(stderr, "Tries an SMS_RECEIVED trigger on a message and prints what it would publish; exit status 1 when it")
		fmt.Fprintln(stderr, "does not fire (no match, activationCondition not true, or a FEEL property failed).")
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
	out, err := triggers.Try(triggers.Definition{Kind: triggers.Kind(*kind), MessageName: *name,
		Pattern: *pattern, Echo: *echo, EchoError: *echoError, Connection: *connection, MessageTTL: *ttl,
		ActivationCondition: *activation, CorrelationKeyExpression: *correlationKey,
		ResultExpression: *result, MessageIDExpression: *messageID}, *message, *from, *to)
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
	if out.Publishes == nil {
		return exitError(1)
	}
	return nil
}
