package test

import (
	"strings"
	"testing"
	"time"

	"github.com/twilio-connector/twilio-connector/test/mosquittotest"
	"github.com/twilio-connector/twilio-connector/test/wait"
)

// CONNECTOR_DEFAULT_REGION holds over MQTT as over HTTP: a national number ("4255550101" in the
// US) reaches +14255550101, while the Greengrass form (E.164 digits without the plus) still
// reads as international.
func TestMQTTHonoursDefaultRegion(t *testing.T) {
	broker := mosquittotest.Start(t)
	w := newWorld(t)
	p := w.startRun(t, "CONNECTOR_MQTT_URL="+broker.URL, "CONNECTOR_DEFAULT_REGION=US", "TWILIO_DEFAULT_FROM=+15005550006")
	status := mosquittotest.Subscribe(t, broker.URL, "twilio/message/status")
	wait.Until(t, 10*time.Second, "the connector to subscribe", func() bool {
		return strings.Contains(p.stderr.String(), "MQTT connected and subscribed")
	})
	mosquittotest.Publish(t, broker.URL, "twilio/txt", `{"request": {"recipient": {"name": "Ann", "phone_number": "4255550101", "message": "national"}}, "id": "r1"}`)
	mosquittotest.Publish(t, broker.URL, "twilio/txt", `{"request": {"recipient": {"name": "Bo", "phone_number": "442071838750", "message": "international"}}, "id": "r2"}`)
	wait.Until(t, 10*time.Second, "both statuses", func() bool { return status.Count() == 2 })
	for _, st := range decodeStatuses(t, status) {
		if st.Response.Status != "success" {
			t.Errorf("status %+v", st.Response)
		}
	}
	if n := w.twilio.CountSentTo("+14255550101"); n != 1 {
		t.Errorf("%d SMS to +14255550101, want 1", n)
	}
	if n := w.twilio.CountSentTo("+442071838750"); n != 1 {
		t.Errorf("%d SMS to +442071838750, want 1", n)
	}
}
