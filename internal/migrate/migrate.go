// Package migrate converts a JupyterHub jupyterhub_config.py into a gohub config file (YAML in
// the traitlets shape, Class: {trait: value}).
//
// The Python file is executed, as JupyterHub itself does, by python3 in isolated mode with a
// stand-in for the config object `c` (record.py, embedded): it records every assignment and
// in-place change (.add, .append, .update, |=) and prints them as JSON. JupyterHub is never
// imported; imports of jupyterhub and of the common authenticator and spawner packages get
// stub modules, so `from oauthenticator.github import GitHubOAuthenticator` works and the class
// object becomes its dotted name. Each recorded setting is then checked with gohub's own config
// loader: what gohub does not know is written commented out with a "# not supported by gohub"
// note, never dropped silently, and the result as a whole must pass the loader.
package migrate

import (
	"bytes"
	"context"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"gohub/internal/auth/registry"
	"gohub/internal/config"
	spawnreg "gohub/internal/spawner/registry"
)

//go:embed record.py
var recordScript string

// Options tune Convert.
type Options struct {
	// Python is the interpreter to run; "" means python3 from PATH.
	Python string
	// Schema is the config schema the output must satisfy (hub.Schema()). Required.
	Schema *config.Schema
	// Timeout bounds the run of the config file; 0 means DefaultTimeout.
	Timeout time.Duration
}

// DefaultTimeout is how long a config file may run.
const DefaultTimeout = time.Minute

// Setting is one Class.trait of the input and what became of it.
type Setting struct {
	Class, Trait string
	// Line is the line of the input that set it (0 if unknown).
	Line int
	// Unsupported says why the setting is written commented out; "" when it was converted.
	Unsupported string
}

// Result is a converted config.
type Result struct {
	// YAML is the gohub config file.
	YAML []byte
	// Settings lists every setting of the input, in the order they were first set.
	Settings []Setting
}

// Unsupported returns the settings written commented out.
func (r *Result) Unsupported() []Setting {
	var out []Setting
	for _, s := range r.Settings {
		if s.Unsupported != "" {
			out = append(out, s)
		}
	}
	return out
}

// record is one setting as record.py prints it.
type record struct {
	Class string          `json:"class"`
	Trait string          `json:"trait"`
	Line  int             `json:"line"`
	Value json.RawMessage `json:"value"`
	// Lazy names the in-place changes that built a value the config never assigned (".add()");
	// Kinds are their effects: add (to a set), append, prepend, dict (update of a mapping).
	Lazy  []string `json:"lazy"`
	Kinds []string `json:"kinds"`
}

// Convert runs the JupyterHub config file at path (it is executed: only use it on files you
// trust, as JupyterHub would) and returns the equivalent gohub config. Notes and errors name the
// input as path is given. A Python error is returned as "path:line: message"; a result that
// gohub's loader rejects is an error too, placed at the input line that set the trait.
func Convert(ctx context.Context, path string, opts Options) (*Result, error) {
	if opts.Schema == nil {
		return nil, errors.New("migrate: no schema")
	}
	recs, err := run(ctx, path, opts.Python, opts.Timeout)
	if err != nil {
		return nil, err
	}
	return build(path, recs, opts.Schema)
}

// run executes record.py on path and decodes its output.
func run(ctx context.Context, path, python string, timeout time.Duration) ([]record, error) {
	if python == "" {
		python = "python3"
	}
	bin, err := exec.LookPath(python)
	if err != nil {
		return nil, fmt.Errorf("migrate-config needs Python 3 to read %s: %w", path, err)
	}
	// -I: isolated (no user site, no PYTHON* variables, script directory not on sys.path);
	// -c keeps the script in memory, the config path is its argument.
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "-I", "-c", recordScript, path)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	runErr := cmd.Run()
	var out struct {
		Settings []record `json:"settings"`
		Error    string   `json:"error"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil || runErr != nil && out.Error == "" {
		if ctx.Err() != nil {
			return nil, fmt.Errorf("run %s on %s: no result within %s", python, path, timeout)
		}
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 2000 {
			msg = "..." + msg[len(msg)-2000:]
		}
		if runErr == nil {
			runErr = err
		}
		return nil, fmt.Errorf("run %s on %s: %v\n%s", python, path, runErr, msg)
	}
	if out.Error != "" {
		return nil, errors.New(out.Error)
	}
	return out.Settings, nil
}

// classTraits are the traits whose value names a class, with the lookup of gohub's registry.
var classTraits = map[string]func(string) bool{
	"authenticator_class": func(s string) bool { _, ok := registry.Lookup(s); return ok },
	"spawner_class":       func(s string) bool { _, ok := spawnreg.Lookup(s); return ok },
	"proxy_class": func(s string) bool {
		switch strings.ToLower(strings.ReplaceAll(strings.TrimSpace(s), ":", ".")) {
		case "", "builtin", "gohub", "configurable-http-proxy", "chp", "configurablehttpproxy", "jupyterhub.proxy.configurablehttpproxy":
			return true
		}
		return false
	},
}

// functionNotes point from a Python callable trait to gohub's way of doing the same.
var functionNotes = map[string]string{
	"pre_spawn_hook":    "gohub's Spawner.pre_spawn_hook is a command (argv list) that reads the spawn as JSON on stdin and prints trait overrides; see README",
	"post_stop_hook":    "gohub has no post_stop_hook callable; run clean-up from a service or the stopped server's own exit",
	"options_form":      "gohub's Spawner.options_form is an HTML string; per-user forms come from spawn policy overrides or profile_list",
	"options_from_form": "gohub passes form fields to the spawn policy; use profile_list or pre_spawn_hook (a command) to map them",
	"auth_state_hook":   "gohub's pre_spawn_hook command receives auth_state on stdin",
	"authenticate":      "use the command authenticator (authenticator_class: command), which runs a program to check a login",
	"check_allowed":     "use allowed_users/allowed_groups, or the command authenticator",
	"post_auth_hook":    "use the command authenticator (authenticator_class: command) to adjust a login",
	"username_map":      "gohub's Authenticator.username_map is a mapping of names, not a function",
	"cmd":               "give the command as a list of strings",
}

// converted is one setting ready to write: its YAML value, or why it is left commented.
type converted struct {
	rec  record
	node *yaml.Node // the value; nil when only a note can be written
	why  string     // not supported: why
	note string     // a remark written above a converted setting
}

// build maps records to YAML, checks each against the schema and the whole against the loader.
func build(name string, recs []record, schema *config.Schema) (*Result, error) {
	var order []string
	bySection := map[string][]*converted{}
	res := &Result{}
	for _, r := range recs {
		cv := &converted{rec: r}
		var v any
		dec := json.NewDecoder(bytes.NewReader(r.Value))
		dec.UseNumber() // Python ints stay exact
		if err := dec.Decode(&v); err != nil {
			cv.why = "cannot read the recorded value: " + err.Error()
		} else {
			cv.node, cv.why = convertValue(r.Trait, v)
		}
		if cv.why == "" {
			cv.why = checkOne(schema, r.Class, r.Trait, cv.node)
		}
		if cv.why == "" && len(r.Lazy) > 0 {
			if onDefault(schema, r, cv.node) {
				cv.note = "built with " + strings.Join(r.Lazy, ", ") + " on gohub's default, which is included here"
			} else {
				cv.note = "built with " + strings.Join(r.Lazy, ", ") + " on a trait not set before (empty by default)"
			}
		}
		if _, ok := bySection[r.Class]; !ok {
			order = append(order, r.Class)
		}
		bySection[r.Class] = append(bySection[r.Class], cv)
		res.Settings = append(res.Settings, Setting{Class: r.Class, Trait: r.Trait, Line: r.Line, Unsupported: cv.why})
	}

	var b strings.Builder
	var spans []span // which output lines came from which setting
	fmt.Fprintf(&b, "## gohub configuration converted from %s by `gohub migrate-config`.\n", name)
	fmt.Fprintln(&b, "## Settings gohub does not support are kept below, commented out, each with a note.")
	for _, class := range order {
		items := bySection[class]
		active := false
		for _, cv := range items {
			active = active || cv.why == ""
		}
		b.WriteString("\n")
		if active {
			fmt.Fprintf(&b, "%s:\n", class)
		} else {
			fmt.Fprintf(&b, "# %s:\n", class)
		}
		for _, cv := range items {
			from := strings.Count(b.String(), "\n") + 1
			if err := writeSetting(&b, name, cv); err != nil {
				return nil, err
			}
			spans = append(spans, span{from: from, to: strings.Count(b.String(), "\n"), rec: cv.rec})
		}
	}
	res.YAML = []byte(b.String())
	f, err := config.Parse(name+" (converted)", res.YAML)
	if err == nil {
		err = f.Validate(schema)
	}
	if err != nil {
		return nil, fmt.Errorf("the converted config does not load in gohub (fix the setting in %s, or convert by hand):\n%w", name, placeErrors(err, name, spans))
	}
	return res, nil
}

// span is the output lines [from, to] written for one setting.
type span struct {
	from, to int
	rec      record
}

// placeErrors moves the loader's errors from lines of the converted text to the lines of the
// input that set those traits, which is the file the admin knows.
func placeErrors(err error, name string, spans []span) error {
	var out []error
	for _, e := range flatten(err) {
		var ce *config.Error
		if errors.As(e, &ce) && ce.Line > 0 {
			for _, sp := range spans {
				if ce.Line >= sp.from && ce.Line <= sp.to && sp.rec.Line > 0 {
					e = &config.Error{File: name, Line: sp.rec.Line, Msg: ce.Msg}
					break
				}
			}
		}
		out = append(out, e)
	}
	return errors.Join(out...)
}

// writeSetting writes one trait line (or a commented one with its note).
func writeSetting(b *strings.Builder, name string, cv *converted) error {
	src := name
	if cv.rec.Line > 0 {
		src = fmt.Sprintf("%s:%d", name, cv.rec.Line)
	}
	var text string
	if cv.node != nil {
		t, err := render(cv.node)
		if err != nil {
			return err
		}
		text = t
	}
	if cv.why != "" {
		fmt.Fprintf(b, "  # not supported by gohub: %s (%s)\n", oneLine(cv.why), src)
		if cv.node == nil {
			fmt.Fprintf(b, "  # %s: ...\n", cv.rec.Trait)
			return nil
		}
		for i, l := range keyLines(cv.rec.Trait, text) {
			if i == 0 {
				fmt.Fprintf(b, "  # %s\n", l)
			} else {
				fmt.Fprintf(b, "  #   %s\n", l)
			}
		}
		return nil
	}
	if cv.note != "" {
		fmt.Fprintf(b, "  # %s (%s)\n", cv.note, src)
	}
	for i, l := range keyLines(cv.rec.Trait, text) {
		if i == 0 {
			fmt.Fprintf(b, "  %s\n", l)
		} else {
			fmt.Fprintf(b, "    %s\n", l)
		}
	}
	return nil
}

// keyLines renders `key: value`; a multi-line value goes on the lines after the key.
func keyLines(key, text string) []string {
	parts := strings.Split(text, "\n")
	if len(parts) == 1 {
		return []string{key + ": " + text}
	}
	head := key + ":"
	if strings.HasPrefix(parts[0], "|") || strings.HasPrefix(parts[0], ">") {
		head += " " + parts[0]
		parts = parts[1:]
	}
	return append([]string{head}, parts...)
}

// oneLine folds whitespace so a note stays on its comment line.
func oneLine(s string) string { return strings.Join(strings.Fields(s), " ") }

// render writes a value in flow style when it fits one line of moderate length, else in block
// style.
func render(n *yaml.Node) (string, error) {
	c := copyNode(n)
	setStyle(c, yaml.FlowStyle)
	out, err := yaml.Marshal(c)
	if err != nil {
		return "", err
	}
	text := strings.TrimSuffix(string(out), "\n")
	if !strings.Contains(text, "\n") && len(text) <= 100 {
		return text, nil
	}
	c = copyNode(n)
	setStyle(c, 0)
	var buf strings.Builder
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(c); err != nil {
		return "", err
	}
	if err := enc.Close(); err != nil {
		return "", err
	}
	return strings.TrimSuffix(buf.String(), "\n"), nil
}

func copyNode(n *yaml.Node) *yaml.Node {
	c := *n
	c.Content = make([]*yaml.Node, len(n.Content))
	for i, x := range n.Content {
		c.Content[i] = copyNode(x)
	}
	return &c
}

func setStyle(n *yaml.Node, style yaml.Style) {
	if n.Kind == yaml.SequenceNode || n.Kind == yaml.MappingNode {
		n.Style = style
	}
	for _, c := range n.Content {
		setStyle(c, style)
	}
}

// checkOne asks the loader whether Class.trait is something gohub knows, with this value for a
// class-naming trait. It returns why not, or "". Other value errors are left to the check of
// the whole file, which fails the conversion.
func checkOne(schema *config.Schema, class, trait string, value *yaml.Node) string {
	if _, ok := schema.Lookup(class); !ok {
		doc := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{{Kind: yaml.ScalarNode, Value: class}, {Kind: yaml.MappingNode}}}
		return loaderMessage(schema, doc, "unknown class "+class)
	}
	sec := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{{Kind: yaml.ScalarNode, Value: trait}, value}}
	doc := &yaml.Node{Kind: yaml.MappingNode, Content: []*yaml.Node{{Kind: yaml.ScalarNode, Value: class}, sec}}
	if why := loaderMessage(schema, doc, ""); why != "" {
		return why
	}
	if known, ok := classTraits[trait]; ok && value.Kind == yaml.ScalarNode && !known(value.Value) {
		return fmt.Sprintf("%s %q is not one of gohub's classes", trait, value.Value)
	}
	return ""
}

// loaderMessage validates doc alone and returns the loader's message if it says the class or
// trait is unknown or does not apply; def is returned if the document cannot be built.
func loaderMessage(schema *config.Schema, doc *yaml.Node, def string) string {
	data, err := yaml.Marshal(doc)
	if err != nil {
		return def
	}
	f, err := config.Parse("check", data)
	if err == nil {
		err = f.Validate(schema)
	}
	for _, e := range flatten(err) {
		var ce *config.Error
		if errors.As(e, &ce) && (strings.HasPrefix(ce.Msg, "unknown class ") || strings.HasPrefix(ce.Msg, "unknown trait ") || strings.Contains(ce.Msg, " does not apply to ")) {
			return ce.Msg
		}
	}
	return ""
}

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

// onDefault applies in-place changes of a trait the config never assigned to gohub's default
// for it, as traitlets applies them to the trait's default: n (the changes' items) becomes the
// default plus them. It reports whether the default had anything to add.
func onDefault(schema *config.Schema, r record, n *yaml.Node) bool {
	def := defaultNode(schema, r.Class, r.Trait)
	if def == nil || len(def.Content) == 0 || def.Kind != n.Kind {
		return false
	}
	switch n.Kind {
	case yaml.SequenceNode:
		if slices.Equal(r.Kinds, []string{"prepend"}) {
			n.Content = append(n.Content, def.Content...)
		} else {
			n.Content = append(append([]*yaml.Node(nil), def.Content...), n.Content...)
		}
		if slices.Contains(r.Kinds, "add") { // a set: drop repeats
			seen := map[string]bool{}
			out := n.Content[:0]
			for _, c := range n.Content {
				if c.Kind != yaml.ScalarNode || !seen[c.Value] {
					seen[c.Value] = true
					out = append(out, c)
				}
			}
			n.Content = out
		}
	case yaml.MappingNode:
		set := map[string]bool{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			set[n.Content[i].Value] = true
		}
		var merged []*yaml.Node
		for i := 0; i+1 < len(def.Content); i += 2 {
			if !set[def.Content[i].Value] {
				merged = append(merged, def.Content[i], def.Content[i+1])
			}
		}
		n.Content = append(merged, n.Content...)
	default:
		return false
	}
	return true
}

// defaultNode returns gohub's default for Class.trait as YAML, or nil.
func defaultNode(schema *config.Schema, class, trait string) *yaml.Node {
	c, ok := schema.Lookup(class)
	if !ok {
		return nil
	}
	var doc yaml.Node
	if err := doc.Encode(c.New()); err != nil || doc.Kind != yaml.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(doc.Content); i += 2 {
		if doc.Content[i].Value == trait {
			return doc.Content[i+1]
		}
	}
	return nil
}
