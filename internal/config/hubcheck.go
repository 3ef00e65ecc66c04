package config

import (
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"strconv"
	"strings"

	"gohub/internal/naming"
)

// Validate checks the JupyterHub traits and normalises them: base_url gets its trailing '/',
// a bind_url path becomes base_url (when base_url is not set), ip and port are written into
// bind_url, a db_url without "://" becomes a SQLite URL, and log_level is upper-cased. Errors are
// FieldErrors, so Decode reports them at the line that set the trait.
func (h *Hub) Validate() error {
	var errs []error
	bad := func(key, format string, args ...any) { errs = append(errs, Invalid(key, format, args...)) }

	bind, err := parseListenURL(h.BindURL)
	if err != nil {
		bad("bind_url", "%v", err)
	}
	if h.Port < 0 || h.Port > 65535 {
		bad("port", "%d is not a port number (1-65535, or 0 to use bind_url's)", h.Port)
	}
	if h.HubPort < 0 || h.HubPort > 65535 {
		bad("hub_port", "%d is not a port number (1-65535, or 0 for any free port)", h.HubPort)
	}
	if h.HubBindURL != "" {
		if _, err := parseListenURL(h.HubBindURL); err != nil {
			bad("hub_bind_url", "%v", err)
		}
	}
	for key, raw := range map[string]string{"hub_connect_url": h.HubConnectURL, "public_url": h.PublicURL} {
		if raw != "" {
			if _, err := parseAbsoluteURL(raw); err != nil {
				bad(key, "%v", err)
			}
		}
	}

	if h.SubdomainHost != "" {
		if !strings.Contains(h.SubdomainHost, "://") {
			h.SubdomainHost = "https://" + h.SubdomainHost // as upstream
		}
		sd, err := naming.ParseSubdomainHost(h.SubdomainHost)
		switch {
		case err != nil:
			bad("subdomain_host", "%q: %v", h.SubdomainHost, err)
		case h.PublicURL != "":
			if pu, err := url.Parse(h.PublicURL); err == nil && !sd.IsHubHost(pu.Host) {
				bad("subdomain_host", "%q: public_url %q names another host; the hub must be on subdomain_host's host", h.SubdomainHost, h.PublicURL)
			}
		}
	}

	if h.CookieHostPrefixEnabled {
		switch sd, err := naming.ParseSubdomainHost(h.SubdomainHost); {
		case h.SubdomainHost == "":
			bad("cookie_host_prefix_enabled", "needs subdomain_host: the __Host- login cookie is on Path=/, which on a shared origin reaches every user's server")
		case err == nil && !sd.Secure():
			bad("cookie_host_prefix_enabled", "needs subdomain_host over https (%q): browsers keep __Host- cookies only when Secure, over http only on localhost", h.SubdomainHost)
		}
	}

	// As upstream: base_url defaults to bind_url's path.
	if bind != nil && h.BaseURL == "/" && bind.Path != "" && bind.Path != "/" {
		h.BaseURL = bind.Path
	}
	if base, err := normaliseBaseURL(h.BaseURL); err != nil {
		bad("base_url", "%v", err)
	} else {
		h.BaseURL = base
	}
	if bind != nil && (h.IP != "" || h.Port != 0) && h.Port >= 0 && h.Port <= 65535 {
		host, port := bind.Hostname(), bind.Port()
		if h.IP != "" {
			host = h.IP
		}
		if h.Port != 0 {
			port = strconv.Itoa(h.Port)
		}
		bind.Host = net.JoinHostPort(host, port)
		h.BindURL = bind.String()
	}

	if h.CookieSecret != "" {
		if _, err := decodeSecret(h.CookieSecret); err != nil {
			bad("cookie_secret", "%v", err)
		}
	}
	if !(h.CookieMaxAgeDays > 0) {
		bad("cookie_max_age_days", "must be a positive number of days")
	}
	switch {
	case strings.TrimSpace(h.DBURL) == "":
		bad("db_url", "must not be empty")
	case !strings.Contains(h.DBURL, "://"):
		h.DBURL = "sqlite:///" + h.DBURL // upstream: a plain file name is a SQLite file
	}
	for key, v := range map[string]string{"authenticator_class": h.AuthenticatorClass, "spawner_class": h.SpawnerClass, "proxy_class": h.ProxyClass} {
		if strings.TrimSpace(v) == "" {
			bad(key, "must not be empty")
		}
	}

	if h.APIPageDefaultLimit <= 0 {
		bad("api_page_default_limit", "must be at least 1")
	}
	if h.APIPageMaxLimit <= 0 {
		bad("api_page_max_limit", "must be at least 1")
	} else if h.APIPageDefaultLimit > h.APIPageMaxLimit {
		bad("api_page_default_limit", "%d is larger than api_page_max_limit (%d)", h.APIPageDefaultLimit, h.APIPageMaxLimit)
	}
	for key, v := range map[string]int{
		"named_server_limit_per_user":  h.NamedServerLimitPerUser,
		"concurrent_spawn_limit":       h.ConcurrentSpawnLimit,
		"active_server_limit":          h.ActiveServerLimit,
		"token_expires_in_max_seconds": h.TokenExpiresInMaxSeconds,
		"activity_resolution":          h.ActivityResolution,
		"last_activity_interval":       h.LastActivityInterval,
	} {
		if v < 0 {
			bad(key, "must not be negative (0 means no limit)")
		}
	}
	for key, v := range map[string]float64{"slow_spawn_timeout": h.SlowSpawnTimeout, "slow_stop_timeout": h.SlowStopTimeout} {
		if v < 0 {
			bad(key, "must not be negative")
		}
	}
	if _, err := parseLevel(h.LogLevel); err != nil {
		bad("log_level", "%v", err)
	} else {
		h.LogLevel = strings.ToUpper(strings.TrimSpace(h.LogLevel))
	}
	errs = append(errs, h.validateServices()...)
	errs = append(errs, h.validateRoles()...)
	return errors.Join(errs...)
}

func (h *Hub) validateServices() []error {
	var errs []error
	seen := map[string]int{}
	for i, s := range h.Services {
		key := fmt.Sprintf("services[%d]", i)
		if strings.TrimSpace(s.Name) == "" {
			errs = append(errs, Invalid(key, "a service needs a name"))
			continue
		}
		if j, dup := seen[s.Name]; dup {
			errs = append(errs, Invalid(key+".name", "service %q is already defined by services[%d]", s.Name, j))
		}
		seen[s.Name] = i
		if s.URL != "" {
			if _, err := parseAbsoluteURL(s.URL); err != nil {
				errs = append(errs, Invalid(key+".url", "%v", err))
			}
		}
		if s.OAuthRedirectURI != "" {
			if _, err := url.Parse(s.OAuthRedirectURI); err != nil {
				errs = append(errs, Invalid(key+".oauth_redirect_uri", "not a URL: %v", err))
			}
		}
		if s.OAuthClientID != "" && !strings.HasPrefix(s.OAuthClientID, "service-") {
			errs = append(errs, Invalid(key+".oauth_client_id", "must start with \"service-\""))
		}
	}
	return errs
}

func (h *Hub) validateRoles() []error {
	var errs []error
	seen := map[string]int{}
	for i, r := range h.LoadRoles {
		key := fmt.Sprintf("load_roles[%d]", i)
		if strings.TrimSpace(r.Name) == "" {
			errs = append(errs, Invalid(key, "a role needs a name"))
			continue
		}
		if j, dup := seen[r.Name]; dup {
			errs = append(errs, Invalid(key+".name", "role %q is already defined by load_roles[%d]", r.Name, j))
		}
		seen[r.Name] = i
	}
	return errs
}

// BindAddr returns the host and port the public listener binds, from bind_url with ip and port
// applied over it. An empty host means all interfaces.
func (h *Hub) BindAddr() (host, port string, err error) {
	u, err := parseListenURL(h.BindURL)
	if err != nil {
		return "", "", fmt.Errorf("JupyterHub.bind_url: %w", err)
	}
	host, port = u.Hostname(), listenPort(u)
	if h.IP != "" {
		host = h.IP
	}
	if h.Port != 0 {
		port = strconv.Itoa(h.Port)
	}
	return host, port, nil
}

// HubBindAddr returns the host and port the hub's own listener binds: from hub_bind_url when
// set, else hub_ip and hub_port.
func (h *Hub) HubBindAddr() (host, port string, err error) {
	if h.HubBindURL != "" {
		u, err := parseListenURL(h.HubBindURL)
		if err != nil {
			return "", "", fmt.Errorf("JupyterHub.hub_bind_url: %w", err)
		}
		return u.Hostname(), listenPort(u), nil
	}
	return h.HubIP, strconv.Itoa(h.HubPort), nil
}

// Level returns log_level as a slog level; CRITICAL maps to ERROR.
func (h *Hub) Level() slog.Level {
	l, err := parseLevel(h.LogLevel)
	if err != nil {
		return slog.LevelInfo
	}
	return l
}

// parseLevel reads Python's logging level names.
func parseLevel(s string) (slog.Level, error) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "DEBUG":
		return slog.LevelDebug, nil
	case "INFO":
		return slog.LevelInfo, nil
	case "WARN", "WARNING":
		return slog.LevelWarn, nil
	case "ERROR", "CRITICAL", "FATAL":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("unknown level %q (DEBUG, INFO, WARN, ERROR or CRITICAL)", s)
}

// parseListenURL checks a URL to listen on: http or https, a host (possibly empty, meaning all
// interfaces) and a valid port if one is given.
func parseListenURL(raw string) (*url.URL, error) {
	if !strings.Contains(raw, "://") {
		return nil, fmt.Errorf("%q: want an http:// or https:// URL", raw)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("not a URL: %v", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, fmt.Errorf("%q: want an http:// or https:// URL", raw)
	}
	if u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, fmt.Errorf("%q: a listen URL has no user, query or fragment", raw)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 0 || n > 65535 {
			return nil, fmt.Errorf("%q: port %s is out of range (0-65535)", raw, p)
		}
	} else if strings.HasSuffix(u.Host, ":") {
		return nil, fmt.Errorf("%q: empty port", raw)
	}
	return u, nil
}

// listenPort is u's port, or the scheme's default.
func listenPort(u *url.URL) string {
	if p := u.Port(); p != "" {
		return p
	}
	if u.Scheme == "https" {
		return "443"
	}
	return "80"
}

// parseAbsoluteURL checks an http(s) URL with a host.
func parseAbsoluteURL(raw string) (*url.URL, error) {
	if !strings.Contains(raw, "://") {
		return nil, fmt.Errorf("%q: want an absolute http:// or https:// URL with a host", raw)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("not a URL: %v", err)
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("%q: want an absolute http:// or https:// URL with a host", raw)
	}
	if p := u.Port(); p != "" {
		if n, err := strconv.Atoi(p); err != nil || n < 1 || n > 65535 {
			return nil, fmt.Errorf("%q: port %s is out of range (1-65535)", raw, p)
		}
	}
	return u, nil
}

// normaliseBaseURL requires a leading '/' and adds the trailing one. Upstream silently adds a
// missing leading '/'; gohub refuses it, since "hub" for "/hub/" is more likely a mistake.
func normaliseBaseURL(s string) (string, error) {
	if !strings.HasPrefix(s, "/") {
		return "", fmt.Errorf("%q must start with '/'", s)
	}
	if strings.ContainsAny(s, "?#") || strings.Contains(s, "//") || strings.Contains(s, "://") {
		return "", fmt.Errorf("%q must be a plain path such as /jupyter/", s)
	}
	if !strings.HasSuffix(s, "/") {
		s += "/"
	}
	return s, nil
}

// decodeSecret reads a hex secret of at least 32 bytes. Its errors never show the value.
func decodeSecret(s string) ([]byte, error) {
	b, err := hex.DecodeString(strings.TrimSpace(s))
	if err != nil {
		return nil, errors.New("not hex-encoded (create one with: openssl rand -hex 32)")
	}
	if len(b) < minSecretBytes {
		return nil, fmt.Errorf("too short: %d bytes, want at least %d (openssl rand -hex 32)", len(b), minSecretBytes)
	}
	return b, nil
}
