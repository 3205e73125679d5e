package mqttapi

import (
	"context"
	"io"
	"log/slog"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/twilio-connector/twilio-connector/store"
	"github.com/twilio-connector/twilio-connector/test/fakeaction"
	"github.com/twilio-connector/twilio-connector/test/syncbuf"
	"github.com/twilio-connector/twilio-connector/test/wait"
)

// refusingBroker accepts MQTT connections and refuses each login (CONNACK return code 5, not
// authorized), as a broker does with wrong credentials.
func refusingBroker(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				conn.SetDeadline(time.Now().Add(5 * time.Second))
				buf := make([]byte, 512)
				conn.Read(buf) // the CONNECT packet
				conn.Write([]byte{0x20, 0x02, 0x00, 0x05})
				io.Copy(io.Discard, conn)
			}()
		}
	}()
	return ln.Addr().String()
}

// Wrong credentials: each failed attempt is logged with the reason and without the password,
// and Health says why the client is not connected.
func TestRefusedLoginIsLoggedAndReported(t *testing.T) {
	logs := &syncbuf.Buffer{}
	act := &fakeaction.Action{}
	c, err := Start(Options{URL: "tcp://edge:s3cretPW@" + refusingBroker(t), ClientID: "connector-refused", SMS: act, Calls: act,
		Store: store.NewMemory(0), Logger: slog.New(slog.NewJSONHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close(context.Background())
	wait.Until(t, 10*time.Second, "two failed attempts in the log", func() bool {
		return strings.Count(logs.String(), "MQTT connection attempt failed") >= 2
	})
	if err := c.Health(); err == nil || !strings.Contains(strings.ToLower(err.Error()), "not authorized") {
		t.Errorf("Health: %v, want the refusal", err)
	}
	if !strings.Contains(strings.ToLower(logs.String()), "not authorized") || strings.Contains(logs.String(), "s3cretPW") {
		t.Errorf("logs without the reason, or with the password:\n%s", logs.String())
	}
}
