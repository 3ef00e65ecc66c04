package config

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Validator is implemented by config structs that check (and may normalise) their values once
// every section has been applied. Decode calls it and places each FieldError it returns at the
// line that set the offending trait; errors.Join may combine several.
type Validator interface {
	Validate() error
}

// FieldError is a bad value of one trait, returned by a Validator. Key is the trait name, or a
// path into it such as "services[1].url".
type FieldError struct {
	Key string
	Err error
}

// Error returns "key: err".
func (e *FieldError) Error() string { return e.Key + ": " + e.Err.Error() }

// Unwrap returns the underlying error.
func (e *FieldError) Unwrap() error { return e.Err }

// Invalid returns a FieldError for key with a formatted message, for Validator implementations.
func Invalid(key, format string, args ...any) error {
	return &FieldError{Key: key, Err: fmt.Errorf(format, args...)}
}

// Decode applies to target the section of every ancestor of className, root first, then the
// section of className itself, so the most specific class wins, as with traitlets. target is a
// pointer to the class's config struct, normally made by the class's New (so holding the
// defaults). A key that is not a trait of its section's class, or a value of the wrong type, is
// an error naming file and line; all such errors are reported at once. If target implements
// Validator, it is called last.
func (f *File) Decode(schema *Schema, className string, target any) error {
	chain := schema.Ancestors(className)
	if chain == nil {
		return fmt.Errorf("config: class %s is not in the schema", className)
	}
	tv := reflect.ValueOf(target)
	if tv.Kind() != reflect.Pointer || tv.IsNil() || tv.Elem().Kind() != reflect.Struct {
		return fmt.Errorf("config: Decode %s: target is %T, want a non-nil pointer to a struct", className, target)
	}
	d := &decoder{file: f.Name, pos: map[string]int{}, refused: chain[len(chain)-1].Refused, target: className}
	for _, c := range chain {
		d.section(f.byName[c.Name], c, tv.Elem())
	}
	if len(d.errs) == 0 {
		d.validate(f, className, target)
	}
	return errors.Join(d.errs...)
}

// Validate checks the whole file against schema, so that a broken config fails before anything
// starts: every section must name a known class, every key must be a trait of that class (or of
// an ancestor) with a value of the right type, and a class with its own section must pass its
// Validator (with its ancestors' sections applied). All errors are returned at once.
func (f *File) Validate(schema *Schema) error {
	var errs []error
	seen := map[string]bool{}
	add := func(err error) {
		for _, e := range flatten(err) {
			if !seen[e.Error()] {
				seen[e.Error()] = true
				errs = append(errs, e)
			}
		}
	}
	for _, s := range f.sections {
		c, ok := schema.Lookup(s.name)
		if !ok {
			add(&Error{File: f.Name, Line: s.line, Msg: "unknown class " + s.name + didYouMean("", s.name, schema.names())})
			continue
		}
		// Each section alone first, so an error in a parent's section is reported once, at its
		// own class, however many classes inherit it.
		d := &decoder{file: f.Name, pos: map[string]int{}}
		d.section(s, c, reflect.ValueOf(c.New()).Elem())
		add(errors.Join(d.errs...))
	}
	// Then each class with its ancestors and its Validator. Type errors found above come again
	// with the same text and are dropped, so each problem is reported once.
	for _, s := range f.sections {
		if c, ok := schema.Lookup(s.name); ok {
			add(f.Decode(schema, c.Name, c.New()))
		}
	}
	return errors.Join(errs...)
}

// flatten splits joined errors into their parts.
func flatten(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}

// decoder applies YAML nodes to Go values, collecting every error with its line, and records
// the line that set each trait path (for Validator errors).
type decoder struct {
	file string
	errs []error
	pos  map[string]int // trait path ("port", "services[1].url") → line that set it
	// refused are the target class's Class.Refused ("Section.key" → reason); target is its name.
	refused map[string]string
	target  string
}

// errorf records an error at line.
func (d *decoder) errorf(line int, format string, args ...any) {
	d.errs = append(d.errs, &Error{File: d.file, Line: line, Msg: fmt.Sprintf(format, args...)})
}

// section applies one class section (nil: absent) onto v, the target struct. Keys must be
// traits of class c.
func (d *decoder) section(s *section, c Class, v reflect.Value) {
	if s == nil {
		return
	}
	own := fieldsOf(reflect.TypeOf(c.New()).Elem())
	target := fieldsOf(v.Type())
	for _, e := range s.keys {
		if _, ok := own.byKey[e.key]; !ok {
			d.errorf(e.line, "unknown trait %s.%s%s", c.Name, e.key, didYouMean(c.Name+".", e.key, own.keys()))
			continue
		}
		if why, ok := d.refused[c.Name+"."+e.key]; ok && c.Name != d.target {
			// An empty value (generate-config's default) asks for nothing: skipped, not refused.
			if !emptyNode(e.value) {
				d.errorf(e.line, "%s.%s does not apply to %s: %s", c.Name, e.key, d.target, why)
			}
			continue
		}
		i, ok := target.byKey[e.key]
		if !ok {
			d.errorf(e.line, "%s.%s is not a trait of %s, which does not inherit from %s", c.Name, e.key, v.Type(), c.Name)
			continue
		}
		fld := target.list[i]
		d.pos[e.key] = e.line
		d.value(e.value, v.FieldByIndex(fld.index), c.Name, e.key, e.line)
	}
}

// value decodes n into v. class and path name the value in messages ("JupyterHub",
// "services[0].admin"); line is where its key is.
func (d *decoder) value(n *yaml.Node, v reflect.Value, class, path string, line int) {
	n = resolve(n)
	if n.Line > 0 && n.Kind == yaml.ScalarNode {
		line = n.Line
	}
	t := v.Type()
	isNull := n.Kind == yaml.ScalarNode && n.Tag == "!!null"
	wrong := func() {
		d.errorf(line, "%s.%s: expected %s, got %s", class, path, describeType(t), describeNode(n, path))
	}
	if t.Kind() == reflect.Pointer {
		if isNull {
			v.SetZero()
			return
		}
		if v.IsNil() {
			v.Set(reflect.New(t.Elem()))
		}
		d.value(n, v.Elem(), class, path, line)
		return
	}
	if v.CanAddr() && v.Addr().Type().Implements(unmarshalerType) {
		if err := v.Addr().Interface().(yaml.Unmarshaler).UnmarshalYAML(n); err != nil {
			d.errorf(line, "%s.%s: %v", class, path, err)
		}
		return
	}
	if t == durationType {
		d.duration(n, v, wrong)
		return
	}
	if t == nestedType { // decoded later, by its owner (Nested.DecodeInto)
		v.Set(reflect.ValueOf(Nested{node: n, file: d.file, class: class, path: path}))
		return
	}
	switch t.Kind() {
	case reflect.Interface:
		var x any
		if err := n.Decode(&x); err != nil {
			d.errorf(line, "%s.%s: %v", class, path, err)
			return
		}
		if x == nil {
			v.SetZero()
		} else {
			v.Set(reflect.ValueOf(x))
		}
	case reflect.String:
		if n.Kind != yaml.ScalarNode || (n.Tag != "!!str" && n.Tag != "!!timestamp") {
			wrong()
			return
		}
		v.SetString(n.Value)
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.Tag != "!!bool" {
			wrong()
			return
		}
		var b bool
		if n.Decode(&b) != nil {
			wrong()
			return
		}
		v.SetBool(b)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		var i int64
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || n.Decode(&i) != nil {
			wrong()
			return
		}
		if v.OverflowInt(i) {
			d.errorf(line, "%s.%s: %d is out of range", class, path, i)
			return
		}
		v.SetInt(i)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		var u uint64
		if n.Kind != yaml.ScalarNode || n.Tag != "!!int" || n.Decode(&u) != nil {
			wrong()
			return
		}
		if v.OverflowUint(u) {
			d.errorf(line, "%s.%s: %d is out of range", class, path, u)
			return
		}
		v.SetUint(u)
	case reflect.Float32, reflect.Float64:
		var x float64
		if n.Kind != yaml.ScalarNode || (n.Tag != "!!int" && n.Tag != "!!float") || n.Decode(&x) != nil {
			wrong()
			return
		}
		v.SetFloat(x)
	case reflect.Slice:
		d.slice(n, v, class, path, wrong)
	case reflect.Map:
		d.mapping(n, v, class, path, wrong)
	case reflect.Struct:
		d.structure(n, v, class, path, wrong)
	default:
		d.errorf(line, "%s.%s: gohub cannot read a %s from the config (a bug)", class, path, t)
	}
}

// duration accepts seconds (an integer or a decimal number) or a Go duration string ("90s").
func (d *decoder) duration(n *yaml.Node, v reflect.Value, wrong func()) {
	if n.Kind != yaml.ScalarNode {
		wrong()
		return
	}
	switch n.Tag {
	case "!!int", "!!float":
		secs, err := strconv.ParseFloat(strings.ReplaceAll(n.Value, "_", ""), 64)
		if err != nil {
			var i int64
			if n.Decode(&i) != nil {
				wrong()
				return
			}
			secs = float64(i)
		}
		if math.IsNaN(secs) || math.Abs(secs) > math.MaxInt64/float64(time.Second) {
			wrong()
			return
		}
		v.SetInt(int64(secs * float64(time.Second)))
	case "!!str":
		dur, err := time.ParseDuration(strings.TrimSpace(n.Value))
		if err != nil {
			wrong()
			return
		}
		v.SetInt(int64(dur))
	default:
		wrong()
	}
}

func (d *decoder) slice(n *yaml.Node, v reflect.Value, class, path string, wrong func()) {
	if n.Kind != yaml.SequenceNode {
		wrong()
		return
	}
	// Never nil, even when empty: `users: []` (empty it) differs from an absent key.
	out := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
	for i, item := range n.Content {
		p := fmt.Sprintf("%s[%d]", path, i)
		d.pos[p] = item.Line
		d.value(item, out.Index(i), class, p, item.Line)
	}
	v.Set(out)
}

func (d *decoder) mapping(n *yaml.Node, v reflect.Value, class, path string, wrong func()) {
	t := v.Type()
	if n.Kind != yaml.MappingNode || t.Key().Kind() != reflect.String {
		wrong()
		return
	}
	out := reflect.MakeMapWithSize(t, len(n.Content)/2)
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := resolve(n.Content[i])
		if k.Kind != yaml.ScalarNode || k.Tag == "!!null" {
			d.errorf(k.Line, "%s.%s: a key must be a name, got %s", class, path, describeNode(k, ""))
			continue
		}
		p := path + "." + k.Value
		if first, dup := seen[k.Value]; dup {
			d.errorf(k.Line, "%s.%s is set twice (first at line %d)", class, p, first)
			continue
		}
		seen[k.Value] = k.Line
		d.pos[p] = k.Line
		elem := reflect.New(t.Elem()).Elem()
		d.value(n.Content[i+1], elem, class, p, k.Line)
		out.SetMapIndex(reflect.ValueOf(k.Value).Convert(t.Key()), elem)
	}
	v.Set(out)
}

// structure decodes a mapping onto a struct, keeping the fields it does not name.
func (d *decoder) structure(n *yaml.Node, v reflect.Value, class, path string, wrong func()) {
	if n.Kind != yaml.MappingNode {
		wrong()
		return
	}
	ft := fieldsOf(v.Type())
	seen := map[string]int{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := resolve(n.Content[i])
		if k.Kind != yaml.ScalarNode || k.Tag != "!!str" {
			d.errorf(k.Line, "%s.%s: a key must be a name, got %s", class, path, describeNode(k, ""))
			continue
		}
		p := path + "." + k.Value
		j, ok := ft.byKey[k.Value]
		if !ok {
			d.errorf(k.Line, "unknown key %s.%s%s", class, p, didYouMean("", k.Value, ft.keys()))
			continue
		}
		if first, dup := seen[k.Value]; dup {
			d.errorf(k.Line, "%s.%s is set twice (first at line %d)", class, p, first)
			continue
		}
		seen[k.Value] = k.Line
		d.pos[p] = k.Line
		d.value(n.Content[i+1], v.FieldByIndex(ft.list[j].index), class, p, k.Line)
	}
}

// validate runs target's Validator and places its errors at the lines that set the keys.
func (d *decoder) validate(f *File, className string, target any) {
	val, ok := target.(Validator)
	if !ok {
		return
	}
	root := 0
	if s := f.byName[className]; s != nil {
		root = s.line
	}
	var found []*Error
	for _, err := range flatten(val.Validate()) {
		var fe *FieldError
		var placed *Error // already at its own file:line (Nested.DecodeInto)
		if errors.As(err, &placed) {
			found = append(found, placed)
			continue
		}
		if !errors.As(err, &fe) {
			found = append(found, &Error{File: d.file, Line: root, Msg: className + ": " + err.Error()})
			continue
		}
		found = append(found, &Error{File: d.file, Line: d.lineOf(fe.Key, root), Msg: className + "." + fe.Key + ": " + fe.Err.Error()})
	}
	// A Validator may check traits in any order (map iteration); report them in file order.
	slices.SortStableFunc(found, func(a, b *Error) int {
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Msg, b.Msg))
	})
	for _, e := range found {
		d.errs = append(d.errs, e)
	}
}

// lineOf finds the line that set key, or the nearest enclosing trait ("services[1].url" falls
// back to "services[1]", then "services"), or def.
func (d *decoder) lineOf(key string, def int) int {
	for k := key; k != ""; {
		if l, ok := d.pos[k]; ok {
			return l
		}
		i := strings.LastIndexAny(k, ".[")
		if i < 0 {
			break
		}
		k = k[:i]
	}
	return def
}

// emptyNode reports whether n is null, an empty string or an empty sequence or mapping.
func emptyNode(n *yaml.Node) bool {
	n = resolve(n)
	switch {
	case n == nil:
		return true
	case n.Kind == yaml.ScalarNode:
		return n.Tag == "!!null" || n.Value == ""
	case n.Kind == yaml.SequenceNode || n.Kind == yaml.MappingNode:
		return len(n.Content) == 0
	}
	return false
}
