package proxy

import (
	"net/url"
	"strings"
)

// stripSegments removes the first n path segments of an escaped path, keeping the rest
// (with its leading '/'), as CHP's --no-include-prefix does.
func stripSegments(p string, n int) string {
	rest := p
	for ; n > 0; n-- {
		rest = strings.TrimLeft(rest, "/")
		i := strings.IndexByte(rest, '/')
		if i < 0 {
			return "/"
		}
		rest = rest[i:]
	}
	if rest == "" {
		return "/"
	}
	return rest
}

// unescapePath decodes a path, '%2F' included.
func unescapePath(p string) (string, error) {
	if !strings.Contains(p, "%") {
		return p, nil
	}
	return url.PathUnescape(p)
}
