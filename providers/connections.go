package providers

import (
	"fmt"
	"net/http"
	"os"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Constructor builds a provider of one kind from a connection's settings. Its errors should be
// *FieldError (Fields' accessors return them) so that the start fails with one line naming the
// connection and the field.
type Constructor func(s Settings) (Provider, error)

// Settings is what a Constructor gets: the connection's own YAML fields and the connector-wide
// HTTP settings.
type Settings struct {
	// Name is the connection's name.
	Name   string
	Fields *Fields
	// Timeout bounds each HTTP request to the provider; MaxConcurrent the requests in flight
	// at once (0: the provider's default).
	Timeout       time.Duration
	MaxConcurrent int
	// Transport carries the requests; nil means the provider's default.
	Transport http.RoundTripper
}

// FieldError is a bad field of a connection.
type FieldError struct {
	Connection, Field, Problem string
}

func (e *FieldError) Error() string {
	return fmt.Sprintf("connection %s: %s %s", e.Connection, e.Field, e.Problem)
}

// Fields are one connection's YAML fields, read by name. Every secret field X may instead be
// given as X_file, the path of a file holding it. Fields a constructor never reads are
// reported as unknown.
type Fields struct {
	conn string
	raw  map[string]yaml.Node
	read map[string]bool
}

// NewFields wraps decoded YAML fields (tests build them from a map).
func NewFields(conn string, raw map[string]yaml.Node) *Fields {
	return &Fields{conn: conn, raw: raw, read: map[string]bool{}}
}

// Errorf returns a *FieldError about field.
func (f *Fields) Errorf(field, format string, args ...any) error {
	return &FieldError{Connection: f.conn, Field: field, Problem: fmt.Sprintf(format, args...)}
}

// String returns a string field, "" when absent.
func (f *Fields) String(name string) (string, error) {
	f.read[name] = true
	n, ok := f.raw[name]
	if !ok {
		return "", nil
	}
	if n.Kind != yaml.ScalarNode {
		return "", f.Errorf(name, "is not a string")
	}
	return strings.TrimSpace(n.Value), nil
}

// Secret returns a secret field given as name or as name_file (not both); "" when absent.
// Errors never show the value.
func (f *Fields) Secret(name string) (string, error) {
	v, err := f.String(name)
	if err != nil {
		return "", err
	}
	path, err := f.String(name + "_file")
	if err != nil {
		return "", err
	}
	switch {
	case v != "" && path != "":
		return "", f.Errorf(name, "is given twice: set %s or %s_file, not both", name, name)
	case path != "":
		data, err := os.ReadFile(path)
		if err != nil {
			return "", f.Errorf(name+"_file", "cannot be read: %v", err)
		}
		v = strings.TrimSpace(string(data))
		if v == "" {
			return "", f.Errorf(name+"_file", "names an empty file: put the secret in it")
		}
	}
	return v, nil
}

// StringMap returns a map of strings, nil when absent.
func (f *Fields) StringMap(name string) (map[string]string, error) {
	f.read[name] = true
	n, ok := f.raw[name]
	if !ok {
		return nil, nil
	}
	var m map[string]string
	if n.Kind != yaml.MappingNode || n.Decode(&m) != nil {
		return nil, f.Errorf(name, "is not a map of names to strings")
	}
	return m, nil
}

// unknown returns the first field no accessor read, in name order.
func (f *Fields) unknown() string {
	var names []string
	for k := range f.raw {
		if !f.read[k] {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	if len(names) == 0 {
		return ""
	}
	return names[0]
}
