package lint

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/twilio-connector/twilio-connector/templates"
)

// key identifies a finding in the table: "element field severity".
func key(f Finding) string {
	return strings.TrimSpace(f.Element + " " + f.Field + " " + string(f.Severity))
}

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		file string
		opts Options
		want []string
		// needsTemplateErrors: the case relies on templates.Compile rejecting malformed source.
		needsTemplateErrors bool
	}{
		{file: "good.bpmn"},
		{file: "good.bpmn", opts: Options{Prefix: "acme"}, want: []string{"confirm type warning"}},
		{file: "missing_sms_to.bpmn", want: []string{"notifyCustomer smsTo warning", "emptyMapping smsTo error", "emptyMapping smsBody warning"}},
		{file: "bad_template.bpmn", want: []string{"sendSms smsBody error"}, needsTemplateErrors: true},
		{file: "bad_regex.bpmn", want: []string{"orderSms inbound.pattern error", "possessive inbound.pattern error"}},
		{file: "bad_header.bpmn", want: []string{
			"sendSms retries error",
			"sendSms errorMode error", "sendSms retryBackoff error", "sendSms templateEngine error",
			"sendSms errormode warning",
		}},
		{file: "unknown_type.bpmn", want: []string{"sendMms type error"}},
		{file: "bad_call.bpmn", want: []string{"twoContents callMessage error", "badTwiml callFrom error", "badTwiml callTwiml error"}},
		{file: "call_contents.bpmn", want: []string{"twoFixed callMessage error"}},
		{file: "trigger_ttl.bpmn", want: []string{"answer inbound.connection error", "answer inbound.messageTtl error"}},
		{file: "inbound_feel.bpmn", want: []string{"order inbound.resultExpression error", "ask errorExpression error", "confirm inbound.activationCondition error"}},
		// FEEL that parses but gives what the worker or the trigger cannot use, on a sample
		// result or message: the finding says which; a guarded errorExpression is fine.
		{file: "header_values.bpmn", want: []string{"start inbound.correlationKeyExpression error", "notAContext resultExpression error", "codeOnly errorExpression error"}},
		{file: "bad_literals.bpmn", want: []string{
			"sendSms retries warning",
			"sendSms smsto warning",
			"sendSms smsFrom error", "sendSms smsTo error", "sendSms smsMediaUrl error", "sendSms smsTesting warning",
		}},
		{file: "bad_trigger.bpmn", want: []string{
			"noMessage message error", "noMessage inbound.to warning",
			"noKey message error", "noKey inbound.pattern error", "noKey correlationKey error",
			"receive inbound.type error",
			"retyped inbound.type error",
		}},
		{file: "message_options.bpmn", want: []string{
			"badOptions smsContentSid error", "badOptions smsValidityPeriod error",
			"cancelBad messageSid error", "getUnmapped messageSid warning",
		}},
		{file: "not_bpmn.bpmn", want: []string{"error"}},
	} {
		name := tc.file
		if tc.opts.Prefix != "" {
			name += "/prefix=" + tc.opts.Prefix
		}
		t.Run(name, func(t *testing.T) {
			if tc.needsTemplateErrors {
				if _, err := templates.Compile("probe", "Hello ${customerName", templates.Freemarker); err == nil {
					t.Skip("templates.Compile accepts an unclosed ${: the template translator has not landed yet")
				}
			}
			path := filepath.Join("testdata", tc.file)
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			findings := Check(path, data, tc.opts)
			var got []string
			for _, f := range findings {
				got = append(got, key(f))
				if f.File != path || f.Message == "" {
					t.Errorf("finding without file or message: %+v", f)
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("findings:\n  got  %q\n  want %q\n%s", got, tc.want, lines(findings))
			}
			if wantErr := slices.ContainsFunc(tc.want, func(k string) bool { return strings.HasSuffix(k, "error") }); HasErrors(findings) != wantErr {
				t.Errorf("HasErrors = %v, want %v", HasErrors(findings), wantErr)
			}
		})
	}
}

// FEEL that does not parse is reported on the element and the header or property it is in,
// with the parser's reason; the well-formed ones beside it are not.
func TestFEELFindings(t *testing.T) {
	path := filepath.Join("testdata", "inbound_feel.bpmn")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := lines(Check(path, data, Options{}))
	for _, want := range []string{
		`element order (Order by SMS): inbound.resultExpression: error: expression "={reference: matchGroups.ref," is outside the supported FEEL subset`,
		`element ask (Ask for confirmation): errorExpression: error: expression "=bpmnError(\"OPTED_OUT\", error.message" is outside the supported FEEL subset`,
		"every job of this task fails naming the header",
		`element confirm (Confirmed): inbound.activationCondition: error: expression "=matchGroups.answer = = \"YES\"" is outside the supported FEEL subset`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestFindingString(t *testing.T) {
	for _, tc := range []struct {
		f    Finding
		want string
	}{
		{Finding{File: "a.bpmn", Element: "sendSms", ElementName: "Send SMS", Field: "smsBody", Severity: Error, Message: "does not compile"},
			"a.bpmn: element sendSms (Send SMS): smsBody: error: does not compile"},
		{Finding{File: "a.bpmn", Element: "sendSms", Severity: Warning, Message: "m"}, "a.bpmn: element sendSms: warning: m"},
		{Finding{File: "a.bpmn", Severity: Error, Message: "not valid XML"}, "a.bpmn: error: not valid XML"},
	} {
		if got := tc.f.String(); got != tc.want {
			t.Errorf("got  %s\nwant %s", got, tc.want)
		}
	}
}

func TestMessagesNameTheFix(t *testing.T) {
	path := filepath.Join("testdata", "bad_header.bpmn")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := lines(Check(path, data, Options{}))
	for _, want := range []string{
		`errorMode: error: task header errorMode is "throw"`, `"bpmnError"`,
		`retryBackoff: error: task header retryBackoff is "soon"`, "PT30S",
		`templateEngine: error: task header templateEngine is "velocity"`,
		"did you mean errorMode?",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestCheckPaths(t *testing.T) {
	dir := t.TempDir()
	good, err := os.ReadFile(filepath.Join("testdata", "good.bpmn"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"a.bpmn", "sub/b.BPMN"} {
		if err := os.WriteFile(filepath.Join(dir, name), good, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "notes.txt"), []byte("not a model"), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(dir, "missing.bpmn")
	findings, files := CheckPaths([]string{dir, missing}, Options{})
	if files != 2 {
		t.Errorf("files = %d, want 2 (the .bpmn files below %s)", files, dir)
	}
	if len(findings) != 1 || findings[0].File != missing || findings[0].Severity != Error {
		t.Errorf("findings = %s, want one error for %s", lines(findings), missing)
	}
}

func lines(fs []Finding) string {
	var b strings.Builder
	for _, f := range fs {
		b.WriteString(f.String() + "\n")
	}
	return b.String()
}
