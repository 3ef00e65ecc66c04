package config

import (
	"bufio"
	"fmt"
	"io"
	"maps"
	"reflect"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"
)

// Generate writes a complete config file for schema: every class in schema order, each with
// its traits commented out at their default values and with their help text as a trailing
// comment. A class lists the traits it adds to its parent and those whose default it changes;
// inherited ones are listed under the class that defines them.
//
// The output parses as an empty config. Removing the leading "# " from every line that does not
// start with "##" gives a config that sets every trait to its default.
func Generate(w io.Writer, schema *Schema) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintln(bw, "## gohub configuration: JupyterHub's traitlets config written as YAML, one section per class.")
	fmt.Fprintln(bw, "## Every trait is listed below, commented out, at its default value. To set one, remove the")
	fmt.Fprintln(bw, "## leading \"# \" from its line and from its class's line. A class's section also applies to")
	fmt.Fprintln(bw, "## every class that inherits from it; the most specific class wins.")
	for _, c := range schema.Classes() {
		if err := generateClass(bw, schema, c); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// generateClass writes one class's section.
func generateClass(w io.Writer, schema *Schema, c Class) error {
	fmt.Fprintln(w)
	if c.Parent != "" {
		fmt.Fprintf(w, "## ---- %s (inherits the traits of %s) ----\n", c.Name, strings.Join(ancestorNames(schema, c), ", "))
	} else {
		fmt.Fprintf(w, "## ---- %s ----\n", c.Name)
	}
	for _, k := range slices.Sorted(maps.Keys(c.Refused)) {
		fmt.Fprintf(w, "## %s does not apply to %s: %s\n", k, c.Name, strings.Join(strings.Fields(c.Refused[k]), " "))
	}
	v := reflect.ValueOf(c.New()).Elem()
	var parent reflect.Value
	var parentFields *fieldTable
	if c.Parent != "" {
		p, _ := schema.Lookup(c.Parent)
		parent = reflect.ValueOf(p.New()).Elem()
		parentFields = fieldsOf(parent.Type())
	}
	var lines []string
	for _, f := range fieldsOf(v.Type()).list {
		val := v.FieldByIndex(f.index)
		if parentFields != nil {
			if i, ok := parentFields.byKey[f.key]; ok && reflect.DeepEqual(val.Interface(), parent.FieldByIndex(parentFields.list[i].index).Interface()) {
				continue // inherited, at the parent's default: listed under the parent
			}
		}
		l, err := traitLines(c.Name, f, val)
		if err != nil {
			return err
		}
		lines = append(lines, l...)
	}
	if len(lines) == 0 {
		fmt.Fprintf(w, "# %s: {}\n", c.Name)
		return nil
	}
	fmt.Fprintf(w, "# %s:\n", c.Name)
	for _, l := range lines {
		fmt.Fprintln(w, l)
	}
	return nil
}

// ancestorNames lists c's ancestors, nearest first.
func ancestorNames(schema *Schema, c Class) []string {
	chain := schema.Ancestors(c.Name)
	var out []string
	for i := len(chain) - 2; i >= 0; i-- {
		out = append(out, chain[i].Name)
	}
	return out
}

// traitLines renders one trait as commented YAML lines: `#   key: default   # help`, or for a
// value that needs several lines, the key line followed by the value indented under it.
func traitLines(class string, f field, val reflect.Value) ([]string, error) {
	text, err := renderValue(val)
	if err != nil {
		return nil, fmt.Errorf("generate %s.%s: %w", class, f.key, err)
	}
	help := strings.Join(strings.Fields(f.help), " ")
	comment := ""
	if help != "" {
		comment = "   # " + help
	}
	if !strings.Contains(text, "\n") {
		return []string{"#   " + f.key + ": " + text + comment}, nil
	}
	parts := strings.Split(text, "\n")
	head := "#   " + f.key + ":"
	if strings.HasPrefix(parts[0], "|") || strings.HasPrefix(parts[0], ">") {
		head += " " + parts[0] // a block scalar's indicator stays on the key's line
		parts = parts[1:]
	}
	out := []string{head + comment}
	for _, p := range parts {
		out = append(out, "#     "+p)
	}
	return out, nil
}

// renderValue writes v as YAML: collections in flow style on one line when that is possible,
// else in block style.
func renderValue(v reflect.Value) (string, error) {
	var n yaml.Node
	if err := n.Encode(v.Interface()); err != nil {
		return "", err
	}
	setStyle(&n, yaml.FlowStyle)
	out, err := yaml.Marshal(&n)
	if err != nil {
		return "", err
	}
	text := strings.TrimSuffix(string(out), "\n")
	if !strings.Contains(text, "\n") {
		return text, nil
	}
	setStyle(&n, 0)
	var buf strings.Builder
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(&n); err != nil {
		return "", err
	}
	if err := enc.Close(); err != nil {
		return "", err
	}
	return strings.TrimSuffix(buf.String(), "\n"), nil
}

// setStyle sets the style of every collection under n.
func setStyle(n *yaml.Node, style yaml.Style) {
	if n.Kind == yaml.SequenceNode || n.Kind == yaml.MappingNode {
		n.Style = style
	}
	for _, c := range n.Content {
		setStyle(c, style)
	}
}
