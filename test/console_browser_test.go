package test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/twilio-connector/twilio-connector/actions"
	"github.com/twilio-connector/twilio-connector/test/cdp"
)

// consolePages are the console's pages, as the navigation names them.
var consolePages = []string{"send", "try", "triggers", "activity", "health"}

// screenshotDir is where the browser test saves its screenshots for review:
// $CONSOLE_SCREENSHOTS_DIR, else test/output/console (ignored by git).
func screenshotDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("CONSOLE_SCREENSHOTS_DIR")
	if dir == "" {
		dir = filepath.Join("output", "console")
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// startChromium starts headless Chromium, or skips the test without it (fails under CI=1).
func startChromium(t *testing.T) *cdp.Browser {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err != nil {
		if os.Getenv("CI") == "1" {
			t.Fatal("chromium is not installed (Debian package chromium; test/setup.sh installs it)")
		}
		t.Skip("chromium is not installed (Debian package chromium); CI=1 makes this a failure")
	}
	b, err := cdp.Start(path, t.TempDir(), os.Geteuid() == 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// The console in a real browser: `dev`'s Send form sends an SMS through the sandbox, the page
// shows the job's result, an Activity page opened before shows the send and then its
// delivery status without being reloaded, and every page fits 360 px. Screenshots of each
// page at 360 px and 1280 px are saved for review.
func TestConsoleInABrowser(t *testing.T) {
	b := startChromium(t)
	d := startDev(t)
	if !strings.Contains(d.stdout.String(), "http://"+d.http+"/console/") {
		t.Fatalf("dev did not print the console's URL:\n%s", d.stdout.String())
	}
	// Generous: a loaded 2-core CI machine runs Chromium beside the rest of the suite. Every
	// wait is for a condition, so a fast machine does not wait longer.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	dir := screenshotDir(t)
	t.Logf("screenshots in %s", dir)
	base := "http://" + d.http + "/console/"
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}

	// The Activity page is open before the send.
	watch, err := b.NewPage(ctx)
	must(err)
	must(watch.Navigate(ctx, base+"activity"))
	var before string
	must(watch.Eval(ctx, `document.getElementById("activity").textContent`, &before))
	if !strings.Contains(before, "No send yet") {
		t.Fatalf("the Activity page shows sends before any:\n%s", before)
	}

	p, err := b.NewPage(ctx)
	must(err)
	must(p.Navigate(ctx, base+"send"))
	must(p.Eval(ctx, `(() => {
		const f = document.getElementById("send-form");
		f.querySelector("#connection").value = "default";
		f.querySelector("#to").value = "+14155550100";
		f.querySelector("#body").value = "Order ${orderId} is ready";
		f.querySelector("#variables").value = '{"orderId": "A-7"}';
		f.querySelector("#testing").checked = false;
		f.querySelector("button[type=submit]").click();
	})()`, nil))
	must(p.WaitFor(ctx, `document.getElementById("result") !== null`))
	var shown struct{ Rendered, Segments, Result string }
	must(p.Eval(ctx, `({Rendered: document.getElementById("rendered").textContent,
		Segments: document.getElementById("segments").textContent, Result: document.getElementById("result").textContent})`, &shown))
	if shown.Rendered != "Order A-7 is ready" || shown.Segments != "1 segment (GSM-7)" {
		t.Fatalf("rendered %q, %q", shown.Rendered, shown.Segments)
	}
	var res actions.Result
	if err := json.Unmarshal([]byte(shown.Result), &res); err != nil {
		t.Fatalf("the result is not the job's JSON: %v\n%s", err, shown.Result)
	}
	if len(res.TwilioResult) != 1 || res.TwilioError != nil || res.TwilioResult[0].SID == nil ||
		!strings.HasPrefix(*res.TwilioResult[0].SID, "SM") || res.TwilioResult[0].To != "+14155550100" {
		t.Fatalf("result %s", shown.Result)
	}
	sid := *res.TwilioResult[0].SID
	must(shot(ctx, p, dir, "send-result"))

	// The open Activity page picks up the send and its delivery status by itself.
	row := fmt.Sprintf(`Array.from(document.querySelectorAll("#sends tbody tr")).find(r => r.textContent.includes(%q))`, sid)
	must(watch.WaitFor(ctx, row+` && `+row+`.querySelector(".status").textContent === "delivered"`))
	var text string
	must(watch.Eval(ctx, row+`.textContent`, &text))
	for _, want := range []string{"send_sms", "default", "+14155550100"} {
		if !strings.Contains(text, want) {
			t.Errorf("the Activity row lacks %q: %s", want, text)
		}
	}

	// An inbound SMS (dev's printed curl line) shows with the trigger it matched, published.
	runShell(t, printedCommand(t, d.stdout.String(), "an inbound SMS, as Twilio would post it"))
	inbound := `Array.from(document.querySelectorAll("#inbound tbody tr")).find(r => r.textContent.includes("status A-1042"))`
	must(watch.WaitFor(ctx, inbound))
	must(watch.Eval(ctx, inbound+`.textContent`, &text))
	if !strings.Contains(text, "orderStatusRequested: published") {
		t.Errorf("the inbound row does not show the trigger published: %s", text)
	}

	// Try a trigger, as match prints it, with the keyboard only: the first Tab reaches the
	// skip link, Enter moves to the page's content, Tabs reach the fields in order and Enter
	// submits.
	must(p.Navigate(ctx, base+"try"))
	must(p.Press(ctx, "Tab"))
	var focused string
	must(p.Eval(ctx, `document.activeElement.textContent`, &focused))
	if focused != "Skip to content" {
		t.Fatalf("the first Tab focuses %q, want the skip link", focused)
	}
	must(p.Press(ctx, "Enter"))
	must(p.WaitFor(ctx, `location.hash === "#main"`))
	must(p.Eval(ctx, `(() => {
		document.getElementById("pattern").value = "Order Number (?<orderNumber>.+)";
		document.getElementById("echo").value = "Your reference number is ${orderNumber}";
		document.getElementById("message").value = "Order Number 4711";
	})()`, nil))
	for _, id := range []string{"pattern", "echo", "echoError", "message"} {
		must(p.Press(ctx, "Tab"))
		must(p.Eval(ctx, `document.activeElement.id`, &focused))
		if focused != id {
			t.Fatalf("Tab focuses %q, want %q", focused, id)
		}
	}
	must(p.Eval(ctx, `document.getElementById("tto").focus()`, nil))
	must(p.Press(ctx, "Enter")) // submits the form from a text field
	must(p.WaitFor(ctx, `document.getElementById("match-output") !== null`))
	var tried struct {
		Matched     bool           `json:"matched"`
		MatchGroups map[string]any `json:"matchGroups"`
		Echo        string         `json:"echo"`
	}
	var out string
	must(p.Eval(ctx, `document.getElementById("match-output").textContent`, &out))
	if err := json.Unmarshal([]byte(out), &tried); err != nil || !tried.Matched || tried.MatchGroups["orderNumber"] != "4711" || tried.Echo != "Your reference number is 4711" {
		t.Fatalf("try: %v %s", err, out)
	}
	must(shot(ctx, p, dir, "try-result"))

	// Every page: loaded examples' triggers, the health of the dependencies, fits a phone.
	for _, name := range consolePages {
		must(p.Navigate(ctx, base+name))
		for _, width := range []int{360, 1280} {
			must(p.Resize(ctx, width, 800))
			var overflow int
			must(p.Eval(ctx, `document.documentElement.scrollWidth - window.innerWidth`, &overflow))
			if overflow > 0 {
				t.Errorf("%s is %d px wider than a %d px window", name, overflow, width)
			}
			must(p.Screenshot(ctx, filepath.Join(dir, fmt.Sprintf("%s-%d.png", name, width))))
		}
		var labelled bool
		must(p.Eval(ctx, `Array.from(document.querySelectorAll("input:not([type=hidden]), select, textarea")).every(e => e.labels && e.labels.length > 0)`, &labelled))
		if !labelled {
			t.Errorf("%s has a form control without a label", name)
		}
	}
	var triggersText, healthText string
	must(p.Navigate(ctx, base+"triggers"))
	must(p.Eval(ctx, `document.querySelector("main").textContent`, &triggersText))
	must(p.Navigate(ctx, base+"health"))
	must(p.Eval(ctx, `document.querySelector("main").textContent`, &healthText))
	if !strings.Contains(triggersText, "orderStatusRequested") || !strings.Contains(triggersText, "appointmentReply") {
		t.Errorf("the Triggers page lists no example trigger:\n%s", triggersText)
	}
	for _, want := range []string{"zeebe", "store", "default"} {
		if !strings.Contains(healthText, want) {
			t.Errorf("the Health page lacks %q:\n%s", want, healthText)
		}
	}
}

// shot saves the page at 360 px and 1280 px wide as name-360.png and name-1280.png.
func shot(ctx context.Context, p *cdp.Page, dir, name string) error {
	for _, width := range []int{360, 1280} {
		if err := p.Resize(ctx, width, 800); err != nil {
			return err
		}
		if err := p.Screenshot(ctx, filepath.Join(dir, fmt.Sprintf("%s-%d.png", name, width))); err != nil {
			return err
		}
	}
	return nil
}
