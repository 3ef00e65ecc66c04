// Package naming holds JupyterHub's names for a user's server, which the spawner, the OAuth
// provider and the proxy routes must agree on byte for byte (protocol.md §0.1, §2.1, §4.6): the URL
// prefix /user/{name}/[{server}/] and the OAuth client id jupyterhub-user-{name}[-{server}],
// each quoted as Python's urllib.parse.quote does.
package naming

import "strings"

// Quote percent-encodes s as Python's urllib.parse.quote with the given safe characters:
// letters, digits and _.-~ are never encoded; every other byte is %XX with upper-case hex.
func Quote(s, safe string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x80 && (c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
			strings.IndexByte("_.-~", c) >= 0 || strings.IndexByte(safe, c) >= 0) {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte("0123456789ABCDEF"[c>>4])
		b.WriteByte("0123456789ABCDEF"[c&15])
	}
	return b.String()
}

// Escape quotes a user or server name for a URL path, keeping "@" and "~" (quote(name,
// safe='@~')).
func Escape(name string) string { return Quote(name, "@~") }

// ServerPrefix is the URL path of a user's server: {base}user/{escaped name}/ and, for a named
// server, {escaped server}/ after it. base must start and end with "/".
func ServerPrefix(base, user, server string) string {
	p := base + "user/" + Escape(user) + "/"
	if server != "" {
		p += Escape(server) + "/"
	}
	return p
}

// ClientID is the OAuth client id of a user's server: jupyterhub-user-{quote(name)}, with
// -{quote(server)} for a named server, quoted with "@" escaped (so "@" is "%40").
func ClientID(user, server string) string {
	id := "jupyterhub-user-" + Quote(user, "/")
	if server != "" {
		id += "-" + Quote(server, "/")
	}
	return id
}
