// Package rabbitmqtest runs Debian's rabbitmq-server on loopback for tests (installed by
// test/setup.sh): its own node name, ports, Erlang port mapper, data and cookie in a temporary
// directory, so that it shares nothing with a system broker or another test. It also gives
// tests a publisher and a collecting consumer.
package rabbitmqtest

import (
	"crypto/rand"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/twilio-connector/twilio-connector/test/loopback"
	"github.com/twilio-connector/twilio-connector/test/syncbuf"
	"github.com/twilio-connector/twilio-connector/test/wait"
)

const (
	installed = "/usr/sbin/rabbitmq-server" // Debian's wrapper, which runs the broker through su
	// The scripts the wrapper calls: run directly, they take the environment given here.
	server = "/usr/lib/rabbitmq/bin/rabbitmq-server"
	ctl    = "/usr/lib/rabbitmq/bin/rabbitmqctl"
	// StartTimeout bounds a start; the broker boots in about 6 s on an idle 2-core machine.
	StartTimeout = 90 * time.Second
)

// Broker is one RabbitMQ node on fixed ports, which Restart keeps along with its data
// (durable queues and persistent messages survive a restart).
type Broker struct {
	URL  string // amqp://guest:guest@127.0.0.1:PORT/
	Port int
	Node string
	// ManagementPort serves the management plugin's HTTP API (rabbitmqadmin --port) when
	// started by StartWithManagement, else 0.
	ManagementPort int

	t    testing.TB
	dir  string
	env  []string
	cred *syscall.Credential // the rabbitmq user when the test runs as root
	epmd int

	mu     sync.Mutex
	cmd    *exec.Cmd
	exited chan struct{}
	log    syncbuf.Buffer // the broker's log (RABBITMQ_LOGS=-), shown when the test fails
}

var nodes struct {
	sync.Mutex
	n int
}

// Start runs a broker on free 127.0.0.1 ports and stops it when the test ends. Without
// rabbitmq-server the test is skipped, or fails when $CI is set.
func Start(t testing.TB) *Broker {
	t.Helper()
	return start(t, false)
}

// StartWithManagement is Start with the management plugin, which rabbitmqadmin talks to.
func StartWithManagement(t testing.TB) *Broker {
	t.Helper()
	return start(t, true)
}

func start(t testing.TB, management bool) *Broker {
	t.Helper()
	if _, err := os.Stat(installed); err != nil {
		if os.Getenv("CI") != "" {
			t.Fatal("rabbitmq-server is not installed: run bash test/setup.sh")
		}
		t.Skip("rabbitmq-server is not installed: run bash test/setup.sh")
	}
	nodes.Lock()
	nodes.n++
	n := nodes.n
	nodes.Unlock()
	b := &Broker{t: t, Port: freePort(t), epmd: freePort(t),
		Node: fmt.Sprintf("tc%d-%d@localhost", os.Getpid(), n)}
	// Not t.TempDir: its parent is private to this user, and the broker may run as rabbitmq.
	dir, err := os.MkdirTemp("", "rabbitmqtest-")
	if err != nil {
		t.Fatal(err)
	}
	b.dir = dir
	t.Cleanup(func() { os.RemoveAll(dir) })
	must(t, os.WriteFile(filepath.Join(dir, ".erlang.cookie"), []byte(rand.Text()), 0o400))
	plugins, conf := "[].\n", ""
	if management {
		b.ManagementPort = freePort(t)
		plugins = "[rabbitmq_management].\n"
		conf = fmt.Sprintf("management.tcp.ip = 127.0.0.1\nmanagement.tcp.port = %d\n", b.ManagementPort)
	}
	must(t, os.WriteFile(filepath.Join(dir, "enabled_plugins"), []byte(plugins), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "rabbitmq.conf"), []byte(conf), 0o644))
	if os.Geteuid() == 0 {
		// Debian's broker runs as the rabbitmq user; so do its data, logs and cookie here.
		u, err := user.Lookup("rabbitmq")
		if err != nil {
			t.Fatalf("running as root, the broker needs the rabbitmq user of the Debian package: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		b.cred = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
		for _, p := range []string{dir, filepath.Join(dir, ".erlang.cookie"), filepath.Join(dir, "enabled_plugins"), filepath.Join(dir, "rabbitmq.conf")} {
			must(t, os.Chown(p, uid, gid))
		}
	}
	// HOME holds the cookie for the broker and rabbitmqctl alike, whatever the test's HOME is.
	b.env = append(os.Environ(),
		"HOME="+dir,
		"RABBITMQ_NODENAME="+b.Node,
		"RABBITMQ_NODE_IP_ADDRESS=127.0.0.1", "NODE_IP_ADDRESS=127.0.0.1",
		"RABBITMQ_NODE_PORT="+strconv.Itoa(b.Port),
		"RABBITMQ_DIST_PORT="+strconv.Itoa(freePort(t)),
		"ERL_EPMD_ADDRESS=127.0.0.1", "ERL_EPMD_PORT="+strconv.Itoa(b.epmd),
		"RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS=-kernel inet_dist_use_interface {127,0,0,1}",
		"RABBITMQ_MNESIA_BASE="+filepath.Join(dir, "mnesia"),
		"RABBITMQ_LOG_BASE="+filepath.Join(dir, "log"),
		"RABBITMQ_LOGS=-",
		"RABBITMQ_CONFIG_FILE="+filepath.Join(dir, "rabbitmq"), // rabbitmq.conf here, not the system's
		"RABBITMQ_ENABLED_PLUGINS_FILE="+filepath.Join(dir, "enabled_plugins"),
		"RABBITMQ_PID_FILE="+filepath.Join(dir, "pid"),
	)
	b.URL = fmt.Sprintf("amqp://guest:guest@127.0.0.1:%d/", b.Port)
	b.start()
	t.Cleanup(func() {
		b.Stop()
		b.command("epmd", "-port", strconv.Itoa(b.epmd), "-kill").Run() // the port mapper this broker started
		if log := b.log.String(); t.Failed() {
			t.Logf("rabbitmq %s (the end of its log):\n%s", b.Node, log[max(0, len(log)-4000):])
		}
	})
	return b
}

// freePort is a free port outside 35672-35682, where every rabbitmqctl (of any test running at
// the same time) listens for a moment.
func freePort(t testing.TB) int {
	for {
		if p := loopback.FreePort(t); p < 35672 || p > 35682 {
			return p
		}
	}
}

func must(t testing.TB, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func (b *Broker) command(name string, args ...string) *exec.Cmd {
	cmd := exec.Command(name, args...)
	cmd.Env = b.env
	cmd.Dir = b.dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: b.cred, Setpgid: true}
	return cmd
}

func (b *Broker) start() {
	b.t.Helper()
	b.mu.Lock()
	defer b.mu.Unlock()
	b.cmd = b.command(server)
	b.cmd.Stdout, b.cmd.Stderr = &b.log, &b.log
	if err := b.cmd.Start(); err != nil {
		b.t.Fatal(err)
	}
	exited := make(chan struct{})
	b.exited = exited
	go func(cmd *exec.Cmd) { cmd.Wait(); close(exited) }(b.cmd)
	started := time.Now()
	wait.Until(b.t, StartTimeout, "rabbitmq to accept AMQP connections on "+strconv.Itoa(b.Port), func() bool {
		select {
		case <-exited:
			b.t.Fatalf("rabbitmq-server exited while starting:\n%s", b.log.String())
		default:
		}
		c, err := amqp.Dial(b.URL)
		if err == nil {
			c.Close()
		}
		return err == nil
	})
	if b.ManagementPort != 0 {
		loopback.WaitListening(b.t, b.ManagementPort, "rabbitmq's management plugin", StartTimeout)
	}
	b.t.Logf("rabbitmq %s up on 127.0.0.1:%d in %v", b.Node, b.Port, time.Since(started).Round(100*time.Millisecond))
}

// Stop stops the broker cleanly with rabbitmqctl, or kills it when that fails.
func (b *Broker) Stop() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cmd == nil {
		return
	}
	if out, err := b.command(ctl, "-n", b.Node, "stop").CombinedOutput(); err != nil {
		b.t.Logf("rabbitmqctl stop: %v: %s", err, out)
	}
	select {
	case <-b.exited:
	case <-time.After(30 * time.Second):
		syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL)
		<-b.exited
	}
	b.cmd = nil
}

// Kill ends the broker with SIGKILL, as a crash or an OOM kill would: no clean shutdown,
// connections cut. Restart brings it back with what it had written to disk.
func (b *Broker) Kill() {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.cmd == nil {
		return
	}
	syscall.Kill(-b.cmd.Process.Pid, syscall.SIGKILL)
	<-b.exited
	b.cmd = nil
}

// Restart stops the broker (unless Kill did), waits down, and starts it again on the same port with the same
// data.
func (b *Broker) Restart(down time.Duration) {
	b.Stop()
	time.Sleep(down)
	b.start()
}

// Publish sends each message to queue through the default exchange, persistent, and waits
// for the broker to confirm it.
func Publish(t testing.TB, url, queue string, msgs ...amqp.Publishing) {
	t.Helper()
	conn, err := amqp.Dial(url)
	if err != nil {
		t.Fatalf("publisher connect: %v", err)
	}
	defer conn.Close()
	ch, err := conn.Channel()
	if err != nil {
		t.Fatal(err)
	}
	must(t, ch.Confirm(false))
	for _, m := range msgs {
		m.DeliveryMode = amqp.Persistent
		dc, err := ch.PublishWithDeferredConfirm("", queue, false, false, m)
		if err != nil {
			t.Fatalf("publish: %v", err)
		}
		if !dc.Wait() {
			t.Fatalf("publish to %s not confirmed", queue)
		}
	}
}

// Collector gathers the messages of one durable queue, reconnecting after the broker
// restarts, so that it misses nothing.
type Collector struct {
	mu   sync.Mutex
	msgs []amqp.Delivery
}

// Collect declares queue (durable) and consumes it until the test ends.
func Collect(t testing.TB, url, queue string) *Collector {
	t.Helper()
	col := &Collector{}
	stop := make(chan struct{})
	ready := make(chan error, 1)
	var done sync.WaitGroup
	done.Add(1)
	go func() {
		defer done.Done()
		first := true
		for {
			err := col.consume(url, queue, stop, ready, first)
			first = false
			if err == nil {
				return
			}
			select {
			case <-stop:
				return
			case <-time.After(200 * time.Millisecond):
			}
		}
	}()
	if err := <-ready; err != nil {
		close(stop)
		t.Fatalf("collector on %s: %v", queue, err)
	}
	t.Cleanup(func() { close(stop); done.Wait() })
	return col
}

// consume runs one connection: nil when stopped, else why it ended.
func (c *Collector) consume(url, queue string, stop chan struct{}, ready chan error, first bool) error {
	conn, err := amqp.Dial(url)
	if err == nil {
		defer conn.Close()
	}
	var ch *amqp.Channel
	if err == nil {
		ch, err = conn.Channel()
	}
	if err == nil {
		_, err = ch.QueueDeclare(queue, true, false, false, false, nil)
	}
	var deliveries <-chan amqp.Delivery
	if err == nil {
		// Acknowledged once recorded: a reply the broker handed over just before it was killed
		// comes again after its restart instead of being lost with the connection.
		deliveries, err = ch.Consume(queue, "", false, false, false, false, nil)
	}
	if first {
		ready <- err
	}
	if err != nil {
		return err
	}
	for {
		select {
		case <-stop:
			return nil
		case d, ok := <-deliveries:
			if !ok {
				return fmt.Errorf("consumer of %s ended", queue)
			}
			c.mu.Lock()
			c.msgs = append(c.msgs, d)
			c.mu.Unlock()
			_ = d.Ack(false)
		}
	}
}

// Messages returns the messages received so far, in order.
func (c *Collector) Messages() []amqp.Delivery {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]amqp.Delivery(nil), c.msgs...)
}

// Count is len(Messages()).
func (c *Collector) Count() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.msgs)
}
