package proxy

import (
	"net/url"
	"slices"
	"strings"
	"testing"
	"unicode/utf8"

	"gohub/internal/naming"
)

// routeSeeds are route keys and request paths around the escaping and dot-segment cases of
// issue 12: names whose escaped form is another name, '/' lookalikes, dots.
var routeSeeds = []struct{ keys, path string }{
	{"/\n/user/a b\n/user/a%20b", "/user/a%20b/"},
	{"/\n/user/a b\n/user/a%20b", "/user/a b/tree"},
	{"/user/a b", "/user/a%2520b/"},
	{"/user/a%2Fb\n/user/a", "/user/a/b/"},
	{"/user/a/b\n/user/a", "/user/a/bc"},
	{"/user/mallory\n/user/victim", "/user/mallory/../victim/"},
	{"/user/mallory\n/user/victim", "/user/mallory/./x"},
	{"/user/mallory\n/user/victim", "/user/mallory/.../x"},
	{"/user/mallory/..\n/user", "/user/x"},
	{"/user//a\n/user", "/user//a/x"},
	{"//user//\n/", "///user"},
	{"/\n/hub\n/user/ä", "/user/ä/x"},
	{"/a\n/a/b/c\n/a/b", "/a/b/c/d"},
	{"/host.example/user/a\n/host.example", "/host.example/user/a/"},
	{"", "/"},
}

// refMatch is the plain reference of RouteTable.Match: a linear scan for the key with the
// most segments that are a whole-segment prefix of the path's; no match for a path with a
// "." or ".." segment.
func refMatch(keys []string, p string) (string, bool) {
	split := func(s string) []string {
		s = strings.Trim(s, "/")
		if s == "" {
			return nil
		}
		return strings.Split(s, "/")
	}
	for _, s := range strings.Split(p, "/") {
		if s == "." || s == ".." {
			return "", false
		}
	}
	ps := split(p)
	best, bestLen := "", -1
	for _, k := range keys {
		ks := split(k)
		if len(ks) <= len(ps) && slices.Equal(ks, ps[:len(ks)]) && len(ks) > bestLen {
			best, bestLen = k, len(ks)
		}
	}
	return best, bestLen >= 0
}

// FuzzRouteMatch compares RouteTable.Match with refMatch over the keys of one input
// (newline-separated) and a request path, before and after removing every other key.
func FuzzRouteMatch(f *testing.F) {
	for _, s := range routeSeeds {
		f.Add(s.keys, s.path)
	}
	f.Fuzz(func(t *testing.T, keyList, p string) {
		tab := NewRouteTable()
		var keys []string
		for _, k := range strings.Split(keyList, "\n") {
			if k == "" {
				continue
			}
			_, err := tab.Put(k, map[string]any{"target": "http://127.0.0.1:1"})
			dotted := slices.ContainsFunc(strings.Split(k, "/"), func(s string) bool { return s == "." || s == ".." })
			if refused := dotted || !utf8.ValidString(k); (err != nil) != refused {
				t.Fatalf("Put(%q): %v, dot segment %v, UTF-8 %v", k, err, dotted, utf8.ValidString(k))
			}
			if err == nil && !slices.Contains(keys, CleanPath(k)) {
				keys = append(keys, CleanPath(k))
			}
		}
		check := func() {
			want, ok := refMatch(keys, p)
			got := tab.Match(p)
			switch {
			case !ok && got != nil:
				t.Fatalf("keys %q: Match(%q) = %q, want none", keys, p, got.Prefix)
			case ok && (got == nil || got.Prefix != want):
				t.Fatalf("keys %q: Match(%q) = %v, want %q", keys, p, got, want)
			}
		}
		check()
		for i := 0; i < len(keys); i++ {
			if !tab.Remove(keys[i]) {
				t.Fatalf("Remove(%q) found nothing", keys[i])
			}
			keys = slices.Delete(keys, i, i+1)
		}
		check()
		if tab.Len() != len(keys) {
			t.Fatalf("Len = %d, want %d", tab.Len(), len(keys))
		}
	})
}

// FuzzRoutingPath checks the path handling around matching against net/url: a request
// target parsed by url.ParseRequestURI (as both servers do) has a dot segment exactly when
// its decoded segments hold one, and stripSegments (--no-include-prefix) on the escaped path
// drops exactly the segments Match counts on the decoded path.
func FuzzRoutingPath(f *testing.F) {
	for _, s := range routeSeeds {
		f.Add(url.PathEscape(s.path), 1)
		f.Add(s.path, 2)
	}
	for _, s := range []string{"/user/a%2Fb/c", "/user/a%2f%2Fb", "//user//a/", "/a/%2E%2E/b", "/a/%2", "/%2F%2F"} {
		f.Add(s, 2)
	}
	f.Fuzz(func(t *testing.T, raw string, n int) {
		u, err := url.ParseRequestURI(raw)
		if err != nil || !strings.HasPrefix(raw, "/") || u.RawQuery != "" || u.Host != "" {
			return
		}
		segs := strings.Split(strings.TrimLeft(u.Path, "/"), "/")
		dotted := slices.ContainsFunc(segs, func(s string) bool { return s == "." || s == ".." })
		if hasDotSegment(u.Path) != dotted {
			t.Fatalf("hasDotSegment(%q) = %v", u.Path, !dotted)
		}
		if n < 0 || n > len(segs)+1 {
			return
		}
		want := "/"
		if n < len(segs) {
			want = "/" + strings.Join(segs[n:], "/")
		}
		if u.Path == "" || strings.Trim(u.Path, "/") == "" {
			want = "/"
		}
		got, err := url.PathUnescape(stripSegments(u.EscapedPath(), n))
		if err != nil {
			t.Fatalf("stripSegments(%q, %d) is not an escaped path: %v", u.EscapedPath(), n, err)
		}
		if got != want {
			t.Fatalf("stripSegments(%q, %d) decodes to %q, want %q", u.EscapedPath(), n, got, want)
		}
	})
}

// FuzzRouteKey checks RouteKey and Routespec against net/url: a routespec's key is its
// url.PathUnescape'd, cleaned self; Routespec gives back a routespec with the same key; the
// CHP client's URL for a key decodes (as the API decodes it) to that key; and every valid
// user name's server prefix round-trips and is reached by the URL net/url builds for it.
func FuzzRouteKey(f *testing.F) {
	for _, s := range []string{"/user/a%20b/", "/user/a b/", "/user/a%2520b/", "/user/%C3%A9/", "/user/a%2Fb/",
		"/user/a/../", "/user/%2e%2e/", "/", "", "/%zz/", "/user/a%/", "/user/~@!$&'()*+,;=:/", "/user/%FF/", "/user/\xff/"} {
		f.Add(s)
	}
	c := NewCHPClient("http://127.0.0.1:1", "", CHPClientOptions{})
	f.Fuzz(func(t *testing.T, spec string) {
		dec, decErr := url.PathUnescape(spec)
		key, err := RouteKey(spec)
		switch {
		case decErr != nil:
			if err == nil {
				t.Fatalf("RouteKey(%q) = %q, but net/url cannot decode it: %v", spec, key, decErr)
			}
		case hasDotSegment(CleanPath(dec)) || !utf8.ValidString(dec):
			if err == nil {
				t.Fatalf("RouteKey(%q) = %q despite a dot segment or bytes that are not UTF-8", spec, key)
			}
		case err != nil:
			t.Fatalf("RouteKey(%q): %v", spec, err)
		case key != CleanPath(dec):
			t.Fatalf("RouteKey(%q) = %q, want %q", spec, key, CleanPath(dec))
		}
		if err == nil {
			if back, err := RouteKey(Routespec(key)); err != nil || back != key {
				t.Fatalf("RouteKey(Routespec(%q)) = %q, %v", key, back, err)
			}
			api, err := c.routesURL(key)
			if err != nil {
				t.Fatalf("routesURL(%q): %v", key, err)
			}
			u, err := url.Parse(api)
			if err != nil {
				t.Fatalf("routesURL(%q) = %q: %v", key, api, err)
			}
			got, err := url.PathUnescape(strings.TrimPrefix(u.EscapedPath(), "/api/routes"))
			if err != nil || CleanPath(got) != key {
				t.Fatalf("routesURL(%q) = %q decodes to %q, %v", key, api, got, err)
			}
		}
		// spec as a user name.
		name := spec
		if name == "" || name == "." || name == ".." || strings.Contains(name, "/") || !utf8.ValidString(name) {
			return
		}
		prefix := naming.ServerPrefix("/", name, "")
		key, err = RouteKey(prefix)
		if err != nil || key != "/user/"+name || Routespec(key) != prefix {
			t.Fatalf("name %q: RouteKey(%q) = %q, %v; Routespec = %q", name, prefix, key, err, Routespec(key))
		}
		tab := NewRouteTable()
		for _, k := range []string{"/", "/user", key} {
			if _, err := tab.Put(k, map[string]any{"target": "http://127.0.0.1:1"}); err != nil {
				t.Fatal(err)
			}
		}
		u, err := url.ParseRequestURI((&url.URL{Path: "/user/" + name + "/tree"}).EscapedPath())
		if err != nil {
			t.Fatal(err)
		}
		if r := tab.Match(u.Path); r == nil || r.Prefix != key {
			t.Fatalf("name %q: %q matched %v", name, u.Path, r)
		}
		if r := tab.Match("/user/" + url.PathEscape(name) + "/"); url.PathEscape(name) != name && r != nil && r.Prefix == key {
			t.Fatalf("name %q: its escaped form, decoded once more, matched its route", name)
		}
	})
}
