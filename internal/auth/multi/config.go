// Package multi is MultiAuthenticator (`authenticator_class: multi`): several configured
// authenticators ("sources") on one hub, such as LDAP for staff, GitHub for students and Native
// accounts for guests. The login page shows one form per password source and one button per
// source with its own login page (OAuth); a login POST names its source in the hidden field
// login_source.
//
// Names. A source's username prefix is added to the name its authenticator returns: with prefix
// "gh-", GitHub's alice is the hub user gh-alice. People type the name they have at the source
// (alice), never the prefix. The hub-wide Authenticator policy (admin_users, allowed_users,
// blocked_users, username_pattern, …) applies to the final, prefixed name; a source's own
// `config:` (and the shortcuts allowed_users, blocked_users and admin_users of its entry) apply
// to the source's name, before the prefix. A login is allowed when the hub-wide rules allow the
// final name or the source's own rules (its allowed_users, allow_all, OAuth's allowed_groups,
// Native's authorization, …) allow it; blocked at either level refuses.
//
// Sources of a user. The first login of a hub user records the source it came through; the
// same name coming through another source later is refused, unless that source lists the first
// one in map_users_from. This matters when two sources share a prefix (typically "").
//
// Pages. Each source's own pages (OAuth's oauth_login and oauth_callback, Native's signup and
// authorize, FirstUse's change-password) are registered under /hub/{url_prefix}/ (directly under
// /hub/ when url_prefix is empty). Hooks the hub calls for a user (add_user, spawn hooks,
// refresh, delete) go to the source the user came through, else to the source whose prefix the
// name has (the longest one), and get the source's name of the user.
package multi

import (
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"

	"gohub/internal/auth"
	"gohub/internal/config"
)

// ClassName is the config section of MultiAuthenticator.
const ClassName = "MultiAuthenticator"

// Class is one authenticator class a source may name: the registry's entry, handed over by
// SetClasses because the registry imports this package.
type Class struct {
	// Name is the entry-point name ("ldap"), the default name of a source.
	Name string
	// Section is the config section name ("LDAPAuthenticator"), for messages.
	Section string
	// NewConfig returns a pointer to the class's config struct with its defaults.
	NewConfig func() any
	// New validates a config made by NewConfig and builds the authenticator.
	New func(cfg any, log *slog.Logger) (auth.Authenticator, *auth.Config, error)
}

var (
	classesMu sync.RWMutex
	classes   func(name string) (Class, bool)
)

// SetClasses installs the lookup of authenticator classes (the registry does, at init).
func SetClasses(lookup func(name string) (Class, bool)) {
	classesMu.Lock()
	classes = lookup
	classesMu.Unlock()
}

func lookupClass(name string) (Class, bool) {
	classesMu.RLock()
	defer classesMu.RUnlock()
	if classes == nil {
		return Class{}, false
	}
	return classes(name)
}

// Config is the MultiAuthenticator section: the base Authenticator traits (applied to the final,
// prefixed names) and the ordered list of sources.
type Config struct {
	auth.Config `yaml:",inline"`

	Authenticators []Source `yaml:"authenticators" help:"The sources, in the order the login page shows them. Each entry: class (an authenticator_class value such as ldap, github, native; required), name (stable identifier stored with each user; default the class's entry-point name), label (shown on the login page), prefix (added to the source's usernames; people do not type it), url_prefix (the source's pages live under /hub/<url_prefix>/; needed when two sources' pages would clash, e.g. two OAuth providers), config (the class's settings, as in its own section), allowed_users/blocked_users/admin_users (added to the source's own lists, source names without the prefix), map_users_from (names of sources whose users this one may log in as)."`
}

// Source is one entry of MultiAuthenticator.authenticators.
type Source struct {
	Class        string        `yaml:"class"`
	Name         string        `yaml:"name"`
	Label        string        `yaml:"label"`
	Prefix       string        `yaml:"prefix"`
	URLPrefix    string        `yaml:"url_prefix"`
	Config       config.Nested `yaml:"config"`
	AllowedUsers []string      `yaml:"allowed_users"`
	BlockedUsers []string      `yaml:"blocked_users"`
	AdminUsers   []string      `yaml:"admin_users"`
	MapUsersFrom []string      `yaml:"map_users_from"`

	// decoded is the class's config struct, filled from Config by Validate.
	decoded any
}

// DefaultConfig returns the defaults: no source (nobody can log in; the hub warns).
func DefaultConfig() *Config {
	return &Config{Config: auth.DefaultConfig()}
}

var (
	sourceNameRE = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)
	urlPrefixRE  = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,63}$`)
)

// Validate checks every source and decodes its config with the strictness of a class section
// (an unknown key is an error at its line). It implements config.Validator.
func (c *Config) Validate() error {
	var errs []error
	bad := func(i int, key, format string, args ...any) {
		errs = append(errs, config.Invalid(fmt.Sprintf("authenticators[%d].%s", i, key), format, args...))
	}
	if c.AutoLogin {
		errs = append(errs, config.Invalid("auto_login", "cannot be used with several sources: the login page is where people choose one"))
	}
	names := map[string]int{}
	for i := range c.Authenticators {
		s := &c.Authenticators[i]
		if strings.TrimSpace(s.Class) == "" {
			bad(i, "class", "is required (an authenticator_class value such as ldap, github, native)")
			continue
		}
		cl, ok := lookupClass(s.Class)
		switch {
		case !ok:
			bad(i, "class", "unknown authenticator class %q", s.Class)
			continue
		case cl.Section == ClassName:
			bad(i, "class", "a MultiAuthenticator cannot contain another one")
			continue
		case cl.Name == "null":
			bad(i, "class", "the null authenticator has no way to log in; leave it out")
			continue
		}
		if s.Name == "" {
			s.Name = cl.Name
		}
		if !sourceNameRE.MatchString(s.Name) {
			bad(i, "name", "%q must be lowercase letters, digits, '-' or '_' (it is stored with each user and posted by the login form)", s.Name)
		} else if j, dup := names[s.Name]; dup {
			bad(i, "name", "%q is also the name of authenticators[%d]; give each source of the same class its own name", s.Name, j)
		} else {
			names[s.Name] = i
		}
		if s.URLPrefix != "" && !urlPrefixRE.MatchString(s.URLPrefix) {
			bad(i, "url_prefix", "%q must be one path segment of lowercase letters, digits, '-' or '_'", s.URLPrefix)
		}
		if s.Prefix != strings.TrimSpace(s.Prefix) || strings.Contains(s.Prefix, "/") || strings.ToLower(s.Prefix) != s.Prefix {
			bad(i, "prefix", "%q must be lowercase, without '/' or surrounding blanks (hub names are lowercased)", s.Prefix)
		}
		cfg := cl.NewConfig()
		if err := s.Config.DecodeInto(cfg); err != nil {
			errs = append(errs, err)
			continue
		}
		s.decoded = cfg
	}
	for i, s := range c.Authenticators {
		for _, from := range s.MapUsersFrom {
			if _, ok := names[from]; !ok || from == s.Name {
				bad(i, "map_users_from", "%q is not the name of another source", from)
			}
		}
	}
	return errors.Join(errs...)
}
