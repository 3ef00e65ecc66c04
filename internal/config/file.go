// Package config reads gohub's configuration file: JupyterHub's traitlets config written as YAML,
// one top-level section per configurable class (`JupyterHub:`, `Authenticator:`,
// `DummyAuthenticator:` ...), each a mapping of trait names to values.
//
// The package knows no class but JupyterHub's own (Hub). Other packages describe theirs as Class
// values (a name, a parent class and a constructor of a defaults-filled, yaml-tagged struct),
// collect them in a Schema, and Decode their section onto that struct. As with traitlets, the
// section of every ancestor class is applied first and the most specific class wins.
//
// Every error names the file and line and, for a misspelt class or trait, suggests the closest
// known name. The parsed document keeps yaml.Node positions for that purpose.
package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// DefaultFile is the config file read when none is named: it may be absent.
const DefaultFile = "gohub_config.yaml"

// Error is a problem at a place in a config file. Its text is `file:line: message`, or
// `file: message` when no line applies.
type Error struct {
	File string
	Line int
	Msg  string
}

// Error returns the text `file:line: message`.
func (e *Error) Error() string {
	if e.Line <= 0 {
		return e.File + ": " + e.Msg
	}
	return e.File + ":" + strconv.Itoa(e.Line) + ": " + e.Msg
}

// File is a parsed config file: its class sections with their positions. A File is read-only
// after Parse and safe for concurrent use.
type File struct {
	// Name is the file name used in error messages.
	Name     string
	sections []*section
	byName   map[string]*section
}

// section is one top-level `Class:` mapping.
type section struct {
	name string
	line int // line of the class name
	keys []entry
}

// entry is one `trait: value` of a section.
type entry struct {
	key   string
	line  int // line of the key
	value *yaml.Node
}

// Load reads and parses the config file at path. An empty path means DefaultFile. The default
// file may be absent: that gives an empty config (every trait at its default). Any other file
// that does not exist is an error wrapping fs.ErrNotExist.
func Load(path string) (*File, error) {
	if path == "" {
		path = DefaultFile
	}
	optional := path == DefaultFile
	data, err := os.ReadFile(path)
	if err != nil {
		if optional && errors.Is(err, fs.ErrNotExist) {
			return Parse(path, nil)
		}
		return nil, fmt.Errorf("read config: %w", err)
	}
	return Parse(path, data)
}

// yamlLine matches the position prefix of the YAML library's syntax errors.
var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// Parse parses config data; name is used in error messages. Empty data (or only comments) is
// an empty config. The top level must be a mapping of class names to mappings.
func Parse(name string, data []byte) (*File, error) {
	f := &File{Name: name, byName: map[string]*section{}}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return f, nil
		}
		return nil, f.syntaxError(err, data)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		return nil, &Error{File: name, Line: extra.Line, Msg: "a config file holds one YAML document; found a second one"}
	} else if !errors.Is(err, io.EOF) {
		return nil, f.syntaxError(err, data)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) == 0 {
		return f, nil
	}
	top := resolve(doc.Content[0])
	if top.Kind == yaml.ScalarNode && top.Tag == "!!null" {
		return f, nil
	}
	if top.Kind != yaml.MappingNode {
		return nil, &Error{File: name, Line: top.Line, Msg: "the top level must be a mapping of class names to sections (JupyterHub: {bind_url: ...}), got " + describeNode(top, "")}
	}
	var errs []error
	for i := 0; i+1 < len(top.Content); i += 2 {
		k, v := resolve(top.Content[i]), resolve(top.Content[i+1])
		if k.Kind != yaml.ScalarNode || k.Tag != "!!str" {
			errs = append(errs, &Error{File: name, Line: k.Line, Msg: "a class name must be a string, got " + describeNode(k, "")})
			continue
		}
		if prev, dup := f.byName[k.Value]; dup {
			errs = append(errs, &Error{File: name, Line: k.Line, Msg: fmt.Sprintf("class %s appears twice (first at line %d)", k.Value, prev.line)})
			continue
		}
		s := &section{name: k.Value, line: k.Line}
		if err := f.fillSection(s, v); err != nil {
			errs = append(errs, err)
			continue
		}
		f.sections = append(f.sections, s)
		f.byName[s.name] = s
	}
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return f, nil
}

// fillSection reads the trait keys of one class section.
func (f *File) fillSection(s *section, v *yaml.Node) error {
	if v.Kind == yaml.ScalarNode && v.Tag == "!!null" {
		return nil // `Class:` with nothing under it: no traits set
	}
	if v.Kind != yaml.MappingNode {
		return &Error{File: f.Name, Line: v.Line, Msg: fmt.Sprintf("section %s must be a mapping of trait names to values, got %s", s.name, describeNode(v, ""))}
	}
	var errs []error
	seen := map[string]int{}
	for i := 0; i+1 < len(v.Content); i += 2 {
		k := resolve(v.Content[i])
		if k.Kind != yaml.ScalarNode || k.Tag != "!!str" {
			errs = append(errs, &Error{File: f.Name, Line: k.Line, Msg: fmt.Sprintf("a trait name in %s must be a string, got %s", s.name, describeNode(k, ""))})
			continue
		}
		if first, dup := seen[k.Value]; dup {
			errs = append(errs, &Error{File: f.Name, Line: k.Line, Msg: fmt.Sprintf("%s.%s is set twice (first at line %d)", s.name, k.Value, first)})
			continue
		}
		seen[k.Value] = k.Line
		s.keys = append(s.keys, entry{key: k.Value, line: k.Line, value: v.Content[i+1]})
	}
	return errors.Join(errs...)
}

// parserProblems are the messages of the YAML library's parser (as opposed to its scanner).
// For these it reports a 0-based line number, so they need one added.
var parserProblems = map[string]bool{
	"did not find expected <stream-start>":   true,
	"did not find expected <document start>": true,
	"did not find expected node content":     true,
	"did not find expected key":              true,
	"did not find expected '-' indicator":    true,
	"did not find expected ',' or ']'":       true,
	"did not find expected ',' or '}'":       true,
	"found duplicate %YAML directive":        true,
	"found duplicate %TAG directive":         true,
	"found incompatible YAML document":       true,
	"found undefined tag handle":             true,
}

// syntaxError turns the YAML library's "yaml: line N: msg" into "file:N: msg".
func (f *File) syntaxError(err error, data []byte) error {
	msg := err.Error()
	m := yamlLine.FindStringSubmatch(msg)
	if m == nil {
		return &Error{File: f.Name, Msg: strings.TrimPrefix(msg, "yaml: ")}
	}
	line, _ := strconv.Atoi(m[1])
	if parserProblems[m[2]] {
		line++
	}
	// An error at the end of the input is placed on the last line, not the one after it.
	lines := bytes.Count(data, []byte("\n"))
	if len(data) > 0 && data[len(data)-1] != '\n' {
		lines++
	}
	line = max(1, min(line, lines))
	return &Error{File: f.Name, Line: line, Msg: m[2]}
}

// Sections returns the class names of the file's sections, in file order.
func (f *File) Sections() []string {
	out := make([]string, len(f.sections))
	for i, s := range f.sections {
		out[i] = s.name
	}
	return out
}

// Has reports whether the file has a section for class, and whether that section sets trait
// (an empty trait asks only about the section).
func (f *File) Has(class, trait string) bool {
	s, ok := f.byName[class]
	if !ok {
		return false
	}
	if trait == "" {
		return true
	}
	for _, e := range s.keys {
		if e.key == trait {
			return true
		}
	}
	return false
}

// resolve follows YAML aliases (*anchor) to the node they name.
func resolve(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	return n
}
