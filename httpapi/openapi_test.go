package httpapi

import (
	"bytes"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

type spec struct {
	doc      map[string]any
	compiler *jsonschema.Compiler
}

const specURL = "https://twilio-connector.invalid/openapi.json"

func loadSpec(t *testing.T) *spec {
	t.Helper()
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(openAPI))
	if err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	c := jsonschema.NewCompiler()
	if err := c.AddResource(specURL, doc); err != nil {
		t.Fatal(err)
	}
	return &spec{doc: doc.(map[string]any), compiler: c}
}

func (s *spec) schema(t *testing.T, name string) *jsonschema.Schema {
	t.Helper()
	sch, err := s.compiler.Compile(specURL + "#/components/schemas/" + name)
	if err != nil {
		t.Fatalf("schema %s: %v", name, err)
	}
	return sch
}

func (s *spec) get(path ...string) any {
	var v any = s.doc
	for _, p := range path {
		m, _ := v.(map[string]any)
		v = m[p]
	}
	return v
}

// statuses are the documented response codes of an operation.
func (s *spec) statuses(t *testing.T, path, method string) map[string]bool {
	t.Helper()
	rs, ok := s.get("paths", path, method, "responses").(map[string]any)
	if !ok {
		t.Fatalf("openapi.json has no %s %s", method, path)
	}
	out := map[string]bool{}
	for code := range rs {
		out[code] = true
	}
	return out
}

func validate(sch *jsonschema.Schema, body []byte) error {
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(body))
	if err != nil {
		return err
	}
	return sch.Validate(v)
}

// actionFields reads the actions package's source for the Field* constants whose names start
// with prefix: the inputs its request parsers accept, so a field added there must be added to
// this API and its description too.
func actionFields(t *testing.T, prefix string) []string {
	t.Helper()
	files, err := filepath.Glob("../actions/*.go")
	if err != nil || len(files) == 0 {
		t.Fatalf("no actions sources: %v", err)
	}
	var out []string
	fset := token.NewFileSet()
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range file.Decls {
			gd, ok := d.(*ast.GenDecl)
			if !ok || gd.Tok != token.CONST {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				for i, name := range vs.Names {
					if !strings.HasPrefix(name.Name, prefix) || i >= len(vs.Values) {
						continue
					}
					lit, ok := vs.Values[i].(*ast.BasicLit)
					if !ok || lit.Kind != token.STRING {
						t.Fatalf("%s is not a string literal", name.Name)
					}
					v, _ := strconv.Unquote(lit.Value)
					out = append(out, v)
				}
			}
		}
	}
	sort.Strings(out)
	return out
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	sort.Strings(s)
	return s
}

func TestOpenAPIRequestFieldsMatchActions(t *testing.T) {
	s := loadSpec(t)
	for _, tc := range []struct {
		schema, prefix string
		handler        []string
	}{
		{"SMSRequest", "FieldSMS", smsFields},
		{"CallRequest", "FieldCall", callFields},
	} {
		want := actionFields(t, tc.prefix)
		if len(want) < 5 {
			t.Fatalf("found only %v for %s: has the actions package changed how it names fields?", want, tc.prefix)
		}
		if got := sorted(tc.handler); !slices.Equal(got, want) {
			t.Errorf("the handler accepts %v for %s, the actions %v", got, tc.schema, want)
		}
		props, _ := s.get("components", "schemas", tc.schema, "properties").(map[string]any)
		var got []string
		for k := range props {
			if k != fieldTemplateEngine && k != fieldVariables && k != fieldConnection {
				got = append(got, k)
			}
		}
		if got = sorted(got); !slices.Equal(got, want) {
			t.Errorf("openapi.json %s has %v, the actions %v", tc.schema, got, want)
		}
		if _, ok := props[fieldTemplateEngine]; !ok {
			t.Errorf("%s does not describe %s", tc.schema, fieldTemplateEngine)
		}
		if _, ok := props[fieldConnection]; !ok {
			t.Errorf("%s does not describe %s", tc.schema, fieldConnection)
		}
		if _, ok := props[fieldVariables]; !ok {
			t.Errorf("%s does not describe %s", tc.schema, fieldVariables)
		}
		if s.get("components", "schemas", tc.schema, "additionalProperties") != false {
			t.Errorf("%s must say additionalProperties: false, as the handler rejects unknown fields", tc.schema)
		}
	}
}

// TestOpenAPISamples sends sample requests: those the request schema accepts must be answered
// 200, those it rejects 400, so the schema's required fields and types agree with the parsers.
// The harness's connection ops has default recipients (a request without any, through a
// connection without them, is refused by the server, which the schema cannot know).
func TestOpenAPISamples(t *testing.T) {
	s := loadSpec(t)
	schemas := map[string]string{"/v1/messages": "SMSRequest", "/v1/calls": "CallRequest"}
	result := s.schema(t, "Result")
	cases := []struct {
		path, body string
		valid      bool
	}{
		{"/v1/messages", `{"smsTo":["+14155550101"],"smsBody":"hi"}`, true},
		{"/v1/messages", `{"smsTo":"+14155550101, +14155550102","smsBody":"hi ${n}","variables":{"n":1},"templateEngine":"freemarker"}`, true},
		{"/v1/messages", `{"smsFrom":"Shop","smsTo":["+14155550101"],"smsMediaUrl":["https://example.com/a.png"]}`, true},
		{"/v1/messages", `{"smsTo":["+14155550101"],"smsBody":"hi {{ n }}","variables":{"n":1},"templateEngine":"pongo2","smsTesting":"true"}`, true},
		{"/v1/messages", `{"smsTo":["+14155550101"],"smsContentSid":"HX0123456789abcdef0123456789abcdef","smsContentVariables":{"1":"${n}"},"variables":{"n":"Ana"}}`, true},
		{"/v1/messages", `{"smsTo":["+14155550101"],"smsBody":"hi","smsValidityPeriod":600,"smsSmartEncoded":true}`, true},
		{"/v1/messages", `{"smsFrom":"MG0123456789abcdef0123456789abcdef","smsTo":["+14155550101"],"smsBody":"hi","smsShortenUrls":"true"}`, true},
		{"/v1/messages", `{"connection":"ops","smsBody":"hi"}`, true},
		{"/v1/messages", `{"connection":"ops","smsContentSid":"HX0123456789abcdef0123456789abcdef"}`, true},
		{"/v1/messages", `{"smsTo":["+14155550101"],"smsContentSid":"HX0123456789abcdef0123456789abcdef","smsBody":"hi"}`, false},
		{"/v1/messages", `{"smsTo":["+14155550101"],"smsContentSid":"HX0123456789abcdef0123456789abcdef","smsMediaUrl":["https://example.com/a.png"]}`, false},
		{"/v1/messages", `{"smsTo":["+14155550101"],"smsContentSid":"HX12"}`, false},
		{"/v1/messages", `{"smsTo":["+14155550101"],"smsBody":"hi","smsValidityPeriod":0}`, false},
		{"/v1/messages", `{"smsTo":["+14155550101"],"smsBody":"hi","smsSmartEncoded":2}`, false},
		{"/v1/messages", `{"smsTo":["+14155550101"]}`, false},
		{"/v1/messages", `{"smsTo":["+14155550101"],"smsBody":7}`, false},
		{"/v1/messages", `{"smsTo":["+14155550101"],"smsBody":"hi","smsTesting":3}`, false},
		{"/v1/messages", `{"smsTo":[5],"smsBody":"hi"}`, false},
		{"/v1/messages", `{"smsTo":["+14155550101"],"smsBody":"hi","extra":1}`, false},
		{"/v1/messages", `{"smsTo":["+14155550101"],"smsBody":"hi","variables":[1]}`, false},
		{"/v1/calls", `{"callTo":["+14155550101"],"callMessage":"hi","callVoice":"alice","callLanguage":"en-US"}`, true},
		{"/v1/calls", `{"callFrom":"+15005550006","callTo":"+14155550101","callTwimlUrl":"https://example.com/t.xml"}`, true},
		{"/v1/calls", `{"callTo":"+14155550101","callTwiml":"<Response><Say>hi</Say></Response>","callTesting":false}`, true},
		{"/v1/calls", `{"callTo":"+14155550101"}`, false},
		{"/v1/calls", `{"connection":"ops","callMessage":"hi"}`, true},
		{"/v1/calls", `{"callTo":"+14155550101","callMessage":"hi","callTwiml":"<Response/>"}`, false},
		{"/v1/calls", `{"callTo":"+14155550101","callMessage":"hi","templateEngine":"velocity"}`, false},
	}
	for _, tc := range cases {
		t.Run(tc.body, func(t *testing.T) {
			err := validate(s.schema(t, schemas[tc.path]), []byte(tc.body))
			if (err == nil) != tc.valid {
				t.Fatalf("schema valid=%v, want %v: %v", err == nil, tc.valid, err)
			}
			h := newHarness(t, harnessOptions{})
			r := h.post(tc.path, "", tc.body)
			want := http.StatusBadRequest
			if tc.valid {
				want = http.StatusOK
			}
			if r.status != want {
				t.Errorf("status %d, want %d: %s", r.status, want, r.body)
			}
			if err := validate(result, r.body); err != nil {
				t.Errorf("answer does not match Result: %v\n%s", err, r.body)
			}
		})
	}
}

func TestOpenAPIServedWithoutKey(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	r := h.do(call{method: http.MethodGet, path: "/v1/openapi.json", headers: map[string]string{"Authorization": ""}})
	if r.status != 200 || r.header.Get("Content-Type") != "application/json" || !bytes.Equal(r.body, openAPI) {
		t.Fatalf("status %d, type %q", r.status, r.header.Get("Content-Type"))
	}
	var doc struct {
		OpenAPI string                    `json:"openapi"`
		Paths   map[string]map[string]any `json:"paths"`
		Comps   struct {
			Security   map[string]any `json:"securitySchemes"`
			Parameters map[string]struct {
				Name string `json:"name"`
			} `json:"parameters"`
		} `json:"components"`
	}
	if err := json.Unmarshal(r.body, &doc); err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Errorf("openapi %q", doc.OpenAPI)
	}
	var ops []string
	for p, m := range doc.Paths {
		for method := range m {
			ops = append(ops, strings.ToUpper(method)+" "+p)
		}
	}
	if want := []string{"GET /v1/messages/{messageSid}", "GET /v1/openapi.json", "POST /v1/calls", "POST /v1/messages", "POST /v1/messages/{messageSid}/cancel"}; !slices.Equal(sorted(ops), want) {
		t.Errorf("operations %v, want %v", sorted(ops), want)
	}
	if len(doc.Comps.Security) != 2 || doc.Comps.Parameters["IdempotencyKey"].Name != headerIdempotencyKey {
		t.Errorf("security schemes %v, parameters %v", doc.Comps.Security, doc.Comps.Parameters)
	}
	if resp := loadSpec(t).get("components", "responses", "Transient", "headers", "Retry-After"); resp == nil {
		t.Errorf("503 does not document Retry-After")
	}
}
