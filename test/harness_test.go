// Package test holds end-to-end tests: the real Zeebe Go client and zbctl against the dev
// engine over loopback, the connector's worker or binary, and Twilio stand-ins.
package test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	neturl "net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/camunda/zeebe/clients/go/v8/pkg/zbc"

	"github.com/twilio-connector/twilio-connector/actions"
	"github.com/twilio-connector/twilio-connector/bpmn/engine"
	"github.com/twilio-connector/twilio-connector/providers"
	"github.com/twilio-connector/twilio-connector/providers/twilio"
	"github.com/twilio-connector/twilio-connector/store"
	"github.com/twilio-connector/twilio-connector/test/syncbuf"
	"github.com/twilio-connector/twilio-connector/test/twiliotest"
	"github.com/twilio-connector/twilio-connector/test/wait"
	"github.com/twilio-connector/twilio-connector/worker"
)

// world is one dev engine, one fake Twilio and a Zeebe client, all on loopback.
type world struct {
	eng    *engine.Engine
	addr   string
	client zbc.Client
	twilio *twiliotest.Server
	logs   *syncbuf.Buffer
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w, _ := stoppableWorld(t)
	w.deploy(t, "testdata/send_sms.bpmn")
	return w
}

// stoppableWorld is a world with nothing deployed, and a function that stops its dev engine
// (the gateway going away).
func stoppableWorld(t *testing.T) (*world, func()) {
	t.Helper()
	logs := &syncbuf.Buffer{}
	eng := engine.New(engine.Options{Logger: slog.New(slog.NewTextHandler(logs, nil))})
	ctx, cancel := context.WithCancel(context.Background())
	srv, err := eng.Serve(ctx, "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	client, err := zbc.NewClient(&zbc.ClientConfig{GatewayAddress: srv.Addr(), UsePlaintextConnection: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { client.Close(); cancel(); srv.Close() })
	return &world{eng: eng, addr: srv.Addr(), client: client, twilio: twiliotest.New(t), logs: logs}, func() { srv.Close() }
}

func (w *world) deploy(t *testing.T, path string) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := w.client.NewDeployResourceCommand().AddResource(data, filepath.Base(path)).Send(ctx); err != nil {
		t.Fatalf("deploy %s: %v", path, err)
	}
}

type connectorOptions struct {
	authToken   string // default: the fake's token
	attempts    int
	timeout     time.Duration
	jobTimeout  time.Duration
	concurrency int
	store       store.Store
}

// startWorker runs the connector's worker and send_sms action in-process against the world.
func (w *world) startWorker(t *testing.T, o connectorOptions) *worker.Worker {
	t.Helper()
	if o.authToken == "" {
		o.authToken = w.twilio.AuthToken
	}
	if o.attempts == 0 {
		o.attempts = 2
	}
	if o.timeout == 0 {
		o.timeout = 2 * time.Second
	}
	if o.jobTimeout == 0 {
		o.jobTimeout = 30 * time.Second
	}
	if o.concurrency == 0 {
		o.concurrency = 4
	}
	if o.store == nil {
		o.store = store.NewMemory(0)
	}
	log := slog.New(slog.NewJSONHandler(w.logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	tw, err := twilio.New(twilio.Options{AccountSID: w.twilio.AccountSID, AuthToken: o.authToken, BaseURL: w.twilio.URL(), Timeout: o.timeout})
	if err != nil {
		t.Fatal(err)
	}
	d := &actions.Delivery{Kind: "sms", Store: o.store, Attempts: o.attempts, Parallelism: 4,
		BaseBackoff: time.Millisecond, MaxBackoff: 10 * time.Millisecond, Logger: log}
	sms := actions.NewSMS(providers.Connections{providers.DefaultConnection: {Name: providers.DefaultConnection, Provider: tw, DefaultFrom: "+15005550006"}}, d, actions.SMSOptions{})
	wk := worker.New(w.client, map[string]worker.Action{actions.SendSMS.Name: sms}, worker.Options{
		Prefix: "twilioConnector", Name: "e2e", MaxJobsActive: 16, Concurrency: o.concurrency,
		JobTimeout: o.jobTimeout, PollInterval: 20 * time.Millisecond, RequestTimeout: time.Second,
		RetryBackoff: 100 * time.Millisecond, Logger: log,
	})
	wk.Start()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		wk.Stop(ctx)
	})
	return wk
}

// waitCompleted waits until every instance of keys has completed.
func (w *world) waitCompleted(t *testing.T, within time.Duration, keys []int64) {
	t.Helper()
	wait.Until(t, within, fmt.Sprintf("all %d instances to complete", len(keys)), func() bool {
		for _, k := range keys {
			if info, _ := w.eng.Instance(k); info.State != engine.StateCompleted {
				return false
			}
		}
		return true
	})
}

// runProcess creates an instance and waits for its end, returning its variables.
func (w *world) runProcess(t *testing.T, processID string, vars map[string]any) map[string]any {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd, err := w.client.NewCreateInstanceCommand().BPMNProcessId(processID).LatestVersion().VariablesFromMap(vars)
	if err != nil {
		t.Fatal(err)
	}
	res, err := cmd.WithResult().Send(ctx)
	if err != nil {
		t.Fatalf("create instance of %s with result: %v", processID, err)
	}
	out := map[string]any{}
	if err := json.Unmarshal([]byte(res.GetVariables()), &out); err != nil {
		t.Fatal(err)
	}
	out["$instanceKey"] = res.GetProcessInstanceKey()
	return out
}

// resultOf decodes twilioResult / twilioError from process variables.
func resultOf(t *testing.T, vars map[string]any) actions.Result {
	t.Helper()
	raw, _ := json.Marshal(map[string]any{"twilioResult": vars["twilioResult"], "twilioError": vars["twilioError"]})
	var r actions.Result
	if err := json.Unmarshal(raw, &r); err != nil {
		t.Fatal(err)
	}
	if _, ok := vars["twilioError"]; !ok {
		t.Fatalf("twilioError is not set at all (it must be null on success): %v", vars)
	}
	return r
}

var httpClient = &http.Client{Timeout: 10 * time.Second}

// newFormRequest is a form-encoded POST.
func newFormRequest(ctx context.Context, url string, form map[string][]string) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", url, strings.NewReader(neturl.Values(form).Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return req, nil
}
