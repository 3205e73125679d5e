package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"

	"github.com/twilio-connector/twilio-connector/bpmn/lint"
	"github.com/twilio-connector/twilio-connector/config"
)

// lintCommand checks process models that use the connector. Findings go to stdout, one per
// line (or a JSON array with --json), the summary to stderr; exit status 1 when any is an error.
func lintCommand(_ context.Context, args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("lint", flag.ContinueOnError)
	fs.SetOutput(stderr)
	asJSON := fs.Bool("json", false, "print the findings as a JSON array")
	prefix := fs.String("prefix", "", "job type prefix of the deployment (default CONNECTOR_JOB_TYPE_PREFIX, else "+config.DefaultJobTypePrefix+")")
	fs.Usage = func() {
		fmt.Fprintln(stderr, "Usage: twilio-connector lint [--json] [--prefix P] FILE.bpmn|DIR...")
		fmt.Fprintln(stderr, "Checks models that use the connector: task types, send_sms inputs and headers, SMS_RECEIVED triggers.")
		fs.PrintDefaults()
	}
	// Flags may follow the files: lint a.bpmn --json.
	var paths []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil
			}
			return exitError(2)
		}
		if fs.NArg() == 0 {
			break
		}
		paths = append(paths, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(paths) == 0 {
		return usageError{"give the BPMN files or directories to check: twilio-connector lint FILE.bpmn..."}
	}

	cfg, err := config.Load(os.Getenv, 0)
	if err != nil {
		return err
	}
	opts := lint.Options{Prefix: cfg.JobTypePrefix, DefaultRegion: cfg.DefaultRegion}
	if *prefix != "" {
		opts.Prefix = *prefix
	}

	findings, files := lint.CheckPaths(paths, opts)
	if *asJSON {
		if findings == nil {
			findings = []lint.Finding{}
		}
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(findings); err != nil {
			return err
		}
	} else {
		for _, f := range findings {
			fmt.Fprintln(stdout, f.String())
		}
	}

	var nerr, nwarn int
	for _, f := range findings {
		if f.Severity == lint.Error {
			nerr++
		} else {
			nwarn++
		}
	}
	fmt.Fprintf(stderr, "lint: %d %s checked, %d %s, %d %s\n", files, plural(files, "file"), nerr, plural(nerr, "error"), nwarn, plural(nwarn, "warning"))
	if nerr > 0 {
		return exitError(1)
	}
	return nil
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
