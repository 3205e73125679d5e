package providers_test

import (
	"os/exec"
	"slices"
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

const module = "github.com/twilio-connector/twilio-connector/"

// deps is every package p links, module packages without the module prefix.
func deps(t *testing.T, p string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", module+p).CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps %s: %v\n%s", p, err, out)
	}
	var ds []string
	for _, d := range strings.Fields(string(out)) {
		ds = append(ds, strings.TrimPrefix(d, module))
	}
	return ds
}

// The transports and the inbound channels know no provider kind (they get providers from the
// connections cmd/twilio-connector builds), and no provider or the SMPP client knows Zeebe or a
// transport. providers/segments is a shared helper, not a provider.
func TestLayers(t *testing.T) {
	out, err := exec.Command("go", "list", module+"providers/...").CombinedOutput()
	if err != nil {
		t.Fatalf("go list providers/...: %v\n%s", err, out)
	}
	var kinds []string // every provider package
	for _, p := range strings.Fields(string(out)) {
		if p = strings.TrimPrefix(p, module); p != "providers" && p != "providers/segments" {
			kinds = append(kinds, p)
		}
	}
	if len(kinds) < 4 {
		t.Fatalf("go list providers/... found only %v", kinds)
	}
	for _, p := range []string{"worker", "httpapi", "mqttapi", "amqpapi", "console", "triggers", "actions"} {
		for _, d := range deps(t, p) {
			if slices.Contains(kinds, d) || d == "smpp" || strings.HasPrefix(d, "smpp/") {
				t.Errorf("%s links the provider package %s", p, d)
			}
		}
	}
	above := []string{"worker", "httpapi", "mqttapi", "amqpapi", "console", "triggers", "actions", "bpmn/engine"}
	for _, p := range append(kinds, "providers", "smpp") {
		for _, d := range deps(t, p) {
			if slices.Contains(above, d) || strings.HasPrefix(d, "github.com/camunda/") {
				t.Errorf("%s links %s", p, d)
			}
		}
	}
}
