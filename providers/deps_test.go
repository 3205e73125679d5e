package providers_test

import (
	"os/exec"
	"strings"
	"testing"
)

// The transports, the inbound channels, the console, the SMPP client and lint reach providers
// only through the interface: none of them links twilio-go (only cmd/twilio-connector, which
// wires the providers, does).
func TestTransportsDoNotLinkTwilioGo(t *testing.T) {
	const twilioGo = "github.com/twilio/twilio-go"
	pkgs := []string{"worker", "httpapi", "mqttapi", "amqpapi", "console", "triggers", "smpp", "bpmn/lint", "actions"}
	for _, p := range pkgs {
		out, err := exec.Command("go", "list", "-deps", "github.com/twilio-connector/twilio-connector/"+p).CombinedOutput()
		if err != nil {
			t.Fatalf("go list -deps %s: %v\n%s", p, err, out)
		}
		for _, dep := range strings.Fields(string(out)) {
			if dep == twilioGo || strings.HasPrefix(dep, twilioGo+"/") {
				t.Errorf("%s links %s", p, dep)
				break
			}
		}
	}
}
