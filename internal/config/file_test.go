package config

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestParseErrors(t *testing.T) {
	for _, tc := range []struct {
		name, text string
		want       []string
	}{
		{"syntax error", "JupyterHub:\n  bind_url: [http://x\n  port: 1\n",
			[]string{"t.yaml:2: did not find expected ',' or ']'"}},
		{"unclosed at end", "JupyterHub:\n  admin: [x,\n",
			[]string{"t.yaml:2: did not find expected node content"}},
		{"unclosed quote", "JupyterHub:\n  a: 1\n  b: \"abc\n  c: 2\n",
			[]string{"t.yaml:3: found unexpected end of stream"}},
		{"bad indentation", "JupyterHub:\n  port: 1\n   hub_port: 2\n",
			[]string{"t.yaml:3: mapping values are not allowed in this context"}},
		{"tab", "JupyterHub:\n\tport: 1\n",
			[]string{"t.yaml:2: found character that cannot start any token"}},
		{"top level list", "- JupyterHub\n",
			[]string{"t.yaml:1: the top level must be a mapping of class names to sections (JupyterHub: {bind_url: ...}), got a list"}},
		{"top level scalar", "bind_url\n",
			[]string{`t.yaml:1: the top level must be a mapping of class names to sections (JupyterHub: {bind_url: ...}), got a string "bind_url"`}},
		{"section not a mapping", "JupyterHub: 8000\nAuthenticator: [a]\n", []string{
			"t.yaml:1: section JupyterHub must be a mapping of trait names to values, got an integer 8000",
			"t.yaml:2: section Authenticator must be a mapping of trait names to values, got a list",
		}},
		{"forgotten indentation", "JupyterHub:\nbind_url: http://:8000\n",
			[]string{`t.yaml:2: section bind_url must be a mapping of trait names to values, got a string "http://:8000"`}},
		{"duplicate class", "JupyterHub:\n  port: 1\nJupyterHub:\n  port: 2\n",
			[]string{"t.yaml:3: class JupyterHub appears twice (first at line 1)"}},
		{"duplicate trait", "JupyterHub:\n  port: 1\n  port: 2\n",
			[]string{"t.yaml:3: JupyterHub.port is set twice (first at line 2)"}},
		{"non-string class name", "1: {}\n",
			[]string{"t.yaml:1: a class name must be a string, got an integer 1"}},
		{"second document", "JupyterHub: {}\n---\nAuthenticator: {}\n",
			[]string{"t.yaml:2: a config file holds one YAML document; found a second one"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("t.yaml", []byte(tc.text))
			if err == nil {
				t.Fatalf("Parse succeeded, want %q", tc.want)
			}
			if got := strings.Split(err.Error(), "\n"); !cmp.Equal(got, tc.want) {
				t.Errorf("Parse error:\n%s\nwant:\n%s", err, strings.Join(tc.want, "\n"))
			}
		})
	}
}

func TestParseEmpty(t *testing.T) {
	for _, text := range []string{"", "# only a comment\n", "---\n", "~\n", "JupyterHub:\n"} {
		f, err := Parse("t.yaml", []byte(text))
		if err != nil {
			t.Errorf("Parse(%q): %v", text, err)
			continue
		}
		hub := DefaultHub()
		if err := f.Decode(testSchema(), HubClass, hub); err != nil {
			t.Errorf("Decode of %q: %v", text, err)
		}
		if !cmp.Equal(hub, DefaultHub()) {
			t.Errorf("empty config %q changed the defaults: %s", text, cmp.Diff(DefaultHub(), hub))
		}
	}
}

func TestParseAliases(t *testing.T) {
	f := mustParse(t, "Base:\n  admin_users: &admins [alice]\nChild:\n  admin_users: *admins\n")
	c := defaultChild()
	if err := f.Decode(testSchema(), "Child", c); err != nil {
		t.Fatal(err)
	}
	if !cmp.Equal(c.AdminUsers, []string{"alice"}) {
		t.Errorf("alias: admin_users = %v", c.AdminUsers)
	}
	if got := f.Sections(); !cmp.Equal(got, []string{"Base", "Child"}) {
		t.Errorf("Sections() = %v", got)
	}
	if !f.Has("Child", "admin_users") || f.Has("Child", "count") || !f.Has("Base", "") || f.Has("Nope", "") {
		t.Error("Has gives wrong answers")
	}
}

func TestLoad(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "gohub_config.yaml")
	if err := os.WriteFile(path, []byte("JupyterHub:\n  hub_port: 9\n  hub_port: 10\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := Load(path)
	if err == nil || err.Error() != path+":3: JupyterHub.hub_port is set twice (first at line 2)" {
		t.Errorf("Load error = %v, want it to name the file and line", err)
	}

	if err := os.WriteFile(path, []byte("JupyterHub:\n  hub_port: 9000\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	hub := DefaultHub()
	if err := f.Decode(testSchema(), HubClass, hub); err != nil || hub.HubPort != 9000 {
		t.Errorf("Decode after Load: port %d, err %v", hub.HubPort, err)
	}

	if _, err := Load(filepath.Join(dir, "missing.yaml")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Load of a missing named file: %v, want fs.ErrNotExist", err)
	}

	// The default file may be absent: run in an empty directory.
	t.Chdir(t.TempDir())
	f, err = Load("")
	if err != nil {
		t.Fatalf("Load of the absent default file: %v", err)
	}
	if f.Name != DefaultFile || len(f.Sections()) != 0 {
		t.Errorf("absent default file gave %q with sections %v", f.Name, f.Sections())
	}
	if f, err := Load(DefaultFile); err != nil || len(f.Sections()) != 0 {
		t.Errorf("Load(%q) of the absent default file: %v", DefaultFile, err)
	}
}
