package hub

import (
	"net/http"
	"net/http/httptest"
	"testing"
)

// FuzzHasSecure checks hasSecure against http.ParseSetCookie: whenever the standard library
// parses the value, they agree on Secure; a value it cannot parse counts as not Secure, so
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
		if got != c.Secure {
			t.Fatalf("hasSecure(%q) = %v; ParseSetCookie Secure = %v", s, got, c.Secure)
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
