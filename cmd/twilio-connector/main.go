// Command twilio-connector connects BPMN processes on Zeebe / Camunda 8 to Twilio SMS and voice.
// main wires configuration and components; the behaviour lives in the packages.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/twilio-connector/twilio-connector/actions"
)

type command struct {
	name, summary string
	run           func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

func commands() []command {
	return []command{
		{"dev", "everything on this machine: dev engine, examples, worker, Twilio sandbox", devCommand},
		{"run", "serve Send SMS jobs from ZEEBE_ADDRESS (production)", runCommand},
		{"send", "send one SMS now, or render it with --testing", sendCommand},
		{"get-message", "show a sent message's status, error code, segments, price and dates", messageCommand(actions.GetMessage)},
		{"cancel-message", "cancel a scheduled message", messageCommand(actions.CancelMessage)},
		{"sms", "post a signed inbound SMS to a running connector's webhook (as Twilio would)", smsCommand},
		{"match", "try an SMS_RECEIVED trigger on a message, offline: what it would publish", matchCommand},
		{"lint", "check BPMN models that use the connector (task types, inputs, headers, SMS triggers)", lintCommand},
		{"version", "print the version and the commit it was built from", versionCommand},
	}
}

// usageError is a mistake on the command line: exit status 2.
type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

// exitError carries an exit status without a message (the command already printed its answer).
type exitError int

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(dispatch(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

func dispatch(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		printHelp(stdout)
		return 0
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, args[1:], stdout, stderr)
		var ue usageError
		var ee exitError
		switch {
		case err == nil:
			return 0
		case errors.As(err, &ee):
			return int(ee)
		case errors.As(err, &ue):
			fmt.Fprintf(stderr, "twilio-connector %s: %s\n", c.name, ue.msg)
			return 2
		default:
			fmt.Fprintf(stderr, "twilio-connector %s: %v\n", c.name, err)
			return 1
		}
	}
	fmt.Fprintf(stderr, "twilio-connector: unknown command %q (try: twilio-connector help)\n", args[0])
	return 2
}

func printHelp(w io.Writer) {
	fmt.Fprintln(w, "twilio-connector: Twilio SMS and voice for BPMN processes on Zeebe / Camunda 8")
	fmt.Fprintln(w, "\nUsage: twilio-connector <command> [flags]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-14s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "  help           show this help; 'twilio-connector <command> -h' shows a command's flags")
	fmt.Fprintln(w, "\nConfiguration comes from the environment (see README.md, Configuration).")
}
