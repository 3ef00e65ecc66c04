package firstuse_test

// FirstUseAuthenticator's published security advisory, performed through the hub's login page.
// SECURITY.md lists it with these tests.

import (
	"regexp"
	"testing"

	"gohub/internal/auth/authtest"
)

// nameVariants are other spellings of kim and ines: case, spaces, characters Go's case folding
// maps onto ASCII, compatibility forms, and invisible or control characters.
var nameVariants = []string{
	"KIM", "Kim", " kim", "kim ", "\tkim",
	"\u212aim",   // KELVIN SIGN, which Go's case folding maps to k
	"ｋｉｍ",        // fullwidth letters, NFKC-equal to kim
	"k\u200bim",  // a zero-width space inside
	"\u0130nes",  // LATIN CAPITAL I WITH DOT ABOVE, which Go lowercases to i
	"\u202eines", // a right-to-left override in front
	"ines\x00",   // a NUL at the end
	"INES", "Ines\n",
}

var homeUsername = regexp.MustCompile(`<dt>Username</dt><dd>([^<]*)</dd>`)

// TestAdvisory_GHSA_5xvc_vgmp_jgc3_NameVariantSetsNewPassword: another case of a user's name set a new password for that user's account.
func TestAdvisory_GHSA_5xvc_vgmp_jgc3_NameVariantSetsNewPassword(t *testing.T) {
	h := newHub(t, nil, authtest.Options{})
	hashes := map[string]string{}
	for _, name := range []string{"kim", "ines"} {
		if r := h.Browser().Login(name, "the-owners-password"); r.Status != 302 {
			t.Fatalf("%s's first login: %d", name, r.Status)
		}
		hashes[name], _ = h.DB.GetPasswordHash(t.Context(), name)
	}
	for _, v := range nameVariants {
		b := h.Browser()
		if r := b.Login(v, "the-attackers-password"); r.Status != 302 {
			continue
		}
		// A variant that logs in must be an account of its own, never the owner's.
		m := homeUsername.FindStringSubmatch(b.Do("GET", "/hub/home", nil).Body)
		if m == nil || m[1] == "kim" || m[1] == "ines" {
			t.Errorf("%q with the attacker's password is logged in as %v", v, m)
		}
	}
	for name, hash := range hashes {
		if now, _ := h.DB.GetPasswordHash(t.Context(), name); now != hash {
			t.Errorf("%s's password hash changed", name)
		}
		if r := h.Browser().Login(name, "the-owners-password"); r.Status != 302 {
			t.Errorf("%s with the owner's password: %d", name, r.Status)
		}
		if r := h.Browser().Login(name, "the-attackers-password"); r.Status == 302 {
			t.Errorf("%s with the attacker's password logged in", name)
		}
	}
}

// TestAdvisory_GHSA_5xvc_vgmp_jgc3_LookalikeNamesRefused: the same, one step on: names that only look like the owner's get no account.
func TestAdvisory_GHSA_5xvc_vgmp_jgc3_LookalikeNamesRefused(t *testing.T) {
	// Fullwidth letters, invisible and control characters: normalised onto the owner's name (then
	// refused as a wrong password) or refused, never a second account that passes for the owner's.
	h := newHub(t, nil, authtest.Options{})
	for _, name := range []string{"kim", "ines"} {
		if r := h.Browser().Login(name, "the-owners-password"); r.Status != 302 {
			t.Fatalf("%s's first login: %d", name, r.Status)
		}
	}
	for _, v := range nameVariants {
		if v == "\u0130nes" {
			// A real letter of its own (Turkish dotted capital I): it may be an account of its
			// own, "İnes", since it is never folded onto ASCII ines (the test above).
			continue
		}
		if r := h.Browser().Login(v, "the-attackers-password"); r.Status == 302 {
			t.Errorf("%q got an account of its own that passes for another user's", v)
		}
	}
}
