package ldap

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"regexp"
	"strconv"
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
//     refuses "John" with its default, README, Authenticators);
//   - tls_kwargs accepts only ca_certs_file, local_certificate_file and local_private_key_file;
//     tls_ca_file is a shorter name for the first;
//   - LDAP calls never block other requests, and every login has a time limit (timeout);
//   - admin_groups (group DNs whose members are admins) and hub group names (manage_groups)
//     are gohub additions;
//   - the service account of lookup_dn failing to bind is an error of the hub (logged, 500),
//     not a refused login;
//   - server_address may be a list of servers, tried in order when one does not answer
//     (connect_timeout, operation_timeout);
//   - group_search_base enumerates all of the user's groups (hub groups with manage_groups),
//     nested_groups_depth follows groups that are members of groups, matching_rule_in_chain lets
//     Active Directory do that, and refresh_from_directory re-checks users on auth_refresh_age.
type Config struct {
	auth.Config `yaml:",inline"`

	ServerAddress  StringList `yaml:"server_address" help:"Host name or IP address of the LDAP server (no scheme), or a list of servers tried in order when one does not answer; an entry may name its own port (host:port, [v6addr]:port)."`
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

	GroupSearchBase         string `yaml:"group_search_base" help:"Base DN under which all of the user's groups are found with group_search_filter (subtree); their names become hub groups with manage_groups. Empty checks only allowed_groups and admin_groups, one by one (gohub addition)."`
	GroupNameAttribute      string `yaml:"group_name_attribute" help:"Attribute of a group entry that is its hub group name; a group without it is named by the value of its first RDN (gohub addition)."`
	NestedGroupsDepth       int    `yaml:"nested_groups_depth" help:"How many levels of groups that are members of groups are followed (needs group_search_base); 0 counts direct membership only (gohub addition)."`
	NestedGroupSearchFilter string `yaml:"nested_group_search_filter" help:"Filter finding the groups that have a group as member; {groupdn} is the escaped DN of that group (gohub addition)."`
	MatchingRuleInChain     bool   `yaml:"matching_rule_in_chain" help:"Active Directory only: find nested memberships on the server with LDAP_MATCHING_RULE_IN_CHAIN, (member:1.2.840.113556.1.4.1941:={userdn}), instead of group_search_filter (gohub addition)."`
	RefreshFromDirectory    bool   `yaml:"refresh_from_directory" help:"On auth_refresh_age (and refresh_pre_spawn), check as lookup_dn_search_user (or anonymously) that the user's entry still exists and recompute groups and admin flag; needs enable_auth_state (gohub addition)."`

	ValidUsernameRegex  string   `yaml:"valid_username_regex" help:"Regular expression (RE2, case-insensitive) the login name must match before anything is sent to the server."`
	AuthStateAttributes []string `yaml:"auth_state_attributes" help:"User attributes copied into auth_state.user_attributes."`
	Timeout             float64  `yaml:"timeout" help:"Seconds one login may take with the LDAP servers (connect, TLS, binds, searches, failover) before it fails (gohub addition)."`
	ConnectTimeout      float64  `yaml:"connect_timeout" help:"Seconds a server has to accept the connection, finish TLS and give its first answer before the next server is tried (gohub addition)."`
	OperationTimeout    float64  `yaml:"operation_timeout" help:"Seconds one LDAP request (bind, search) may take before the server counts as not answering and the next one is tried (gohub addition)."`
}

// inChainFilter is group_search_filter with matching_rule_in_chain: Active Directory's
// LDAP_MATCHING_RULE_IN_CHAIN follows nested groups on the server.
const inChainFilter = "(member:1.2.840.113556.1.4.1941:={userdn})"

// maxNestedGroupsDepth bounds nested_groups_depth: each level is one search.
const maxNestedGroupsDepth = 20

// DefaultConfig returns upstream's defaults. Nobody can log in with them: server_address and
// bind_dn_template (or lookup_dn) must be set.
func DefaultConfig() *Config {
	return &Config{
		Config:                  auth.DefaultConfig(),
		TLSStrategy:             BeforeBind,
		LookupDNSearchFilter:    "({login_attr}={login})",
		GroupSearchFilter:       "(|(member={userdn})(uniqueMember={userdn})(memberUid={uid}))",
		GroupAttributes:         []string{"member", "uniqueMember", "memberUid"},
		ValidUsernameRegex:      `^[a-z][.a-z0-9_-]*$`,
		GroupNameAttribute:      "cn",
		NestedGroupSearchFilter: "(|(member={groupdn})(uniqueMember={groupdn}))",
		Timeout:                 10,
		ConnectTimeout:          3,
		OperationTimeout:        5,
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
	if len(nonBlank(c.ServerAddress)) == 0 {
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
	for i, addr := range c.ServerAddress {
		if strings.TrimSpace(addr) == "" {
			continue // blank entries are dropped, as in bind_dn_template; Validate wants one
		}
		if _, err := c.parseServer(addr); err != nil {
			key := "server_address"
			if len(c.ServerAddress) > 1 {
				key = fmt.Sprintf("server_address[%d]", i)
			}
			bad(key, "%v", err)
		}
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
	groupsUsed := len(c.AllowedGroups) > 0 || len(c.AdminGroups) > 0 || c.GroupSearchBase != ""
	if groupsUsed && !c.MatchingRuleInChain {
		if err := checkFilter(c.GroupSearchFilter, "userdn", "uid", "username"); err != nil {
			bad("group_search_filter", "%v", err)
		}
	}
	if (len(c.AllowedGroups) > 0 || len(c.AdminGroups) > 0) && c.GroupSearchBase == "" && len(c.GroupAttributes) == 0 {
		bad("group_attributes", "allowed_groups and admin_groups need group_attributes")
	}
	var groupBase *goldap.DN
	if c.GroupSearchBase != "" {
		var err error
		if groupBase, err = goldap.ParseDN(c.GroupSearchBase); err != nil || len(groupBase.RDNs) == 0 {
			bad("group_search_base", "%q is not a DN", c.GroupSearchBase)
			groupBase = nil
		}
		if c.GroupNameAttribute == "" {
			bad("group_name_attribute", "group_search_base needs group_name_attribute (cn, for example)")
		}
	}
	switch {
	case c.NestedGroupsDepth < 0 || c.NestedGroupsDepth > maxNestedGroupsDepth:
		bad("nested_groups_depth", "must be between 0 and %d, got %d", maxNestedGroupsDepth, c.NestedGroupsDepth)
	case c.NestedGroupsDepth > 0 && c.GroupSearchBase == "":
		bad("nested_groups_depth", "nested groups are found under group_search_base: set it")
	case c.NestedGroupsDepth > 0 && c.MatchingRuleInChain:
		bad("nested_groups_depth", "matching_rule_in_chain already follows nested groups on the server; set one of the two")
	case c.NestedGroupsDepth > 0:
		if err := checkFilter(c.NestedGroupSearchFilter, "groupdn"); err != nil {
			bad("nested_group_search_filter", "%v", err)
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
			case groupBase != nil && !groupBase.AncestorOfFold(parsed):
				// The groups are found by a search under the base: one outside it never matches.
				bad(fmt.Sprintf("%s[%d]", key, i), "%q is not under group_search_base %q", dn, c.GroupSearchBase)
			}
		}
	}
	for i, t := range c.BindDNTemplate {
		if strings.TrimSpace(t) != "" && !strings.Contains(t, "{username}") {
			bad(fmt.Sprintf("bind_dn_template[%d]", i), "%q has no {username} (%s)", t, flowHint)
		}
	}
	for key, v := range map[string]float64{"timeout": c.Timeout, "connect_timeout": c.ConnectTimeout, "operation_timeout": c.OperationTimeout} {
		if v <= 0 {
			bad(key, "must be more than 0 seconds")
		}
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

// server is one entry of server_address.
type server struct {
	host string
	port int
}

func (s server) String() string { return net.JoinHostPort(s.host, strconv.Itoa(s.port)) }

// parseServer reads one server_address entry: a host name or address, optionally with a port
// (host:port, [v6addr]:port); without one the port is server_port or its default.
func (c *Config) parseServer(addr string) (server, error) {
	addr = strings.TrimSpace(addr)
	if addr == "" {
		return server{}, errors.New("an empty server address")
	}
	if strings.Contains(addr, "://") || strings.ContainsAny(addr, "/ ?#@") {
		return server{}, fmt.Errorf("give a host name or address only, without scheme or path (got %q)", addr)
	}
	host, portText, err := net.SplitHostPort(addr)
	if err != nil {
		// No port: a host name, an IPv4 address or a bare IPv6 address.
		if strings.ContainsAny(addr, "[]") || (strings.Count(addr, ":") == 1) {
			return server{}, fmt.Errorf("%q is neither a host nor host:port", addr)
		}
		return server{host: addr, port: c.port()}, nil
	}
	port, err := strconv.Atoi(portText)
	if err != nil || port < 1 || port > 65535 || host == "" {
		return server{}, fmt.Errorf("%q is neither a host nor host:port", addr)
	}
	return server{host: host, port: port}, nil
}

// servers returns the servers of server_address in order (the config is checked).
func (c *Config) servers() []server {
	var out []server
	for _, addr := range nonBlank(c.ServerAddress) {
		if s, err := c.parseServer(addr); err == nil {
			out = append(out, s)
		}
	}
	return out
}

// tlsConfig builds the client TLS configuration (nil for insecure); ServerName is set per
// server when connecting.
func (c *Config) tlsConfig() (*tls.Config, error) {
	if c.strategy() == Insecure {
		return nil, nil
	}
	tc := &tls.Config{MinVersion: tls.VersionTLS12}
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
