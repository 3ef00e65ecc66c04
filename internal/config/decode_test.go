package config

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func mustParse(t *testing.T, text string) *File {
	t.Helper()
	f, err := Parse("t.yaml", []byte(text))
	if err != nil {
		t.Fatalf("Parse: %v", err)
	}
	return f
}

func TestDecodeEveryFieldType(t *testing.T) {
	f := mustParse(t, `
Base:
  admin_users: [alice, bob]
  allow_all: false
  prompt: "Code:"
  enabled: true
  count: 7
  big: 9007199254740993
  small: -12
  ratio: 2
  timeout: 1.5
  env: {A: "1", B: two}
  extra: {nested: {list: [1, x]}, flag: true}
  uids: {alice: 1001}
  rules:
    - name: r1
      scopes: [read, write]
      admin: true
    - name: r2
  limits: {memory: 2G}
  max_size: 42
  level: high
  api_token: abcdefgh
`)
	got := defaultBase()
	if err := f.Decode(testSchema(), "Base", got); err != nil {
		t.Fatal(err)
	}
	no, size := false, 42
	want := &baseConfig{
		AdminUsers: []string{"alice", "bob"},
		AllowAll:   &no,
		Prompt:     "Code:",
		Enabled:    true,
		Count:      7,
		Big:        9007199254740993,
		Small:      -12,
		Ratio:      2,
		Timeout:    1500 * time.Millisecond,
		Env:        map[string]string{"A": "1", "B": "two"},
		Extra:      map[string]any{"nested": map[string]any{"list": []any{1, "x"}}, "flag": true},
		UIDs:       map[string]int{"alice": 1001},
		Rules:      []rule{{Name: "r1", Scopes: []string{"read", "write"}, Admin: true}, {Name: "r2"}},
		Limits:     limits{CPU: 1, Memory: "2G"}, // cpu keeps its default: a struct is merged
		MaxSize:    &size,
		Level:      "high",
		APIToken:   "abcdefgh",
	}
	if diff := cmp.Diff(want, got, cmp.AllowUnexported(baseConfig{})); diff != "" {
		t.Errorf("decoded config (-want +got):\n%s", diff)
	}
}

func TestDecodeDurationForms(t *testing.T) {
	for _, tc := range []struct {
		value string
		want  time.Duration
	}{
		{"30", 30 * time.Second},
		{"0.25", 250 * time.Millisecond},
		{`"1m30s"`, 90 * time.Second},
		{"2h", 2 * time.Hour},
	} {
		f := mustParse(t, "Base:\n  timeout: "+tc.value+"\n")
		got := defaultBase()
		if err := f.Decode(testSchema(), "Base", got); err != nil {
			t.Errorf("timeout: %s: %v", tc.value, err)
			continue
		}
		if got.Timeout != tc.want {
			t.Errorf("timeout: %s = %v, want %v", tc.value, got.Timeout, tc.want)
		}
	}
}

func TestDecodeNullAndEmpty(t *testing.T) {
	f := mustParse(t, `
Base:
  allow_all: null
  max_size: ~
  admin_users: []
  env: {}
`)
	got := defaultChild() // allow_all starts non-nil
	if err := f.Decode(testSchema(), "Child", got); err != nil {
		t.Fatal(err)
	}
	if got.AllowAll != nil || got.MaxSize != nil {
		t.Errorf("null did not clear pointers: allow_all=%v max_size=%v", got.AllowAll, got.MaxSize)
	}
	// An empty list is not an absent one (load_roles relies on it).
	if got.AdminUsers == nil || len(got.AdminUsers) != 0 {
		t.Errorf("admin_users = %#v, want an empty non-nil list", got.AdminUsers)
	}
	if got.Env == nil || len(got.Env) != 0 {
		t.Errorf("env = %#v, want an empty map", got.Env)
	}
}

func TestHierarchyPrecedence(t *testing.T) {
	f := mustParse(t, `
Child:
  count: 20
  password: secret
Base:
  count: 10
  prompt: "From base:"
  admin_users: [root]
`)
	s := testSchema()

	child := defaultChild()
	if err := f.Decode(s, "Child", child); err != nil {
		t.Fatal(err)
	}
	if child.Count != 20 {
		t.Errorf("Child.count = %d, want 20 (the most specific section wins, whatever the file order)", child.Count)
	}
	if child.Prompt != "From base:" || !cmp.Equal(child.AdminUsers, []string{"root"}) {
		t.Errorf("Base section not applied to Child: prompt=%q admin_users=%v", child.Prompt, child.AdminUsers)
	}
	if child.Password != "secret" {
		t.Errorf("Child.password = %q", child.Password)
	}
	if child.AllowAll == nil || !*child.AllowAll {
		t.Errorf("Child's own default for allow_all lost: %v", child.AllowAll)
	}

	base := defaultBase()
	if err := f.Decode(s, "Base", base); err != nil {
		t.Fatal(err)
	}
	if base.Count != 10 {
		t.Errorf("Base.count = %d, want 10 (a child's section must not leak into its parent)", base.Count)
	}
}

func TestDecodeErrors(t *testing.T) {
	for _, tc := range []struct {
		name, class, text string
		want              []string
	}{
		{"unknown trait with hint", "Base", "Base:\n  count: 1\n  admin_user: [x]\n",
			[]string{"t.yaml:3: unknown trait Base.admin_user (did you mean Base.admin_users?)"}},
		{"unknown trait without hint", "Base", "Base:\n  zzzzzzzzzz: 1\n",
			[]string{"t.yaml:2: unknown trait Base.zzzzzzzzzz"}},
		{"child trait in parent section", "Child", "Base:\n  password: x\n",
			[]string{"t.yaml:2: unknown trait Base.password"}},
		{"unknown trait in child section", "Child", "Child:\n  pasword: x\n",
			[]string{"t.yaml:2: unknown trait Child.pasword (did you mean Child.password?)"}},
		{"string for list", "Base", "Base:\n  admin_users: alice\n",
			[]string{`t.yaml:2: Base.admin_users: expected a list of strings, got a string "alice"`}},
		{"mapping for list", "Base", "Base:\n  admin_users:\n    a: b\n",
			[]string{`t.yaml:2: Base.admin_users: expected a list of strings, got a mapping`}},
		{"int in list of strings", "Base", "Base:\n  admin_users:\n    - alice\n    - 42\n",
			[]string{`t.yaml:4: Base.admin_users[1]: expected a string, got an integer 42`}},
		{"int for string", "Base", "Base:\n  prompt: 12\n",
			[]string{`t.yaml:2: Base.prompt: expected a string, got an integer 12`}},
		{"string for bool", "Base", "Base:\n  enabled: yes\n",
			[]string{`t.yaml:2: Base.enabled: expected a boolean (true or false), got a string "yes"`}},
		{"float for int", "Base", "Base:\n  count: 1.5\n",
			[]string{`t.yaml:2: Base.count: expected an integer, got a number 1.5`}},
		{"quoted int", "Base", "Base:\n  count: \"3\"\n",
			[]string{`t.yaml:2: Base.count: expected an integer, got a string "3"`}},
		{"int overflow", "Base", "Base:\n  small: 300\n",
			[]string{`t.yaml:2: Base.small: 300 is out of range`}},
		{"null for int", "Base", "Base:\n  count:\n",
			[]string{`t.yaml:2: Base.count: expected an integer, got null`}},
		{"string for float", "Base", "Base:\n  ratio: half\n",
			[]string{`t.yaml:2: Base.ratio: expected a number, got a string "half"`}},
		{"bad duration", "Base", "Base:\n  timeout: soon\n",
			[]string{`t.yaml:2: Base.timeout: expected a duration (seconds, or a string such as "90s" or "1h30m"), got a string "soon"`}},
		{"bool for duration", "Base", "Base:\n  timeout: true\n",
			[]string{`t.yaml:2: Base.timeout: expected a duration (seconds, or a string such as "90s" or "1h30m"), got a boolean true`}},
		{"list for duration", "Base", "Base:\n  timeout: [1]\n",
			[]string{`t.yaml:2: Base.timeout: expected a duration (seconds, or a string such as "90s" or "1h30m"), got a list`}},
		{"list for map", "Base", "Base:\n  env: [a]\n",
			[]string{`t.yaml:2: Base.env: expected a mapping of names to strings, got a list`}},
		{"int in map of strings", "Base", "Base:\n  env:\n    A: 1\n",
			[]string{`t.yaml:3: Base.env.A: expected a string, got an integer 1`}},
		{"string in map of ints", "Base", "Base:\n  uids: {alice: one}\n",
			[]string{`t.yaml:2: Base.uids.alice: expected an integer, got a string "one"`}},
		{"scalar for struct list", "Base", "Base:\n  rules: [x]\n",
			[]string{`t.yaml:2: Base.rules[0]: expected a mapping, got a string "x"`}},
		{"unknown key in list item", "Base", "Base:\n  rules:\n    - name: a\n    - nmae: b\n",
			[]string{`t.yaml:4: unknown key Base.rules[1].nmae (did you mean name?)`}},
		{"wrong type in list item", "Base", "Base:\n  rules:\n    - name: a\n      admin: maybe\n",
			[]string{`t.yaml:4: Base.rules[0].admin: expected a boolean (true or false), got a string "maybe"`}},
		{"unknown key in struct", "Base", "Base:\n  limits:\n    mem: 1G\n",
			[]string{`t.yaml:3: unknown key Base.limits.mem (did you mean memory?)`}},
		{"scalar for struct", "Base", "Base:\n  limits: 4\n",
			[]string{`t.yaml:2: Base.limits: expected a mapping, got an integer 4`}},
		{"string for pointer", "Base", "Base:\n  max_size: big\n",
			[]string{`t.yaml:2: Base.max_size: expected an integer, got a string "big"`}},
		{"unmarshaler refuses", "Base", "Base:\n  level: medium\n",
			[]string{`t.yaml:2: Base.level: level must be low or high, got "medium"`}},
		{"secret value not shown", "Base", "Base:\n  api_token: 123456789\n",
			[]string{`t.yaml:2: Base.api_token: expected a string, got an integer (value not shown)`}},
		{"duplicate map key", "Base", "Base:\n  env:\n    A: x\n    A: y\n",
			[]string{`t.yaml:4: Base.env.A is set twice (first at line 3)`}},
		{"all errors at once", "Child", "Base:\n  count: x\nChild:\n  prompt: [1]\n  nope: 1\n", []string{
			`t.yaml:2: Base.count: expected an integer, got a string "x"`,
			`t.yaml:4: Child.prompt: expected a string, got a list`,
			`t.yaml:5: unknown trait Child.nope`,
		}},
		{"validator error at its key", "Checked", "Checked:\n  items:\n    - name: ok\n  count: -1\n",
			[]string{`t.yaml:4: Checked.count: must not be negative`}},
		{"validator error at nested key", "Checked", "Checked:\n  items:\n    - name: ok\n    - name: \"\"\n",
			[]string{`t.yaml:4: Checked.items[1].name: must not be empty`}},
		{"validator error falls back to enclosing key", "Checked", "Checked:\n  items:\n    - {}\n",
			[]string{`t.yaml:3: Checked.items[0].name: must not be empty`}},
		{"validator errors sorted and joined", "Checked", "Checked:\n  count: -1\n  items: [{}]\n", []string{
			`t.yaml:2: Checked.count: must not be negative`,
			`t.yaml:3: Checked.items[0].name: must not be empty`,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f := mustParse(t, tc.text)
			c, _ := testSchema().Lookup(tc.class)
			err := f.Decode(testSchema(), tc.class, c.New())
			if err == nil {
				t.Fatalf("no error, want %q", tc.want)
			}
			if got := strings.Split(err.Error(), "\n"); !cmp.Equal(got, tc.want) {
				t.Errorf("errors:\n%s\nwant:\n%s", err, strings.Join(tc.want, "\n"))
			}
			var ce *Error
			if !errors.As(err, &ce) || ce.File != "t.yaml" || ce.Line == 0 {
				t.Errorf("error is not a *config.Error with a position: %#v", err)
			}
		})
	}
}

func TestDecodeUnknownClassOrTarget(t *testing.T) {
	f := mustParse(t, "")
	if err := f.Decode(testSchema(), "Nope", defaultBase()); err == nil {
		t.Error("Decode of a class not in the schema succeeded")
	}
	if err := f.Decode(testSchema(), "Base", *defaultBase()); err == nil {
		t.Error("Decode into a non-pointer succeeded")
	}
}

func TestValidateReportsEverything(t *testing.T) {
	f := mustParse(t, `
Bse:
  count: 1
Base:
  count: nope
Child:
  passwrd: x
Checked:
  count: -2
JupyterHub:
  bindurl: x
`)
	err := f.Validate(testSchema())
	if err == nil {
		t.Fatal("Validate passed a broken file")
	}
	want := []string{
		"t.yaml:2: unknown class Bse (did you mean Base?)",
		`t.yaml:5: Base.count: expected an integer, got a string "nope"`,
		"t.yaml:7: unknown trait Child.passwrd (did you mean Child.password?)",
		"t.yaml:11: unknown trait JupyterHub.bindurl (did you mean JupyterHub.bind_url?)",
		"t.yaml:9: Checked.count: must not be negative", // validators run too, in the same report
	}
	if got := strings.Split(err.Error(), "\n"); !cmp.Equal(got, want) {
		t.Errorf("Validate:\n%s\nwant:\n%s", err, strings.Join(want, "\n"))
	}
}

func TestValidateRunsValidators(t *testing.T) {
	f := mustParse(t, "Checked:\n  count: -5\nJupyterHub:\n  port: 99999\n")
	err := f.Validate(testSchema())
	want := []string{
		"t.yaml:2: Checked.count: must not be negative",
		"t.yaml:4: JupyterHub.port: 99999 is not a port number (1-65535, or 0 to use bind_url's)",
	}
	if err == nil || !cmp.Equal(strings.Split(err.Error(), "\n"), want) {
		t.Errorf("Validate: %v\nwant:\n%s", err, strings.Join(want, "\n"))
	}
	if err := mustParse(t, "Base:\n  count: 4\nChild:\n  password: x\n").Validate(testSchema()); err != nil {
		t.Errorf("Validate of a good file: %v", err)
	}
}

func TestSuggest(t *testing.T) {
	for _, tc := range []struct{ name, want string }{
		{"admin_user", "admin_users"},
		{"AdminUsers", "admin_users"},
		{"bindurl", "bind_url"},
		{"BIND_URL", "bind_url"},
		{"token", "api_token"},
		{"xyz", ""},
	} {
		if got := suggest(tc.name, []string{"admin_users", "bind_url", "api_token", "count"}); got != tc.want {
			t.Errorf("suggest(%q) = %q, want %q", tc.name, got, tc.want)
		}
	}
}
