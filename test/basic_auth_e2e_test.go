package test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/camunda/zeebe/clients/go/v8/pkg/zbc"

	"github.com/twilio-connector/twilio-connector/bpmn/engine"
	"github.com/twilio-connector/twilio-connector/test/syncbuf"
	"github.com/twilio-connector/twilio-connector/test/twiliotest"
)

// The gateway's credentials in these tests, as on a Camunda 8.8 Self-Managed cluster.
const (
	gatewayUser     = "demo"
	gatewayPassword = "gateway-pw-0123"
)

// basicCredentials is the test's own client credentials provider (the connector's is in
// package main): "authorization: Basic base64(user:password)".
type basicCredentials string

func (b basicCredentials) ApplyCredentials(_ context.Context, headers map[string]string) error {
	headers["authorization"] = "Basic " + base64.StdEncoding.EncodeToString([]byte(b))
	return nil
}

func (basicCredentials) ShouldRetryRequest(context.Context, error) bool { return false }

// basicAuthWorld is a world whose dev engine requires gatewayUser / gatewayPassword.
func basicAuthWorld(t *testing.T) *world {
	t.Helper()
	logs := &syncbuf.Buffer{}
	eng := engine.New(engine.Options{Logger: slog.New(slog.NewTextHandler(logs, nil))})
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := eng.Serve(ctx, "127.0.0.1:0", engine.RequireBasicAuth(gatewayUser, gatewayPassword))
	if err != nil {
		t.Fatal(err)
	}
	client, err := zbc.NewClient(&zbc.ClientConfig{GatewayAddress: srv.Addr(), UsePlaintextConnection: true,
		CredentialsProvider: basicCredentials(gatewayUser + ":" + gatewayPassword)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close(); cancel(); srv.Close() })
	w := &world{eng: eng, addr: srv.Addr(), client: client, twilio: twiliotest.New(t), logs: logs}
	w.deploy(t, "testdata/send_sms.bpmn")
	return w
}

// `run` with CAMUNDA_AUTH_STRATEGY=BASIC against a gateway requiring basic auth: ready, a job
// is processed, and the password (given as a file) appears nowhere in the logs.
func TestRunWithBasicAuth(t *testing.T) {
	w := basicAuthWorld(t)
	pwFile := filepath.Join(t.TempDir(), "gateway-password")
	if err := os.WriteFile(pwFile, []byte(gatewayPassword+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	p := w.startRun(t, "CAMUNDA_AUTH_STRATEGY=BASIC", "CAMUNDA_BASIC_AUTH_USERNAME="+gatewayUser, "CAMUNDA_BASIC_AUTH_PASSWORD_FILE="+pwFile)
	p.waitReady(t)
	res := resultOf(t, w.runProcess(t, "notify", map[string]any{"smsTo": []string{alice}, "smsBody": "Table for ${n}", "n": 2}))
	if len(res.TwilioResult) != 1 || res.TwilioResult[0].SID == nil || res.TwilioError != nil {
		t.Fatalf("%+v", res)
	}
	p.stop(t)
	if strings.Contains(p.stderr.String(), gatewayPassword) {
		t.Fatal("the gateway password appears in the logs")
	}
}

// Credentials the gateway refuses stop `run` at start with one line saying which variable to
// check; it does not keep polling.
func TestRunWithRefusedCredentialsStopsAtStart(t *testing.T) {
	w := basicAuthWorld(t)
	for _, c := range []struct {
		name string
		env  []string
		want string
	}{
		{"wrong password", []string{"CAMUNDA_AUTH_STRATEGY=BASIC", "CAMUNDA_BASIC_AUTH_USERNAME=" + gatewayUser, "CAMUNDA_BASIC_AUTH_PASSWORD=wrong-pw-4567"},
			`twilio-connector run: CAMUNDA_BASIC_AUTH_PASSWORD: the gateway at ` + w.addr + ` refused the password of user "demo" (invalid credentials: wrong username or password): check CAMUNDA_BASIC_AUTH_USERNAME/PASSWORD`},
		{"no credentials", nil, "twilio-connector run: CAMUNDA_AUTH_STRATEGY: the gateway at " + w.addr + " refused a call without credentials"},
	} {
		t.Run(c.name, func(t *testing.T) {
			p := w.startRun(t, c.env...)
			select {
			case err := <-p.exited:
				if ee, ok := err.(*exec.ExitError); !ok || ee.ExitCode() != 1 {
					t.Fatalf("exit %v, want status 1\n%s", err, p.stderr.String())
				}
			case <-time.After(15 * time.Second):
				t.Fatalf("run did not stop within 15s\n%s", p.stderr.String())
			}
			logs := p.stderr.String()
			lines := strings.Split(strings.TrimSpace(logs), "\n")
			if last := lines[len(lines)-1]; !strings.HasPrefix(last, c.want) {
				t.Fatalf("last line %q, want it to start with %q", last, c.want)
			}
			if n := strings.Count(logs, "refused"); n != 1 {
				t.Errorf("the refusal is logged %d times, want once:\n%s", n, logs)
			}
			if strings.Contains(logs, "job worker started") || strings.Contains(logs, "wrong-pw-4567") {
				t.Errorf("the worker started, or the password is logged:\n%s", logs)
			}
		})
	}
}

// `dev --basic-auth` requires the credentials, as Camunda 8.8 Self-Managed does: its own worker
// sends them (it is ready and runs the example), and a client without them is refused.
func TestDevWithBasicAuth(t *testing.T) {
	fake := twiliotest.New(t)
	d := startDevWith(t, []string{"--basic-auth", gatewayUser + ":" + gatewayPassword}, twilioEnv(fake)...)
	if strings.Contains(d.stdout.String()+d.stderr.String(), gatewayPassword) {
		t.Fatal("dev prints the password")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := d.client.NewTopologyCommand().Send(ctx); err == nil || !strings.Contains(err.Error(), "Unauthenticated") {
		t.Fatalf("a call without credentials: %v, want Unauthenticated", err)
	}
	client, err := zbc.NewClient(&zbc.ClientConfig{GatewayAddress: d.gateway, UsePlaintextConnection: true,
		CredentialsProvider: basicCredentials(gatewayUser + ":" + gatewayPassword)})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	cmd, err := client.NewCreateInstanceCommand().BPMNProcessId("orderReadyForPickup").LatestVersion().
		VariablesFromString(`{"customerName":"Ana","customerPhone":"+14155550100","orderId":"A-1042","store":"Main Street"}`)
	if err != nil {
		t.Fatal(err)
	}
	res, err := cmd.WithResult().Send(ctx)
	if err != nil {
		t.Fatalf("create instance with credentials: %v", err)
	}
	var vars map[string]any
	if err := json.Unmarshal([]byte(res.GetVariables()), &vars); err != nil || vars["twilioError"] != nil {
		t.Fatalf("result %s (%v)", res.GetVariables(), err)
	}
	if m := fake.Sent(); len(m) != 1 || m[0].To != "+14155550100" {
		t.Fatalf("sent %+v", m)
	}
}

// Camunda's Node SDK with CAMUNDA_AUTH_STRATEGY=BASIC, as against Camunda 8.8 Self-Managed, is
// let in by the dev engine requiring basic auth, and refused with a wrong password: the dev
// engine checks the credentials as Camunda's clients send them.
func TestNodeSDKBasicAuth(t *testing.T) {
	node, _ := nodeSDK(t)
	w := basicAuthWorld(t)
	for _, c := range []struct {
		password, want string
		ok             bool
	}{
		{gatewayPassword, engine.GatewayVersion, true},
		{"wrong-pw-4567", "UNAUTHENTICATED: invalid credentials", false},
	} {
		cmd := exec.Command(node, "nodesdk/basic_auth.mjs", w.addr)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "HOME=" + t.TempDir(),
			"CAMUNDA_BASIC_AUTH_USERNAME=" + gatewayUser, "CAMUNDA_BASIC_AUTH_PASSWORD=" + c.password}
		cmd.WaitDelay = 5 * time.Second
		out, err := cmd.CombinedOutput()
		if (err == nil) != c.ok || !strings.Contains(string(out), c.want) {
			t.Errorf("password %s: %v, output %q, want success %v with %q", c.password, err, out, c.ok, c.want)
		}
	}
}
