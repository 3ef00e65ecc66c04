package authstate_test

import (
	"strings"
	"testing"

	"gohub/internal/authstate"
)

// Secrets are sealed with JUPYTERHUB_CRYPT_KEY when set, else with a key derived from the
// cookie secret; setting the crypt key later keeps the older seals readable; another cookie
// secret without the key cannot open them; a tampered seal does not open.
func TestSealer(t *testing.T) {
	ctx := t.Context()
	cookie := []byte(strings.Repeat("c", 32))
	cryptKey := strings.Repeat("ab", 32)
	derived, err := authstate.NewSealer("", cookie)
	if err != nil {
		t.Fatal(err)
	}
	withKey, err := authstate.NewSealer(cryptKey, cookie)
	if err != nil {
		t.Fatal(err)
	}
	keyOnly, err := authstate.NewSealer(cryptKey, []byte("another cookie secret"))
	if err != nil {
		t.Fatal(err)
	}
	otherCookie, err := authstate.NewSealer("", []byte("another cookie secret"))
	if err != nil {
		t.Fatal(err)
	}
	const secret = "JBSWY3DPEHPK3PXP"
	s1, err := derived.Seal(ctx, secret)
	if err != nil || !authstate.IsSealed(s1) || strings.Contains(s1, secret) {
		t.Fatalf("derived seal %q, %v", s1, err)
	}
	s2, err := withKey.Seal(ctx, secret)
	if err != nil || !authstate.IsSealed(s2) {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name   string
		s      *authstate.Sealer
		sealed string
		ok     bool
	}{
		{"derived opens its own", derived, s1, true},
		{"crypt key set later opens derived", withKey, s1, true},
		{"crypt key opens its own", withKey, s2, true},
		{"another cookie secret with the key opens the key's", keyOnly, s2, true},
		{"derived alone cannot open the key's", derived, s2, false},
		{"another cookie secret cannot open derived", otherCookie, s1, false},
		{"tampered", derived, s1[:len(s1)-4] + "AAAA", false},
		{"clear", derived, secret, false},
	} {
		got, err := c.s.Open(ctx, c.sealed)
		if c.ok != (err == nil) || c.ok && got != secret {
			t.Errorf("%s: %q, %v", c.name, got, err)
		}
	}
	if _, err := authstate.NewSealer("", nil); err == nil {
		t.Error("a sealer without a cookie secret")
	}
}
