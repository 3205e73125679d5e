package elementtemplates

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/twilio-connector/twilio-connector/actions"
	"github.com/twilio-connector/twilio-connector/config"
	"github.com/twilio-connector/twilio-connector/errs"
	"github.com/twilio-connector/twilio-connector/templates"
	"github.com/twilio-connector/twilio-connector/triggers"
	"github.com/twilio-connector/twilio-connector/worker"
)

// schemaPath is where test/setup.sh installs Camunda's element template schema
// (npm package @camunda/zeebe-element-templates-json-schema).
var schemaPath = filepath.Join("..", "..", "test", "node_modules", "@camunda", "zeebe-element-templates-json-schema", "resources", "schema.json")

func loadSchema(t *testing.T) *jsonschema.Schema {
	t.Helper()
	f, err := os.Open(schemaPath)
	if errors.Is(err, fs.ErrNotExist) {
		if os.Getenv("CI") != "" {
			t.Fatalf("%s is missing: test/setup.sh must install the npm packages of test/package.json", schemaPath)
		}
		t.Skipf("%s is missing: run bash test/setup.sh", schemaPath)
	}
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if err != nil {
		t.Fatalf("%s: %v", schemaPath, err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource("schema.json", doc); err != nil {
		t.Fatal(err)
	}
	sch, err := c.Compile("schema.json")
	if err != nil {
		t.Fatalf("compile %s: %v", schemaPath, err)
	}
	return sch
}

func TestTemplatesMatchCamundaSchema(t *testing.T) {
	sch := loadSchema(t)
	names, err := fs.Glob(FS(), "*.json")
	if err != nil {
		t.Fatal(err)
	}
	if len(names) < 3 {
		t.Fatalf("found %d templates: %v", len(names), names)
	}
	for _, name := range names {
		t.Run(name, func(t *testing.T) {
			data, err := fs.ReadFile(FS(), name)
			if err != nil {
				t.Fatal(err)
			}
			inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
			if err != nil {
				t.Fatalf("not JSON: %v", err)
			}
			if err := sch.Validate(inst); err != nil {
				t.Errorf("does not match Camunda's element template schema:\n%v", err)
			}
		})
	}
}

// The schema accepts a template without version; the Modeler then cannot tell an upgraded
// template from the old one, so every template here carries id and version.
func TestTemplatesHaveUniqueIDAndVersion(t *testing.T) {
	all, err := All()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	for _, tm := range all {
		if tm.ID == "" || tm.Version < 1 {
			t.Errorf("%s: id %q version %d: both are required", tm.File, tm.ID, tm.Version)
		}
		key := fmt.Sprintf("%s@%d", tm.ID, tm.Version)
		if other, ok := seen[key]; ok {
			t.Errorf("%s and %s both are %s version %d", other, tm.File, tm.ID, tm.Version)
		}
		seen[key] = tm.File
	}
}

func byID(t *testing.T, id string) Template {
	t.Helper()
	all, err := All()
	if err != nil {
		t.Fatal(err)
	}
	var found *Template
	for i := range all {
		if all[i].ID == id && (found == nil || all[i].Version > found.Version) {
			found = &all[i]
		}
	}
	if found == nil {
		t.Fatalf("no template with id %s", id)
	}
	return *found
}

func TestSendSMSTemplateMatchesWorker(t *testing.T) {
	tm := byID(t, SendSMSID)

	var taskType string
	for _, p := range tm.Bindings(BindingTaskDefinition) {
		if p.Binding.Property == "type" {
			taskType, _ = p.Value.(string)
			if p.Type != "Hidden" {
				t.Errorf("task type is a %s property; keep it Hidden so modelers cannot break it", p.Type)
			}
		}
	}
	if want := actions.SendSMS.JobType(config.DefaultJobTypePrefix); taskType != want {
		t.Errorf("task type = %q, the worker serves %q", taskType, want)
	}

	headers := map[string]Property{}
	for _, p := range tm.Bindings(BindingTaskHeader) {
		headers[p.Binding.Key] = p
	}
	wantHeaders := slices.Sorted(slices.Values([]string{worker.HeaderConnection, worker.HeaderErrorMode, worker.HeaderRetryBackoff, worker.HeaderTemplateEngine,
		worker.HeaderResultVariable, worker.HeaderResultExpression, worker.HeaderErrorExpression, HeaderElementTemplateID, HeaderElementTemplateVersion}))
	if got := sortedKeys(headers); !slices.Equal(got, wantHeaders) {
		t.Errorf("task header bindings = %v, the worker reads %v", got, wantHeaders)
	}
	if got := choiceValues(headers[worker.HeaderErrorMode]); !slices.Equal(got, []string{"", worker.ErrorModeBPMN}) {
		t.Errorf("errorMode choices = %q, the worker accepts \"\" and %q", got, worker.ErrorModeBPMN)
	}
	engines := choiceValues(headers[worker.HeaderTemplateEngine])
	if len(engines) == 0 {
		t.Errorf("templateEngine has no choices")
	}
	for _, v := range engines {
		if _, err := templates.ParseEngine(worker.HeaderTemplateEngine, v); err != nil {
			t.Errorf("templateEngine choice %q: %v", v, err)
		}
	}
}

// The task templates follow Camunda's connector templates: the output in resultVariable /
// resultExpression headers (no output mappings of their own), the sections named as
// Camunda's, and the template's id and version in hidden headers.
func TestTaskTemplatesFollowCamundaConventions(t *testing.T) {
	for _, id := range []string{SendSMSID, MakeCallID, GetMessageID, CancelMessageID} {
		t.Run(id, func(t *testing.T) {
			tm := byID(t, id)
			if outs := tm.Bindings(BindingOutput); len(outs) > 0 {
				t.Errorf("%d zeebe:output bindings: map the result with resultVariable/resultExpression instead", len(outs))
			}
			groups := map[string]string{}
			for _, g := range tm.Groups {
				groups[g.ID] = g.Label
			}
			where := map[string]string{} // binding key or property: group label
			for _, p := range tm.Properties {
				k := p.Binding.Key + p.Binding.Property
				if p.Type != "Hidden" {
					where[k] = groups[p.Group]
				}
			}
			for k, label := range map[string]string{
				worker.HeaderResultVariable: "Output mapping", worker.HeaderResultExpression: "Output mapping",
				worker.HeaderErrorExpression: "Error handling", worker.HeaderErrorMode: "Error handling",
				"retries": "Retries", worker.HeaderRetryBackoff: "Retries",
			} {
				if where[k] != label {
					t.Errorf("%s is in section %q, want %q as in Camunda's templates", k, where[k], label)
				}
			}
			for _, p := range tm.Bindings(BindingTaskHeader) {
				if (p.Binding.Key == worker.HeaderResultExpression || p.Binding.Key == worker.HeaderErrorExpression) && p.Feel != "required" {
					t.Errorf("%s feel = %q, want required (it is a FEEL expression)", p.Binding.Key, p.Feel)
				}
			}
			checkTemplateHeaders(t, tm)
		})
	}
}

// checkTemplateHeaders checks the hidden elementTemplateId/Version headers carry tm's own id
// and version.
func checkTemplateHeaders(t *testing.T, tm Template) {
	t.Helper()
	want := map[string]string{HeaderElementTemplateID: tm.ID, HeaderElementTemplateVersion: strconv.Itoa(tm.Version)}
	got := map[string]string{}
	for _, p := range tm.Bindings(BindingTaskHeader) {
		if _, ok := want[p.Binding.Key]; ok {
			if p.Type != "Hidden" {
				t.Errorf("%s: header %s is a %s property, want Hidden", tm.File, p.Binding.Key, p.Type)
			}
			got[p.Binding.Key], _ = p.Value.(string)
		}
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("%s: template headers %v, want %v", tm.File, got, want)
	}
}

// Every task template that writes elementTemplateId/Version headers writes its own.
func TestTemplateHeadersMatchEveryVersion(t *testing.T) {
	all, err := All()
	if err != nil {
		t.Fatal(err)
	}
	for _, tm := range all {
		for _, p := range tm.Bindings(BindingTaskHeader) {
			if p.Binding.Key == HeaderElementTemplateID {
				checkTemplateHeaders(t, tm)
				break
			}
		}
	}
}

// The input bindings must be exactly send_sms's fields, and the ones the template insists on
// (notEmpty, not optional) exactly the ones actions.ParseSMSRequest rejects when absent. The
// content inputs (smsBody, smsMediaUrl, smsContentSid) are optional each: the action wants one
// of them, which a template cannot say.
func TestSendSMSTemplateInputsMatchAction(t *testing.T) {
	tm := byID(t, SendSMSID)
	inputs := map[string]Property{}
	for _, p := range tm.Bindings(BindingInput) {
		inputs[p.Binding.Name] = p
	}
	wantInputs := slices.Sorted(slices.Values(actions.SendSMS.Fields))
	if got := sortedKeys(inputs); !slices.Equal(got, wantInputs) {
		t.Fatalf("input bindings = %v, send_sms reads %v", got, wantInputs)
	}

	sample := map[string]any{
		actions.FieldSMSFrom:       "+15005550006",
		actions.FieldSMSTo:         []any{"+14155550100"},
		actions.FieldSMSBody:       "Hello",
		actions.FieldSMSMediaURL:   []any{"https://example.com/a.png"},
		actions.FieldSMSTesting:    true,
		actions.FieldSMSContentSID: "HX0123456789abcdef0123456789abcdef",
	}
	required := map[string]bool{}
	for name, p := range inputs {
		required[name] = p.Constraints.NotEmpty && !p.Optional
	}
	vars := map[string]any{}
	for name, req := range required {
		if req {
			vars[name] = sample[name]
		}
	}
	contents := []string{actions.FieldSMSBody, actions.FieldSMSMediaURL, actions.FieldSMSContentSID}
	for _, c := range contents {
		if required[c] {
			t.Errorf("%s is required by the template: with another content input it may be left empty", c)
		}
	}
	if _, err := actions.ParseSMSRequest(vars); err == nil || errs.As(err).Code != errs.MissingInput {
		t.Errorf("with only the template's required inputs %v and no content, send_sms says %v", sortedKeys(vars), err)
	}
	for _, c := range contents {
		one := map[string]any{c: sample[c]}
		for k, v := range vars {
			one[k] = v
		}
		if _, err := actions.ParseSMSRequest(one); err != nil {
			t.Fatalf("with the template's required inputs and %s, send_sms fails: %v", c, err)
		}
	}
	vars[actions.FieldSMSBody] = sample[actions.FieldSMSBody]
	for name, req := range required {
		if slices.Contains(contents, name) {
			continue // checked above
		}
		without := map[string]any{}
		for k, v := range vars {
			if k != name {
				without[k] = v
			}
		}
		_, err := actions.ParseSMSRequest(without)
		missing := err != nil && errs.As(err).Code == errs.MissingInput && errs.As(err).Field == name
		if missing != req {
			t.Errorf("%s: template required=%v, but without it send_sms returns %v", name, req, err)
		}
	}
	if p := inputs[actions.FieldSMSTo]; p.Feel != "required" {
		t.Errorf("smsTo feel = %q: it is a list, so the field must be a FEEL expression", p.Feel)
	}
}

func TestMakeCallTemplateMatchesAction(t *testing.T) {
	tm := byID(t, MakeCallID)
	var jobType string
	inputs := map[string]Property{}
	for _, p := range tm.Properties {
		if p.Binding.Type == "zeebe:taskDefinition" && p.Binding.Property == "type" {
			jobType = p.Value.(string)
		}
	}
	for _, p := range tm.Bindings(BindingInput) {
		inputs[p.Binding.Name] = p
	}
	if want := actions.MakeCall.JobType(config.DefaultJobTypePrefix); jobType != want {
		t.Errorf("task type %q, want %q", jobType, want)
	}
	want := slices.Sorted(slices.Values(actions.MakeCall.Fields))
	if got := sortedKeys(inputs); !slices.Equal(got, want) {
		t.Fatalf("input bindings = %v, make_call reads %v", got, want)
	}
	for name, p := range inputs {
		if req := p.Constraints.NotEmpty && !p.Optional; req != (name == actions.FieldCallTo) {
			t.Errorf("%s: required=%v; only callTo is required on its own (one of the contents is checked by the action)", name, req)
		}
	}
	if _, err := actions.ParseCallRequest(map[string]any{actions.FieldCallTo: []any{"+14155550100"}, actions.FieldCallMessage: "hi"}); err != nil {
		t.Fatal(err)
	}
}

// The Cancel scheduled SMS and Get message templates serve their actions' job types with
// exactly their inputs; the message SID is required.
func TestMessageTemplatesMatchActions(t *testing.T) {
	for _, tc := range []struct {
		id   string
		spec actions.Spec
	}{{CancelMessageID, actions.CancelMessage}, {GetMessageID, actions.GetMessage}} {
		tm := byID(t, tc.id)
		var jobType string
		for _, p := range tm.Bindings(BindingTaskDefinition) {
			if p.Binding.Property == "type" {
				jobType, _ = p.Value.(string)
			}
		}
		if want := tc.spec.JobType(config.DefaultJobTypePrefix); jobType != want {
			t.Errorf("%s: task type %q, want %q", tc.id, jobType, want)
		}
		inputs := map[string]Property{}
		for _, p := range tm.Bindings(BindingInput) {
			inputs[p.Binding.Name] = p
		}
		if got, want := sortedKeys(inputs), slices.Sorted(slices.Values(tc.spec.Fields)); !slices.Equal(got, want) {
			t.Errorf("%s: input bindings %v, %s reads %v", tc.id, got, tc.spec.Name, want)
		}
		if p := inputs[actions.FieldMessageSID]; !p.Constraints.NotEmpty || p.Optional {
			t.Errorf("%s: messageSid must be required", tc.id)
		}
		headers := map[string]Property{}
		for _, p := range tm.Bindings(BindingTaskHeader) {
			headers[p.Binding.Key] = p
		}
		if got, want := sortedKeys(headers), slices.Sorted(slices.Values([]string{worker.HeaderConnection, worker.HeaderErrorMode, worker.HeaderRetryBackoff,
			worker.HeaderResultVariable, worker.HeaderResultExpression, worker.HeaderErrorExpression, HeaderElementTemplateID, HeaderElementTemplateVersion})); !slices.Equal(got, want) {
			t.Errorf("%s: task headers %v, want %v", tc.id, got, want)
		}
	}
}

// The property names the SMS-received templates write are the ones the trigger loader reads.
var triggerProperties = []string{triggers.PropertyType, triggers.PropertyPattern, triggers.PropertyEcho, triggers.PropertyEchoError, triggers.PropertyTo, triggers.PropertyConnection, triggers.PropertyMessageTTL,
	triggers.PropertyActivationCondition, triggers.PropertyCorrelationKeyExpression, triggers.PropertyResultExpression, triggers.PropertyMessageIDExpression}

// The FEEL properties and the sections Camunda's inbound templates put them in.
var triggerFEEL = map[string]string{
	triggers.PropertyActivationCondition:      "Activation",
	triggers.PropertyCorrelationKeyExpression: "Correlation",
	triggers.PropertyMessageIDExpression:      "Correlation",
	triggers.PropertyResultExpression:         "Output mapping",
}

func TestSMSReceivedTemplatesMatchTrigger(t *testing.T) {
	for _, tc := range []struct {
		id, element      string
		correlationKeyed bool
	}{
		{SMSReceivedStartID, "bpmn:StartEvent", false},
		{SMSReceivedCatchID, "bpmn:IntermediateCatchEvent", true},
	} {
		t.Run(tc.id, func(t *testing.T) {
			tm := byID(t, tc.id)
			if tm.ElementType.Value != tc.element || tm.ElementType.EventDefinition != "bpmn:MessageEventDefinition" {
				t.Errorf("elementType = %+v, want %s with a message event definition", tm.ElementType, tc.element)
			}
			props := map[string]Property{}
			for _, p := range tm.Bindings(BindingProperty) {
				props[p.Binding.Name] = p
			}
			want := slices.Sorted(slices.Values(triggerProperties))
			if got := sortedKeys(props); !slices.Equal(got, want) {
				t.Errorf("zeebe:property bindings = %v, the trigger reads %v", got, want)
			}
			if p := props[triggers.PropertyType]; p.Type != "Hidden" || p.Value != triggers.TypeSMSReceived {
				t.Errorf("%s = %s %v, want Hidden %s", triggers.PropertyType, p.Type, p.Value, triggers.TypeSMSReceived)
			}
			groups := map[string]string{}
			for _, g := range tm.Groups {
				groups[g.ID] = g.Label
			}
			for name, label := range triggerFEEL {
				p := props[name]
				if p.Feel != "required" || !p.Optional || groups[p.Group] != label {
					t.Errorf("%s: feel %q optional %v section %q; want a FEEL expression, optional, in %q", name, p.Feel, p.Optional, groups[p.Group], label)
				}
			}
			if p := props[triggers.PropertyPattern]; !p.Constraints.NotEmpty {
				t.Errorf("%s is not required", triggers.PropertyPattern)
			}
			var name, key bool
			for _, p := range tm.Bindings(BindingMessage) {
				name = name || (p.Binding.Name == "name" && p.Constraints.NotEmpty)
			}
			for _, p := range tm.Bindings(BindingSubscription) {
				key = key || (p.Binding.Name == "correlationKey" && p.Constraints.NotEmpty && p.Feel == "required")
			}
			if !name {
				t.Errorf("no required message name binding: the connector publishes under the message's name")
			}
			if key != tc.correlationKeyed {
				t.Errorf("required correlation key binding = %v, want %v", key, tc.correlationKeyed)
			}
		})
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func choiceValues(p Property) []string {
	var out []string
	for _, c := range p.Choices {
		out = append(out, c.Value)
	}
	return out
}
