// Package mosquittotest runs Debian's mosquitto broker on loopback for tests (installed by
// test/setup.sh), with persistence on so that a restart keeps sessions and queued messages,
// and gives tests a publisher and a collecting subscriber.
package mosquittotest

import (
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/twilio-connector/twilio-connector/test/loopback"
)

// Broker is one mosquitto process on a fixed port, which Restart keeps.
type Broker struct {
	URL  string // tcp://127.0.0.1:PORT
	Port int
	t    testing.TB
	bin  string
	conf string

	mu  sync.Mutex
	cmd *exec.Cmd
	log bytes.Buffer // the broker's stderr, shown when the test fails
}

// Start runs mosquitto on a free 127.0.0.1 port and stops it when the test ends. Without
// mosquitto the test is skipped, or fails when $CI is set.
func Start(t testing.TB) *Broker {
	t.Helper()
	bin, err := exec.LookPath("mosquitto")
	if err != nil {
		bin = "/usr/sbin/mosquitto" // Debian installs it outside a normal user's PATH
		if _, serr := os.Stat(bin); serr != nil {
			if os.Getenv("CI") != "" {
				t.Fatal("mosquitto is not installed: run bash test/setup.sh")
			}
			t.Skip("mosquitto is not installed: run bash test/setup.sh")
		}
	}
	port := loopback.FreePort(t)
	dir := t.TempDir()
	conf := filepath.Join(dir, "mosquitto.conf")
	// autosave_interval 1: persist the in-memory state every second, and at a clean stop.
	cfg := fmt.Sprintf("listener %d 127.0.0.1\nallow_anonymous true\npersistence true\npersistence_location %s/\nautosave_interval 1\nlog_dest stderr\nlog_type error\nlog_type warning\n", port, dir)
	if os.Geteuid() == 0 {
		cfg += "user root\n" // else mosquitto drops to its own user, which cannot write dir
	}
	if err := os.WriteFile(conf, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	b := &Broker{URL: fmt.Sprintf("tcp://127.0.0.1:%d", port), Port: port, t: t, bin: bin, conf: conf}
	b.start()
	t.Cleanup(func() {
		b.Stop()
		if t.Failed() {
			t.Logf("mosquitto:\n%s", b.log.String())
		}
	})
	return b
}

func (b *Broker) start() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.cmd = exec.Command(b.bin, "-c", b.conf)
	b.cmd.Stderr = &b.log
	if err := b.cmd.Start(); err != nil {
		b.t.Fatal(err)
	}
	loopback.WaitListening(b.t, b.Port, "mosquitto", 10*time.Second)
}

// Stop stops the broker cleanly (SIGTERM), which saves its sessions to disk.
func (b *Broker) Stop() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cmd == nil {
		return
	}
	b.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { b.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		b.cmd.Process.Kill()
		<-done
	}
	b.cmd = nil
}

// Restart stops the broker, waits down, and starts it again on the same port with the same
// persisted state.
func (b *Broker) Restart(down time.Duration) {
	b.Stop()
	time.Sleep(down)
	b.start()
}

// Collector gathers the messages of one topic filter through a persistent QoS 1 session that
// reconnects, so that it misses nothing across a broker restart.
type Collector struct {
	mu   sync.Mutex
	msgs [][]byte
}

// Subscribe starts a Collector on topic; it disconnects when the test ends.
func Subscribe(t testing.TB, url, topic string) *Collector {
	t.Helper()
	col := &Collector{}
	opts := paho.NewClientOptions().AddBroker(url).SetClientID(fmt.Sprintf("collector-%d", time.Now().UnixNano())).
		SetCleanSession(false).SetAutoReconnect(true).SetMaxReconnectInterval(time.Second).
		SetDefaultPublishHandler(func(_ paho.Client, m paho.Message) {
			col.mu.Lock()
			col.msgs = append(col.msgs, append([]byte(nil), m.Payload()...))
			col.mu.Unlock()
		})
	c := paho.NewClient(opts)
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("collector connect: %v", tok.Error())
	}
	if tok := c.Subscribe(topic, 1, nil); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("collector subscribe: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(0) })
	return col
}

// Messages returns the payloads received so far, in order.
func (c *Collector) Messages() [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([][]byte(nil), c.msgs...)
}

// Count is len(Messages()).
func (c *Collector) Count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.msgs)
}

// Publish sends payloads on topic at QoS 1 and waits for the broker to accept each.
func Publish(t testing.TB, url, topic string, payloads ...string) {
	t.Helper()
	c := paho.NewClient(paho.NewClientOptions().AddBroker(url).SetClientID(fmt.Sprintf("publisher-%d", time.Now().UnixNano())))
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("publisher connect: %v", tok.Error())
	}
	defer c.Disconnect(250)
	for _, p := range payloads {
		if tok := c.Publish(topic, 1, false, p); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatalf("publish: %v", tok.Error())
		}
	}
}
