package local

import (
	"fmt"

	"gohub/internal/spawner"
	"gohub/internal/unixuser"
)

// Config holds the traits of upstream's LocalProcessSpawner. Differences from upstream:
//   - interrupt_timeout defaults to 0, which skips SIGINT: a jupyterhub-singleuser without a
//     terminal ignores the first SIGINT, so upstream's first step only costs time. Stop sends
//     SIGTERM, waits term_timeout, then SIGKILL. Signals go to the server's process group, so
//     kernels started by the server stop with it;
//   - mem_limit and cpu_limit are enforced where the machine allows (see Limits in the
//     package doc); upstream ignores them;
//   - popen_kwargs does not exist (there is no Popen);
//   - min_uid is new: a server never runs as uid 0 or as a system account (uid below min_uid,
//     by default UID_MIN of /etc/login.defs), and --allow-root is never added by the spawner.
type Config struct {
	spawner.Config `yaml:",inline"`

	InterruptTimeout spawner.Duration `yaml:"interrupt_timeout" help:"Seconds to wait after SIGINT before SIGTERM; 0 skips SIGINT (gohub default)."`
	TermTimeout      spawner.Duration `yaml:"term_timeout" help:"Seconds to wait after SIGTERM before SIGKILL."`
	KillTimeout      spawner.Duration `yaml:"kill_timeout" help:"Seconds to wait after SIGKILL before giving up on the process."`
	ShellCmd         []string         `yaml:"shell_cmd" help:"Shell to start the command in, e.g. [bash, -l, -c]; the command is appended as one quoted string."`
	// MinUID is the lowest uid a server may run as (LocalProcessSpawner; the simple spawner
	// runs every server as the hub's own user). uid 0 is refused whatever it says.
	MinUID int `yaml:"min_uid" help:"Lowest uid a server may run as; a user whose system account has a lower uid (root, daemon, postgres…) cannot start a server. Default: UID_MIN of /etc/login.defs, read at startup (1000 without it). At least 1: uid 0 never runs a server. Not used by the simple spawner."`
}

// DefaultConfig returns the defaults of LocalProcessSpawner: the Spawner defaults plus
// upstream's longer env_keep list.
func DefaultConfig() *Config {
	c := &Config{
		Config:      spawner.DefaultConfig(),
		TermTimeout: spawner.Seconds(5),
		KillTimeout: spawner.Seconds(5),
		MinUID:      defaultMinUID(),
	}
	c.EnvKeep = DefaultEnvKeep()
	return c
}

// defaultMinUID is UID_MIN of /etc/login.defs (1000 when it is missing or unreadable; New
// warns about an unreadable one).
func defaultMinUID() int {
	v, _ := unixuser.DefaultUIDMin()
	return int(v)
}

// DefaultEnvKeep is upstream LocalProcessSpawner's env_keep.
func DefaultEnvKeep() []string {
	return []string{"CONDA_DEFAULT_ENV", "CONDA_ROOT", "JUPYTERHUB_SINGLEUSER_APP", "LANG", "LC_ALL",
		"LD_LIBRARY_PATH", "PATH", "PYTHONPATH", "VIRTUAL_ENV"}
}

// Validate checks the traits.
func (c *Config) Validate() error {
	if err := c.Config.Validate(); err != nil {
		return err
	}
	if c.InterruptTimeout < 0 || c.TermTimeout < 0 || c.KillTimeout < 0 {
		return fmt.Errorf("LocalProcessSpawner: interrupt_timeout, term_timeout and kill_timeout must not be negative")
	}
	if c.MinUID < 1 || c.MinUID > 1<<32-1 {
		return fmt.Errorf("LocalProcessSpawner.min_uid: %d is not a uid of at least 1 (uid 0, root, never runs a server)", c.MinUID)
	}
	return nil
}

// SimpleConfig holds the traits of upstream's SimpleLocalProcessSpawner: every server runs as
// the hub's own user, with HOME set from home_dir_template. For demos and tests only: users are
// not isolated from each other or from the hub.
type SimpleConfig struct {
	Config `yaml:",inline"`

	HomeDirTemplate string `yaml:"home_dir_template" help:"Home directory of each user's server; {username} is expanded. It is created if missing."`
}

// DefaultSimpleConfig returns the defaults of SimpleLocalProcessSpawner.
func DefaultSimpleConfig() *SimpleConfig {
	return &SimpleConfig{Config: *DefaultConfig(), HomeDirTemplate: "/tmp/{username}"}
}

// Validate checks the traits.
func (c *SimpleConfig) Validate() error {
	if err := c.Config.Validate(); err != nil {
		return err
	}
	if c.HomeDirTemplate == "" {
		return fmt.Errorf("SimpleLocalProcessSpawner.home_dir_template: must not be empty")
	}
	return nil
}
