package spawner

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// Config holds the traits of upstream's base `Spawner` class; the config section `Spawner:` sets
// them for every spawner, and each spawner's own Config embeds it inline. Names, defaults and
// meanings are upstream's, with these differences:
//   - values upstream accepts as Python callables (environment values, server_token_scopes,
//     oauth_client_allowed_scopes, pre_spawn_hook) are plain data here; pre_spawn_hook is a
//     command that talks JSON (see SpawnPolicy);
//   - admin_overrides, non_admin_overrides and user_overrides are gohub additions beside
//     upstream's group_overrides (see SpawnPolicy for the order they apply in);
//   - options_form is a string of HTML only (no callable); profile_list is KubeSpawner's, with
//     spawner_override for kubespawner_override (see Profile).
type Config struct {
	Cmd         []string          `yaml:"cmd" help:"Command that starts the single-user server."`
	Args        []string          `yaml:"args" help:"Extra arguments appended to cmd."`
	Environment map[string]string `yaml:"environment" help:"Extra environment variables for the server; applied last, so they override the hub's own."`
	EnvKeep     []string          `yaml:"env_keep" help:"Variables of the hub's environment the server inherits (LocalProcessSpawner adds PATH, LANG and friends)."`

	IP   string `yaml:"ip" help:"Address the server listens on; empty means all interfaces."`
	Port int    `yaml:"port" help:"Port the server listens on; 0 picks a free port at every start."`

	StartTimeout Duration `yaml:"start_timeout" help:"Seconds the spawner may take to launch the server (until it has a URL)."`
	HTTPTimeout  Duration `yaml:"http_timeout" help:"Seconds the launched server may take to answer HTTP at {url}{prefix}api."`
	PollInterval Duration `yaml:"poll_interval" help:"Seconds between checks that a running server is still alive; 0 disables polling."`

	MemLimit     ByteSize `yaml:"mem_limit" help:"Memory limit of the server in bytes; suffixes K, M, G, T (1024-based) as in 512M or 1G."`
	MemGuarantee ByteSize `yaml:"mem_guarantee" help:"Memory the server is guaranteed (exported as MEM_GUARANTEE; not enforced by local spawners)."`
	CPULimit     float64  `yaml:"cpu_limit" help:"CPU cores the server may use (0.5 = half a core)."`
	CPUGuarantee float64  `yaml:"cpu_guarantee" help:"CPU cores the server is guaranteed (exported as CPU_GUARANTEE; not enforced by local spawners)."`

	NotebookDir       string `yaml:"notebook_dir" help:"Root directory of the server ({username} is expanded); sets JUPYTERHUB_ROOT_DIR and the working directory."`
	DefaultURL        string `yaml:"default_url" help:"Page the server opens on, e.g. /lab ({username} is expanded)."`
	Debug             bool   `yaml:"debug" help:"Run the server with debug logging (JUPYTERHUB_DEBUG=1)."`
	DisableUserConfig bool   `yaml:"disable_user_config" help:"Ignore config files in the user's home (JUPYTERHUB_DISABLE_USER_CONFIG=1)."`

	ServerTokenScopes        []string `yaml:"server_token_scopes" help:"Scopes of the server's API token; empty means the server role's scopes."`
	OAuthClientAllowedScopes []string `yaml:"oauth_client_allowed_scopes" help:"Extra scopes the server's OAuth client may grant; access to the server itself is always added."`
	OAuthAccessScopes        []string `yaml:"oauth_access_scopes" help:"Scopes a browser needs to access the server; empty means access:servers on this server or user."`

	OptionsForm             string    `yaml:"options_form" help:"HTML form fragment the spawn page shows before a start; its fields become user_options (one value a string, a repeated field a list of strings)."`
	ProfileList             []Profile `yaml:"profile_list" help:"Choices the spawn page offers before a start, as KubeSpawner's: [{display_name, slug, description, default, spawner_override: {trait: value}, profile_options: {name: {display_name, choices: {slug: {display_name, default, spawner_override}}}}}]. The chosen slug is user_options.profile; its overrides apply after user_overrides."`
	ConsecutiveFailureLimit int       `yaml:"consecutive_failure_limit" help:"Stop the hub after this many spawns in a row failed; 0 means never."`

	GroupOverrides      map[string]GroupOverride  `yaml:"group_overrides" help:"Overrides for members of groups, applied in order of their keys: {key: {groups: [...], spawner_override: {...}}}."`
	AdminOverrides      map[string]any            `yaml:"admin_overrides" help:"Overrides of spawner traits for admin users (gohub addition)."`
	NonAdminOverrides   map[string]any            `yaml:"non_admin_overrides" help:"Overrides of spawner traits for users who are not admins (gohub addition)."`
	UserOverrides       map[string]map[string]any `yaml:"user_overrides" help:"Overrides of spawner traits per user name, applied after group overrides (gohub addition)."`
	PreSpawnHook        []string                  `yaml:"pre_spawn_hook" help:"Command run before every spawn: gets the user and options as JSON on stdin, prints trait overrides as JSON (gohub: a command instead of a Python callable)."`
	PreSpawnHookTimeout Duration                  `yaml:"pre_spawn_hook_timeout" help:"Seconds pre_spawn_hook may run before the spawn fails."`
}

// GroupOverride is one entry of group_overrides, in upstream's shape.
type GroupOverride struct {
	Groups          []string       `yaml:"groups" help:"The override applies to members of any of these groups."`
	SpawnerOverride map[string]any `yaml:"spawner_override" help:"Spawner traits to change; mappings are merged key by key, null removes a key."`
}

// DefaultConfig returns upstream's defaults for the base Spawner traits.
func DefaultConfig() Config {
	return Config{
		Cmd:                 []string{"jupyterhub-singleuser"},
		EnvKeep:             []string{"JUPYTERHUB_SINGLEUSER_APP"},
		IP:                  "127.0.0.1",
		StartTimeout:        Seconds(60),
		HTTPTimeout:         Seconds(30),
		PollInterval:        Seconds(30),
		PreSpawnHookTimeout: Seconds(30),
	}
}

// Common returns c itself. Every spawner's Config embeds Config, so this method is promoted and
// gives the registry and the manager the common part of any spawner's configuration.
func (c *Config) Common() *Config { return c }

// Validate checks the common traits.
func (c *Config) Validate() error {
	switch {
	case len(c.Cmd) == 0 || c.Cmd[0] == "":
		return fmt.Errorf("Spawner.cmd: must name a command")
	case c.StartTimeout <= 0:
		return fmt.Errorf("Spawner.start_timeout: must be positive")
	case c.HTTPTimeout <= 0:
		return fmt.Errorf("Spawner.http_timeout: must be positive")
	case c.PollInterval < 0:
		return fmt.Errorf("Spawner.poll_interval: must not be negative")
	case c.MemLimit < 0 || c.MemGuarantee < 0:
		return fmt.Errorf("Spawner.mem_limit: must not be negative")
	case c.CPULimit < 0 || c.CPUGuarantee < 0 || math.IsNaN(c.CPULimit):
		return fmt.Errorf("Spawner.cpu_limit: must not be negative")
	case c.Port < 0 || c.Port > 65535:
		return fmt.Errorf("Spawner.port: %d is not a port", c.Port)
	}
	for k := range c.Environment {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			return fmt.Errorf("Spawner.environment: invalid variable name %q", k)
		}
	}
	return nil
}

// Duration is a time span read from the config as seconds (30, 0.5) or as a Go duration string
// ("90s", "1m30s"), as JupyterHub's timeouts are numbers of seconds.
type Duration time.Duration

// Seconds returns a Duration of s seconds.
func Seconds(s float64) Duration { return Duration(s * float64(time.Second)) }

// D returns d as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// UnmarshalYAML reads seconds or a duration string.
func (d *Duration) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: expected seconds or a duration such as \"90s\"", n.Line)
	}
	if f, err := strconv.ParseFloat(n.Value, 64); err == nil {
		*d = Seconds(f)
		return nil
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %q is neither seconds nor a duration such as \"90s\"", n.Line, n.Value)
	}
	*d = Duration(v)
	return nil
}

// MarshalYAML writes seconds.
func (d Duration) MarshalYAML() (any, error) { return time.Duration(d).Seconds(), nil }

// ByteSize is a number of bytes read from the config as an integer or with a suffix K, M, G or T
// (powers of 1024, as upstream's ByteSpecification): "512M", "1.5G".
type ByteSize int64

// ParseByteSize reads a size as ByteSize's YAML form does.
func ParseByteSize(s string) (ByteSize, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	mult := float64(1)
	switch s[len(s)-1] {
	case 'K', 'k':
		mult = 1 << 10
	case 'M', 'm':
		mult = 1 << 20
	case 'G', 'g':
		mult = 1 << 30
	case 'T', 't':
		mult = 1 << 40
	}
	num := s
	if mult != 1 {
		num = s[:len(s)-1]
	}
	f, err := strconv.ParseFloat(strings.TrimSpace(num), 64)
	if err != nil || f < 0 || math.IsInf(f, 0) || math.IsNaN(f) {
		return 0, fmt.Errorf("%q is not a size: use bytes or a number with K, M, G or T (such as 512M)", s)
	}
	return ByteSize(f * mult), nil
}

// UnmarshalYAML reads bytes or a suffixed size.
func (b *ByteSize) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: expected a size such as 512M or 1G", n.Line)
	}
	if n.Tag == "!!null" {
		*b = 0
		return nil
	}
	v, err := ParseByteSize(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %w", n.Line, err)
	}
	*b = v
	return nil
}

// MarshalYAML writes bytes.
func (b ByteSize) MarshalYAML() (any, error) { return int64(b), nil }

// Limits are the hub-level (`JupyterHub` class) traits about spawning. The hub's config embeds
// them inline in its JupyterHub section.
type Limits struct {
	ConcurrentSpawnLimit    int      `yaml:"concurrent_spawn_limit" help:"Most spawns pending at once; more get 429 with Retry-After; 0 means no limit."`
	ActiveServerLimit       int      `yaml:"active_server_limit" help:"Most servers active (running or pending) at once; more get 429; 0 means no limit."`
	AllowNamedServers       bool     `yaml:"allow_named_servers" help:"Let users run named servers beside their default server."`
	NamedServerLimitPerUser int      `yaml:"named_server_limit_per_user" help:"Most named servers a user may have; 0 means no limit."`
	SlowSpawnTimeout        Duration `yaml:"slow_spawn_timeout" help:"Seconds a start request waits for the server before answering 202 (pending)."`
	SlowStopTimeout         Duration `yaml:"slow_stop_timeout" help:"Seconds a stop request waits for the server before answering 202 (pending)."`
}

// DefaultLimits returns upstream's defaults for Limits.
func DefaultLimits() Limits {
	return Limits{
		ConcurrentSpawnLimit: 100,
		SlowSpawnTimeout:     Seconds(10),
		SlowStopTimeout:      Seconds(10),
	}
}

// pyFloat formats f as Python's str(float) does for ordinary values ("2.0", "0.5").
func pyFloat(f float64) string {
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsAny(s, ".eE") {
		s += ".0"
	}
	return s
}
