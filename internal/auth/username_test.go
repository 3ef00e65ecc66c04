package auth_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"

	"github.com/google/go-cmp/cmp"

	"gohub/internal/auth"
	"gohub/internal/auth/null"
)

// commaRule is an authenticator with its own username rule and normaliser, like FirstUse and PAM.
type commaRule struct{ scripted }

func (commaRule) ValidateUsername(name string) error {
	if strings.Contains(name, ",") {
		return errors.New("a name cannot contain a comma")
	}
	return nil
}

func (commaRule) NormalizeUsername(name string) string { return strings.TrimPrefix(name, "DOMAIN\\") }

func TestNormalizeAndCheck(t *testing.T) {
	cfg := auth.DefaultConfig()
	cfg.UsernamePattern = `[a-zé][a-zé0-9._-]*`
	cfg.UsernameMap = map[string]string{"root": "admin", "Bob.Smith": "bob"}
	p, err := auth.NewPipeline(cfg, &scripted{}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		in, norm string
		bad      string // part of CheckUsername's error; "" means valid
	}{
		{in: "Alice", norm: "alice"},
		{in: "ROOT", norm: "admin"},
		{in: "bob.smith", norm: "bob"},
		{in: "RENÉ", norm: "rené"},
		{in: "", norm: "", bad: "empty"},
		{in: "a/b", norm: "a/b", bad: "'/'"},
		{in: "..", norm: "..", bad: "'..'"},
		{in: ".", norm: ".", bad: "'.'"},
		{in: " alice", norm: " alice", bad: "blank"},
		{in: "alice\t", norm: "alice\t", bad: "control"},
		{in: "1alice", norm: "1alice", bad: "username_pattern"},
		{in: "alice!", norm: "alice!", bad: "username_pattern"},
	}
	for _, tt := range tests {
		got := p.Normalize(tt.in)
		if got != tt.norm {
			t.Errorf("Normalize(%q) = %q, want %q", tt.in, got, tt.norm)
		}
		err := p.CheckUsername(got)
		switch {
		case tt.bad == "" && err != nil:
			t.Errorf("CheckUsername(%q) = %v, want nil", got, err)
		case tt.bad != "" && (err == nil || !strings.Contains(err.Error(), tt.bad) || !errors.Is(err, auth.ErrInvalidUsername)):
			t.Errorf("CheckUsername(%q) = %v, want an ErrInvalidUsername about %q", got, err, tt.bad)
		}
	}
}

func TestAuthenticatorUsernameRules(t *testing.T) {
	p, err := auth.NewPipeline(auth.DefaultConfig(), &commaRule{}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := p.Normalize(`DOMAIN\Alice`); got != "Alice" {
		t.Errorf("Normalize with the authenticator's normaliser = %q, want Alice (no lowercasing)", got)
	}
	if err := p.CheckUsername("a,b"); err == nil || !strings.Contains(err.Error(), "comma") {
		t.Errorf("CheckUsername(a,b) = %v, want the authenticator's comma rule", err)
	}
}

func TestNewPipelineRefusesBadConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  func(*auth.Config)
		want string
	}{
		{"bad pattern", func(c *auth.Config) { c.UsernamePattern = "a(" }, "username_pattern"},
		{"invalid admin", func(c *auth.Config) { c.AdminUsers = []string{"ok", "a/b"} }, "admin_users"},
		{"invalid allowed", func(c *auth.Config) { c.AllowedUsers = []string{""} }, "allowed_users"},
		{"invalid blocked", func(c *auth.Config) { c.BlockedUsers = []string{" x"} }, "blocked_users"},
		{"admin against pattern", func(c *auth.Config) { c.UsernamePattern = "[a-z]+"; c.AdminUsers = []string{"admin1"} }, "admin_users"},
		{"map clash", func(c *auth.Config) { c.UsernameMap = map[string]string{"Al": "x", "al": "y"} }, "username_map"},
		{"negative refresh age", func(c *auth.Config) { c.AuthRefreshAge = -1 }, "auth_refresh_age"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := auth.DefaultConfig()
			tt.cfg(&cfg)
			_, err := auth.NewPipeline(cfg, &scripted{}, nil, nil)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("NewPipeline = %v, want an error about %s", err, tt.want)
			}
		})
	}
	if _, err := auth.NewPipeline(auth.DefaultConfig(), nil, nil, nil); err == nil {
		t.Error("NewPipeline without an authenticator succeeded")
	}
}

func TestListsAndDefaults(t *testing.T) {
	cfg := auth.DefaultConfig()
	cfg.AdminUsers = []string{"Zed", "amy", "AMY"}
	cfg.AllowedUsers = []string{"Bob"}
	cfg.BlockedUsers = []string{"Eve"}
	p, err := auth.NewPipeline(cfg, &scripted{}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	cfg.AdminUsers[0] = "changed after NewPipeline"
	if diff := cmp.Diff([]string{"amy", "zed"}, p.AdminUsers()); diff != "" {
		t.Errorf("AdminUsers (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"bob"}, p.AllowedUsers()); diff != "" {
		t.Errorf("AllowedUsers (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff([]string{"eve"}, p.BlockedUsers()); diff != "" {
		t.Errorf("BlockedUsers (-want +got):\n%s", diff)
	}
	if !p.IsAdminUser("amy") || p.IsAdminUser("bob") || !p.IsBlocked("eve") {
		t.Error("IsAdminUser/IsBlocked disagree with the lists")
	}
	got := p.Config()
	if got.AllowAll == nil || *got.AllowAll || got.AllowExistingUsers == nil || !*got.AllowExistingUsers {
		t.Errorf("resolved allow_all=%v allow_existing_users=%v, want false and true (allowed_users is set)", got.AllowAll, got.AllowExistingUsers)
	}
	if got.AuthRefreshAge != 300 || got.OTPPrompt != "OTP:" {
		t.Errorf("defaults: auth_refresh_age=%d otp_prompt=%q", got.AuthRefreshAge, got.OTPPrompt)
	}
}

func TestIsAllowed(t *testing.T) {
	cfg := auth.DefaultConfig()
	cfg.AdminUsers = []string{"root"}
	cfg.AllowedUsers = []string{"alice"}
	cfg.BlockedUsers = []string{"eve"}
	p, err := auth.NewPipeline(cfg, &scripted{}, existing("carol", "eve"), nil)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]bool{"root": true, "alice": true, "carol": true, "eve": false, "dave": false} {
		got, err := p.IsAllowed(context.Background(), name)
		if err != nil || got != want {
			t.Errorf("IsAllowed(%s) = %v, %v; want %v", name, got, err, want)
		}
	}
}

// allowGroup is an authenticator with its own allow rule (like LocalAuthenticator.allowed_groups).
type allowGroup struct{ scripted }

func (allowGroup) CheckAllowed(_ context.Context, name string, _ *auth.Identity) (bool, error) {
	return name == "member", nil
}

func TestAuthenticatorAllowRule(t *testing.T) {
	a := &allowGroup{scripted{id: &auth.Identity{Name: "member"}}}
	p, err := auth.NewPipeline(auth.DefaultConfig(), a, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Login(t.Context(), auth.Credentials{Username: "member"}); err != nil {
		t.Errorf("member refused: %v", err)
	}
	a.id = &auth.Identity{Name: "other"}
	if _, err := p.Login(t.Context(), auth.Credentials{Username: "other"}); err != auth.ErrRejected {
		t.Errorf("non-member: %v, want ErrRejected", err)
	}
}

func TestLoginFormAndAutoLogin(t *testing.T) {
	n, err := null.New(null.DefaultConfig())
	if err != nil {
		t.Fatal(err)
	}
	cfg := auth.DefaultConfig()
	tests := []struct {
		name            string
		a               auth.Authenticator
		autoLogin       bool
		wantForm, wantA bool
	}{
		{"dummy", dummyAuth(t, ""), false, true, false},
		{"dummy auto_login", dummyAuth(t, ""), true, true, true},
		{"null forces auto_login", n, false, false, true},
	}
	for _, tt := range tests {
		cfg.AutoLogin = tt.autoLogin
		p, err := auth.NewPipeline(cfg, tt.a, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if p.LoginForm() != tt.wantForm || p.AutoLogin() != tt.wantA {
			t.Errorf("%s: LoginForm=%v AutoLogin=%v, want %v %v", tt.name, p.LoginForm(), p.AutoLogin(), tt.wantForm, tt.wantA)
		}
	}
}

func TestStartupWarning(t *testing.T) {
	log, logs := newLogger(t)
	if _, err := auth.NewPipeline(auth.DefaultConfig(), &scripted{}, nil, log); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(logs.String(), "nobody can log in") {
		t.Errorf("no warning about the missing allow rule:\n%s", logs)
	}
}

func TestPasswordsEqual(t *testing.T) {
	for _, tt := range []struct {
		a, b string
		want bool
	}{{"secret", "secret", true}, {"secret", "secreT", false}, {"secret", "secret1", false}, {"", "", true}, {"", "x", false}} {
		if got := auth.PasswordsEqual(tt.a, tt.b); got != tt.want {
			t.Errorf("PasswordsEqual(%q, %q) = %v", tt.a, tt.b, got)
		}
	}
}

// TestUsernameConfusables: names that Go's lowercasing or NFKC would turn into another
// (ASCII) account, and names with control, invisible or text-direction characters, are either
// kept apart from the ASCII name or refused, at Normalize + CheckUsername (every entrance:
// login, REST API, sign-up, import, multi's sources and the names OAuth and LDAP return go
// through them).
func TestUsernameConfusables(t *testing.T) {
	p, err := auth.NewPipeline(auth.DefaultConfig(), &scripted{}, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		in, norm string
		bad      string // part of CheckUsername's error; "" means valid
	}{
		{in: "adm\u0130n", norm: "adm\u0130n"},                                                               // İ: Go's ToLower gives "admin"
		{in: "\u212Aate", norm: "\u212Aate", bad: "compatibility"},                                           // Kelvin sign: NFKC and ToLower give "kate"
		{in: "\u017Fam", norm: "\u017Fam", bad: "compatibility"},                                             // long s: NFKC gives "sam"
		{in: "\uFF41\uFF44\uFF4D\uFF49\uFF4E", norm: "\uFF41\uFF44\uFF4D\uFF49\uFF4E", bad: "compatibility"}, // fullwidth "admin"
		{in: "\uFF21DMIN", norm: "\uFF41dmin", bad: "compatibility"},
		{in: "\uFB01le", norm: "\uFB01le", bad: "compatibility"}, // the fi ligature
		{in: "admin\x00", norm: "admin\x00", bad: "control"},
		{in: "ad\nmin", norm: "ad\nmin", bad: "control"},
		{in: "ad\u200Bmin", norm: "ad\u200Bmin", bad: "control"},         // zero-width space
		{in: "ad\u200Dmin", norm: "ad\u200Dmin", bad: "control"},         // zero-width joiner
		{in: "\u202Enimda", norm: "\u202Enimda", bad: "control"},         // right-to-left override
		{in: "ad\u2066min", norm: "ad\u2066min", bad: "control"},         // left-to-right isolate
		{in: "ad\u00ADmin", norm: "ad\u00ADmin", bad: "control"},         // soft hyphen
		{in: "ad\u2028min", norm: "ad\u2028min", bad: "control"},         // line separator
		{in: "ad\u3164min", norm: "ad\u1160min", bad: "control"},         // Hangul filler
		{in: "ad\uFE0Fmin", norm: "ad\uFE0Fmin", bad: "control"},         // variation selector
		{in: "ad\uE000min", norm: "ad\uE000min", bad: "control"},         // private use
		{in: "ad\U000E0041min", norm: "ad\U000E0041min", bad: "control"}, // tag character
		{in: "ad\xffmin", norm: "ad\uFFFDmin", bad: "control"},           // not UTF-8
		{in: "ADM\u00CDN", norm: "adm\u00EDn"},                           // Í folds to í, not ASCII
		{in: "Ren\u0065\u0301", norm: "ren\u00E9"},                       // NFC composes
		{in: "\u0391\u0392", norm: "\u03B1\u03B2"},                       // Greek folds to Greek
		{in: "Alice", norm: "alice"},
	}
	for _, tt := range tests {
		in, want := tt.in, tt.norm
		got := p.Normalize(in)
		if got != want {
			t.Errorf("Normalize(%+q) = %+q, want %+q", in, got, want)
		}
		err := p.CheckUsername(got)
		switch {
		case tt.bad == "" && err != nil:
			t.Errorf("CheckUsername(%+q) = %v, want nil", got, err)
		case tt.bad != "" && (err == nil || !strings.Contains(err.Error(), tt.bad)):
			t.Errorf("CheckUsername(%+q) = %v, want an error about %q", got, err, tt.bad)
		}
		if err == nil && got != in && isASCIIString(got) && !isASCIIString(in) {
			t.Errorf("%+q became the ASCII name %q", in, got)
		}
	}
	// The same rules for the names of a login and the name an authenticator returns.
	for _, name := range []string{"adm\u0130n", "\u212Aate", "ad\u200Bmin", "\uFF41dmin"} {
		a := &scripted{id: &auth.Identity{Name: name}}
		lp, err := auth.NewPipeline(func() auth.Config {
			c := auth.DefaultConfig()
			c.AdminUsers = []string{"admin", "kate"}
			c.AllowAll = auth.Bool(true)
			return c
		}(), a, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		if id, err := lp.Login(t.Context(), auth.Credentials{}); err == nil && (id.Name == "admin" || id.Name == "kate" || id.Admin != nil && *id.Admin) {
			t.Errorf("the back end's %+q logged in as the hub's %q (admin %v)", name, id.Name, id.Admin)
		}
	}
}

func isASCIIString(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= utf8.RuneSelf {
			return false
		}
	}
	return true
}

// FuzzNormalize checks that a hub name is a fixed point: normalising a name that is already
// normalised (as the pipeline does with the name an authenticator returns) changes nothing, and
// that a name CheckUsername accepts has no '/' or surrounding blanks. It also checks
// FoldUsername against a plain reference: NFKC then strings.ToLower must give the same name
// whenever neither maps a character outside ASCII onto ASCII; a name with characters outside
// ASCII never folds to an all-ASCII name; and an accepted name has no control, format,
// separator, private-use or unassigned character and is in NFKC form.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"Alice", "İstanbul", "ǅemal", "ß", "K", " a", "a/b", "Ω", "ﬃ",
		"admİn", "\u212Aate", "ſam", "ａｄｍｉｎ", "a\x00", "a\nb", "a\u200bb", "\u202eabc", "ａä", "\xff", "Ｋ"} {
		f.Add(s)
	}
	p, err := auth.NewPipeline(auth.DefaultConfig(), &scripted{}, nil, nil)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := p.Normalize(s)
		if again := p.Normalize(n); again != n {
			t.Errorf("Normalize(%+q) = %+q, but Normalize(%+q) = %+q", s, n, n, again)
		}
		if !isASCIIString(s) && isASCIIString(n) {
			t.Errorf("Normalize(%+q) = %q: a name outside ASCII became an ASCII one", s, n)
		}
		ref := norm.NFKC.String(s)
		plain := isASCIIString(s) || !isASCIIString(ref)
		for _, r := range ref {
			if r >= utf8.RuneSelf && unicode.ToLower(r) < utf8.RuneSelf {
				plain = false
			}
		}
		if plain && utf8.ValidString(s) && n != strings.ToLower(ref) {
			t.Errorf("Normalize(%+q) = %+q, the reference gives %+q", s, n, strings.ToLower(ref))
		}
		if p.CheckUsername(n) != nil {
			return
		}
		if strings.Contains(n, "/") || strings.TrimSpace(n) != n || n == "" {
			t.Errorf("CheckUsername accepted %+q", n)
		}
		if !utf8.ValidString(n) || !norm.NFKC.IsNormalString(n) {
			t.Errorf("CheckUsername accepted %+q, not UTF-8 in NFKC form", n)
		}
		for _, r := range n {
			if unicode.IsControl(r) || unicode.In(r, unicode.Cf, unicode.Zl, unicode.Zp, unicode.Co, unicode.Cs) ||
				!unicode.In(r, unicode.L, unicode.M, unicode.N, unicode.P, unicode.S, unicode.Zs) {
				t.Errorf("CheckUsername accepted %+q with %U", n, r)
			}
		}
	})
}
