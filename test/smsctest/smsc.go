// Package smsctest runs test/smsc/smsc.js, an SMSC built on the npm package smpp 0.5.1's
// server (not on our codec), on 127.0.0.1 for the length of a test, and gives tests what it
// received (binds, submit_sm, enquire_link) and control over it: send mobile-originated
// messages and delivery receipts, throttle, stop answering, drop connections, restart.
package smsctest

import (
	"bufio"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twilio-connector/twilio-connector/test/loopback"
	"github.com/twilio-connector/twilio-connector/test/syncbuf"
	"github.com/twilio-connector/twilio-connector/test/wait"
)

// Command statuses the SMSC answers with on request (SMPP 3.4 section 5.1.3).
const (
	ESME_RMSGQFUL   uint32 = 0x14
	ESME_RTHROTTLED uint32 = 0x58
	ESME_RSYSERR    uint32 = 0x08
)

// UDH is the concatenation information of one part.
type UDH struct {
	Ref   int `json:"ref"`
	Count int `json:"count"`
	Seq   int `json:"seq"`
}

// Submit is one submit_sm the SMSC received.
type Submit struct {
	Seq                uint32 `json:"seq"`
	Source             string `json:"source"`
	Dest               string `json:"dest"`
	SourceTON          byte   `json:"source_ton"`
	SourceNPI          byte   `json:"source_npi"`
	DestTON            byte   `json:"dest_ton"`
	DestNPI            byte   `json:"dest_npi"`
	DataCoding         byte   `json:"data_coding"`
	EsmClass           byte   `json:"esm_class"`
	RegisteredDelivery byte   `json:"registered_delivery"`
	ShortMessage       string `json:"short_message"` // hex, UDH included
	UDH                *UDH   `json:"udh"`
	// Text is the part without its UDH, decoded by the npm package's coders.
	Text string `json:"text"`
	// MessageID is the id answered; empty when the status was not 0 or no answer was sent.
	MessageID string `json:"message_id"`
	// Status is the command_status answered, nil when none was sent (Silent).
	Status *uint32 `json:"status"`
}

// Bind is one bind request.
type Bind struct {
	Command  string `json:"command"`
	SystemID string `json:"system_id"`
	Status   uint32 `json:"status"`
}

// Message is a short message as a handset would show it: the accepted submit_sm of one
// sender, recipient and concatenation reference, reassembled in part order.
type Message struct {
	Source, Dest string
	DataCoding   byte
	Text         string
	Parts        int
	MessageIDs   []string
}

type event struct {
	Event   string  `json:"event"`
	Tag     string  `json:"tag"`
	Error   string  `json:"error"`
	Status  *uint32 `json:"status"`
	Command string  `json:"command"`
}

// Response is the ESME's response to a request the SMSC sent (Request).
type Response struct {
	Command string // e.g. "enquire_link_resp", "generic_nack"
	Status  uint32
}

// SMSC is one smsc.js process on a fixed port, which Restart keeps. Its methods are safe for
// concurrent use.
type SMSC struct {
	Addr               string // 127.0.0.1:PORT
	Port               int
	SystemID, Password string
	// RootCAs holds the certificate of an SMSC started with StartTLS (for 127.0.0.1).
	RootCAs *x509.CertPool

	t       testing.TB
	node    string
	script  string
	log     syncbuf.Buffer
	mu      sync.Mutex
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	exited  chan struct{}
	gen     int
	tags    int
	submits []Submit
	binds   []Bind
	resps   map[string][]uint32
	answers map[string][]Response
	tlsDir  string
	done    map[string]bool
	errs    map[string]string
	links   int
	unbinds int
}

// Start runs the SMSC on a free 127.0.0.1 port, accepting system_id "test" with a password
// of its own (SMSC.Password), and stops it when the test ends. Without node or the npm
// package the test is skipped, or fails when $CI is set.
func Start(t testing.TB) *SMSC {
	t.Helper()
	return start(t, false)
}

// StartTLS is Start with TLS: the SMSC presents a self-signed certificate for 127.0.0.1,
// which RootCAs and TLSConfig trust.
func StartTLS(t testing.TB) *SMSC {
	t.Helper()
	return start(t, true)
}

// TLSConfig is a client configuration that trusts the SMSC's certificate.
func (s *SMSC) TLSConfig() *tls.Config {
	return &tls.Config{RootCAs: s.RootCAs, ServerName: "127.0.0.1"}
}

func start(t testing.TB, withTLS bool) *SMSC {
	t.Helper()
	_, file, _, _ := runtime.Caller(0)
	testDir := filepath.Dir(filepath.Dir(file))
	node, err := exec.LookPath("node")
	if err == nil {
		_, err = os.Stat(filepath.Join(testDir, "node_modules", "smpp", "package.json"))
	}
	if err != nil {
		if os.Getenv("CI") != "" {
			t.Fatalf("node or test/node_modules/smpp missing (CI is set): run bash test/setup.sh: %v", err)
		}
		t.Skipf("node or test/node_modules/smpp missing: run bash test/setup.sh: %v", err)
	}
	port := loopback.FreePort(t)
	s := &SMSC{
		Addr: fmt.Sprintf("127.0.0.1:%d", port), Port: port,
		SystemID: "test", Password: "pw" + strconv.FormatInt(time.Now().UnixNano()%1e6, 10),
		t: t, node: node, script: filepath.Join(testDir, "smsc", "smsc.js"),
		resps: map[string][]uint32{}, answers: map[string][]Response{}, done: map[string]bool{}, errs: map[string]string{},
	}
	if withTLS {
		s.tlsDir = t.TempDir()
		s.RootCAs = writeCert(t, s.tlsDir)
	}
	s.start()
	t.Cleanup(func() {
		s.Kill()
		if t.Failed() {
			t.Logf("smsc.js:\n%s", s.log.String())
		}
	})
	return s
}

func (s *SMSC) start() {
	s.t.Helper()
	s.mu.Lock()
	s.gen++
	cmd := exec.Command(s.node, s.script)
	cmd.Env = append(os.Environ(), "SMSC_PORT="+strconv.Itoa(s.Port), "SMSC_SYSTEM_ID="+s.SystemID,
		"SMSC_PASSWORD="+s.Password, fmt.Sprintf("SMSC_ID_PREFIX=g%d-", s.gen))
	if s.tlsDir != "" {
		cmd.Env = append(cmd.Env, "SMSC_TLS_KEY="+filepath.Join(s.tlsDir, "key.pem"), "SMSC_TLS_CERT="+filepath.Join(s.tlsDir, "cert.pem"))
	}
	cmd.Stderr = &s.log
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		s.t.Fatal(err)
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		s.t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		s.t.Fatal(err)
	}
	s.cmd, s.stdin, s.exited = cmd, stdin, make(chan struct{})
	exited := s.exited
	s.mu.Unlock()
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			s.handle(sc.Bytes())
		}
		cmd.Wait()
		close(exited)
	}()
	loopback.WaitListening(s.t, s.Port, "smsc.js", 15*time.Second)
}

func (s *SMSC) handle(line []byte) {
	fmt.Fprintf(&s.log, "%s\n", line)
	var e event
	if err := json.Unmarshal(line, &e); err != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch e.Event {
	case "submit":
		var sub Submit
		json.Unmarshal(line, &sub)
		s.submits = append(s.submits, sub)
	case "bind":
		var b Bind
		json.Unmarshal(line, &b)
		s.binds = append(s.binds, b)
	case "enquire_link":
		s.links++
	case "unbind":
		s.unbinds++
	case "deliver_resp":
		if e.Status != nil {
			s.resps[e.Tag] = append(s.resps[e.Tag], *e.Status)
		}
	case "resp":
		if e.Status != nil {
			s.answers[e.Tag] = append(s.answers[e.Tag], Response{e.Command, *e.Status})
		}
	case "done":
		s.done[e.Tag] = true
	case "error":
		s.errs[e.Tag] = e.Error
		s.done[e.Tag] = true
	}
}

// command sends c to the SMSC and waits until it was carried out; it returns c's tag.
func (s *SMSC) command(c map[string]any) string {
	s.t.Helper()
	s.mu.Lock()
	s.tags++
	tag := "c" + strconv.Itoa(s.tags)
	c["tag"] = tag
	b, _ := json.Marshal(c)
	_, err := s.stdin.Write(append(b, '\n'))
	s.mu.Unlock()
	if err != nil {
		s.t.Fatalf("smsc.js command %s: %v", b, err)
	}
	wait.Until(s.t, 10*time.Second, "smsc.js to carry out "+string(b), func() bool {
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.done[tag]
	})
	s.mu.Lock()
	defer s.mu.Unlock()
	if e := s.errs[tag]; e != "" {
		s.t.Fatalf("smsc.js %s: %s", b, e)
	}
	return tag
}

// sync waits until smsc.js's events written so far are recorded: smsc.js writes an event
// before it answers, and the answer to a test's request may come before the event is read.
// Stdout is in order, so once a "sync" command is done, everything before it is recorded. A
// stopped SMSC has nothing pending.
func (s *SMSC) sync() {
	s.t.Helper()
	s.mu.Lock()
	if s.cmd == nil {
		s.mu.Unlock()
		return
	}
	s.tags++
	tag := "c" + strconv.Itoa(s.tags)
	_, err := fmt.Fprintf(s.stdin, `{"cmd":"sync","tag":%q}`+"\n", tag)
	exited := s.exited
	s.mu.Unlock()
	if err != nil {
		return
	}
	wait.Until(s.t, 10*time.Second, "smsc.js to report what it received", func() bool {
		select {
		case <-exited:
			return true
		default:
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		return s.done[tag]
	})
}

// MO sends a mobile-originated message from → to to the bound ESME as deliver_sm with
// data_coding coding (0 GSM 03.38, 3 Latin-1, 8 UCS-2), split into parts concatenated
// deliver_sm (8-bit reference UDH) when parts > 1. It returns a tag for DeliverResps.
func (s *SMSC) MO(from, to, text string, coding byte, parts int) string {
	s.t.Helper()
	return s.command(map[string]any{"cmd": "mo", "from": from, "to": to, "text": text, "coding": coding, "parts": parts})
}

// Receipt sends a delivery receipt (esm_class 0x04, text "id:… stat:… err:…") for message id
// with the final state stat ("DELIVRD", "UNDELIV", …) and, when tlv is set, the
// receipted_message_id and message_state TLVs. It returns a tag for DeliverResps.
func (s *SMSC) Receipt(id, from, to, stat, errCode string, tlv bool) string {
	s.t.Helper()
	return s.command(map[string]any{"cmd": "receipt", "id": id, "from": from, "to": to, "stat": stat, "err": errCode, "tlv": tlv})
}

// DeliverResps returns the command_status of each deliver_sm_resp received for the deliver_sm
// sent under tag, in arrival order.
func (s *SMSC) DeliverResps(tag string) []uint32 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]uint32(nil), s.resps[tag]...)
}

// Request sends the bound ESME a request the npm package knows by name ("enquire_link",
// "unbind", or one an ESME does not handle such as "query_sm") with params. It returns a tag
// for Responses.
func (s *SMSC) Request(command string, params map[string]any) string {
	s.t.Helper()
	return s.command(map[string]any{"cmd": "request", "command": command, "params": params})
}

// Responses returns the ESME's responses to the request sent under tag.
func (s *SMSC) Responses(tag string) []Response {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Response(nil), s.answers[tag]...)
}

// Throttle answers the next n submit_sm with status (e.g. ESME_RTHROTTLED).
func (s *SMSC) Throttle(n int, status uint32) {
	s.t.Helper()
	s.command(map[string]any{"cmd": "throttle", "n": n, "status": status})
}

// Nack answers the next n submit_sm with a generic_nack carrying status (even 0).
func (s *SMSC) Nack(n int, status uint32) {
	s.t.Helper()
	s.command(map[string]any{"cmd": "throttle", "n": n, "status": status, "nack": true})
}

// Silent makes the SMSC record submit_sm but answer none of them nor enquire_link (on), or
// answer again (off).
func (s *SMSC) Silent(on bool) {
	s.t.Helper()
	s.command(map[string]any{"cmd": "silent", "on": on})
}

// Drop closes every connection at once, without unbind.
func (s *SMSC) Drop() {
	s.t.Helper()
	s.command(map[string]any{"cmd": "drop"})
}

// Kill stops the SMSC process at once (SIGKILL), as in a crash. What it recorded stays.
func (s *SMSC) Kill() {
	s.mu.Lock()
	cmd, exited := s.cmd, s.exited
	s.cmd = nil
	s.mu.Unlock()
	if cmd == nil {
		return
	}
	cmd.Process.Kill()
	<-exited
}

// Restart kills the SMSC, waits down, and starts it again on the same port; message ids of
// the new process differ from the old one's. What it recorded stays.
func (s *SMSC) Restart(down time.Duration) {
	s.t.Helper()
	s.Kill()
	time.Sleep(down)
	s.start()
}

// Submits returns every submit_sm received so far, in order, across restarts: every submit_sm
// answered before the call is in it.
func (s *SMSC) Submits() []Submit {
	s.t.Helper()
	s.sync()
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Submit(nil), s.submits...)
}

// Binds returns every bind request received so far, in order.
func (s *SMSC) Binds() []Bind {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Bind(nil), s.binds...)
}

// EnquireLinks is the number of enquire_link received.
func (s *SMSC) EnquireLinks() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.links
}

// Unbinds is the number of unbind received.
func (s *SMSC) Unbinds() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.unbinds
}

// Messages reassembles the accepted submit_sm (status 0) into messages: a part without UDH is
// a message; parts with the same source, destination, reference and count make one message
// once every sequence number is there. A part repeated before its message completes starts
// another copy, so that a duplicate shows as two messages.
func (s *SMSC) Messages() []Message {
	type key struct {
		src, dst   string
		ref, count int
	}
	var out []Message
	var open []map[int]Submit
	var openKey []key
	for _, sub := range s.Submits() {
		if sub.Status == nil || *sub.Status != 0 {
			continue
		}
		if sub.UDH == nil {
			out = append(out, Message{Source: sub.Source, Dest: sub.Dest, DataCoding: sub.DataCoding, Text: sub.Text, Parts: 1, MessageIDs: []string{sub.MessageID}})
			continue
		}
		k := key{sub.Source, sub.Dest, sub.UDH.Ref, sub.UDH.Count}
		idx := -1
		for i := range open {
			if _, dup := open[i][sub.UDH.Seq]; openKey[i] == k && !dup {
				idx = i
				break
			}
		}
		if idx < 0 {
			open, openKey = append(open, map[int]Submit{}), append(openKey, k)
			idx = len(open) - 1
		}
		open[idx][sub.UDH.Seq] = sub
		if len(open[idx]) < k.count {
			continue
		}
		m := Message{Source: k.src, Dest: k.dst, Parts: k.count}
		var text strings.Builder
		for seq := 1; seq <= k.count; seq++ {
			p := open[idx][seq]
			m.DataCoding = p.DataCoding
			text.WriteString(p.Text)
			m.MessageIDs = append(m.MessageIDs, p.MessageID)
		}
		m.Text = text.String()
		out = append(out, m)
		open, openKey = append(open[:idx], open[idx+1:]...), append(openKey[:idx], openKey[idx+1:]...)
	}
	return out
}

// WaitSubmits waits until the SMSC received at least n submit_sm.
func (s *SMSC) WaitSubmits(n int, within time.Duration) []Submit {
	s.t.Helper()
	wait.Until(s.t, within, fmt.Sprintf("%d submit_sm at the SMSC", n), func() bool { return len(s.Submits()) >= n })
	return s.Submits()
}

// writeCert writes a self-signed certificate for 127.0.0.1 and its key to dir as cert.pem and
// key.pem, and returns a pool that trusts it.
func writeCert(t testing.TB, dir string) *x509.CertPool {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "smsctest"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := os.WriteFile(filepath.Join(dir, "cert.pem"), certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "key.pem"), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600); err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(certPEM)
	return pool
}
