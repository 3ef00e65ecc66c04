// Package local is upstream's LocalAuthenticator: the part PAM and FirstUse share that ties hub
// users to UNIX accounts. It checks that a system user exists, creates missing ones with
// create_system_users by running add_user_cmd (as argv, never through a shell, and only for a
// name that is a valid system user name), and lets members of allowed_groups log in.
//
// It is not an authenticator of its own: pam and firstuse embed *Accounts, which gives them the
// auth.UserAdder and auth.AllowChecker capabilities.
package local

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os/exec"
	"os/user"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"gohub/internal/auth"
)

// Config is the LocalAuthenticator section; PAMAuthenticator and FirstUseAuthenticator embed it.
type Config struct {
	auth.Config `yaml:",inline"`
	// CreateSystemUsers creates a missing UNIX account when a hub user is added.
	CreateSystemUsers bool `yaml:"create_system_users" help:"Create a missing system (UNIX) account when a user is added, by running add_user_cmd."`
	// AddUserCmd is the account creation command; every USERNAME in an element is replaced by
	// the name, and the name is appended as the last argument. Empty: the OS default.
	AddUserCmd []string `yaml:"add_user_cmd" help:"Command (list of arguments, no shell) that creates a system user; USERNAME is replaced by the name, which is also appended. Default: adduser -q --gecos \"\" --home /home/USERNAME --disabled-password."`
	// UIDs fixes the uid of a new account: "--uid N" goes before the name.
	UIDs map[string]int `yaml:"uids" help:"Map of username to the uid its system account gets when created (adds --uid N)."`
	// AllowedGroups are UNIX groups whose members may log in.
	AllowedGroups []string `yaml:"allowed_groups" help:"UNIX groups whose members are allowed to log in (in addition to allowed_users)."`
}

// DefaultConfig returns upstream's defaults: no account creation, no groups.
func DefaultConfig() *Config { return &Config{Config: auth.DefaultConfig()} }

// DefaultAddUserCmd is the Linux default of add_user_cmd (the form of upstream's, with
// an explicit home directory).
func DefaultAddUserCmd() []string {
	return []string{"adduser", "-q", "--gecos", "", "--home", "/home/USERNAME", "--disabled-password"}
}

// MaxNameLength is the longest system user name accepted (useradd's limit on Linux).
const MaxNameLength = 32

// systemName is what a created account may be called: Debian's default NAME_REGEX, ASCII only,
// starting with a letter or underscore, so it can never be read as an option ("-rf") or a path
// ("../x"), and contains no blank, newline or look-alike character.
var systemName = regexp.MustCompile(`^[a-z_][a-z0-9_-]*$`)

// CheckSystemName says why name cannot be a system user name, with a message fit for the login
// form. nil means it can.
func CheckSystemName(name string) error {
	switch {
	case name == "":
		return errors.New("a system user name cannot be empty")
	case len(name) > MaxNameLength:
		return fmt.Errorf("a system user name can have at most %d characters", MaxNameLength)
	case !systemName.MatchString(name):
		return errors.New("a system user name must start with a lowercase letter or '_' and contain only lowercase letters, digits, '_' and '-'")
	}
	return nil
}

// Accounts ties hub users to UNIX accounts. It is safe for concurrent use.
type Accounts struct {
	create        bool
	cmd           []string
	uids          map[string]int
	allowedGroups []string
	// requireExisting: a missing account without create_system_users refuses the user (PAM,
	// as upstream). FirstUse sets it only with create_system_users.
	requireExisting bool
	log             *slog.Logger

	// mu serialises account creation: two logins of one new name must not both run the command.
	mu sync.Mutex
	// lookup and lookupGroupIDs are os/user's, replaceable in tests.
	lookup func(name string) (*user.User, error)
}

// Options tune New.
type Options struct {
	// RequireSystemUser refuses users without a UNIX account when create_system_users is off
	// (upstream LocalAuthenticator behaviour; PAM). Without it, Accounts only creates accounts
	// when asked to and otherwise accepts users with no account (FirstUse alone).
	RequireSystemUser bool
	Logger            *slog.Logger
}

// New checks cfg and returns the accounts manager.
func New(cfg *Config, opts Options) (*Accounts, error) {
	if cfg == nil {
		return nil, errors.New("no LocalAuthenticator config")
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &Accounts{
		create:          cfg.CreateSystemUsers,
		cmd:             slices.Clone(cfg.AddUserCmd),
		uids:            map[string]int{},
		allowedGroups:   slices.Clone(cfg.AllowedGroups),
		requireExisting: opts.RequireSystemUser || cfg.CreateSystemUsers,
		log:             log,
		lookup:          user.Lookup,
	}
	if len(a.cmd) == 0 {
		a.cmd = DefaultAddUserCmd()
	}
	if a.create && runtime.GOOS == "darwin" {
		return nil, errors.New("create_system_users: cannot create users on macOS")
	}
	if a.cmd[0] == "" {
		return nil, errors.New("add_user_cmd: the command name is empty")
	}
	for name, uid := range cfg.UIDs {
		if err := CheckSystemName(name); err != nil {
			return nil, fmt.Errorf("uids: %q: %w", name, err)
		}
		if uid < 0 {
			return nil, fmt.Errorf("uids: %q: negative uid %d", name, uid)
		}
		a.uids[name] = uid
	}
	return a, nil
}

// Exists reports whether a system user of that name exists (getpwnam with cgo, so users from
// sssd or LDAP count too).
func (a *Accounts) Exists(name string) (bool, error) {
	_, err := a.lookup(name)
	if err == nil {
		return true, nil
	}
	var unknown user.UnknownUserError
	if errors.As(err, &unknown) {
		return false, nil
	}
	return false, fmt.Errorf("look up system user %q: %w", name, err)
}

// AddUser makes sure the hub user has a UNIX account (upstream's LocalAuthenticator.add_user):
// nothing when it exists; created with create_system_users; otherwise an error (for PAM). A name
// that cannot be a system user name is refused with a clear message before any command runs.
func (a *Accounts) AddUser(ctx context.Context, name string) error {
	if !a.requireExisting {
		return nil
	}
	exists, err := a.Exists(name)
	if err != nil || exists {
		return err
	}
	if !a.create {
		return auth.Reject(fmt.Sprintf("User %s does not exist on the system. Set LocalAuthenticator.create_system_users to true to create it.", name))
	}
	if err := CheckSystemName(name); err != nil {
		return auth.Reject(fmt.Sprintf("Cannot create a system user for this name: %v.", err))
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	// Another login may have created it while this one waited.
	if exists, err := a.Exists(name); err != nil || exists {
		return err
	}
	return a.run(ctx, name)
}

// Command returns the argv that creates the account of name: add_user_cmd with USERNAME
// replaced, "--uid N" if uids names it, then the name. name must have passed CheckSystemName.
func (a *Accounts) Command(name string) []string {
	argv := make([]string, 0, len(a.cmd)+3)
	for _, arg := range a.cmd {
		argv = append(argv, strings.ReplaceAll(arg, "USERNAME", name))
	}
	if uid, ok := a.uids[name]; ok {
		argv = append(argv, "--uid", strconv.Itoa(uid))
	}
	return append(argv, name)
}

// run executes the creation command directly (no shell) and reports its output on failure.
func (a *Accounts) run(ctx context.Context, name string) error {
	// Belt and braces: nothing reaches exec without passing the check, whoever calls run.
	if err := CheckSystemName(name); err != nil {
		return err
	}
	argv := a.Command(name)
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	a.log.Info("creating system user", "user", name, "argv", argv)
	if err := cmd.Run(); err != nil {
		msg := strings.TrimSpace(out.String())
		if len(msg) > 2000 {
			msg = msg[:2000] + "…"
		}
		return fmt.Errorf("failed to create system user %s: %s: %w: %s", name, argv[0], err, msg)
	}
	return nil
}
