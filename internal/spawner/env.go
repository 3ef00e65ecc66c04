package spawner

import (
	"encoding/json"
	"fmt"
	"gohub/internal/naming"
	"maps"
	"net"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
)

// EnvSettings are the hub-wide facts the environment of every server carries (protocol.md §2.2).
type EnvSettings struct {
	// HubAPIURL is how servers reach the hub API: hub connect URL + hub prefix + "api",
	// e.g. http://127.0.0.1:8081/hub/api.
	HubAPIURL string
	// BaseURL is the app's base_url, "/" by default; it must end with "/".
	BaseURL string
	// PublicURL is JupyterHub.public_url (e.g. https://hub.example.org/), or "" when unset; it
	// gives JUPYTERHUB_HOST, JUPYTERHUB_PUBLIC_URL and JUPYTERHUB_PUBLIC_HUB_URL.
	PublicURL string
	// CookieHostPrefixEnabled gives JUPYTERHUB_COOKIE_HOST_PREFIX_ENABLED.
	CookieHostPrefixEnabled bool
	// CookieOptions, when non-empty, is exported as JSON in JUPYTERHUB_COOKIE_OPTIONS.
	CookieOptions map[string]any
	// AdminAccess sets JUPYTERHUB_ADMIN_ACCESS=1.
	AdminAccess bool
	// Subdomains, when JupyterHub.subdomain_host is set, put every user's servers on the
	// user's own host: routes carry the host, and the OAuth callback, JUPYTERHUB_HOST and the
	// public URLs are absolute.
	Subdomains *naming.Subdomains
}

// envBase is what Request.Env needs, filled by the manager for one start.
type envBase struct {
	settings   EnvSettings
	cfg        *Config
	getenv     func(string) (string, bool)
	user       string
	serverName string
	prefix     string
	token      string
	clientID   string
}

// build assembles the environment in upstream's order: env_keep, the hub's variables, the
// limits, then Spawner.environment, which overrides everything.
func (b *envBase) build(bindHost string, port int) map[string]string {
	env := map[string]string{}
	if b.getenv != nil {
		for _, k := range b.cfg.EnvKeep {
			if v, ok := b.getenv(k); ok {
				env[k] = v
			}
		}
	}
	s := b.settings
	env["JUPYTERHUB_API_TOKEN"] = b.token
	env["JPY_API_TOKEN"] = b.token
	if s.AdminAccess {
		env["JUPYTERHUB_ADMIN_ACCESS"] = "1"
	}
	env["JUPYTERHUB_CLIENT_ID"] = b.clientID
	if len(s.CookieOptions) > 0 {
		env["JUPYTERHUB_COOKIE_OPTIONS"] = jsonString(s.CookieOptions)
	}
	env["JUPYTERHUB_COOKIE_HOST_PREFIX_ENABLED"] = boolDigit(s.CookieHostPrefixEnabled)
	origin := publicOrigin(s.PublicURL)
	serverOrigin := origin
	if s.Subdomains != nil {
		// The hub's origin for the browser's OAuth redirect; the server's own for its URLs.
		origin, serverOrigin = s.Subdomains.HubOrigin(), s.Subdomains.UserOrigin(b.user)
	}
	env["JUPYTERHUB_HOST"] = origin
	env["JUPYTERHUB_OAUTH_CALLBACK_URL"] = b.prefix + "oauth_callback"
	if s.Subdomains != nil {
		env["JUPYTERHUB_OAUTH_CALLBACK_URL"] = serverOrigin + b.prefix + "oauth_callback"
	}
	access := b.cfg.OAuthAccessScopes
	if len(access) == 0 {
		access = AccessScopes(b.user, b.serverName)
	}
	env["JUPYTERHUB_OAUTH_SCOPES"] = jsonString(access)
	env["JUPYTERHUB_OAUTH_ACCESS_SCOPES"] = jsonString(access)
	allowed := b.cfg.OAuthClientAllowedScopes
	if allowed == nil {
		allowed = []string{}
	}
	env["JUPYTERHUB_OAUTH_CLIENT_ALLOWED_SCOPES"] = jsonString(allowed)
	env["JUPYTERHUB_USER"] = b.user
	env["JUPYTERHUB_SERVER_NAME"] = b.serverName
	api := strings.TrimRight(s.HubAPIURL, "/")
	env["JUPYTERHUB_API_URL"] = api
	env["JUPYTERHUB_ACTIVITY_URL"] = api + "/users/" + EscapeName(b.user) + "/activity"
	env["JUPYTERHUB_BASE_URL"] = baseURL(s.BaseURL)
	env["JUPYTERHUB_SERVICE_PREFIX"] = b.prefix
	env["JUPYTERHUB_SERVICE_URL"] = "http://" + hostPort(bindHost, port) + b.prefix
	env["JUPYTERHUB_PUBLIC_URL"] = ""
	env["JUPYTERHUB_PUBLIC_HUB_URL"] = ""
	if origin != "" {
		env["JUPYTERHUB_PUBLIC_URL"] = serverOrigin + b.prefix
		env["JUPYTERHUB_PUBLIC_HUB_URL"] = origin + baseURL(s.BaseURL) + "hub/"
	}
	c := b.cfg
	if c.MemLimit > 0 {
		env["MEM_LIMIT"] = strconv.FormatInt(int64(c.MemLimit), 10)
	}
	if c.MemGuarantee > 0 {
		env["MEM_GUARANTEE"] = strconv.FormatInt(int64(c.MemGuarantee), 10)
	}
	if c.CPULimit > 0 {
		env["CPU_LIMIT"] = pyFloat(c.CPULimit)
	}
	if c.CPUGuarantee > 0 {
		env["CPU_GUARANTEE"] = pyFloat(c.CPUGuarantee)
	}
	if c.NotebookDir != "" {
		env["JUPYTERHUB_ROOT_DIR"] = ExpandUser(c.NotebookDir, b.user)
	}
	if c.DefaultURL != "" {
		env["JUPYTERHUB_DEFAULT_URL"] = ExpandUser(c.DefaultURL, b.user)
	}
	if c.Debug {
		env["JUPYTERHUB_DEBUG"] = "1"
	}
	if c.DisableUserConfig {
		env["JUPYTERHUB_DISABLE_USER_CONFIG"] = "1"
	}
	maps.Copy(env, c.Environment)
	return env
}

// ExpandUser replaces {username} in a template (notebook_dir, default_url, home_dir_template)
// with the user's name, as upstream's format_string does for that key.
func ExpandUser(template, user string) string {
	return strings.ReplaceAll(template, "{username}", user)
}

// AccessScopes are the scopes a browser token needs to use the server (upstream's default
// oauth_access_scopes).
func AccessScopes(user, server string) []string {
	return []string{"access:servers!server=" + user + "/" + server, "access:servers!user=" + user}
}

// ServerPrefix returns the URL path of a user's server (see naming.ServerPrefix); base is
// normalised to start and end with "/".
func ServerPrefix(base, user, server string) string {
	return naming.ServerPrefix(baseURL(base), user, server)
}

// ClientID returns the OAuth client id of a user's server (see naming.ClientID).
func ClientID(user, server string) string { return naming.ClientID(user, server) }

// EscapeName quotes a user or server name for a URL path as JupyterHub does.
func EscapeName(name string) string { return naming.Escape(name) }

// baseURL returns base with a leading and trailing slash ("/" when empty).
func baseURL(base string) string {
	if !strings.HasPrefix(base, "/") {
		base = "/" + base
	}
	if !strings.HasSuffix(base, "/") {
		base += "/"
	}
	return base
}

// publicOrigin returns scheme://host of a public URL, "" when unset or unparsable.
func publicOrigin(public string) string {
	if public == "" {
		return ""
	}
	u, err := url.Parse(public)
	if err != nil || u.Scheme == "" || u.Host == "" {
		return ""
	}
	return u.Scheme + "://" + u.Host
}

// hostPort joins host and port, bracketing IPv6 addresses; an empty host stays empty.
func hostPort(host string, port int) string {
	if host == "" {
		return ":" + strconv.Itoa(port)
	}
	return net.JoinHostPort(host, strconv.Itoa(port))
}

func boolDigit(b bool) string {
	if b {
		return "1"
	}
	return "0"
}

// jsonString encodes v as Python's json.dumps does by default (", " and ": " separators,
// non-ASCII as \uXXXX), so the variables match JupyterHub's byte for byte. Mapping keys are
// sorted.
func jsonString(v any) string {
	var b strings.Builder
	writePyJSON(&b, v)
	return b.String()
}

func writePyJSON(b *strings.Builder, v any) {
	switch v := v.(type) {
	case nil:
		b.WriteString("null")
	case string:
		writePyString(b, v)
	case bool:
		b.WriteString(map[bool]string{true: "true", false: "false"}[v])
	case []string:
		b.WriteByte('[')
		for i, s := range v {
			if i > 0 {
				b.WriteString(", ")
			}
			writePyString(b, s)
		}
		b.WriteByte(']')
	case []any:
		b.WriteByte('[')
		for i, e := range v {
			if i > 0 {
				b.WriteString(", ")
			}
			writePyJSON(b, e)
		}
		b.WriteByte(']')
	case map[string]any:
		b.WriteByte('{')
		for i, k := range slices.Sorted(maps.Keys(v)) {
			if i > 0 {
				b.WriteString(", ")
			}
			writePyString(b, k)
			b.WriteString(": ")
			writePyJSON(b, v[k])
		}
		b.WriteByte('}')
	default:
		j, err := json.Marshal(v)
		if err != nil {
			b.WriteString("null")
			return
		}
		b.Write(j)
	}
}

func writePyString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r > 0x7e:
			for _, u := range utf16.Encode([]rune{r}) {
				fmt.Fprintf(b, `\u%04x`, u)
			}
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
}
