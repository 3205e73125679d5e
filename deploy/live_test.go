package deploy

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/camunda/zeebe/clients/go/v8/pkg/zbc"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/twilio-connector/twilio-connector/metrics"
	"github.com/twilio-connector/twilio-connector/test/devproc"
	"github.com/twilio-connector/twilio-connector/test/loopback"
	"github.com/twilio-connector/twilio-connector/test/wait"
)

// scrape returns the metric names in a /metrics answer (histograms as their _bucket, _sum and
// _count series) and the families by type.
func scrape(t *testing.T, body string) (names map[string]bool, types map[string]string) {
	t.Helper()
	names, types = map[string]bool{}, map[string]string{}
	sc := bufio.NewScanner(strings.NewReader(body))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if f := strings.Fields(line); len(f) == 4 && f[0] == "#" && f[1] == "TYPE" {
			types[f[2]] = f[3]
		}
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		names[line[:strings.IndexAny(line, "{ ")]] = true
	}
	return names, types
}

// PromQL pieces that are not metric names: strings, label matchers, ranges and the label lists
// of aggregations and vector matching.
var (
	promStrings    = regexp.MustCompile(`"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'`)
	promMatchers   = regexp.MustCompile(`\{[^}]*\}`)
	promRanges     = regexp.MustCompile(`\[[^\]]*\]|\boffset\s+-?[0-9a-z]+`)
	promLabelLists = regexp.MustCompile(`\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)`)
	promIdentifier = regexp.MustCompile(`[A-Za-z_:][A-Za-z0-9_:]*`)
	promKeywords   = []string{"and", "or", "unless", "bool", "offset", "by", "without", "on", "ignoring", "group_left", "group_right", "inf", "nan", "Inf", "NaN"}
)

// metricNames returns the metric names a PromQL expression selects.
func metricNames(expr string) []string {
	s := promStrings.ReplaceAllString(expr, " ")
	s = promMatchers.ReplaceAllString(s, " ")
	s = promRanges.ReplaceAllString(s, " ")
	s = promLabelLists.ReplaceAllString(s, " ")
	var names []string
	for _, loc := range promIdentifier.FindAllStringIndex(s, -1) {
		name := s[loc[0]:loc[1]]
		if strings.HasPrefix(strings.TrimSpace(s[loc[1]:]), "(") || slices.Contains(promKeywords, name) {
			continue // a function or an aggregation
		}
		names = append(names, name)
	}
	return names
}

func TestMetricNames(t *testing.T) {
	for expr, want := range map[string][]string{
		`histogram_quantile(0.95, sum by (le, type) (rate(a_bucket{x="y",z=~"w.*"}[$__rate_interval])))`: {"a_bucket"},
		`sum(rate(a_total{outcome!="sent"}[5m])) / sum(rate(b_total[5m]))`:                               {"a_total", "b_total"},
		`max(c) and on (instance) d offset 5m`:                                                           {"c", "d"},
		`sum without (le) (e)`:                                                                           {"e"},
	} {
		if got := metricNames(expr); !slices.Equal(got, want) {
			t.Errorf("metricNames(%s) = %v, want %v", expr, got, want)
		}
	}
}

// panel is a Grafana panel with its queries; rows hold panels.
type panel struct {
	Title   string  `json:"title"`
	Panels  []panel `json:"panels"`
	Targets []struct {
		Expr string `json:"expr"`
	} `json:"targets"`
}

func dashboardPanels(t *testing.T) []panel {
	t.Helper()
	data, err := os.ReadFile("grafana/twilio-connector.json")
	if err != nil {
		t.Fatal(err)
	}
	var d struct {
		UID    string  `json:"uid"`
		Title  string  `json:"title"`
		Panels []panel `json:"panels"`
	}
	if err := json.Unmarshal(data, &d); err != nil {
		t.Fatalf("grafana/twilio-connector.json: %v", err)
	}
	if d.UID == "" || d.Title == "" {
		t.Error("the dashboard has no uid or title")
	}
	var all []panel
	var walk func([]panel)
	walk = func(ps []panel) {
		for _, p := range ps {
			all = append(all, p)
			walk(p.Panels)
		}
	}
	walk(d.Panels)
	return all
}

// The image's binary, started as `dev`, answers the Deployment's probes, and after a send and
// an inbound SMS exports every metric the dashboard queries that has samples by then, the
// others are families the connector registers; the dashboard shows every connector family.
func TestProbesAndDashboardAgainstTheBinary(t *testing.T) {
	bin := dockerBinary(t)
	objs := kubernetes(t)
	_, c := connector(t, objs)
	// Paced (far above what the tests send), so that the pace metrics are exported too.
	dev := devproc.Start(t, bin, nil, "TWILIO_PACE_SENDERS=+15005550006=100")
	httpAddr, gateway := dev.HTTP, dev.Gateway

	for _, p := range []*probe{c.StartupProbe, c.LivenessProbe, c.ReadinessProbe} {
		if p == nil || p.HTTPGet == nil {
			continue // TestKubernetesPorts reports it
		}
		if code, body := loopback.Get("http://" + httpAddr + p.HTTPGet.Path); code != 200 {
			t.Errorf("probe GET %s: %d %s", p.HTTPGet.Path, code, body)
		}
	}

	// A send (a job, a Twilio request) and an inbound SMS (a webhook request).
	client, err := zbc.NewClient(&zbc.ClientConfig{GatewayAddress: gateway, UsePlaintextConnection: true})
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	create, err := client.NewCreateInstanceCommand().BPMNProcessId("orderReadyForPickup").LatestVersion().VariablesFromMap(map[string]any{
		"customerName": "Ana", "customerPhone": "+14155550100", "orderId": "A-1042", "store": "Main Street"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := create.WithResult().Send(ctx); err != nil {
		t.Fatalf("the example process: %v", err)
	}
	sms := exec.CommandContext(ctx, bin, "sms", "--url", "http://"+httpAddr+"/twilio/sms", "--from", "+14155550100", "--to", "+15005550006", "status A-1042")
	sms.Env = []string{"PATH=/usr/bin:/bin"}
	if out, err := sms.CombinedOutput(); err != nil {
		t.Fatalf("sms: %v\n%s", err, out)
	}

	var names map[string]bool
	var types map[string]string
	wait.Until(t, 10*time.Second, "the job and the inbound SMS in /metrics", func() bool {
		_, body := loopback.Get("http://" + httpAddr + "/metrics")
		names, types = scrape(t, body)
		return names["twilio_connector_jobs_total"] && names["twilio_connector_webhook_requests_total"]
	})

	// Families without a sample yet (AMQP, MQTT, pacing: dev uses none) are not in the scrape;
	// the binary's registry describes them all.
	registered := registeredFamilies()
	used := map[string]bool{}
	for _, p := range dashboardPanels(t) {
		for _, target := range p.Targets {
			found := metricNames(target.Expr)
			if len(found) == 0 {
				t.Errorf("panel %q: no metric in %s", p.Title, target.Expr)
			}
			for _, n := range found {
				family := n
				if base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(n, "_bucket"), "_sum"), "_count"); registered[base] {
					family = base
				}
				used[family] = true
				if _, sampled := types[family]; sampled && !names[n] || !sampled && !registered[family] {
					t.Errorf("panel %q queries %s, which the connector does not export", p.Title, n)
				}
			}
		}
	}
	for family := range registered {
		if strings.HasPrefix(family, "twilio_connector_") && !used[family] {
			t.Errorf("the dashboard shows nothing of %s", family)
		}
	}
}

// registeredFamilies are the names of the metric families the connector registers, with
// samples or not.
func registeredFamilies() map[string]bool {
	ch := make(chan *prometheus.Desc)
	go func() { metrics.Registry.Describe(ch); close(ch) }()
	fqName := regexp.MustCompile(`fqName: "([^"]+)"`)
	names := map[string]bool{}
	for d := range ch {
		if m := fqName.FindStringSubmatch(d.String()); m != nil {
			names[m[1]] = true
		}
	}
	return names
}
