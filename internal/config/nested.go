package config

import (
	"errors"
	"fmt"
	"reflect"

	"go.yaml.in/yaml/v3"
)

// Nested is a config value whose type is known only later, from its sibling keys: each entry of
// MultiAuthenticator.authenticators has a `config:` mapping that belongs to the authenticator
// class the entry names. Decoding keeps the YAML node (with its file and lines); DecodeInto
// applies it to the right struct with the same rules as a class section, so an unknown key or a
// value of the wrong type is an error at its own file:line.
type Nested struct {
	node        *yaml.Node
	file        string
	class, path string // where it sits: "MultiAuthenticator", "authenticators[1].config"
}

var nestedType = reflect.TypeFor[Nested]()

// IsSet reports whether the file gave a value (a non-null one).
func (n Nested) IsSet() bool {
	return n.node != nil && !(n.node.Kind == yaml.ScalarNode && n.node.Tag == "!!null")
}

// Path is where the value sits in the file, for messages ("MultiAuthenticator.authenticators[0].config").
func (n Nested) Path() string { return n.class + "." + n.path }

// DecodeInto applies the value, which must be a mapping, to target, a non-nil pointer to a
// yaml-tagged struct (normally filled with its defaults): every key must be a field, every value
// of the field's type, and errors name the file and line. If target implements Validator, it is
// called afterwards and its errors are placed at the lines that set the keys. An unset value
// leaves target alone (but still validates it).
func (n Nested) DecodeInto(target any) error {
	tv := reflect.ValueOf(target)
	if tv.Kind() != reflect.Pointer || tv.IsNil() || tv.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("config: DecodeInto %s: target is %T, want a non-nil pointer to a struct", n.Path(), target)
	}
	d := &decoder{file: n.file, pos: map[string]int{}}
	root := 0
	if n.IsSet() {
		node := resolve(n.node)
		root = node.Line
		d.structure(node, tv.Elem(), n.class, n.path, func() {
			d.errorf(node.Line, "%s: expected a mapping of settings, got %s", n.Path(), describeNode(node, ""))
		})
	}
	if len(d.errs) > 0 {
		return errors.Join(d.errs...)
	}
	val, ok := target.(Validator)
	if !ok {
		return nil
	}
	for _, err := range flatten(val.Validate()) {
		var fe *FieldError
		if errors.As(err, &fe) {
			d.errorf(d.lineOf(n.path+"."+fe.Key, root), "%s.%s: %v", n.Path(), fe.Key, fe.Err)
			continue
		}
		d.errorf(root, "%s: %v", n.Path(), err)
	}
	return errors.Join(d.errs...)
}
