package naming

import "testing"

func TestNames(t *testing.T) {
	for _, c := range []struct{ user, server, prefix, client string }{
		{"alice", "", "/user/alice/", "jupyterhub-user-alice"},
		{"alice", "gpu", "/user/alice/gpu/", "jupyterhub-user-alice-gpu"},
		{"a@b.c", "", "/user/a@b.c/", "jupyterhub-user-a%40b.c"},
		{"x y/z~", "", "/user/x%20y%2Fz~/", "jupyterhub-user-x%20y/z~"},
		{"é", "", "/user/%C3%A9/", "jupyterhub-user-%C3%A9"},
	} {
		if got := ServerPrefix("/", c.user, c.server); got != c.prefix {
			t.Errorf("ServerPrefix(%q, %q) = %q, want %q", c.user, c.server, got, c.prefix)
		}
		if got := ClientID(c.user, c.server); got != c.client {
			t.Errorf("ClientID(%q, %q) = %q, want %q", c.user, c.server, got, c.client)
		}
	}
}
