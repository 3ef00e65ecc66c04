package api

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

// specFile is upstream's OpenAPI description (BSD-3, LICENSE beside it), copied from
// ../shared/spec/ into testdata so the test needs nothing outside the module.
const specFile = "testdata/jupyterhub-rest-api-5.5.1.yml"

// ---- Known upstream mismatches (protocol.md §7): the one place where the yaml is overridden. ----

// nullableFields are model keys JupyterHub sends as null although the 3.1 yaml types them
// without "null" (and, for pending, with an enum lacking null).
var nullableFields = map[string][]string{
	"User":     {"server", "pending", "last_activity", "auth_state"},
	"Server":   {"pending", "started", "last_activity"},
	"Token":    {"expires_at", "last_activity"},
	"NewToken": {"expires_at", "last_activity"},
}

// notInSpec are operations JupyterHub has that the yaml lacks or describes wrongly; their
// replies are not validated against it.
var notInSpec = map[string]string{
	"POST /services/{name}":                     "runtime service creation (5.0+) is missing from the yaml",
	"DELETE /services/{name}":                   "runtime service deletion (5.0+) is missing from the yaml",
	"GET /health":                               "health check is not in the yaml",
	"HEAD /health":                              "health check is not in the yaml",
	"POST /users/{name}/admin-access":           "deprecated endpoint, not in the yaml",
	"POST /authorizations/token":                "the yaml documents a 200 reply; JupyterHub always answers 404 since 2.0",
	"GET /authorizations/token/{token}":         "the yaml documents no body; the reply is a User or Service model",
	"POST /groups":                              "bulk group creation is missing from the yaml",
	"GET /users/{name}/server":                  "6.0 server model reads are not in the 5.5.1 yaml",
	"GET /users/{name}/servers/{server_name}":   "6.0 server model reads are not in the 5.5.1 yaml",
	"PUT /users/{name}/servers/{server_name}":   "6.0 named server creation is not in the 5.5.1 yaml",
	"PATCH /users/{name}/servers/{server_name}": "6.0 named server changes are not in the 5.5.1 yaml",
}

// gohubFields are keys gohub adds to upstream's models; the yaml allows unknown keys, so they
// are declared here to be type-checked too.
var gohubFields = map[string]map[string]*openapi3.Schema{
	// "blocked": true for a blocked user, shown to callers holding admin:users on them (the
	// admin page's Blocked badge); absent otherwise.
	"User": {"blocked": openapi3.NewBoolSchema()},
}

// patchSpec applies the mismatches above to the loaded document: nullable fields, gohub's
// added keys, and GET /services answering an object keyed by service name (the yaml says an
// array).
func patchSpec(t testing.TB, doc *openapi3.T) {
	for schema, fields := range gohubFields {
		s := doc.Components.Schemas[schema]
		if s == nil || s.Value == nil {
			t.Fatalf("spec has no schema %s", schema)
		}
		for name, f := range fields {
			if s.Value.Properties[name] != nil {
				t.Fatalf("spec schema %s already has %s: drop it from gohubFields", schema, name)
			}
			s.Value.Properties[name] = openapi3.NewSchemaRef("", f)
		}
	}
	for schema, fields := range nullableFields {
		s := doc.Components.Schemas[schema]
		if s == nil || s.Value == nil {
			t.Fatalf("spec has no schema %s", schema)
		}
		for _, f := range fields {
			p := s.Value.Properties[f]
			if p == nil || p.Value == nil {
				t.Fatalf("spec schema %s has no property %s", schema, f)
			}
			if p.Value.Type == nil {
				p.Value.Type = &openapi3.Types{}
			}
			if !p.Value.Type.Includes("null") {
				p.Value.Type.With("null")
			}
			if p.Value.Enum != nil {
				p.Value.Enum = append(p.Value.Enum, nil)
			}
		}
	}
	get := doc.Paths.Value("/services").Get
	svc := doc.Components.Schemas["Service"]
	obj := openapi3.NewObjectSchema()
	obj.AdditionalProperties = openapi3.AdditionalProperties{Schema: svc}
	get.Responses.Status(200).Value.Content["application/json"].Schema = openapi3.NewSchemaRef("", obj)
}

// ---- The checker. ----

// errorer is the part of testing.T the checker reports to.
type errorer interface {
	Helper()
	Errorf(format string, args ...any)
}

// specChecker validates replies against the patched OpenAPI document and records which
// documented operations were exercised.
type specChecker struct {
	doc   *openapi3.T
	mu    sync.Mutex
	seen  map[string]bool
	paths []string
}

var (
	specOnce sync.Once
	specDoc  *specChecker
	specErr  error
)

func loadSpec(t testing.TB) *specChecker {
	t.Helper()
	specOnce.Do(func() {
		loader := openapi3.NewLoader()
		doc, err := loader.LoadFromFile(specFile)
		if err != nil {
			specErr = err
			return
		}
		patchSpec(t, doc)
		c := &specChecker{doc: doc, seen: map[string]bool{}, paths: doc.Paths.Keys()}
		specDoc = c
	})
	if specErr != nil {
		t.Fatalf("load %s: %v", specFile, specErr)
	}
	return specDoc
}

// match finds the yaml path template for an API path (without /hub/api) and its parameters.
func (c *specChecker) match(path string) (string, map[string]string) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	for _, tmpl := range c.paths {
		ts := strings.Split(strings.Trim(tmpl, "/"), "/")
		if len(ts) != len(segs) {
			continue
		}
		params := map[string]string{}
		ok := true
		for i, s := range ts {
			if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
				if segs[i] == "" {
					ok = false
					break
				}
				params[s[1:len(s)-1]] = segs[i]
			} else if s != segs[i] {
				ok = false
				break
			}
		}
		if ok {
			return tmpl, params
		}
	}
	return "", nil
}

// validate checks one reply. Paths outside the yaml must be listed in notInSpec.
func (c *specChecker) validate(t errorer, req *http.Request, r reply) {
	t.Helper()
	path := strings.TrimPrefix(req.URL.EscapedPath(), "/hub/api")
	tmpl, params := c.match(path)
	if path == "" {
		tmpl = "/"
	}
	var op *openapi3.Operation
	var item *openapi3.PathItem
	if tmpl != "" {
		item = c.doc.Paths.Value(tmpl)
		op = item.GetOperation(req.Method)
	}
	key := req.Method + " " + tmpl
	c.mu.Lock()
	c.seen[key] = true
	c.mu.Unlock()
	if op == nil || notInSpec[key] != "" {
		if tmpl != "" && op == nil && notInSpec[key] == "" && r.status != http.StatusMethodNotAllowed && req.Method != http.MethodOptions {
			t.Errorf("%s %s answered %d but the yaml has no such operation and notInSpec does not list it", req.Method, path, r.status)
		}
		return
	}
	body := r.body
	if wantsPagination(req) && r.status == http.StatusOK {
		body = c.checkPagination(t, key, body)
	}
	in := &openapi3filter.RequestValidationInput{
		Request: req, PathParams: params,
		Route:   &routers.Route{Spec: c.doc, Path: tmpl, PathItem: item, Method: req.Method, Operation: op},
		Options: &openapi3filter.Options{MultiError: true},
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in, Status: r.status, Header: r.header,
		Body: io.NopCloser(bytes.NewReader(body)), Options: in.Options,
	}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		t.Errorf("%s: reply %d does not match %s: %v\nbody: %s", key, r.status, specFile, err, r.body)
	}
}

// checkPagination validates the _pagination object of a paginated reply and returns its
// items as the body to check against the operation's (list) schema.
func (c *specChecker) checkPagination(t errorer, key string, body []byte) []byte {
	t.Helper()
	var v struct {
		Items      json.RawMessage `json:"items"`
		Pagination any             `json:"_pagination"`
	}
	if err := json.Unmarshal(body, &v); err != nil || v.Items == nil || v.Pagination == nil {
		t.Errorf("%s: paginated reply is not {items, _pagination}: %s", key, body)
		return body
	}
	if err := c.doc.Components.Schemas["Pagination"].Value.VisitJSON(v.Pagination, openapi3.EnableJSONSchema2020()); err != nil {
		t.Errorf("%s: _pagination does not match the Pagination schema: %v", key, err)
	}
	return v.Items
}

// covered returns the yaml operations not exercised so far, sorted.
func (c *specChecker) missing(implemented func(string) bool) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []string
	for _, p := range c.paths {
		for m := range c.doc.Paths.Value(p).Operations() {
			k := m + " " + p
			if implemented(k) && !c.seen[k] {
				out = append(out, k)
			}
		}
	}
	sort.Strings(out)
	return out
}

// recorder collects a checker's complaints.
type recorder struct{ errs []string }

func (r *recorder) Helper() {}
func (r *recorder) Errorf(f string, a ...any) {
	r.errs = append(r.errs, fmt.Sprintf(f, a...))
}

// TestSpecCheckerCatchesMismatch proves the checker fails replies that break the yaml.
func TestSpecCheckerCatchesMismatch(t *testing.T) {
	c := loadSpec(t)
	hdr := http.Header{"Content-Type": {"application/json"}}
	cases := []struct {
		name, method, path, body string
		ok                       bool
	}{
		{"good user", "GET", "/hub/api/users/alice", `{"kind":"user","name":"alice","admin":false,"server":null,"pending":null}`, true},
		{"admin not bool", "GET", "/hub/api/users/alice", `{"kind":"user","name":"alice","admin":"no"}`, false},
		{"kind wrong", "GET", "/hub/api/users/alice", `{"kind":"group","name":"alice"}`, false},
		{"list is object", "GET", "/hub/api/users", `{"alice":{}}`, false},
		{"services as object", "GET", "/hub/api/services", `{"culler":{"kind":"service","name":"culler"}}`, true},
		{"services as list", "GET", "/hub/api/services", `[{"kind":"service","name":"culler"}]`, false},
		{"group users not list", "GET", "/hub/api/groups/g", `{"kind":"group","name":"g","users":"alice"}`, false},
	}
	for _, tc := range cases {
		req, _ := http.NewRequest(tc.method, "http://x"+tc.path, nil)
		var rec recorder
		c.validate(&rec, req, reply{status: 200, header: hdr, body: []byte(tc.body)})
		if (len(rec.errs) == 0) != tc.ok {
			t.Errorf("%s: ok=%v, complaints %v", tc.name, tc.ok, rec.errs)
		}
	}
}
