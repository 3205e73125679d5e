// Package lint checks BPMN process models that use the connector before they are deployed:
// task types the connector serves, send_sms inputs and task headers (the FEEL of
// resultExpression and errorExpression parsed), and SMS_RECEIVED trigger events (message,
// pattern, reply templates, the FEEL properties). Literal values are judged by the same code that
// uses them at run time (the send_sms action, the template compiler, the worker's header
// parsing), so lint and the running connector cannot disagree.
package lint

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/twilio-connector/twilio-connector/bpmn"
	"github.com/twilio-connector/twilio-connector/config"
)

// Severity of a finding. Only errors make the lint command fail.
type Severity string

const (
	// Error: the model fails at deploy or run time as written.
	Error Severity = "error"
	// Warning: the model may work, depending on things lint cannot see (process variables,
	// the connector's configuration).
	Warning Severity = "warning"
)

// Finding is one problem. Message says what is wrong and how to fix it.
type Finding struct {
	File        string   `json:"file"`
	Element     string   `json:"element,omitempty"`
	ElementName string   `json:"elementName,omitempty"`
	Field       string   `json:"field,omitempty"`
	Severity    Severity `json:"severity"`
	Message     string   `json:"message"`
}

// String is the one-line form: file.bpmn: element sendSms (Send SMS): smsBody: error: message.
func (f Finding) String() string {
	var b strings.Builder
	b.WriteString(f.File)
	b.WriteString(": ")
	if f.Element != "" {
		b.WriteString("element " + f.Element)
		if f.ElementName != "" {
			b.WriteString(" (" + f.ElementName + ")")
		}
		b.WriteString(": ")
	}
	if f.Field != "" {
		b.WriteString(f.Field + ": ")
	}
	b.WriteString(string(f.Severity) + ": " + f.Message)
	return b.String()
}

// Options are the deployment settings the checks depend on.
type Options struct {
	// Prefix is the job type prefix (CONNECTOR_JOB_TYPE_PREFIX); "" means the default.
	Prefix string
	// DefaultRegion (CONNECTOR_DEFAULT_REGION) lets literal phone numbers be in national form.
	DefaultRegion string
}

// HasErrors reports whether any finding is an error.
func HasErrors(findings []Finding) bool {
	return slices.ContainsFunc(findings, func(f Finding) bool { return f.Severity == Error })
}

// Check lints one BPMN document; name is the file name findings carry.
func Check(name string, data []byte, opts Options) []Finding {
	if opts.Prefix == "" {
		opts.Prefix = config.DefaultJobTypePrefix
	}
	defs, err := bpmn.Parse(name, data)
	if err != nil {
		return parseFindings(name, err)
	}
	l := &linter{file: name, opts: opts}
	for _, p := range defs.Processes {
		for _, el := range p.Elements {
			l.element(el)
		}
	}
	return l.findings
}

// CheckPaths lints files and, for directories, every *.bpmn file below them. Unreadable paths
// are error findings, so one bad argument does not hide the others' results.
func CheckPaths(paths []string, opts Options) (findings []Finding, files int) {
	for _, path := range paths {
		st, err := os.Stat(path)
		if err != nil {
			findings = append(findings, Finding{File: path, Severity: Error, Message: "cannot read: " + pathError(err)})
			continue
		}
		var names []string
		if st.IsDir() {
			err := filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
				if err != nil {
					return err
				}
				if !d.IsDir() && strings.EqualFold(filepath.Ext(p), ".bpmn") {
					names = append(names, p)
				}
				return nil
			})
			if err != nil {
				findings = append(findings, Finding{File: path, Severity: Error, Message: "cannot read: " + pathError(err)})
			}
			if len(names) == 0 && err == nil {
				findings = append(findings, Finding{File: path, Severity: Warning, Message: "no .bpmn files in this directory"})
			}
		} else {
			names = []string{path}
		}
		for _, name := range names {
			data, err := os.ReadFile(name)
			if err != nil {
				findings = append(findings, Finding{File: name, Severity: Error, Message: "cannot read: " + pathError(err)})
				continue
			}
			files++
			findings = append(findings, Check(name, data, opts)...)
		}
	}
	return findings, files
}

func pathError(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// parseFindings turns bpmn.Parse's joined errors into one finding each.
// split returns the errors joined in err (errors.Join), or err alone.
func split(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		return j.Unwrap()
	}
	return []error{err}
}

func parseFindings(name string, err error) []Finding {
	var out []Finding
	for _, e := range split(err) {
		f := Finding{File: name, Severity: Error, Message: e.Error()}
		var pe *bpmn.ParseError
		if errors.As(e, &pe) {
			f.Element, f.Message = pe.Element, pe.Msg
		}
		out = append(out, f)
	}
	return out
}

type linter struct {
	file     string
	opts     Options
	findings []Finding
}

func (l *linter) add(el *bpmn.Element, field string, sev Severity, format string, args ...any) {
	l.findings = append(l.findings, Finding{
		File: l.file, Element: el.ID, ElementName: el.Name, Field: field, Severity: sev,
		Message: fmt.Sprintf(format, args...),
	})
}

func (l *linter) element(el *bpmn.Element) {
	if el.TaskDefinition != nil {
		l.task(el)
	}
	l.trigger(el)
}
