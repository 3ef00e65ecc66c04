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

// TestAdvisory_GHSA_5xvc_vgmp_jgc3_NameVariantSetsNewPassword: a variant of an existing user's
// name (another case) counted as a new user, so its first login set a new password for what
// the hub then normalised to the existing account: anyone could take over any account whose
// name they knew.
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

// TestAdvisory_GHSA_5xvc_vgmp_jgc3_LookalikeNamesRefused: the same attack one step on, where
// the variant does not fold onto the owner's name but looks the same on every page (fullwidth
// letters, invisible characters): such names are normalised onto the owner's (then refused as
// a wrong password) or refused, never a second account that passes for the owner's.
func TestAdvisory_GHSA_5xvc_vgmp_jgc3_LookalikeNamesRefused(t *testing.T) {
	h := newHub(t, nil, authtest.Options{})
	for _, name := range []string{"kim", "ines"} {
		if r := h.Browser().Login(name, "the-owners-password"); r.Status != 302 {
			t.Fatalf("%s's first login: %d", name, r.Status)
		}
	}
	for _, v := range nameVariants {
		if r := h.Browser().Login(v, "the-attackers-password"); r.Status == 302 {
			t.Errorf("%q got an account of its own that passes for another user's", v)
		}
	}
}
