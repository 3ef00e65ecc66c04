package hub

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// FuzzHasSecure checks hasSecure against http.ParseSetCookie and a plain reading of RFC 6265's
// attributes: whenever the standard library parses the value, they agree on Secure; a value it cannot parse counts as not Secure, so
// secureWriter adds the attribute rather than trusting a look-alike. The marked header itself
// must then parse as Secure whenever the original parsed.
func FuzzHasSecure(f *testing.F) {
	for _, s := range []string{
		"a=b",
		"a=b; Secure",
		"a=b; secure",
		"a=b;Secure",
		"a=b; Secure=1",
		"a=b; HttpOnly; Path=/; SECURE ",
		"a=b; Path=/x; Secure; SameSite=Lax",
		"Secure",
		";Secure",
		"a=\"x;Secure\"",
		"a=\"x; Secure",
		"a=b; \u00a0Secure",
		"a=b; Secure\u00a0",
		"a=b; \u2028Secure",
		"a=b; \tSecure\t",
		"a=b; Sec ure",
		"a=b; Path=/;Secure",
		"a=b; Path=\"/;Secure\"",
		"=b; Secure",
		"a b=c; Secure",
		"a=b c; Secure",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := hasSecure(s)
		c, err := http.ParseSetCookie(s)
		if err != nil {
			if got {
				t.Fatalf("hasSecure(%q) = true; ParseSetCookie: %v", s, err)
			}
			return
		}
		// hasSecure is ParseSetCookie's answer; the check that can fail is against RFC 6265's
		// reading of the attributes, written plainly here. hasSecure may miss a Secure that a
		// browser sees (net/http skips `Secure="0`, whose value is malformed): secureWriter then
		// adds one more, harmless. It must never see one a browser does not.
		if got && !rfcSecure(s) {
			t.Fatalf("hasSecure(%q) = true; RFC 6265 attributes have no Secure", s)
		}
		// What secureWriter sends.
		rec := httptest.NewRecorder()
		w := &secureWriter{ResponseWriter: rec}
		w.Header()["Set-Cookie"] = []string{s}
		w.WriteHeader(http.StatusOK)
		sent := rec.Result().Header["Set-Cookie"]
		if len(sent) != 1 {
			t.Fatalf("Set-Cookie %q sent as %q", s, sent)
		}
		c2, err := http.ParseSetCookie(sent[0])
		if err != nil || !c2.Secure || c2.Name != c.Name || c2.Value != c.Value {
			t.Fatalf("Set-Cookie %q sent as %q: %+v, %v", s, sent[0], c2, err)
		}
	})
}

// rfcSecure reads a Set-Cookie value's attributes as RFC 6265 §5.2 does: after the first ';',
// each attribute trimmed of blanks, its name before any '=' compared without case.
func rfcSecure(s string) bool {
	_, attrs, _ := strings.Cut(s, ";")
	for _, a := range strings.Split(attrs, ";") {
		name, _, _ := strings.Cut(strings.Trim(a, " \t\r\n"), "=")
		if strings.EqualFold(strings.Trim(name, " \t\r\n"), "secure") {
			return true
		}
	}
	return false
}

// FuzzWithoutCookie checks withoutCookie, which rebuilds the Cookie header, against
// http.Request.Cookies: the named cookie is gone, every other cookie net/http reads is kept
// in order with its value, in any split of the header lines. (A value with a space comes back
// quoted: net/http's AddCookie quotes it, and reads the quotes off again.)
func FuzzWithoutCookie(f *testing.F) {
	f.Add("jupyterhub-hub-login=x; a=b", "", "jupyterhub-hub-login")
	f.Add("a=b;jupyterhub-hub-login=x;jupyterhub-hub-login=y", "c=\"q\"", "jupyterhub-hub-login")
	f.Add("a=\"b c\"; jupyterhub-hub-login=x", "jupyterhub-hub-login", "jupyterhub-hub-login")
	f.Add("__Host-jupyterhub-hub-login=x; jupyterhub-hub-login=y", "a=b; ;;", "__Host-jupyterhub-hub-login")
	f.Add("a=b", "jupyterhub-hub-login=\"x;y\"", "jupyterhub-hub-login")
	f.Fuzz(func(t *testing.T, h1, h2, name string) {
		r := httptest.NewRequest(http.MethodGet, "/hub/home", nil)
		r.Header["Cookie"] = []string{h1, h2}
		var want []*http.Cookie
		for _, c := range r.Cookies() {
			if c.Name != name {
				want = append(want, c)
			}
		}
		r2 := withoutCookie(r, name)
		if n := len(r2.CookiesNamed(name)); n != 0 {
			t.Fatalf("Cookie %q, %q without %q still has %d: %q", h1, h2, name, n, r2.Header["Cookie"])
		}
		got := r2.Cookies()
		if len(got) != len(want) {
			t.Fatalf("Cookie %q, %q without %q: %q", h1, h2, name, r2.Header["Cookie"])
		}
		for i := range got {
			if got[i].Name != want[i].Name || got[i].Value != want[i].Value {
				t.Fatalf("Cookie %q, %q without %q: cookie %d %+v, want %+v", h1, h2, name, i, got[i], want[i])
			}
		}
		if len(r.Header["Cookie"]) != 2 {
			t.Fatalf("withoutCookie changed the original request: %q", r.Header["Cookie"])
		}
	})
}
