package main

import (
	"os"
	"strings"
	"testing"

	"github.com/twilio-connector/twilio-connector/config"
	smppprovider "github.com/twilio-connector/twilio-connector/providers/smpp"
	"github.com/twilio-connector/twilio-connector/triggers"
)

// readmeBlocks returns the yaml code blocks of the README's section named heading.
func readmeBlocks(t *testing.T, heading string) []string {
	t.Helper()
	data, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(data), "\n"+heading+"\n")
	if !ok {
		t.Fatalf("README.md has no section %q", heading)
	}
	if end := strings.Index(section, "\n## "); end >= 0 {
		section = section[:end]
	}
	var blocks []string
	for _, part := range strings.Split(section, "```yaml\n")[1:] {
		block, _, _ := strings.Cut(part, "```")
		blocks = append(blocks, block)
	}
	return blocks
}

// The README's SMPP connection and trigger load as written (with a password file of ours).
func TestReadmeSMPPExampleLoads(t *testing.T) {
	blocks := readmeBlocks(t, "### SMSC over SMPP")
	if len(blocks) != 2 {
		t.Fatalf("want the connection and the trigger example, found %d yaml blocks", len(blocks))
	}
	doc := strings.Replace(blocks[0], "/run/secrets/smsc", writeFile(t, "smsc", "pw\n"), 1)
	conns, err := newConnections(config.Config{ConnectionsFile: writeFile(t, "connections.yaml", doc)}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := conns["smsc"].Provider.(*smppprovider.Provider); !ok {
		t.Fatalf("connection smsc is a %T", conns["smsc"].Provider)
	}
	ts, err := triggers.LoadFile(writeFile(t, "triggers.yaml", blocks[1]), 0)
	if err != nil || len(ts) != 1 || ts[0].Connection != "smsc" {
		t.Fatalf("trigger example: %v %+v", err, ts)
	}
}
