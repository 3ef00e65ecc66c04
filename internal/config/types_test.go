package config

import (
	"fmt"
	"reflect"
	"time"

	"go.yaml.in/yaml/v3"
)

// The test classes mirror how authenticators plug in: a base class (like Authenticator) and a
// child (like DummyAuthenticator) that embeds it inline and changes one default.

type rule struct {
	Name   string   `yaml:"name"`
	Scopes []string `yaml:"scopes"`
	Admin  bool     `yaml:"admin"`
}

type limits struct {
	CPU    float64 `yaml:"cpu"`
	Memory string  `yaml:"memory"`
}

// level is a yaml.Unmarshaler: only "low" and "high" are valid.
type level string

func (l *level) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode || (n.Value != "low" && n.Value != "high") {
		return fmt.Errorf("level must be low or high, got %q", n.Value)
	}
	*l = level(n.Value)
	return nil
}

type baseConfig struct {
	AdminUsers []string          `yaml:"admin_users" help:"users who are admins"`
	AllowAll   *bool             `yaml:"allow_all" help:"allow everyone"`
	Prompt     string            `yaml:"prompt" help:"login prompt"`
	Enabled    bool              `yaml:"enabled" help:"turn it on"`
	Count      int               `yaml:"count" help:"how many"`
	Big        int64             `yaml:"big" help:"a big number"`
	Small      int8              `yaml:"small" help:"a small number"`
	Ratio      float64           `yaml:"ratio" help:"a ratio"`
	Timeout    time.Duration     `yaml:"timeout" help:"how long"`
	Env        map[string]string `yaml:"env" help:"environment"`
	Extra      map[string]any    `yaml:"extra" help:"anything"`
	UIDs       map[string]int    `yaml:"uids" help:"uids by name"`
	Rules      []rule            `yaml:"rules" help:"rules"`
	Limits     limits            `yaml:"limits" help:"limits"`
	MaxSize    *int              `yaml:"max_size" help:"optional size"`
	Level      level             `yaml:"level" help:"a level"`
	APIToken   string            `yaml:"api_token" help:"a secret"`
	Ignored    string            `yaml:"-"`
}

func defaultBase() *baseConfig {
	return &baseConfig{
		Prompt:  "Password:",
		Count:   3,
		Ratio:   0.5,
		Timeout: 90 * time.Second,
		Limits:  limits{CPU: 1, Memory: "1G"},
		Level:   "low",
		Env:     map[string]string{"LANG": "C.UTF-8"},
		Rules:   []rule{{Name: "default", Scopes: []string{"self"}}},
	}
}

type childConfig struct {
	baseConfig `yaml:",inline"`
	Password   string `yaml:"password" help:"the one password"`
}

func defaultChild() *childConfig {
	yes := true
	c := &childConfig{baseConfig: *defaultBase()}
	c.AllowAll = &yes // the child changes the parent's default, as Dummy does for allow_all
	return c
}

// checked is a class whose Validator refuses a negative count.
type checked struct {
	Count int    `yaml:"count" help:"not negative"`
	Items []rule `yaml:"items" help:"named items"`
}

func (c *checked) Validate() error {
	var errs []error
	if c.Count < 0 {
		errs = append(errs, Invalid("count", "must not be negative"))
	}
	for i, it := range c.Items {
		if it.Name == "" {
			errs = append(errs, Invalid(fmt.Sprintf("items[%d].name", i), "must not be empty"))
		}
	}
	if len(errs) == 2 {
		return fmt.Errorf("two problems: %w, %w", errs[0], errs[1])
	}
	if len(errs) == 1 {
		return errs[0]
	}
	return nil
}

func testSchema() *Schema {
	return NewSchema(
		HubClassDef(),
		Class{Name: "Base", New: func() any { return defaultBase() }},
		Class{Name: "Child", Parent: "Base", New: func() any { return defaultChild() }},
		Class{Name: "Checked", New: func() any { return &checked{} }},
	)
}

// reflectType is the struct type a class's New points to.
func reflectType(v any) reflect.Type { return reflect.TypeOf(v).Elem() }
