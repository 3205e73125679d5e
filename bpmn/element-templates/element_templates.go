// Package elementtemplates embeds the connector's Camunda Modeler element templates (the JSON
// files in this directory), so the lint command and the tests read exactly what modelers install.
//
// Changing a template: bump its "version" and keep the previous file beside it under a name with
// the old version (twilio-send-sms-v1.json); diagrams that applied the old version keep working
// and the Modeler offers the upgrade.
package elementtemplates

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"sort"
)

//go:embed *.json
var files embed.FS

// Template ids. Elements record the id in zeebe:modelerTemplate when a modeler applies one.
const (
	SendSMSID          = "io.github.twilio-connector.SendSms"
	MakeCallID         = "io.github.twilio-connector.MakeCall"
	SMSReceivedStartID = "io.github.twilio-connector.SmsReceivedStart"
	SMSReceivedCatchID = "io.github.twilio-connector.SmsReceivedCatch"
	CancelMessageID    = "io.github.twilio-connector.CancelMessage"
	GetMessageID       = "io.github.twilio-connector.GetMessage"
)

// Hidden task headers every task template writes, as Camunda's connector templates do: the
// template's id and version, for the record (the worker ignores them).
const (
	HeaderElementTemplateID      = "elementTemplateId"
	HeaderElementTemplateVersion = "elementTemplateVersion"
)

// Template is the part of an element template the connector's tools read.
type Template struct {
	// File is the template's file name in this directory.
	File        string   `json:"-"`
	Groups      []Group  `json:"groups"`
	ID          string   `json:"id"`
	Name        string   `json:"name"`
	Version     int      `json:"version"`
	AppliesTo   []string `json:"appliesTo"`
	ElementType struct {
		Value           string `json:"value"`
		EventDefinition string `json:"eventDefinition"`
	} `json:"elementType"`
	Properties []Property `json:"properties"`
}

// Group is one section of the properties panel.
type Group struct {
	ID    string `json:"id"`
	Label string `json:"label"`
}

// Property is one template property with its binding.
type Property struct {
	ID          string `json:"id"`
	Label       string `json:"label"`
	Group       string `json:"group"`
	Type        string `json:"type"`
	Value       any    `json:"value"`
	Optional    bool   `json:"optional"`
	Feel        string `json:"feel"`
	Constraints struct {
		NotEmpty bool `json:"notEmpty"`
	} `json:"constraints"`
	Choices []Choice `json:"choices"`
	Binding Binding  `json:"binding"`
}

// Choice is one entry of a Dropdown.
type Choice struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

// Binding says where a property's value lands in the BPMN XML. Which field is set depends on
// Type: Name (zeebe:input, zeebe:property, bpmn:Message#…), Key (zeebe:taskHeader), Property
// (zeebe:taskDefinition) or Source (zeebe:output, whose target is the property's value).
type Binding struct {
	Type     string `json:"type"`
	Name     string `json:"name"`
	Key      string `json:"key"`
	Property string `json:"property"`
	Source   string `json:"source"`
}

// Binding types the connector's templates use.
const (
	BindingTaskDefinition = "zeebe:taskDefinition"
	BindingInput          = "zeebe:input"
	BindingOutput         = "zeebe:output"
	BindingTaskHeader     = "zeebe:taskHeader"
	BindingProperty       = "zeebe:property"
	BindingMessage        = "bpmn:Message#property"
	BindingSubscription   = "bpmn:Message#zeebe:subscription#property"
)

// FS returns the template files.
func FS() fs.FS { return files }

// All parses every template, sorted by file name.
func All() ([]Template, error) {
	names, err := fs.Glob(files, "*.json")
	if err != nil {
		return nil, err
	}
	sort.Strings(names)
	out := make([]Template, 0, len(names))
	for _, name := range names {
		data, err := files.ReadFile(name)
		if err != nil {
			return nil, err
		}
		var t Template
		if err := json.Unmarshal(data, &t); err != nil {
			return nil, fmt.Errorf("element template %s: %w", name, err)
		}
		t.File = name
		out = append(out, t)
	}
	return out, nil
}

// Bindings returns the properties bound with the given binding type, in template order.
func (t Template) Bindings(bindingType string) []Property {
	var out []Property
	for _, p := range t.Properties {
		if p.Binding.Type == bindingType {
			out = append(out, p)
		}
	}
	return out
}
