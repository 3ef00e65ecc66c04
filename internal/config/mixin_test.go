package config

import (
	"bytes"
	"strings"
	"testing"
)

type mixRoot struct {
	AdminUsers []string `yaml:"admin_users" help:"a"`
}

type mixLocal struct {
	mixRoot       `yaml:",inline"`
	Create        bool     `yaml:"create_system_users" help:"c"`
	AllowedGroups []string `yaml:"allowed_groups" help:"unix groups"`
}

type mixOAuth struct {
	mixRoot       `yaml:",inline"`
	ClientID      string   `yaml:"client_id" help:"id"`
	AllowedGroups []string `yaml:"allowed_groups" help:"provider groups"`
}

type mixLeaf struct {
	mixOAuth     `yaml:",inline"`
	Create       bool     `yaml:"create_system_users" help:"c"`
	SystemGroups []string `yaml:"allowed_system_groups" help:"unix groups"`
}

func mixSchema() *Schema {
	return NewSchema(
		Class{Name: "Root", New: func() any { return &mixRoot{} }},
		Class{Name: "Local", Parent: "Root", New: func() any { return &mixLocal{} }},
		Class{Name: "OAuth", Parent: "Root", New: func() any { return &mixOAuth{} }},
		Class{Name: "Leaf", Parent: "OAuth", Mixins: []string{"Local"}, New: func() any { return &mixLeaf{} },
			Refused: map[string]string{"Local.allowed_groups": "use Leaf.allowed_system_groups"}},
	)
}

// TestMixins: a mixin's section applies after the Parent chain (traitlets' order for
// Leaf(Local, OAuth)), the class's own section last, and a refused trait of a mixin's section is
// an error at its line, while the class's own section may set a trait of that name.
func TestMixins(t *testing.T) {
	s := mixSchema()
	var names []string
	for _, c := range s.Ancestors("Leaf") {
		names = append(names, c.Name)
	}
	if got := strings.Join(names, ","); got != "Root,OAuth,Local,Leaf" {
		t.Errorf("Ancestors(Leaf) = %s", got)
	}
	f, err := Parse("c.yaml", []byte("Root:\n  admin_users: [a]\nLocal:\n  create_system_users: true\nOAuth:\n  client_id: x\n  allowed_groups: [team]\n"))
	if err != nil {
		t.Fatal(err)
	}
	var leaf mixLeaf
	if err := f.Decode(s, "Leaf", &leaf); err != nil {
		t.Fatal(err)
	}
	if !leaf.Create || leaf.ClientID != "x" || len(leaf.AdminUsers) != 1 || len(leaf.mixOAuth.AllowedGroups) != 1 {
		t.Errorf("Leaf = %+v", leaf)
	}
	f, err = Parse("c.yaml", []byte("Local:\n  create_system_users: true\n  allowed_groups: [staff]\nLeaf:\n  allowed_groups: [team]\n"))
	if err != nil {
		t.Fatal(err)
	}
	err = f.Decode(s, "Leaf", &mixLeaf{})
	if err == nil || !strings.Contains(err.Error(), "c.yaml:3: Local.allowed_groups does not apply to Leaf: use Leaf.allowed_system_groups") {
		t.Errorf("Decode = %v", err)
	}
	if err := f.Validate(s); err == nil || !strings.Contains(err.Error(), "does not apply to Leaf") {
		t.Errorf("Validate = %v", err)
	}
	// An empty value (as generate-config writes it) is ignored, not refused, and does not
	// overwrite the class's own allowed_groups.
	f2, err := Parse("c.yaml", []byte("Local:\n  allowed_groups: []\nLeaf:\n  allowed_groups: [team]\n"))
	if err != nil {
		t.Fatal(err)
	}
	var leaf2 mixLeaf
	if err := f2.Decode(s, "Leaf", &leaf2); err != nil || len(leaf2.mixOAuth.AllowedGroups) != 1 {
		t.Errorf("empty refused trait: %+v, %v", leaf2, err)
	}
	// Local alone (PAM's parent) keeps its allowed_groups.
	var local mixLocal
	if err := f.Decode(s, "Local", &local); err != nil || len(local.AllowedGroups) != 1 {
		t.Errorf("Local = %+v, %v", local, err)
	}
	var out bytes.Buffer
	if err := Generate(&out, s); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out.String(), "## Local.allowed_groups does not apply to Leaf: use Leaf.allowed_system_groups") ||
		!strings.Contains(out.String(), "Leaf (inherits the traits of Local, OAuth, Root)") {
		t.Errorf("generated:\n%s", out.String())
	}
	defer func() {
		if recover() == nil {
			t.Error("NewSchema accepted an unknown mixin")
		}
	}()
	NewSchema(Class{Name: "A", Mixins: []string{"B"}, New: func() any { return &mixRoot{} }})
}
