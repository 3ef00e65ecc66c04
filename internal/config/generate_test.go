package config

import (
	"bytes"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// uncomment turns generated output into a config that sets everything: it removes the leading
// "# " of every line that is not a "##" note.
func uncomment(text string) string {
	var b strings.Builder
	for _, l := range strings.Split(text, "\n") {
		if strings.HasPrefix(l, "# ") && !strings.HasPrefix(l, "##") {
			l = strings.TrimPrefix(l, "# ")
		}
		b.WriteString(l + "\n")
	}
	return b.String()
}

func generate(t *testing.T, s *Schema) string {
	t.Helper()
	var buf bytes.Buffer
	if err := Generate(&buf, s); err != nil {
		t.Fatal(err)
	}
	return buf.String()
}

func TestGenerateIsAllComments(t *testing.T) {
	out := generate(t, testSchema())
	f, err := Parse("generated.yaml", []byte(out))
	if err != nil {
		t.Fatalf("generated config does not parse: %v\n%s", err, out)
	}
	if len(f.Sections()) != 0 {
		t.Errorf("generated config sets %v; everything must be commented out", f.Sections())
	}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if l != "" && !strings.HasPrefix(l, "#") {
			t.Errorf("uncommented line %q", l)
		}
	}
}

func TestGenerateContent(t *testing.T) {
	out := generate(t, testSchema())
	for _, want := range []string{
		"# JupyterHub:\n",
		"#   bind_url: http://:8000   # Public URL the proxy listens on",
		"#   hub_port: 8081   # ",
		"#   cookie_secret_file: jupyterhub_cookie_secret   # ",
		"#   db_url: sqlite:///gohub.sqlite   # ",
		"#   services: []   # ",
		"#   custom_scopes: {}   # ",
		"#   cookie_max_age_days: 14   # ",
		"## ---- Base ----\n# Base:\n",
		"#   admin_users: []   # users who are admins\n",
		"#   allow_all: null   # allow everyone\n",
		"#   timeout: 1m30s   # how long\n",
		"#   rules: [{name: default, scopes: [self], admin: false}]   # rules\n",
		"#   limits: {cpu: 1, memory: 1G}   # limits\n",
		"#   env: {LANG: C.UTF-8}   # environment\n",
		"## ---- Child (inherits the traits of Base) ----\n# Child:\n#   allow_all: true   # allow everyone\n#   password: \"\"   # the one password\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("generated config lacks %q", want)
		}
	}
	// Inherited traits at the parent's default are listed once, under the parent.
	child := out[strings.Index(out, "# Child:"):]
	child = child[:strings.Index(child, "\n\n")]
	if strings.Contains(child, "admin_users") {
		t.Errorf("Child repeats an inherited trait:\n%s", child)
	}
	// Classes in schema order.
	if !(strings.Index(out, "# JupyterHub:") < strings.Index(out, "# Base:") &&
		strings.Index(out, "# Base:") < strings.Index(out, "# Child:") &&
		strings.Index(out, "# Child:") < strings.Index(out, "# Checked:")) {
		t.Error("classes are not in schema order")
	}
}

func TestGenerateRoundTrip(t *testing.T) {
	s := testSchema()
	text := uncomment(generate(t, s))
	f, err := Parse("uncommented.yaml", []byte(text))
	if err != nil {
		t.Fatalf("uncommented config does not parse: %v\n%s", err, text)
	}
	if err := f.Validate(s); err != nil {
		t.Fatalf("uncommented config does not validate: %v\n%s", err, text)
	}
	for _, c := range s.Classes() {
		if !f.Has(c.Name, "") {
			t.Errorf("class %s missing from the uncommented config", c.Name)
		}
		got := c.New()
		if err := f.Decode(s, c.Name, got); err != nil {
			t.Errorf("Decode %s: %v", c.Name, err)
			continue
		}
		want := c.New()
		if v, ok := want.(Validator); ok {
			if err := v.Validate(); err != nil {
				t.Fatalf("%s defaults do not validate: %v", c.Name, err)
			}
		}
		if diff := cmp.Diff(want, got, cmpopts.EquateEmpty(), cmp.AllowUnexported(childConfig{})); diff != "" {
			t.Errorf("%s: every trait set to its generated default does not give the defaults (-want +got):\n%s", c.Name, diff)
		}
	}
	// Every trait appears in the uncommented file, under its class or an ancestor.
	for _, c := range s.Classes() {
		for _, fld := range fieldsOf(reflectType(c.New())).list {
			found := false
			for _, a := range s.Ancestors(c.Name) {
				found = found || f.Has(a.Name, fld.key)
			}
			if !found {
				t.Errorf("trait %s.%s is not in the generated config", c.Name, fld.key)
			}
		}
	}
}

type multiLine struct {
	Banner string            `yaml:"banner" help:"text over the login form"`
	Hosts  map[string]string `yaml:"hosts" help:"hosts"`
}

func TestGenerateMultiLineValues(t *testing.T) {
	s := NewSchema(Class{Name: "Multi", New: func() any {
		return &multiLine{Banner: "Welcome\nto the hub", Hosts: map[string]string{"a": "x # not a comment"}}
	}}, Class{Name: "Empty", New: func() any { return &struct{}{} }})
	out := generate(t, s)
	if !strings.Contains(out, "#   banner: |-   # text over the login form\n#       Welcome\n#       to the hub\n") {
		t.Errorf("multi-line default not rendered as a block:\n%s", out)
	}
	if !strings.Contains(out, "# Empty: {}\n") {
		t.Errorf("a class without traits is not listed:\n%s", out)
	}
	f, err := Parse("u.yaml", []byte(uncomment(out)))
	if err != nil {
		t.Fatalf("%v\n%s", err, uncomment(out))
	}
	got := &multiLine{}
	if err := f.Decode(s, "Multi", got); err != nil {
		t.Fatal(err)
	}
	if got.Banner != "Welcome\nto the hub" || got.Hosts["a"] != "x # not a comment" {
		t.Errorf("round trip: %#v", got)
	}
}
