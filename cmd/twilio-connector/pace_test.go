package main

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/twilio-connector/twilio-connector/config"
	"github.com/twilio-connector/twilio-connector/providers"
	"github.com/twilio-connector/twilio-connector/store"
	"github.com/twilio-connector/twilio-connector/test/redistest"
	"github.com/twilio-connector/twilio-connector/test/twiliotest"
)

// A connections file's pace is kept in Redis when the store is Redis: two replicas' connections
// share one sender's bucket.
func TestConnectionsFilePaceSharedThroughRedis(t *testing.T) {
	fake := twiliotest.New(t)
	file := writeFile(t, "connections.yaml", `connections:
  marketing:
    provider: twilio
    account: `+fake.AccountSID+`
    token: `+fake.AuthToken+`
    api_base_url: `+fake.URL()+`
    pace: {senders: {"+15005550006": 5}}
`)
	srv := redistest.Start(t)
	var replicas []providers.Provider
	for range 2 {
		r, err := store.OpenRedis(context.Background(), srv.URL, "", time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { r.Close() })
		conns, err := newConnections(config.Config{ConnectionsFile: file}, r)
		if err != nil {
			t.Fatal(err)
		}
		replicas = append(replicas, conns["marketing"].Provider)
	}
	start := time.Now()
	for i := range 4 {
		if _, err := replicas[i%2].Send(context.Background(), providers.Message{To: "+14155550101", From: "+15005550006", Body: "hi"}); err != nil {
			t.Fatal(err)
		}
	}
	// 200 ms a message, whichever replica sends it: the fourth waits for three slots.
	if took := time.Since(start); took < 600*time.Millisecond {
		t.Fatalf("4 sends through two replicas took %v, less than the 600 ms the shared pace gives them", took)
	}
}

func TestConnectionsFileBadPace(t *testing.T) {
	file := writeFile(t, "connections.yaml", `connections:
  marketing:
    provider: twilio
    account: AC0123456789abcdef0123456789abcdef
    token: abc123
    pace: {default: fast}
`)
	_, err := newConnections(config.Config{ConnectionsFile: file}, nil)
	if err == nil || !strings.HasPrefix(err.Error(), "CONNECTOR_CONNECTIONS_FILE: connection marketing: pace.default \"fast\"") {
		t.Fatalf("error %v, want one naming the file, the connection and pace.default", err)
	}
}
