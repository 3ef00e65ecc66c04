package config

import (
	"strings"
	"testing"
)

func TestSchemaAncestors(t *testing.T) {
	s := NewSchema(
		Class{Name: "Leaf", Parent: "Mid", New: func() any { return &struct{}{} }}, // parent listed later
		Class{Name: "Mid", Parent: "Root", New: func() any { return &struct{}{} }},
		Class{Name: "Root", New: func() any { return &struct{}{} }},
	)
	var names []string
	for _, c := range s.Ancestors("Leaf") {
		names = append(names, c.Name)
	}
	if got := strings.Join(names, ","); got != "Root,Mid,Leaf" {
		t.Errorf("Ancestors(Leaf) = %s, want Root,Mid,Leaf", got)
	}
	if s.Ancestors("Nope") != nil {
		t.Error("Ancestors of an unknown class is not nil")
	}
	if c := s.Classes(); len(c) != 3 || c[0].Name != "Leaf" {
		t.Errorf("Classes() lost the given order: %v", c)
	}
}

func TestSchemaPanicsOnMistakes(t *testing.T) {
	newS := func() any { return &struct{}{} }
	for name, classes := range map[string][]Class{
		"no name":        {{New: newS}},
		"twice":          {{Name: "A", New: newS}, {Name: "A", New: newS}},
		"no New":         {{Name: "A"}},
		"not a pointer":  {{Name: "A", New: func() any { return struct{}{} }}},
		"unknown parent": {{Name: "A", Parent: "B", New: newS}},
		"cycle":          {{Name: "A", Parent: "B", New: newS}, {Name: "B", Parent: "A", New: newS}},
	} {
		t.Run(name, func(t *testing.T) {
			defer func() {
				if recover() == nil {
					t.Errorf("NewSchema accepted %s", name)
				}
			}()
			NewSchema(classes...)
		})
	}
}
