package naming

import (
	"crypto/sha256"
	"encoding/hex"
	"net/url"
	"strings"
)

// DNSLabel is the DNS label of a user's subdomain under JupyterHub.subdomain_host. A name that
// is a valid label already (lower-case letters, digits and "-", 1 to 63 of them, neither
// starting nor ending with "-", not all digits) and has no "--" is kept; any other name becomes
// "u-" + up to 8 of its letters and digits ("x" if none) + "--" + 20 hex digits of its SHA-256.
//
// The mapping is one-to-one: kept names never contain "--", hashed ones always do, and two
// hashed names share a label only if 80 bits of their hashes agree, which nobody can arrange.
// (Upstream's idna hook uses IDNA for non-ASCII names and keeps only 28 bits of hash, which a
// user could collide with another's label in seconds, landing on that user's origin.)
func DNSLabel(name string) string {
	if isDNSLabel(name) && !strings.Contains(name, "--") {
		return name
	}
	var stub []byte
	for i := 0; i < len(name) && len(stub) < 8; i++ {
		c := name[i]
		if c >= 'A' && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			stub = append(stub, c)
		}
	}
	if len(stub) == 0 {
		stub = []byte("x")
	}
	sum := sha256.Sum256([]byte(name))
	return "u-" + string(stub) + "--" + hex.EncodeToString(sum[:])[:20]
}

// isDNSLabel: lower-case letters, digits and "-", 1 to 63 bytes, no "-" at either end, not
// all digits.
func isDNSLabel(s string) bool {
	if len(s) == 0 || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	digits := true
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= '0' && c <= '9':
		case c >= 'a' && c <= 'z' || c == '-':
			digits = false
		default:
			return false
		}
	}
	return !digits
}

// Subdomains are the user hosts of JupyterHub.subdomain_host: every user's servers live on
// {DNSLabel(name)}.{hub host}, with the scheme and port of the hub. The zero value (nil) means
// subdomains are off.
type Subdomains struct {
	scheme, host, port string
}

// ParseSubdomainHost reads JupyterHub.subdomain_host ("https://hub.example.org",
// "http://localhost:8000"); "" gives nil.
func ParseSubdomainHost(s string) (*Subdomains, error) {
	if s == "" {
		return nil, nil
	}
	u, err := url.Parse(s)
	if err != nil {
		return nil, err
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || (u.Path != "" && u.Path != "/") ||
		u.RawQuery != "" || u.Fragment != "" || u.User != nil {
		return nil, errSubdomainHost
	}
	return &Subdomains{scheme: u.Scheme, host: strings.ToLower(u.Hostname()), port: u.Port()}, nil
}

type subdomainError struct{}

func (subdomainError) Error() string {
	return "want the hub's origin, http:// or https:// with a host and optional port, no path"
}

var errSubdomainHost error = subdomainError{}

// HubOrigin is the hub's own origin, scheme://host[:port].
func (s *Subdomains) HubOrigin() string { return s.scheme + "://" + s.hostPort(s.host) }

// Secure reports whether browsers keep Secure cookies from the hub's origin: https, or a
// localhost host (a secure context over http).
func (s *Subdomains) Secure() bool {
	return s.scheme == "https" || s.host == "localhost" || strings.HasSuffix(s.host, ".localhost")
}

// HubHost is the hub's host name, without port.
func (s *Subdomains) HubHost() string { return s.host }

// UserHost is the host name of user's servers, {label}.{hub host}.
func (s *Subdomains) UserHost(user string) string { return DNSLabel(user) + "." + s.host }

// UserOrigin is the origin of user's servers, scheme://{label}.{hub host}[:port].
func (s *Subdomains) UserOrigin(user string) string {
	return s.scheme + "://" + s.hostPort(s.UserHost(user))
}

// IsUserHost reports whether host (a Host header, with or without port) is a subdomain of the
// hub's host, where users' servers live.
func (s *Subdomains) IsUserHost(host string) bool {
	h := strings.ToLower(stripPort(host))
	return strings.HasSuffix(h, "."+s.host)
}

// IsHubHost reports whether host (a Host header) names the hub's host.
func (s *Subdomains) IsHubHost(host string) bool {
	return strings.ToLower(stripPort(host)) == s.host
}

// RouteSpec is the proxy route of a server under host routing: /{user host}{prefix}.
func (s *Subdomains) RouteSpec(user, prefix string) string { return "/" + s.UserHost(user) + prefix }

func (s *Subdomains) hostPort(h string) string {
	if s.port != "" {
		return h + ":" + s.port
	}
	return h
}

// stripPort drops a ":port" from a Host header value (IPv6 literals keep their brackets).
func stripPort(host string) string {
	if i := strings.LastIndexByte(host, ':'); i >= 0 && !strings.Contains(host[i:], "]") {
		return host[:i]
	}
	return host
}
