package test

import (
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/twilio-connector/twilio-connector/mqttapi"
	"github.com/twilio-connector/twilio-connector/test/mosquittotest"
	"github.com/twilio-connector/twilio-connector/test/twiliotest"
	"github.com/twilio-connector/twilio-connector/test/wait"
)

// greengrassExample returns one of the example request messages of AWS's Greengrass Twilio
// Notifications connector documentation, kept verbatim in testdata/greengrass ("txt" or "call").
func greengrassExample(t *testing.T, kind string) string {
	t.Helper()
	doc, err := os.ReadFile("testdata/greengrass/" + kind + "_request.json")
	if err != nil {
		t.Fatalf("the Greengrass documentation's example: %v", err)
	}
	return string(doc)
}

func decodeStatuses(t *testing.T, col *mosquittotest.Collector) []mqttapi.Status {
	t.Helper()
	var out []mqttapi.Status
	for _, m := range col.Messages() {
		var st mqttapi.Status
		if err := json.Unmarshal(m, &st); err != nil {
			t.Fatalf("status is not JSON: %s", m)
		}
		out = append(out, st)
	}
	return out
}

// MQTT on `dev`, as the README shows it: the printed mosquitto_pub line works, and the
// Greengrass documentation's example inputs, published as they are, send one SMS and place
// one call at the Twilio stand-in and come back in the documented shapes. Publishing the
// same request again answers again and sends nothing.
func TestMQTTOnDev(t *testing.T) {
	broker, fake, d, status := startMQTTDev(t)

	printed := printedCommand(t, d.stdout.String(), "# an SMS over MQTT")
	printed = strings.Replace(printed, "-p 1883", fmt.Sprintf("-p %d", broker.Port), 1)
	if !strings.Contains(printed, fmt.Sprintf("-p %d", broker.Port)) {
		t.Fatalf("the printed line does not name the broker's port: %s", printed)
	}
	runShell(t, printed)
	wait.Until(t, 10*time.Second, "the status of the printed request", func() bool { return status.Count() == 1 })

	// The README's line, as a reader copies it (with the test broker's port).
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	var fromReadme string
	for _, l := range strings.Split(string(readme), "\n") {
		if strings.HasPrefix(l, "mosquitto_pub ") {
			fromReadme = strings.Replace(l, "-p 1883", fmt.Sprintf("-p %d", broker.Port), 1)
		}
	}
	if fromReadme == "" {
		t.Fatal("README.md has no mosquitto_pub line")
	}
	runShell(t, fromReadme)
	wait.Until(t, 10*time.Second, "the status of the README's request", func() bool { return status.Count() == 2 })
	if m := status.Messages(); string(m[1]) != string(m[0]) {
		t.Errorf("the README's request (the same as the printed one) answered %s, want %s", m[1], m[0])
	}

	txt, call := greengrassExample(t, "txt"), greengrassExample(t, "call")
	mosquittotest.Publish(t, broker.URL, "twilio/txt", txt)
	mosquittotest.Publish(t, broker.URL, "twilio/call", call)
	wait.Until(t, 10*time.Second, "the statuses of the documentation's examples", func() bool { return status.Count() == 4 })

	sts := decodeStatuses(t, status)[1:]
	for i, st := range sts {
		p := st.Response.Payload
		if st.Response.Status != "success" || string(st.ID) != `"request123"` || p == nil || p.Messages.Name != "Darla" || p.Messages.MessageStatus != "queued" {
			t.Errorf("status %d: %s", i+1, status.Messages()[i+1])
		}
	}
	if p := sts[1].Response.Payload; p.FromNumber != "19999999999" || p.Messages.ToNumber != "12345000000" || !strings.HasPrefix(p.Messages.SID, "SM") {
		t.Errorf("txt status %s", status.Messages()[2])
	}
	if p := sts[2].Response.Payload; !strings.HasPrefix(p.Messages.SID, "CA") {
		t.Errorf("call status %s", status.Messages()[3])
	}
	if n := fake.CountSentTo("+12345000000"); n != 2 {
		t.Errorf("%d SMS and calls to the examples' recipient, want one of each", n)
	}
	sent := fake.Sent()
	if len(sent) != 2 || sent[0].Body != "Hello from the edge" || sent[1].From != "+19999999999" || sent[1].Body != "Hello from the edge" {
		t.Errorf("sent %+v", sent)
	}
	calls := fake.Calls()
	if len(calls) != 1 || calls[0].URL != "https://some-public-TwiML" || calls[0].To != "+12345000000" || calls[0].From != "+19999999999" {
		t.Errorf("calls %+v", calls)
	}

	// The same request again (a publisher retrying): answered the same, nothing sent again.
	mosquittotest.Publish(t, broker.URL, "twilio/txt", txt)
	wait.Until(t, 10*time.Second, "the repeated request's status", func() bool { return status.Count() == 5 })
	if m := status.Messages(); string(m[4]) != string(m[2]) {
		t.Errorf("repeat answered %s, first %s", m[4], m[2])
	}
	if n := len(fake.Sent()); n != 2 {
		t.Errorf("%d SMS after the repeat, want 2", n)
	}

	// The documentation's failure: a request without a recipient name.
	mosquittotest.Publish(t, broker.URL, "twilio/txt", `{"request": {"recipient": {"phone_number": "12345000000", "message": "Hi"}}, "id": "request124"}`)
	wait.Until(t, 10*time.Second, "the failure status", func() bool { return status.Count() == 6 })
	if f := decodeStatuses(t, status)[5]; f.Response.Status != "fail" || f.Response.Error != "InvalidParameter" || f.Response.Payload != nil || string(f.ID) != `"request124"` {
		t.Errorf("failure %s", status.Messages()[5])
	}
}

// The message options of send_sms ride beside message on twilio/txt: a content template
// (without message) and a scheduled message from a Messaging Service reach the Twilio
// stand-in as Twilio's parameters; an option breaking its rule is refused naming the field.
func TestMQTTMessageOptions(t *testing.T) {
	broker, fake, _, status := startMQTTDev(t)
	sendAt := time.Now().Add(time.Hour).UTC().Truncate(time.Second)
	mosquittotest.Publish(t, broker.URL, "twilio/txt",
		`{"request": {"recipient": {"name": "Ana", "phone_number": "whatsapp:14155550102", "content_sid": "HX0123456789abcdef0123456789abcdef", "content_variables": {"1": "Ana", "2": 10}},
		  "from_number": "whatsapp:15005550006"}, "id": "template-1"}`,
		`{"request": {"recipient": {"name": "Bo", "phone_number": "14155550103", "message": "Your visit is on Monday", "send_at": "`+sendAt.Format(time.RFC3339)+`",
		  "validity_period": 600, "smart_encoded": true, "shorten_urls": true}, "from_number": "`+testService+`"}, "id": "scheduled-1"}`,
		`{"request": {"recipient": {"name": "Cy", "phone_number": "14155550104", "message": "hi", "validity_period": 0}}, "id": "bad-1"}`,
		readmeMQTTOptionsExample(t, sendAt))
	wait.Until(t, 20*time.Second, "four statuses", func() bool { return status.Count() == 4 })

	byID := map[string]mqttapi.Status{}
	for _, st := range decodeStatuses(t, status) {
		byID[string(st.ID)] = st
	}
	if st := byID[`"template-1"`]; st.Response.Status != "success" || st.Response.Payload.Messages.MessageStatus != "queued" {
		t.Errorf("content template: %+v", st.Response)
	}
	if st := byID[`"scheduled-1"`]; st.Response.Status != "success" || st.Response.Payload.Messages.MessageStatus != "scheduled" {
		t.Errorf("scheduled: %+v", st.Response)
	}
	if st := byID[`"visit-42"`]; st.Response.Status != "success" || st.Response.Payload.Messages.MessageStatus != "scheduled" {
		t.Errorf("the README's example: %+v", st.Response)
	}
	if st := byID[`"bad-1"`]; st.Response.Status != "fail" || st.Response.Error != "InvalidParameter" ||
		!strings.HasPrefix(st.Response.ErrorMessage, "request.recipient.validity_period: ") || !strings.Contains(st.Response.ErrorMessage, "1 to 36000") {
		t.Errorf("validity_period 0: %+v", st.Response)
	}
	sent := fake.Sent()
	if len(sent) != 3 {
		t.Fatalf("the stand-in got %d messages, want 3: %+v", len(sent), sent)
	}
	for _, m := range sent {
		switch m.To {
		case "whatsapp:+14155550102":
			if m.ContentSID != "HX0123456789abcdef0123456789abcdef" || m.ContentVariables != `{"1":"Ana","2":"10"}` || m.Form.Has("Body") {
				t.Errorf("content template sent as %v", m.Form)
			}
		case "+14155550103": // the scheduled request, and the README's without the booleans
			booleans := map[string]string{"Your visit is on Monday": "true", "Your visit is tomorrow": ""}[m.Body]
			if m.MessagingServiceSID != testService || !m.SendAt.Equal(sendAt) || m.Form.Get("ScheduleType") != "fixed" || m.Form.Get("ValidityPeriod") != "600" ||
				m.Form.Get("SmartEncoded") != booleans || m.Form.Get("ShortenUrls") != booleans {
				t.Errorf("scheduled message sent as %v", m.Form)
			}
		default:
			t.Errorf("a message to %s", m.To)
		}
	}
}

// readmeMQTTOptionsExample is the README's MQTT request with message options, its send_at
// moved to sendAt (the README's date would be past, or too far ahead).
func readmeMQTTOptionsExample(t *testing.T, sendAt time.Time) string {
	t.Helper()
	readme, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, rest, ok := strings.Cut(string(readme), "- **Message options** (on `twilio/txt`")
	_, rest, ok2 := strings.Cut(rest, "```json\n")
	example, _, ok3 := strings.Cut(rest, "```")
	if !ok || !ok2 || !ok3 {
		t.Fatal("README.md's MQTT section has no JSON example of the message options")
	}
	var v any
	if err := json.Unmarshal([]byte(example), &v); err != nil {
		t.Fatalf("the README's MQTT options example is not JSON: %v\n%s", err, example)
	}
	return regexp.MustCompile(`"send_at": "[^"]*"`).ReplaceAllString(example, `"send_at": "`+sendAt.Format(time.RFC3339)+`"`)
}

// The broker restarts in the middle of a batch: requests in flight are not acknowledged, come
// back once the connector has reconnected, and every recipient still gets exactly one SMS and
// every request a status.
func TestMQTTBrokerRestartMidBatch(t *testing.T) {
	broker := mosquittotest.Start(t)
	w := newWorld(t)
	w.twilio.SetLatency(300 * time.Millisecond)
	p := w.startRun(t, "CONNECTOR_MQTT_URL="+broker.URL)
	status := mosquittotest.Subscribe(t, broker.URL, "twilio/message/status")
	wait.Until(t, 10*time.Second, "the connector to subscribe", func() bool {
		return strings.Contains(p.stderr.String(), "MQTT connected and subscribed")
	})

	const n = 40
	var reqs []string
	for i := range n {
		reqs = append(reqs, fmt.Sprintf(`{"request": {"recipient": {"name": "r%d", "phone_number": "141555501%02d", "message": "Batch %d"}, "retries": 2}, "id": "batch-%d"}`, i, 10+i, i, i))
	}
	mosquittotest.Publish(t, broker.URL, "twilio/txt", reqs...)
	wait.Until(t, 20*time.Second, "the first statuses", func() bool { return status.Count() >= 3 })
	before := status.Count()
	broker.Restart(500 * time.Millisecond)

	wait.Until(t, 60*time.Second, "a status for every request", func() bool {
		ids := map[string]bool{}
		for _, st := range decodeStatuses(t, status) {
			ids[string(st.ID)] = true
		}
		return len(ids) == n
	})
	batchSentOnce(t, w, n, before)
	for _, st := range decodeStatuses(t, status) {
		if st.Response.Status != "success" {
			t.Errorf("status %+v", st.Response)
		}
	}
	// Each request ran its action once; redeliveries, even those arriving while the first
	// delivery was still sending, were answered from its record.
	_, metrics := httpGet("http://" + p.httpAddr + "/metrics")
	if !strings.Contains(metrics, fmt.Sprintf(`twilio_connector_mqtt_requests_total{kind="txt",outcome="success"} %d`, n)) {
		t.Errorf("requests handled more than once: %s", grepLines(metrics, "twilio_connector_mqtt_requests_total"))
	}
	t.Logf("%d statuses before the restart, %d in all for %d requests; %s", before, status.Count(), n,
		grepLines(metrics, "twilio_connector_mqtt_requests_total"))
}

func grepLines(s, substr string) string {
	var out []string
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, substr) && !strings.HasPrefix(l, "#") {
			out = append(out, l)
		}
	}
	return strings.Join(out, "; ")
}

// batchSentOnce checks a broker restart mid-batch: the batch of n requests (to +14155550110,
// +14155550111, …) had not all been answered (before answers) when the broker went, and each
// recipient got exactly one SMS.
func batchSentOnce(t *testing.T, w *world, n, before int) {
	t.Helper()
	if before >= n {
		t.Fatalf("the batch had finished (%d answers) before the restart: not a mid-batch test", before)
	}
	for i := range n {
		if c := w.twilio.CountTo(fmt.Sprintf("+141555501%02d", 10+i)); c != 1 {
			t.Errorf("recipient %d got %d SMS", i, c)
		}
	}
}

// startMQTTDev runs dev with MQTT on a new mosquitto and the Twilio stand-in, and returns them
// once the entry point has subscribed, with a subscriber collecting the statuses.
func startMQTTDev(t *testing.T) (*mosquittotest.Broker, *twiliotest.Server, *devRun, *mosquittotest.Collector) {
	t.Helper()
	broker := mosquittotest.Start(t)
	fake := twiliotest.New(t)
	d := startDev(t, append(twilioEnv(fake), "CONNECTOR_MQTT_URL="+broker.URL, "TWILIO_DEFAULT_FROM=+15005550006")...)
	status := mosquittotest.Subscribe(t, broker.URL, "twilio/message/status")
	wait.Until(t, 10*time.Second, "the MQTT entry point to subscribe", func() bool {
		return strings.Contains(d.stderr.String(), "MQTT connected and subscribed")
	})
	return broker, fake, d, status
}
