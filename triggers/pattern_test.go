package triggers

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestCompilePatternErrors(t *testing.T) {
	for _, tc := range []struct{ pattern, want string }{
		{"", "the pattern is empty"},
		{"   ", "the pattern is empty"},
		{`Order (?<n>\d+`, "unclosed group"},
		{`a*+`, ""},
		{`[a-z&&[^aeiou]]`, ""},
		{`[[:alpha:]]`, ""}, // Java: a nested class of : a l p h
		{`(?<order_number>.+)`, `group name "order_number" is not valid`},
		{`(?<n>a)(?<n>b)`, "already defined"},
		{`a{,4}`, "illegal repetition"},
		{`\p{Latin}`, "unknown character property"},
		{`(?i)(a)\1`, "(?-i:\\1)"},
		{`\X`, "grapheme cluster"},
		{`(?<from>.+)`, ""}, // valid pattern; the reserved-name check is in Compile
		{`(?#note)x`, "comments are not Java syntax"},
		{`(?'n'x)`, "(?<name>…) in Java"},
		{`(?U)x`, ""},
		{`(?c)x`, "canonical equivalence"},
		{`\y`, `\y`},
	} {
		_, err := CompilePattern(tc.pattern, 0)
		switch {
		case tc.want == "" && err != nil:
			t.Errorf("%q: %v", tc.pattern, err)
		case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
			t.Errorf("%q: error %v, want it to contain %q", tc.pattern, err, tc.want)
		case err != nil && strings.Contains(err.Error(), `\A(?:`):
			t.Errorf("%q: the error shows the internal translation: %v", tc.pattern, err)
		}
	}
	if _, err := Compile(Definition{Element: "e", MessageName: "m", Pattern: `(?<from>.+)`}, 0); err == nil || !strings.Contains(err.Error(), "also a reply variable") {
		t.Errorf("a group named from: %v", err)
	}
}

func TestPatternTimeout(t *testing.T) {
	p, err := CompilePattern(`(a+)+b`, 20*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	_, ok, err := p.Match(strings.Repeat("a", 64) + "c")
	if ok || !errors.Is(err, ErrMatchTimeout) {
		t.Errorf("catastrophic pattern: ok=%v err=%v, want ErrMatchTimeout", ok, err)
	}
}

func TestPatternTimeoutInWebhookIsNoMatch(t *testing.T) {
	d := Definition{Source: "t", Element: "slow", MessageName: "slow", Pattern: `(a+)+b`}
	h := newHarness(t, []Definition{d, orderTrigger}, harnessOptions{})
	delta := outcomeDelta(OutcomeNoMatch)
	r := h.send(inbound(customer, ourNumber, strings.Repeat("a", 40)+"c"))
	if r.status != 200 || r.body != emptyReply || delta() != 1 {
		t.Errorf("answer %d %q", r.status, r.body)
	}
	if !strings.Contains(h.logs.String(), "timed out") {
		t.Errorf("the timeout is not logged")
	}
}

func TestJavaTrim(t *testing.T) {
	if got := JavaTrim("\x00\t a b \n\x1f"); got != "a b" {
		t.Errorf("JavaTrim = %q", got)
	}
	if got := JavaTrim("\u00a0a\u00a0"); got != "\u00a0a\u00a0" {
		t.Errorf("JavaTrim trims U+00A0 (Java's trim does not): %q", got)
	}
}

func TestOptOutKeywords(t *testing.T) {
	for _, s := range []string{"STOP", "stop", " Stop\n", "unsubscribe", "INFO", "yes", "Unstop"} {
		if !IsOptOutKeyword(s) {
			t.Errorf("%q is not recognised", s)
		}
	}
	for _, s := range []string{"STOP please", "stopp", "", "yes!"} {
		if IsOptOutKeyword(s) {
			t.Errorf("%q is taken for a keyword", s)
		}
	}
}

func TestTwiML(t *testing.T) {
	got := string(twiml([]string{"a < b & \"c\" 'd' >", " ", "line1\nline2 😀"}))
	want := `<?xml version="1.0" encoding="UTF-8"?><Response><Message>a &lt; b &amp; &#34;c&#34; &#39;d&#39; &gt;</Message><Message>line1&#xA;line2 😀</Message></Response>`
	if got != want {
		t.Errorf("twiml =\n%s\nwant\n%s", got, want)
	}
}
