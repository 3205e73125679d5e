package main

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"
)

// procKB reads a field such as VmRSS or VmHWM (in kB) from /proc/PID/status.
func procKB(pid int, field string) (int, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), field+":"); ok {
			return strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", field, pid)
}

func mb(kb int) string { return fmt.Sprintf("%.1f MB", float64(kb)/1024) }

// connector is the real `twilio-connector run` as a child process.
type connector struct {
	cmd      *exec.Cmd
	httpAddr string
	dir      string
}

// buildConnector builds the connector binary into dir.
func buildConnector(dir string) (string, error) {
	bin := filepath.Join(dir, "twilio-connector")
	out, err := exec.Command("go", "build", "-o", bin, "github.com/twilio-connector/twilio-connector/cmd/twilio-connector").CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("go build: %v\n%s", err, out)
	}
	return bin, nil
}

// freeAddr returns a free 127.0.0.1 port.
func freeAddr() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

// triggersYAML is a CONNECTOR_TRIGGERS_FILE with the same n triggers as loadTriggers.
func triggersYAML(n int) string {
	var b strings.Builder
	b.WriteString("triggers:\n")
	for i := range n {
		fmt.Fprintf(&b, "  - id: kw%d\n    message: load-kw%d\n    pattern: '^KW%d (?<ref>\\S+)'\n    echo: 'Thanks, we got ${ref}.'\n", i, i, i)
	}
	return b.String()
}

// startConnector runs the binary against the world's engine and sandbox with the connector's
// default settings (state in a bolt file), and waits until it is ready.
func (w *world) startConnector(bin, dir string, triggers int) (*connector, error) {
	addr, err := freeAddr()
	if err != nil {
		return nil, err
	}
	tf := filepath.Join(dir, "triggers.yaml")
	if err := os.WriteFile(tf, []byte(triggersYAML(triggers)), 0o600); err != nil {
		return nil, err
	}
	c := &connector{cmd: exec.Command(bin, "run"), httpAddr: addr, dir: dir}
	c.cmd.Env = []string{
		"PATH=/usr/bin:/bin",
		"TWILIO_ACCOUNT=" + w.twilio.AccountSID, "TWILIO_TOKEN=" + w.twilio.AuthToken,
		"TWILIO_API_BASE_URL=" + w.twURL, "TWILIO_DEFAULT_FROM=+15005550006",
		"ZEEBE_ADDRESS=" + w.srv.Addr(), "ZEEBE_INSECURE_CONNECTION=true",
		"CONNECTOR_HTTP_ADDR=" + addr, "CONNECTOR_PUBLIC_URL=" + publicURL,
		"CONNECTOR_STATE_FILE=" + filepath.Join(dir, "state.db"), "CONNECTOR_TRIGGERS_FILE=" + tf,
	}
	c.cmd.Stderr = io.Discard
	if err := c.cmd.Start(); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if res, err := http.Get("http://" + addr + "/readyz"); err == nil {
			res.Body.Close()
			if res.StatusCode == http.StatusOK {
				return c, nil
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	c.stop()
	return nil, fmt.Errorf("the connector did not become ready within 30 s")
}

func (c *connector) pid() int { return c.cmd.Process.Pid }

func (c *connector) stop() {
	c.cmd.Process.Signal(os.Interrupt)
	done := make(chan struct{})
	go func() { c.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		c.cmd.Process.Kill()
		<-done
	}
}

// rssPart is figure (d): the connector binary's idle RSS, then its peak RSS while it serves
// send jobs and inbound SMS at once (its own throughput is reported too).
func rssPart(out io.Writer, o options) error {
	dir, err := os.MkdirTemp("", "twilio-connector-load-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin, err := buildConnector(dir)
	if err != nil {
		return err
	}
	w, err := newWorld(o.twilioLatency)
	if err != nil {
		return err
	}
	defer w.close()
	c, err := w.startConnector(bin, dir, o.inbound.triggers)
	if err != nil {
		return err
	}
	defer c.stop()

	time.Sleep(2 * time.Second) // settle: the first ActivateJobs, the readiness probe
	idle, err := procKB(c.pid(), "VmRSS")
	if err != nil {
		return err
	}
	var send, inbound result
	var sendErr, inErr error
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		send, sendErr = w.drive("connector binary: send_sms jobs", "loadSend", o.send)
	}()
	go func() {
		defer wg.Done()
		in := o.inbound
		inbound, inErr = w.postTo("connector binary: inbound SMS", "http://"+c.httpAddr+"/twilio/sms", in)
	}()
	wg.Wait()
	if sendErr != nil {
		return sendErr
	}
	if inErr != nil {
		return inErr
	}
	peak, err := procKB(c.pid(), "VmHWM")
	if err != nil {
		return err
	}
	t := &table{title: "Connector binary (`twilio-connector run`, a child process, bolt store, default settings): memory and throughput under send and inbound load at once"}
	t.add("figure", "value")
	t.add("idle RSS (VmRSS after start)", mb(idle))
	t.add("peak RSS (VmHWM) under load", mb(peak))
	t.add(fmt.Sprintf("send_sms jobs/s (%d jobs, p99 %s)", send.count, ms(send.lat.percentile(99))), perSec(send.rate()))
	t.add(fmt.Sprintf("inbound req/s (%d requests, p99 %s)", inbound.count, ms(inbound.lat.percentile(99))), perSec(inbound.rate()))
	t.print(out)
	return nil
}
