package naming

import (
	"fmt"
	"strings"
	"unicode"
)

// CheckServerName says why name cannot be a named server's name (protocol.md §4.6): it is a
// URL segment of /user/{name}/{server}/, so 1-255 characters without / ? # % or \, no blank or
// control characters, and never "." or "..", which a browser or a proxy would resolve to
// another URL (/user/alice/../). The REST API and the home page share it.
func CheckServerName(name string) error {
	if name == "" || len(name) > 255 || strings.ContainsAny(name, "/?#%\\") {
		return fmt.Errorf("Invalid server name %q: 1-255 characters, no / ? # %% or \\", name)
	}
	if name == "." || name == ".." {
		return fmt.Errorf("Invalid server name %q: not . or ..", name)
	}
	for _, c := range name {
		if unicode.IsSpace(c) || unicode.IsControl(c) {
			return fmt.Errorf("Invalid server name %q: no whitespace or control characters", name)
		}
	}
	return nil
}
