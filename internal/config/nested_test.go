package config

import (
	"errors"
	"strings"
	"testing"
)

type nestedInner struct {
	Port int    `yaml:"port" help:"p"`
	Host string `yaml:"host" help:"h"`
}

func (n *nestedInner) Validate() error {
	if n.Port < 0 {
		return Invalid("port", "must not be negative")
	}
	return nil
}

type nestedOuter struct {
	Items []struct {
		Kind   string `yaml:"kind"`
		Config Nested `yaml:"config"`
	} `yaml:"items" help:"i"`
}

// A Nested value keeps its node until its owner knows the type, then decodes with the rules
// of a section: unknown keys and wrong types at their own lines, the Validator's errors at the
// line of the key.
func TestNestedDecodeInto(t *testing.T) {
	f, err := Parse("c.yaml", []byte(`
Outer:
  items:
    - kind: a
      config:
        port: 80
        host: example.org
    - kind: b
      config:
        prot: 80
    - kind: c
      config:
        port: -1
    - kind: d
`))
	if err != nil {
		t.Fatal(err)
	}
	schema := NewSchema(Class{Name: "Outer", New: func() any { return &nestedOuter{} }})
	var o nestedOuter
	if err := f.Decode(schema, "Outer", &o); err != nil {
		t.Fatal(err)
	}
	var in nestedInner
	if err := o.Items[0].Config.DecodeInto(&in); err != nil || in.Port != 80 || in.Host != "example.org" {
		t.Errorf("item 0: %+v %v", in, err)
	}
	err = o.Items[1].Config.DecodeInto(&nestedInner{})
	var ce *Error
	if !errors.As(err, &ce) || ce.Line != 10 || !strings.Contains(err.Error(), "unknown key Outer.items[1].config.prot (did you mean port?)") {
		t.Errorf("item 1: %v", err)
	}
	err = o.Items[2].Config.DecodeInto(&nestedInner{})
	if err == nil || !strings.Contains(err.Error(), "c.yaml:13: Outer.items[2].config.port: must not be negative") {
		t.Errorf("item 2: %v", err)
	}
	if o.Items[3].Config.IsSet() {
		t.Error("item 3 has a config")
	}
	in = nestedInner{Port: 5}
	if err := o.Items[3].Config.DecodeInto(&in); err != nil || in.Port != 5 {
		t.Errorf("item 3: %+v %v", in, err)
	}
	if err := o.Items[0].Config.DecodeInto(in); err == nil {
		t.Error("DecodeInto accepted a non-pointer")
	}
}
