package multi_test

import (
	"context"
	"errors"
	"net/url"
	"testing"

	"gohub/internal/auth"
	"gohub/internal/auth/authtest"
	"gohub/internal/auth/registry"
	"gohub/internal/config"
	"gohub/internal/hub"
)

// pipeline builds the hub's login pipeline around a MultiAuthenticator from YAML.
func pipeline(t *testing.T, yaml string) *auth.Pipeline {
	t.Helper()
	file, err := config.Parse("gohub_config.yaml", []byte(yaml))
	if err != nil {
		t.Fatal(err)
	}
	e, ok := registry.Lookup("multi")
	if !ok {
		t.Fatal("no multi in the registry")
	}
	cfg := e.NewConfig()
	if err := file.Decode(hub.Schema(), e.Class, cfg); err != nil {
		t.Fatal(err)
	}
	a, common, err := e.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := auth.NewPipeline(*common, a, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func login(p *auth.Pipeline, src, user, pw string) (*auth.Identity, error) {
	form := url.Values{}
	if src != "" {
		form.Set(auth.LoginSourceField, src)
	}
	return p.Login(context.Background(), auth.Credentials{Username: user, Password: pw, Form: form})
}

// The hub-wide checks before authentication and the throttle see the prefixed name: blocking
// guest-bob does not block staff's bob, and failures of guests' bob do not lock staff's bob.
func TestPrefixedNamePolicy(t *testing.T) {
	p := pipeline(t, `
MultiAuthenticator:
  blocked_users: [guest-bob, carol]
  admin_users: [guest-root]
  failed_logins_before_lockout: 2
  lockout_seconds: 600
  failed_login_delay_seconds: 0
  authenticators:
    - {class: dummy, name: staff, config: {password: staff-password}, admin_users: [boss]}
    - {class: dummy, name: guests, prefix: guest-, config: {password: guest-password}}
`)
	id, err := login(p, "staff", "Bob", "staff-password")
	if err != nil || id.Name != "bob" {
		t.Fatalf("staff bob: %v %v", id, err)
	}
	if _, err := login(p, "guests", "bob", "guest-password"); !errors.Is(err, auth.ErrRejected) {
		t.Errorf("blocked guest-bob: %v", err)
	}
	id, err = login(p, "guests", "carol", "guest-password")
	if err != nil || id.Name != "guest-carol" {
		t.Errorf("guest carol (only staff's carol is blocked): %v %v", id, err)
	}
	// Admin: hub-wide list on the final name, the source's list on the source's name.
	if id, err := login(p, "guests", "root", "guest-password"); err != nil || id.Admin == nil || !*id.Admin {
		t.Errorf("guest-root admin: %+v %v", id, err)
	}
	if id, err := login(p, "staff", "boss", "staff-password"); err != nil || id.Admin == nil || !*id.Admin {
		t.Errorf("staff boss (source admin_users) admin: %+v %v", id, err)
	}
	if id, err := login(p, "guests", "boss", "guest-password"); err != nil || id.Admin != nil && *id.Admin {
		t.Errorf("guest-boss is no admin: %+v %v", id, err)
	}
	// Two failures lock guests' dave, not staff's dave.
	for range 2 {
		if _, err := login(p, "guests", "dave", "wrong"); !errors.Is(err, auth.ErrRejected) {
			t.Fatalf("wrong password: %v", err)
		}
	}
	if _, err := login(p, "guests", "dave", "guest-password"); err == nil {
		t.Error("guest-dave is not locked after two failures")
	}
	if _, err := login(p, "staff", "dave", "staff-password"); err != nil {
		t.Errorf("staff's dave is locked by guests' failures: %v", err)
	}
	// With two forms, a login must say which one it is for.
	if _, err := login(p, "", "erin", "staff-password"); !errors.Is(err, auth.ErrRejected) {
		t.Errorf("login without login_source: %v", err)
	}
}

// With one password source a login without login_source (an API token request) uses it; an
// OAuth source cannot be named by a form.
func TestSingleFormSource(t *testing.T) {
	p := pipeline(t, `
MultiAuthenticator:
  authenticators:
    - {class: dummy, config: {password: the-password}}
    - {class: github, prefix: gh-, url_prefix: github, config: {client_id: x, client_secret: y, allow_all: true}}
`)
	if id, err := login(p, "", "ann", "the-password"); err != nil || id.Name != "ann" {
		t.Errorf("login without login_source: %v %v", id, err)
	}
	if _, err := login(p, "github", "ann", "the-password"); !errors.Is(err, auth.ErrRejected) {
		t.Errorf("a form naming the OAuth source: %v", err)
	}
	opts := p.LoginOptions()
	if len(opts) != 2 || !opts[0].Form || opts[1].Form || opts[1].Service != "GitHub" || opts[1].UsernameHint == "" {
		t.Errorf("login options = %+v", opts)
	}
}

// The hub turns on reset links and request-time refresh only when some source has them.
func TestOffersOnlyWhatSourcesHave(t *testing.T) {
	plain := pipeline(t, `
Authenticator:
  enable_auth_state: true
MultiAuthenticator:
  authenticators:
    - {class: dummy, config: {password: the-password}}
`)
	if _, ok := plain.PasswordSetter(); ok {
		t.Error("reset links offered with no source that keeps passwords")
	}
	if plain.CanRefresh() {
		t.Error("refresh offered with no source that refreshes")
	}
	mixed := pipeline(t, `
Authenticator:
  enable_auth_state: true
MultiAuthenticator:
  authenticators:
    - {class: dummy, config: {password: the-password}}
    - {class: github, prefix: gh-, url_prefix: github, config: {client_id: x, client_secret: y, allow_all: true}}
    - {class: firstuse, prefix: fu-}
`)
	if _, ok := mixed.PasswordSetter(); !ok {
		t.Error("no reset links with a FirstUse source")
	}
	if !mixed.CanRefresh() {
		t.Error("no refresh with an OAuth source")
	}
}

// A source where people choose their names never yields a system account's hub name: checked
// on the final, prefixed name (so guests' "root" is the harmless guest-root, while a prefix
// "ro" and the name "ot" make root); a source that vouches for its names (not auth.SelfNamed)
// is not affected.
func TestSelfNamedSourcesRefuseSystemAccounts(t *testing.T) {
	p := pipeline(t, `
MultiAuthenticator:
  allow_all: true
  authenticators:
    - {class: dummy, name: open, config: {password: pw}}
    - {class: dummy, name: guests, prefix: guest-, config: {password: pw}}
    - {class: dummy, name: ro, prefix: ro, config: {password: pw}}
`)
	for _, c := range []struct {
		src, user string
		refused   bool
	}{{"open", "root", true}, {"open", "daemon", true}, {"ro", "ot", true}, {"guests", "root", false}, {"open", "alice", false}} {
		_, err := login(p, c.src, c.user, "pw")
		var shown *auth.Rejection
		if refused := errors.As(err, &shown); refused != c.refused || !c.refused && err != nil {
			t.Errorf("%s's %s: %v", c.src, c.user, err)
		}
	}
}

// TestHubAdminNameNotClaimable performs the claim of a hub-wide admin name through a source
// without a prefix: with two such sources, whoever logs in first as "boss" at either one became
// the hub's admin boss. A hub-wide admin name now comes only through the one source that owns
// it (the longest prefix it starts with, unshared) or a source whose own admin_users lists it;
// a source whose people choose their names (firstuse) refuses the first login of an owned
// admin name, since its password must come from `gohub user set-password`.
func TestHubAdminNameNotClaimable(t *testing.T) {
	p := pipeline(t, `
MultiAuthenticator:
  admin_users: [boss, guest-root]
  authenticators:
    - {class: dummy, name: one, config: {password: one-password}}
    - {class: dummy, name: two, config: {password: two-password}}
    - {class: dummy, name: guests, prefix: guest-, config: {password: guest-password}}
`)
	for _, src := range []string{"one", "two"} {
		if id, err := login(p, src, "boss", src+"-password"); err == nil {
			t.Errorf("source %s claimed the hub admin boss: %+v", src, id)
		}
	}
	if id, err := login(p, "guests", "root", "guest-password"); err != nil || id.Admin == nil || !*id.Admin {
		t.Errorf("guest-root through its own source: %+v %v", id, err)
	}
	if id, err := login(p, "one", "guest-root", "one-password"); err == nil {
		t.Errorf("source one claimed the hub admin guest-root: %+v", id)
	}
	// The operator names the source of an admin explicitly.
	p = pipeline(t, `
MultiAuthenticator:
  admin_users: [boss]
  authenticators:
    - {class: dummy, name: one, config: {password: one-password}, admin_users: [boss]}
    - {class: dummy, name: two, config: {password: two-password}}
`)
	if id, err := login(p, "one", "boss", "one-password"); err != nil || id.Admin == nil || !*id.Admin {
		t.Errorf("boss through the source listing him: %+v %v", id, err)
	}
	if id, err := login(p, "two", "boss", "two-password"); err == nil {
		t.Errorf("source two claimed the hub admin boss: %+v", id)
	}

	// One firstuse source without a prefix owns boss, and refuses boss's first login.
	file, err := config.Parse("gohub_config.yaml", []byte(`
MultiAuthenticator:
  admin_users: [boss]
  authenticators:
    - {class: firstuse, config: {bcrypt_cost: 10}}
`))
	if err != nil {
		t.Fatal(err)
	}
	e, _ := registry.Lookup("multi")
	cfg := e.NewConfig()
	if err := file.Decode(hub.Schema(), e.Class, cfg); err != nil {
		t.Fatal(err)
	}
	a, common, err := e.New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := authtest.New(t, a, *common, authtest.Options{})
	if r := h.Browser().Login("boss", "mallory-password"); r.Status == 302 {
		t.Error("the first login of boss through firstuse set the hub admin's password")
	}
	if r := h.Browser().Login("carol", "carol-password"); r.Status != 302 {
		t.Errorf("carol's first login: %d", r.Status)
	}
}
