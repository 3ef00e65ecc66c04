package naming

import (
	"strings"
	"testing"
)

func TestDNSLabel(t *testing.T) {
	long63 := strings.Repeat("a", 63)
	for _, c := range []struct{ name, want string }{
		{"alice", "alice"},
		{"a-b", "a-b"},
		{"a1", "a1"},
		{long63, long63}, // the longest label
		{"123", ""},      // all digits
		{"-a", ""},
		{"a-", ""},
		{"a--b", ""}, // could collide with a hashed label
		{"xn--nxasmq6b", ""},
		{"Alice", ""}, // another user than alice
		{"a b", ""},
		{"a.b", ""}, // would be a level of its own: b's cookies reach a.b
		{"a_b", ""},
		{"élise", ""},
		{"", ""},
		{long63 + "a", ""}, // one too long
	} {
		got := DNSLabel(c.name)
		if c.want != "" {
			if got != c.want {
				t.Errorf("DNSLabel(%q) = %q, want it kept", c.name, got)
			}
			continue
		}
		if !strings.HasPrefix(got, "u-") || !strings.Contains(got, "--") || !isDNSLabel(got) {
			t.Errorf("DNSLabel(%q) = %q, want a hashed label", c.name, got)
		}
	}
	if got := DNSLabel("Élise Smith!"); !strings.HasPrefix(got, "u-lisesmit--") || len(got) != len("u-lisesmit--")+20 {
		t.Errorf("hashed label %q", got)
	}
	if got := DNSLabel("!!"); !strings.HasPrefix(got, "u-x--") {
		t.Errorf("label of a name without letters: %q", got)
	}
}

// FuzzDNSLabel: every label is a valid DNS label, and two names never share one (a shared
// label is a shared origin).
func FuzzDNSLabel(f *testing.F) {
	for _, s := range []string{"alice", "Alice", "a--b", "a b", "u-ab--0123", "xn--x", "123", "a.b", "é", ""} {
		f.Add(s, s+"x")
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		la, lb := DNSLabel(a), DNSLabel(b)
		if !isDNSLabel(la) {
			t.Fatalf("DNSLabel(%q) = %q is not a DNS label", a, la)
		}
		if a != b && la == lb {
			t.Fatalf("%q and %q share the label %q", a, b, la)
		}
	})
}

func TestSubdomains(t *testing.T) {
	sd, err := ParseSubdomainHost("http://Localhost:8000")
	if err != nil {
		t.Fatal(err)
	}
	if sd.HubOrigin() != "http://localhost:8000" || sd.UserOrigin("alice") != "http://alice.localhost:8000" {
		t.Errorf("origins %q %q", sd.HubOrigin(), sd.UserOrigin("alice"))
	}
	if sd.RouteSpec("alice", "/user/alice/") != "/alice.localhost/user/alice/" {
		t.Errorf("route %q", sd.RouteSpec("alice", "/user/alice/"))
	}
	for host, user := range map[string]bool{"alice.localhost:8000": true, "ALICE.localhost": true,
		"localhost:8000": false, "evillocalhost": false, "alice.localhost.evil.org": false} {
		if sd.IsUserHost(host) != user {
			t.Errorf("IsUserHost(%q) = %v", host, !user)
		}
	}
	if !sd.IsHubHost("LOCALHOST:8000") || sd.IsHubHost("alice.localhost") {
		t.Error("IsHubHost")
	}
	sd, _ = ParseSubdomainHost("https://hub.example.org/")
	if sd.UserOrigin("bob") != "https://bob.hub.example.org" {
		t.Errorf("origin without port %q", sd.UserOrigin("bob"))
	}
	if sd, err := ParseSubdomainHost(""); sd != nil || err != nil {
		t.Error("empty subdomain_host is not off")
	}
	for _, bad := range []string{"ftp://hub.example.org", "https://", "https://hub.example.org/hub/", "https://u@hub.example.org", "https://hub.example.org?x"} {
		if _, err := ParseSubdomainHost(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}
