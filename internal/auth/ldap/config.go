package ldap

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"regexp"
	"strings"

	goldap "github.com/go-ldap/ldap/v3"
	"go.yaml.in/yaml/v3"

	"gohub/internal/auth"
	"gohub/internal/config"
)

// TLS strategies, upstream's tls_strategy values.
const (
	// BeforeBind connects in plain text and upgrades with StartTLS before anything is sent.
	BeforeBind = "before_bind"
	// OnConnect speaks TLS from the first byte (LDAPS, port 636).
	OnConnect = "on_connect"
	// Insecure never uses TLS: passwords cross the network in clear text.
	Insecure = "insecure"
)

// Config is the LDAPAuthenticator section. Names, defaults and meanings are upstream's
// (ldapauthenticator 2.0), with these differences:
//   - valid_username_regex ignores case, because the hub lowercases names anyway (upstream
//     refuses "John" with its default, authenticators.md §4.11);
//   - tls_kwargs accepts only ca_certs_file, local_certificate_file and local_private_key_file;
//     tls_ca_file is a shorter name for the first;
//   - LDAP calls never block other requests, and every login has a time limit (timeout);
//   - admin_groups (group DNs whose members are admins) and hub group names (manage_groups)
//     are gohub additions;
//   - the service account of lookup_dn failing to bind is an error of the hub (logged, 500),
//     not a refused login.
type Config struct {
	auth.Config `yaml:",inline"`

	ServerAddress  string     `yaml:"server_address" help:"Host name or IP address of the LDAP server (no scheme, no port)."`
	ServerPort     int        `yaml:"server_port" help:"Port of the LDAP server; 0 means 636 with tls_strategy on_connect, else 389."`
	TLSStrategy    string     `yaml:"tls_strategy" help:"before_bind (StartTLS before the bind), on_connect (LDAPS) or insecure (no TLS)."`
	TLSKwargs      TLSKwargs  `yaml:"tls_kwargs" help:"TLS settings: ca_certs_file, local_certificate_file, local_private_key_file."`
	TLSCAFile      string     `yaml:"tls_ca_file" help:"PEM file of the CA(s) that signed the server certificate; empty uses the system's CAs."`
	UseSSL         *bool      `yaml:"use_ssl" help:"Deprecated: true means tls_strategy on_connect."`
	BindDNTemplate StringList `yaml:"bind_dn_template" help:"DN template(s) with {username}, tried in order until a bind succeeds, e.g. uid={username},ou=people,dc=example,dc=org."`

	LookupDN                bool   `yaml:"lookup_dn" help:"Find the user's DN by searching user_search_base for user_attribute=<login> instead of only templating it."`
	UserSearchBase          string `yaml:"user_search_base" help:"Base DN of the user search (lookup_dn and search_filter)."`
	UserAttribute           string `yaml:"user_attribute" help:"Attribute holding the login name, e.g. uid or sAMAccountName."`
	LookupDNSearchFilter    string `yaml:"lookup_dn_search_filter" help:"Filter of the lookup_dn search; {login_attr} is user_attribute and {login} the escaped login name."`
	LookupDNSearchUser      string `yaml:"lookup_dn_search_user" help:"DN of the account that binds for the lookup_dn search; empty searches anonymously."`
	LookupDNSearchPassword  string `yaml:"lookup_dn_search_password" help:"Password of lookup_dn_search_user."`
	LookupDNUserDNAttribute string `yaml:"lookup_dn_user_dn_attribute" help:"Attribute of the found entry whose single value fills {username} in bind_dn_template (default: user_attribute)."`
	UseLookupDNUsername     bool   `yaml:"use_lookup_dn_username" help:"Use the value of lookup_dn_user_dn_attribute as the hub username instead of the login name."`

	SearchFilter string   `yaml:"search_filter" help:"Filter with {userattr} and {username} that must match exactly one entry under user_search_base, or the login is refused."`
	Attributes   []string `yaml:"attributes" help:"Attributes requested by the search_filter search."`

	AllowedGroups     []string `yaml:"allowed_groups" help:"DNs of groups whose members are allowed to log in."`
	AdminGroups       []string `yaml:"admin_groups" help:"DNs of groups whose members are admins (and allowed in); when set, membership decides the admin flag at every login (gohub addition)."`
	GroupSearchFilter string   `yaml:"group_search_filter" help:"Filter of the base search on each group DN; {userdn} and {uid} are the escaped user DN and name."`
	GroupAttributes   []string `yaml:"group_attributes" help:"Attributes requested by the group search."`

	ValidUsernameRegex  string   `yaml:"valid_username_regex" help:"Regular expression (RE2, case-insensitive) the login name must match before anything is sent to the server."`
	AuthStateAttributes []string `yaml:"auth_state_attributes" help:"User attributes copied into auth_state.user_attributes."`
	Timeout             float64  `yaml:"timeout" help:"Seconds one login may take with the LDAP server (connect, TLS, binds, searches) before it fails (gohub addition)."`
}

// DefaultConfig returns upstream's defaults. Nobody can log in with them: server_address and
// bind_dn_template (or lookup_dn) must be set.
func DefaultConfig() *Config {
	return &Config{
		Config:               auth.DefaultConfig(),
		TLSStrategy:          BeforeBind,
		LookupDNSearchFilter: "({login_attr}={login})",
		GroupSearchFilter:    "(|(member={userdn})(uniqueMember={userdn})(memberUid={uid}))",
		GroupAttributes:      []string{"member", "uniqueMember", "memberUid"},
		ValidUsernameRegex:   `^[a-z][.a-z0-9_-]*$`,
		Timeout:              10,
	}
}

// StringList is a list of strings that the config file may also give as one string, as
// upstream's Union(List, Unicode) traits allow.
type StringList []string

// UnmarshalYAML accepts a string or a sequence of strings.
func (l *StringList) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind == yaml.ScalarNode && n.Tag == "!!str" {
		*l = StringList{n.Value}
		return nil
	}
	if n.Kind == yaml.ScalarNode && n.Tag == "!!null" {
		*l = nil
		return nil
	}
	var list []string
	if n.Kind != yaml.SequenceNode || n.Decode(&list) != nil {
		return errors.New("expected a string or a list of strings")
	}
	*l = list
	return nil
}

// TLSKwargs are the keys of upstream's tls_kwargs (arguments of ldap3's Tls) that gohub knows.
type TLSKwargs map[string]string

// tlsKwargsKeys are the keys TLSKwargs accepts.
var tlsKwargsKeys = []string{"ca_certs_file", "local_certificate_file", "local_private_key_file"}

// Validate checks the section once the config file is read: what New checks, plus that a
// server and a way to find the user's DN are configured.
func (c *Config) Validate() error {
	var errs []error
	if c.ServerAddress == "" {
		errs = append(errs, config.Invalid("server_address", "must be set to the LDAP server's host name"))
	}
	if !c.LookupDN && len(nonBlank(c.BindDNTemplate)) == 0 {
		errs = append(errs, config.Invalid("bind_dn_template", "set bind_dn_template, or lookup_dn with user_search_base and user_attribute"))
	}
	if err := c.check(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// check validates the values that are set; an unset server is allowed (see Validate).
func (c *Config) check() error {
	var errs []error
	bad := func(key, format string, args ...any) { errs = append(errs, config.Invalid(key, format, args...)) }
	if strings.Contains(c.ServerAddress, "://") || strings.ContainsAny(c.ServerAddress, "/ ") {
		bad("server_address", "give a host name or address only, without scheme or path (got %q)", c.ServerAddress)
	}
	if c.ServerPort < 0 || c.ServerPort > 65535 {
		bad("server_port", "%d is not a port number", c.ServerPort)
	}
	switch c.strategy() {
	case BeforeBind, OnConnect, Insecure:
	default:
		bad("tls_strategy", "must be before_bind, on_connect or insecure, got %q", c.TLSStrategy)
	}
	for k := range c.TLSKwargs {
		if !contains(tlsKwargsKeys, k) {
			bad("tls_kwargs."+k, "not supported by gohub (known: %s)", strings.Join(tlsKwargsKeys, ", "))
		}
	}
	if c.TLSCAFile != "" && c.TLSKwargs["ca_certs_file"] != "" && c.TLSCAFile != c.TLSKwargs["ca_certs_file"] {
		bad("tls_ca_file", "tls_ca_file and tls_kwargs.ca_certs_file differ; set one")
	}
	if (c.TLSKwargs["local_certificate_file"] == "") != (c.TLSKwargs["local_private_key_file"] == "") {
		bad("tls_kwargs", "local_certificate_file and local_private_key_file go together")
	}
	if _, err := regexp.Compile("(?i)" + c.ValidUsernameRegex); err != nil {
		bad("valid_username_regex", "%v", err)
	}
	if c.LookupDN {
		if c.UserSearchBase == "" {
			bad("user_search_base", "lookup_dn needs user_search_base")
		}
		if c.UserAttribute == "" {
			bad("user_attribute", "lookup_dn needs user_attribute")
		}
		if err := checkFilter(c.LookupDNSearchFilter, "login_attr", "login"); err != nil {
			bad("lookup_dn_search_filter", "%v", err)
		}
	}
	if (c.LookupDNSearchUser == "") != (c.LookupDNSearchPassword == "") {
		// An empty password would make the service bind an unauthenticated one.
		bad("lookup_dn_search_password", "lookup_dn_search_user and lookup_dn_search_password go together")
	}
	if c.SearchFilter != "" {
		if c.UserSearchBase == "" {
			bad("user_search_base", "search_filter needs user_search_base")
		}
		if err := checkFilter(c.SearchFilter, "userattr", "username"); err != nil {
			bad("search_filter", "%v", err)
		}
	}
	if len(c.AllowedGroups) > 0 || len(c.AdminGroups) > 0 {
		if err := checkFilter(c.GroupSearchFilter, "userdn", "uid", "username"); err != nil {
			bad("group_search_filter", "%v", err)
		}
		if len(c.GroupAttributes) == 0 {
			bad("group_attributes", "allowed_groups and admin_groups need group_attributes")
		}
	}
	for key, dns := range map[string][]string{"allowed_groups": c.AllowedGroups, "admin_groups": c.AdminGroups} {
		for i, dn := range dns {
			parsed, err := goldap.ParseDN(dn)
			switch {
			case err != nil || strings.TrimSpace(dn) == "":
				bad(fmt.Sprintf("%s[%d]", key, i), "%q is not a DN", dn)
			case len(parsed.RDNs) < 2:
				// A group right under the root is unheard of; a DN split by YAML is common.
				bad(fmt.Sprintf("%s[%d]", key, i), "%q is only one part of a DN: %s", dn, flowHint)
			}
		}
	}
	for i, t := range c.BindDNTemplate {
		if strings.TrimSpace(t) != "" && !strings.Contains(t, "{username}") {
			bad(fmt.Sprintf("bind_dn_template[%d]", i), "%q has no {username} (%s)", t, flowHint)
		}
	}
	if c.Timeout <= 0 {
		bad("timeout", "must be more than 0 seconds")
	}
	return errors.Join(errs...)
}

// strategy is tls_strategy after the deprecated use_ssl.
func (c *Config) strategy() string {
	if c.UseSSL != nil && *c.UseSSL {
		return OnConnect
	}
	if c.TLSStrategy == "" {
		return BeforeBind
	}
	return c.TLSStrategy
}

// port is server_port or its dynamic default.
func (c *Config) port() int {
	switch {
	case c.ServerPort != 0:
		return c.ServerPort
	case c.strategy() == OnConnect:
		return 636
	default:
		return 389
	}
}

// tlsConfig builds the client TLS configuration (nil for insecure).
func (c *Config) tlsConfig() (*tls.Config, error) {
	if c.strategy() == Insecure {
		return nil, nil
	}
	tc := &tls.Config{ServerName: c.ServerAddress, MinVersion: tls.VersionTLS12}
	caFile := c.TLSCAFile
	if caFile == "" {
		caFile = c.TLSKwargs["ca_certs_file"]
	}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("tls_ca_file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("tls_ca_file %s: no PEM certificate in it", caFile)
		}
		tc.RootCAs = pool
	}
	if cert := c.TLSKwargs["local_certificate_file"]; cert != "" {
		pair, err := tls.LoadX509KeyPair(cert, c.TLSKwargs["local_private_key_file"])
		if err != nil {
			return nil, fmt.Errorf("tls_kwargs local certificate: %w", err)
		}
		tc.Certificates = []tls.Certificate{pair}
	}
	return tc, nil
}

// flowHint explains the usual cause of a DN cut in pieces.
const flowHint = "in a YAML list written [a, b] every comma separates items, so quote each DN or write one item per line (- uid={username},ou=people,...)"

// checkFilter fills the placeholders with harmless values and checks the result parses.
func checkFilter(filter string, placeholders ...string) error {
	if filter == "" {
		return errors.New("must not be empty")
	}
	pairs := make([]string, 0, 2*len(placeholders))
	for _, p := range placeholders {
		pairs = append(pairs, "{"+p+"}", "x")
	}
	if _, err := goldap.CompileFilter(strings.NewReplacer(pairs...).Replace(filter)); err != nil {
		return fmt.Errorf("%q is not a valid LDAP filter: %v", filter, err)
	}
	return nil
}

func nonBlank(list []string) []string {
	var out []string
	for _, s := range list {
		if strings.TrimSpace(s) != "" {
			out = append(out, s)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
