package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/twilio-connector/twilio-connector/config"
	"github.com/twilio-connector/twilio-connector/sandbox"
	"github.com/twilio-connector/twilio-connector/triggers"
	"github.com/twilio-connector/twilio-connector/worker"
)

// inboundOptions shape the inbound webhook runs.
type inboundOptions struct {
	requests    int    // measured requests
	warmup      int    // requests sent first and not measured
	concurrency int    // client goroutines, each with its keep-alive connection
	triggers    int    // SMS_RECEIVED triggers configured; each SMS matches exactly one
	bodyChars   int    // length of each SMS body
	store       string // "bolt" or "memory"
}

// publicURL is the webhook URL Twilio is configured with: what requests are signed for.
const publicURL = "https://connector.example.com"

// loadTriggers returns n start-event triggers; trigger i matches bodies starting "KWi ".
func loadTriggers(n int) ([]*triggers.Trigger, error) {
	var out []*triggers.Trigger
	for i := range n {
		t, err := triggers.Compile(triggers.Definition{
			Source: "load", Element: fmt.Sprintf("kw%d", i), Kind: triggers.StartEvent,
			MessageName: fmt.Sprintf("load-kw%d", i), Pattern: fmt.Sprintf(`^KW%d (?<ref>\S+)`, i),
			Echo: "Thanks, we got ${ref}.",
		}, config.DefaultMatchTimeout)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, nil
}

// inboundBody is an SMS body of about chars characters matching trigger i.
func inboundBody(i, n, chars int) string {
	b := fmt.Sprintf("KW%d R-%d ", i, n)
	if pad := chars - len(b); pad > 0 {
		b += strings.Repeat("x", pad)
	}
	return b
}

// signedRequest is one prepared inbound SMS: its form body and X-Twilio-Signature.
type signedRequest struct {
	body, signature string
}

// prepare signs n inbound SMS as Twilio would, for the webhook at publicURL/twilio/sms.
func (w *world) prepare(n int, o inboundOptions) []signedRequest {
	out := make([]signedRequest, n)
	for k := range out {
		form, sig := sandbox.InboundSMS(publicURL+"/twilio/sms", w.twilio.AccountSID, w.twilio.AuthToken,
			fmt.Sprintf("+1415555%04d", k%10_000), "+15005550006", inboundBody(k%o.triggers, k, o.bodyChars))
		out[k] = signedRequest{body: form.Encode(), signature: sig}
	}
	return out
}

// webhook is the connector's inbound SMS handler as serve wires it, publishing to the engine.
func (w *world) webhook(st storeCloser, o inboundOptions) (http.Handler, error) {
	ts, err := loadTriggers(o.triggers)
	if err != nil {
		return nil, err
	}
	cfg := config.Default()
	pub := worker.NewPublisher(w.client)
	outbox := triggers.NewOutbox(st.Store, pub, triggers.OutboxOptions{PublishTimeout: cfg.PublishTimeout, Logger: connectorLogger()})
	mux := http.NewServeMux()
	mux.Handle("/twilio/sms", triggers.NewSMSReceived(triggers.Options{
		Triggers: triggers.NewRegistry(ts...), Publisher: pub, Store: st.Store, Outbox: outbox,
		Verifier: triggers.Verifier{AuthToken: w.twilio.AuthToken, PublicURL: publicURL}, MessageTTL: cfg.MessageTTL,
		MaxBodyBytes: int64(cfg.WebhookMaxBody), PublishTimeout: cfg.PublishTimeout, Logger: connectorLogger(),
	}))
	return mux, nil
}

// emptyTwiML is what the bare baseline answers.
const emptyTwiML = `<?xml version="1.0" encoding="UTF-8"?><Response/>`

// bareHandler is the baseline: net/http answering an empty TwiML response.
func bareHandler() http.Handler {
	return http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) {
		rw.Header().Set("Content-Type", "text/xml; charset=utf-8")
		io.WriteString(rw, emptyTwiML)
	})
}

// runInbound measures the connector's webhook with o.triggers triggers.
func (w *world) runInbound(o inboundOptions) (result, error) {
	st, err := openStoreCloser(o.store)
	if err != nil {
		return result{}, err
	}
	defer st.close()
	h, err := w.webhook(st, o)
	if err != nil {
		return result{}, err
	}
	name := fmt.Sprintf("webhook, %d triggers, %d-char SMS", o.triggers, o.bodyChars)
	return w.post(name, h, o)
}

// runBare measures the bare net/http baseline.
func (w *world) runBare(o inboundOptions) (result, error) {
	return w.post("bare net/http <Response/> (baseline)", bareHandler(), o)
}

// post serves h on 127.0.0.1 and sends it o.warmup and then o.requests signed inbound SMS
// from o.concurrency goroutines.
func (w *world) post(name string, h http.Handler, o inboundOptions) (result, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return result{}, err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go srv.Serve(ln)
	defer srv.Close()
	return w.postTo(name, "http://"+ln.Addr().String()+"/twilio/sms", o)
}

// postTo sends o.warmup and then o.requests signed inbound SMS to target from o.concurrency
// goroutines.
func (w *world) postTo(name, target string, o inboundOptions) (result, error) {
	client := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{
		MaxIdleConns: o.concurrency, MaxIdleConnsPerHost: o.concurrency, IdleConnTimeout: time.Minute,
	}}
	defer client.CloseIdleConnections()

	reqs := w.prepare(o.warmup+o.requests, o)
	if _, err := send(client, target, reqs[:o.warmup], o.concurrency, nil); err != nil {
		return result{}, fmt.Errorf("%s warm-up: %w", name, err)
	}
	lat := &latencies{}
	start := time.Now()
	failed, err := send(client, target, reqs[o.warmup:], o.concurrency, lat)
	return result{name: name, count: o.requests - failed, errors: failed, elapsed: time.Since(start), lat: lat}, err
}

// send posts reqs from concurrency goroutines; it returns how many did not get a 200.
func send(client *http.Client, target string, reqs []signedRequest, concurrency int, lat *latencies) (int, error) {
	return parallel(len(reqs), concurrency, lat, func(i int) error { return postOne(client, target, reqs[i]) })
}

func postOne(client *http.Client, target string, r signedRequest) error {
	req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, target, strings.NewReader(r.body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set(triggers.SignatureHeader, r.signature)
	res, err := client.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("HTTP %d: %.200s", res.StatusCode, body)
	}
	if strings.Contains(string(body), "<Message>") == strings.Contains(string(body), "Response/>") {
		return errors.New("unexpected reply: " + string(body))
	}
	return nil
}
