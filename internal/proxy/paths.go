package proxy

import (
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"

	"gohub/internal/naming"
)

// Route keys have one form everywhere (see the package documentation): the decoded path,
// as configurable-http-proxy stores it. JupyterHub's routespecs are the escaped form of the
// same path; RouteKey and Routespec convert between the two.

// RouteKey turns a routespec ("/user/a%20b/", escaped as URLs are) into the route key the
// proxy stores and matches ("/user/a b"): percent-decoded once, '%2F' included, with a
// leading and no trailing '/'. It fails on a bad escape, a '.' or '..' segment, or a result
// that is not UTF-8.
func RouteKey(routespec string) (string, error) {
	p, err := url.PathUnescape(routespec)
	if err != nil {
		return "", fmt.Errorf("routespec %q: %w", routespec, err)
	}
	key := CleanPath(p)
	if err := checkKey(key); err != nil {
		return "", err
	}
	return key, nil
}

// Routespec turns a route key back into the routespec it came from ("/user/a b" →
// "/user/a%20b/"), quoted as JupyterHub quotes route keys read from configurable-http-proxy
// (quote(key, safe="@/~")) and with a trailing '/'. Names never contain '/', so for every
// name Routespec(RouteKey(naming.ServerPrefix(...))) is the prefix itself.
func Routespec(key string) string {
	s := naming.Quote(key, "@/~")
	if !strings.HasSuffix(s, "/") {
		s += "/"
	}
	return s
}

// checkKey refuses a route key that no request path can be matched to: a "." or ".."
// segment would be resolved away by a browser, and by configurable-http-proxy on its API,
// so that "/user/alice/.." would become a route for "/user", everyone's URLs.
// A key that is not UTF-8 is refused too: the API reports keys as JSON strings, which would
// replace its bytes, so it could not be read back (and CHP's decodeURIComponent rejects it).
func checkKey(key string) error {
	if hasDotSegment(key) {
		return fmt.Errorf("route %q: a '.' or '..' segment cannot be routed", key)
	}
	if !utf8.ValidString(key) {
		return fmt.Errorf("route %q: not UTF-8 once decoded", key)
	}
	return nil
}

// hasDotSegment reports whether the decoded path p has a "." or ".." segment. It does not
// allocate.
func hasDotSegment(p string) bool {
	if !strings.HasPrefix(p, ".") && !strings.Contains(p, "/.") {
		return false // the usual case, found quickly
	}
	for len(p) > 0 {
		seg := p
		if i := strings.IndexByte(p, '/'); i >= 0 {
			seg, p = p[:i], p[i+1:]
		} else {
			p = ""
		}
		if seg == "." || seg == ".." {
			return true
		}
	}
	return false
}

// stripSegments removes the first n segments of the escaped path p, as Match counts them
// (leading slashes ignored, '%2F' a separator), keeping the rest with a leading '/', as
// CHP's --no-include-prefix does.
func stripSegments(p string, n int) string {
	for { // leading slashes, escaped or not, are no segments
		if strings.HasPrefix(p, "/") {
			p = p[1:]
		} else if indexEscapedSlash(p) == 0 {
			p = p[3:]
		} else {
			break
		}
	}
	for n > 0 && p != "" {
		seg, rest, slash := strings.Cut(p, "/")
		k := 1 + countEscapedSlashes(seg)
		if k > n { // the key ends inside this escaped segment, at one of its %2F
			for ; n > 0; n-- {
				i := indexEscapedSlash(seg)
				seg = seg[i+3:]
			}
			if slash {
				return "/" + seg + "/" + rest
			}
			return "/" + seg
		}
		n -= k
		if !slash {
			return "/"
		}
		p = rest
	}
	return "/" + p
}

// indexEscapedSlash returns the index of the first "%2F" (or "%2f") in s, or -1.
func indexEscapedSlash(s string) int {
	for i := 0; i+2 < len(s); i++ {
		if s[i] == '%' && s[i+1] == '2' && (s[i+2] == 'F' || s[i+2] == 'f') {
			return i
		}
	}
	return -1
}

func countEscapedSlashes(s string) int {
	n := 0
	for i := indexEscapedSlash(s); i >= 0; i = indexEscapedSlash(s) {
		n++
		s = s[i+3:]
	}
	return n
}

// unescapePath decodes a path, '%2F' included.
func unescapePath(p string) (string, error) {
	if !strings.Contains(p, "%") {
		return p, nil
	}
	return url.PathUnescape(p)
}
