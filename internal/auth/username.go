package auth

import (
	"context"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// usernames is the username policy: normalisation, validity and the three name lists, all
// normalised once at startup.
type usernames struct {
	normalizer UsernameNormalizer // nil: lowercase
	validator  UsernameValidator  // nil: base rules only
	mapping    map[string]string  // keys normalised
	pattern    *regexp.Regexp     // nil: no pattern
	patternSrc string
}

// newUsernames checks and normalises the name-related parts of cfg.
func newUsernames(cfg Config, a Authenticator) (*usernames, error) {
	u := &usernames{}
	u.normalizer, _ = a.(UsernameNormalizer)
	u.validator, _ = a.(UsernameValidator)
	if cfg.UsernamePattern != "" {
		re, err := regexp.Compile(`^(?:` + cfg.UsernamePattern + `)$`)
		if err != nil {
			return nil, fmt.Errorf("username_pattern %q: %w", cfg.UsernamePattern, err)
		}
		u.pattern, u.patternSrc = re, cfg.UsernamePattern
	}
	if len(cfg.UsernameMap) > 0 {
		u.mapping = make(map[string]string, len(cfg.UsernameMap))
		// Sorted, so a clash is reported the same way every time.
		for _, k := range slices.Sorted(maps.Keys(cfg.UsernameMap)) {
			nk := u.base(k)
			if prev, dup := u.mapping[nk]; dup && prev != cfg.UsernameMap[k] {
				return nil, fmt.Errorf("username_map: keys that normalise to %q map to different names", nk)
			}
			u.mapping[nk] = cfg.UsernameMap[k]
		}
	}
	return u, nil
}

// list normalises and validates the names of one config list.
func (u *usernames) list(key string, names []string) (map[string]bool, error) {
	set := make(map[string]bool, len(names))
	for _, raw := range names {
		n := u.normalize(raw)
		if err := u.check(n); err != nil {
			return nil, fmt.Errorf("%s: %w", key, err)
		}
		set[n] = true
	}
	return set, nil
}

// base is the normalisation without username_map.
func (u *usernames) base(name string) string {
	if u.normalizer != nil {
		return u.normalizer.NormalizeUsername(name)
	}
	return FoldUsername(name)
}

// FoldUsername is the default normalisation of a username (JupyterHub lowercases): Unicode
// NFKC, then lowercasing that never maps a character outside ASCII onto ASCII. Go's
// strings.ToLower folds 'İ' (U+0130) to "i" and the Kelvin sign (U+212A) to "k", and NFKC maps
// fullwidth letters, ligatures and 'ſ' (U+017F) to ASCII: a back end's account "admİn" or
// "ａｄｍｉｎ" must not become the hub's "admin". So:
//   - ASCII letters are lowercased; other characters are lowercased only when the result is
//     not ASCII ('Ä' → 'ä', but 'İ' stays 'İ');
//   - when NFKC would turn a name with characters outside ASCII into an all-ASCII one, the
//     name is kept as it was, and CheckUsername then refuses it (it is not in NFKC form).
//
// A name with a character outside ASCII therefore never folds to an all-ASCII name.
// Authenticators with their own normaliser (PAM) use this too.
func FoldUsername(name string) string {
	// Bytes that are not UTF-8 become U+FFFD first (CheckUsername refuses it), so what follows
	// them is normalised as anywhere else.
	name = strings.ToValidUTF8(name, "\uFFFD")
	n := norm.NFKC.String(name)
	if !isASCII(name) && isASCII(n) {
		n = name
	}
	var b strings.Builder
	b.Grow(len(n))
	for _, r := range n {
		switch {
		case 'A' <= r && r <= 'Z':
			r += 'a' - 'A'
		case r >= utf8.RuneSelf:
			if l := unicode.ToLower(r); l >= utf8.RuneSelf {
				r = l
			}
		}
		b.WriteRune(r)
	}
	return b.String()
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// hiddenRune reports whether r may not be part of a username: anything but a letter, mark,
// number, punctuation, symbol or space — so control characters (NUL, newlines), format
// characters (zero-width spaces and joiners, bidirectional overrides and isolates, the soft
// hyphen), line and paragraph separators, private-use, surrogate and unassigned code points —
// and the default-ignorable letters and marks (variation selectors, Hangul fillers, the
// combining grapheme joiner). They are invisible or reorder text, so two names that look the
// same would be two accounts, and a log line or page could be forged.
func hiddenRune(r rune) bool {
	return !unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Zs) ||
		unicode.In(r, unicode.Variation_Selector, unicode.Other_Default_Ignorable_Code_Point) ||
		r == utf8.RuneError || r == 0x034F
}

// normalize lowercases (or applies the authenticator's normaliser), then username_map.
func (u *usernames) normalize(name string) string {
	n := u.base(name)
	if m, ok := u.mapping[n]; ok {
		return m
	}
	return n
}

// check applies the base username rules, username_pattern and the authenticator's own rules.
func (u *usernames) check(name string) error {
	if reason := u.problem(name); reason != "" {
		if name == "" {
			return fmt.Errorf("%w: %s", ErrInvalidUsername, reason)
		}
		return fmt.Errorf("%w %q: %s", ErrInvalidUsername, name, reason)
	}
	return nil
}

// problem says what is wrong with name without repeating it (the pipeline logs it, and a name may
// be a password typed into the wrong field); "" means nothing is.
func (u *usernames) problem(name string) string {
	switch {
	case name == "":
		return "the name is empty"
	case !utf8.ValidString(name):
		return "a name must be valid UTF-8"
	case strings.IndexFunc(name, hiddenRune) >= 0:
		return "a name cannot contain control, invisible or text-direction characters"
	case !norm.NFKC.IsNormalString(name):
		return "a name cannot contain compatibility characters (fullwidth or styled letters, ligatures, signs standing for letters)"
	case strings.Contains(name, "/"):
		return "a name cannot contain '/'"
	case name == "." || name == "..":
		// /user/../ would be another path once a browser or proxy cleans it.
		return "a name cannot be '.' or '..'"
	case strings.TrimFunc(name, unicode.IsSpace) != name:
		return "a name cannot start or end with a blank"
	case u.pattern != nil && !u.pattern.MatchString(name):
		return fmt.Sprintf("it does not match username_pattern %q", u.patternSrc)
	}
	if u.validator != nil {
		if err := u.validator.ValidateUsername(name); err != nil {
			return err.Error()
		}
	}
	return ""
}

// CheckBaseUsername says why a normalised name breaks the rules every hub username follows
// (CheckUsername without username_pattern and an authenticator's own rules), for importers
// that have no pipeline. The error wraps ErrInvalidUsername.
func CheckBaseUsername(name string) error { return (&usernames{}).check(name) }

// Normalize returns the hub username for name: FoldUsername (or normalised by the
// authenticator, such as PAM's pam_normalize_username), then mapped through username_map. It does not strip
// blanks; CheckUsername refuses them.
func (p *Pipeline) Normalize(name string) string { return p.names.normalize(name) }

// CheckUsername says why a normalised name is not a valid hub username: empty, not UTF-8,
// containing control, invisible or text-direction characters (hiddenRune), not in NFKC form,
// containing '/', '.' or '..', leading or trailing blanks, not matching username_pattern in full, or refused by the
// authenticator's own rules. The error wraps ErrInvalidUsername.
func (p *Pipeline) CheckUsername(name string) error { return p.names.check(name) }

// AdminUsers returns the normalised admin_users, sorted.
func (p *Pipeline) AdminUsers() []string { return slices.Sorted(maps.Keys(p.lists.Load().admins)) }

// AllowedUsers returns the normalised allowed_users, sorted.
func (p *Pipeline) AllowedUsers() []string { return slices.Sorted(maps.Keys(p.lists.Load().allowed)) }

// BlockedUsers returns the normalised blocked_users, sorted (not the users blocked at run time).
func (p *Pipeline) BlockedUsers() []string { return slices.Sorted(maps.Keys(p.lists.Load().blocked)) }

// IsAdminUser reports whether the normalised name is in admin_users.
func (p *Pipeline) IsAdminUser(name string) bool { return p.lists.Load().admins[name] }

// IsBlocked reports whether the normalised name is blocked: in blocked_users, or blocked at
// run time (BlockUser, the REST API).
func (p *Pipeline) IsBlocked(name string) bool { return p.blockedBy(p.lists.Load(), name) != "" }

// IsAllowed reports whether the normalised name may log in: not blocked, and allowed by
// allow_all, admin_users, allowed_users, allow_existing_users (an existing hub user) or the
// authenticator's own rule. An error means the answer could not be found (database down).
func (p *Pipeline) IsAllowed(ctx context.Context, name string) (bool, error) {
	l := p.lists.Load()
	if p.blockedBy(l, name) != "" {
		return false, nil
	}
	ok, _, err := p.allowed(ctx, l, name, nil)
	return ok, err
}

// allowed applies the allow rules in order and names the one that let the user in.
func (p *Pipeline) allowed(ctx context.Context, l *nameLists, name string, id *Identity) (bool, string, error) {
	switch {
	case l.allowAll:
		return true, "allow_all", nil
	// Upstream lets admins in only when allowed_users is non-empty (README, Authenticators);
	// gohub always does, as the documentation of admin_users suggests.
	case l.admins[name]:
		return true, "admin_users", nil
	case l.allowed[name]:
		return true, "allowed_users", nil
	case p.invited.has(name):
		return true, "invitation", nil
	}
	if l.allowExisting {
		exists, err := p.userExists(ctx, name)
		if err != nil {
			return false, "", fmt.Errorf("allow_existing_users: look up user %q: %w", name, err)
		}
		if exists {
			return true, "allow_existing_users", nil
		}
	}
	if ac, ok := p.auth.(AllowChecker); ok {
		ok, err := ac.CheckAllowed(ctx, name, id)
		if err != nil {
			return false, "", fmt.Errorf("authenticator allow rule for %q: %w", name, err)
		}
		if ok {
			return true, "authenticator", nil
		}
	}
	return false, "", nil
}
