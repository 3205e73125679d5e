package providers

import (
	"errors"
	"fmt"
	"maps"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/twilio-connector/twilio-connector/errs"
	"github.com/twilio-connector/twilio-connector/pace"
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
	// Limiter keeps the pace buckets of providers that pace their sends (Twilio): Redis shared
	// by the replicas, or in-process; nil means in-process.
	Limiter pace.Limiter
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

func newFields(conn string, raw map[string]yaml.Node) *Fields {
	return &Fields{conn: conn, raw: raw, read: map[string]bool{}}
}

// ParseFields reads the fields of connection conn from doc, a YAML map as a connections file
// gives them under the connection's name (providers' tests build their settings with it).
func ParseFields(conn, doc string) (*Fields, error) {
	var raw map[string]yaml.Node
	if err := yaml.Unmarshal([]byte(doc), &raw); err != nil {
		return nil, err
	}
	return newFields(conn, raw), nil
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

// Node returns a field's YAML as it is (a map or list a provider decodes itself), and false
// when absent.
func (f *Fields) Node(name string) (*yaml.Node, bool) {
	f.read[name] = true
	n, ok := f.raw[name]
	return &n, ok
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

// Connections are the configured connections by name.
type Connections map[string]*Connection

// Get returns the named connection ("" is DefaultConnection). An unknown name is INVALID_INPUT
// naming the connection field.
func (c Connections) Get(name string) (*Connection, *errs.Error) {
	if name == "" {
		name = DefaultConnection
	}
	if conn, ok := c[name]; ok {
		return conn, nil
	}
	known := slices.Sorted(maps.Keys(c))
	return nil, errs.Invalid(FieldConnection, "%s %q is not configured: use one of %s, or define it in CONNECTOR_CONNECTIONS_FILE",
		FieldConnection, name, strings.Join(known, ", "))
}

// namePattern keeps connection names fit for URL paths and metric labels.
var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$`)

// Load reads a connections file:
//
//	connections:
//	  NAME: {provider: KIND, default_from: …, default_to: […], …the provider's fields}
//
// building each connection with kinds[KIND]. base gives every constructor the connector-wide
// HTTP settings; region is used to check default_from and default_to. The error is one line
// naming the connection and the field.
func Load(path string, kinds map[string]Constructor, base Settings, region string) (Connections, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	raw, err := decodeConnections(data)
	if err != nil {
		return nil, err
	}
	conns := Connections{}
	for _, name := range slices.Sorted(maps.Keys(raw)) {
		if !namePattern.MatchString(name) {
			return nil, fmt.Errorf("connection %q: the name may have only letters, digits, '_', '.' and '-' (at most 64)", name)
		}
		c, err := build(name, raw[name], kinds, base, region)
		if err != nil {
			return nil, err
		}
		conns[name] = c
	}
	return conns, nil
}

// decodeConnections returns the fields of each connection of a connections file. It checks the
// shape before decoding: YAML's type errors quote the value, and a connection's fields
// indented as deep as its name would put a token in the error.
func decodeConnections(data []byte) (map[string]map[string]yaml.Node, error) {
	const form = "not YAML of the form connections: {NAME: {provider: …}}"
	var doc struct {
		Connections yaml.Node `yaml:"connections"`
	}
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %s", form, strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	top := resolve(&doc.Connections)
	if top.Kind == 0 || top.Tag == "!!null" {
		return nil, nil
	}
	var named map[string]yaml.Node
	if top.Kind != yaml.MappingNode {
		return nil, fmt.Errorf("%s: connections (line %d) is not a map of connection names", form, top.Line)
	}
	if err := top.Decode(&named); err != nil { // a name given twice
		return nil, fmt.Errorf("%s: %s", form, strings.ReplaceAll(err.Error(), "\n", "; "))
	}
	conns := map[string]map[string]yaml.Node{}
	for _, name := range slices.Sorted(maps.Keys(named)) {
		v := named[name]
		n := resolve(&v)
		var fields map[string]yaml.Node
		if n.Kind != yaml.MappingNode {
			return nil, fmt.Errorf("connection %s (line %d) is not a map of fields such as provider: twilio: indent its fields under its name", name, v.Line)
		}
		if err := n.Decode(&fields); err != nil { // a field given twice
			return nil, fmt.Errorf("connection %s: %s", name, strings.ReplaceAll(err.Error(), "\n", "; "))
		}
		conns[name] = fields
	}
	return conns, nil
}

// resolve follows an alias (*name) to the node it names.
func resolve(n *yaml.Node) *yaml.Node {
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}

func build(name string, raw map[string]yaml.Node, kinds map[string]Constructor, base Settings, region string) (*Connection, error) {
	f := newFields(name, raw)
	kind, err := f.String("provider")
	if err != nil {
		return nil, err
	}
	ctor, ok := kinds[kind]
	if !ok {
		return nil, f.Errorf("provider", "is %q: give one of %s", kind, strings.Join(slices.Sorted(maps.Keys(kinds)), ", "))
	}
	c := &Connection{Name: name}
	if c.DefaultFrom, err = f.String("default_from"); err != nil {
		return nil, err
	}
	if c.DefaultTo, err = f.list("default_to"); err != nil {
		return nil, err
	}
	s := base
	s.Name, s.Fields = name, f
	if c.Provider, err = ctor(s); err != nil {
		var fe *FieldError
		if errors.As(err, &fe) {
			return nil, err
		}
		return nil, &FieldError{Connection: name, Field: "provider", Problem: "(" + kind + "): " + err.Error()}
	}
	if u := f.unknown(); u != "" {
		return nil, f.Errorf(u, "is not a field of a %s connection: check the spelling", kind)
	}
	if c.DefaultFrom != "" {
		if _, err := c.Provider.From("default_from", c.DefaultFrom, region); err != nil {
			return nil, f.Errorf("default_from", "is not a sender of this connection: %s", errs.As(err).Message)
		}
	}
	for _, to := range c.DefaultTo {
		if strings.HasPrefix(to, "user:") {
			continue
		}
		if _, err := c.Provider.To("default_to", to, region); err != nil {
			return nil, f.Errorf("default_to", "has a bad recipient: %s", errs.As(err).Message)
		}
	}
	return c, nil
}

// list reads a list of strings (a single string is a list of one).
func (f *Fields) list(name string) ([]string, error) {
	f.read[name] = true
	n, ok := f.raw[name]
	if !ok {
		return nil, nil
	}
	if n.Kind == yaml.ScalarNode {
		return []string{strings.TrimSpace(n.Value)}, nil
	}
	var l []string
	if n.Kind != yaml.SequenceNode || n.Decode(&l) != nil {
		return nil, f.Errorf(name, "is not a list of recipients")
	}
	return l, nil
}
