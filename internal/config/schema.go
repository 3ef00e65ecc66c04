package config

import (
	"fmt"
	"reflect"
	"slices"
)

// Class describes one configurable class: the section name in the file, its parent class (""
// for a root such as JupyterHub or Authenticator) and a constructor of its config.
type Class struct {
	// Name is the section name, upstream's class name ("DummyAuthenticator").
	Name string
	// Parent is the class it inherits traits from, "" for none. Its section applies first.
	Parent string
	// Mixins are further classes it inherits from, after Parent: upstream's multiple inheritance,
	// as in LocalGitHubOAuthenticator(LocalAuthenticator, GitHubOAuthenticator). Their sections
	// apply after the Parent chain's and before the class's own (traitlets' order for such a
	// class); a class already in the chain is not applied twice.
	Mixins []string
	// Refused are traits that an ancestor's section ("LocalAuthenticator.allowed_groups") may not
	// set for this class, with the reason: a mixin's trait whose name the Parent chain uses with
	// another meaning. Setting one to a non-empty value is an error at its line (an empty one is
	// ignored); the class's own section may still set the trait of that name (the Parent chain's
	// meaning).
	Refused map[string]string
	// New returns a pointer to the class's config struct filled with its defaults. The struct's
	// fields carry `yaml:"trait_name"` and `help:"one line"` tags; a parent's traits come in by
	// embedding the parent's struct with `yaml:",inline"`.
	New func() any
}

// Schema is the set of classes a config file may name, with their hierarchy. Build it with
// NewSchema; it is read-only afterwards.
type Schema struct {
	classes []Class
	byName  map[string]int
}

// NewSchema builds a schema from classes, kept in the given order (the order Generate prints
// them). Parents may be listed after their children. It panics on a programming error: an
// empty or repeated name, a missing New, a New that does not return a pointer to a struct, an
// unknown parent or a cycle.
func NewSchema(classes ...Class) *Schema {
	s := &Schema{byName: map[string]int{}}
	for _, c := range classes {
		if c.Name == "" {
			panic("config.NewSchema: a class has no name")
		}
		if _, dup := s.byName[c.Name]; dup {
			panic(fmt.Sprintf("config.NewSchema: class %s is listed twice", c.Name))
		}
		if c.New == nil {
			panic(fmt.Sprintf("config.NewSchema: class %s has no New", c.Name))
		}
		if t := reflect.TypeOf(c.New()); t == nil || t.Kind() != reflect.Pointer || t.Elem().Kind() != reflect.Struct {
			panic(fmt.Sprintf("config.NewSchema: %s.New returns %v, want a pointer to a struct", c.Name, t))
		}
		s.byName[c.Name] = len(s.classes)
		s.classes = append(s.classes, c)
	}
	for _, c := range s.classes {
		seen := map[string]bool{}
		for n := c.Name; n != ""; {
			if seen[n] {
				panic(fmt.Sprintf("config.NewSchema: class %s inherits from itself", n))
			}
			seen[n] = true
			i, ok := s.byName[n]
			if !ok {
				panic(fmt.Sprintf("config.NewSchema: class %s has unknown parent %s", c.Name, n))
			}
			n = s.classes[i].Parent
		}
		for _, m := range c.Mixins {
			if _, ok := s.byName[m]; !ok || m == c.Name {
				panic(fmt.Sprintf("config.NewSchema: class %s has unknown mixin %s", c.Name, m))
			}
		}
	}
	return s
}

// Classes returns the schema's classes in order.
func (s *Schema) Classes() []Class {
	return append([]Class(nil), s.classes...)
}

// Lookup returns the class named name.
func (s *Schema) Lookup(name string) (Class, bool) {
	i, ok := s.byName[name]
	if !ok {
		return Class{}, false
	}
	return s.classes[i], true
}

// Ancestors returns the chain from the root class down to name itself, the order in which
// their sections apply: the Parent chain, then each mixin's chain without the classes already
// listed, then the class. It is nil for an unknown class.
func (s *Schema) Ancestors(name string) []Class {
	return s.ancestors(name, 0)
}

// ancestors is Ancestors with a depth bound, so a mixin cycle cannot recurse forever.
func (s *Schema) ancestors(name string, depth int) []Class {
	c, ok := s.Lookup(name)
	if !ok || depth > len(s.classes) {
		return nil
	}
	var chain []Class
	if c.Parent != "" {
		if chain = s.ancestors(c.Parent, depth+1); chain == nil {
			return nil
		}
	}
	for _, m := range c.Mixins {
		for _, mc := range s.ancestors(m, depth+1) {
			if !slices.ContainsFunc(chain, func(x Class) bool { return x.Name == mc.Name }) {
				chain = append(chain, mc)
			}
		}
	}
	return append(chain, c)
}

// names returns every class name, for "did you mean".
func (s *Schema) names() []string {
	out := make([]string, len(s.classes))
	for i, c := range s.classes {
		out[i] = c.Name
	}
	return out
}
