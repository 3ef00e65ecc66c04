package native_test

import (
	"net/url"
	"strings"
	"testing"

	"gohub/internal/auth/native"
	"gohub/internal/store"
)

// TestUserManagersUseAdminPages: /hub/authorize and /hub/change-password/<user> admit a user
// whose roles grant admin:users, directly or through a group, as they admit admins, and home
// links them "Authorize Users"; a filtered admin:users or admin-ui alone is not enough.
func TestUserManagersUseAdminPages(t *testing.T) {
	h := newHub(t, func(c *native.Config) { c.OpenSignup = true })
	ctx := t.Context()
	signup(h.Browser(), "otto", "otto-password")
	roles := []store.Role{
		{Name: "user-admins", Scopes: []string{"admin:users"}},
		{Name: "otto-admins", Scopes: []string{"admin:users!user=otto"}},
		{Name: "ui-only", Scopes: []string{"admin-ui"}},
	}
	for _, r := range roles {
		if _, err := h.DB.UpsertRole(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	cases := []struct {
		name  string
		grant func(name string) error
		may   bool
	}{
		{"direct", func(n string) error { return h.DB.GrantRole(ctx, "user-admins", store.KindUser, n) }, true},
		{"group", func(n string) error {
			if _, err := h.DB.CreateGroups(ctx, []string{"helpdesk"}, []string{n}); err != nil {
				return err
			}
			return h.DB.GrantRole(ctx, "user-admins", store.KindGroup, "helpdesk")
		}, true},
		{"filtered", func(n string) error { return h.DB.GrantRole(ctx, "otto-admins", store.KindUser, n) }, false},
		{"admin-ui", func(n string) error { return h.DB.GrantRole(ctx, "ui-only", store.KindUser, n) }, false},
		{"none", func(string) error { return nil }, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			name := "m-" + c.name
			b := h.Browser()
			signup(b, name, name+"-password")
			if r := b.Login(name, name+"-password"); r.Status != 302 {
				t.Fatalf("login: %d %q", r.Status, alert(r.Body))
			}
			if err := c.grant(name); err != nil {
				t.Fatal(err)
			}
			want := 403
			if c.may {
				want = 200
			}
			if got := strings.Contains(b.Do("GET", "/hub/home", nil).Body, `href="/hub/authorize">Authorize Users</a>`); got != c.may {
				t.Errorf("home links Authorize Users: %v, want %v", got, c.may)
			}
			if r := b.Do("GET", "/hub/authorize", nil); r.Status != want {
				t.Errorf("GET /hub/authorize: %d, want %d", r.Status, want)
			}
			if r := b.Do("GET", "/hub/change-password/otto", nil); r.Status != want {
				t.Errorf("GET /hub/change-password/otto: %d, want %d", r.Status, want)
			}
			pw := "set-by-" + name
			xsrf := b.XSRF("/hub/change-password")
			r := b.Do("POST", "/hub/change-password/otto", url.Values{"_xsrf": {xsrf}, "new_password": {pw}, "new_password_confirmation": {pw}})
			if r.Status != want {
				t.Errorf("POST /hub/change-password/otto: %d, want %d: %q", r.Status, want, alert(r.Body))
			}
			if got := h.Browser().Login("otto", pw).Status == 302; got != c.may {
				t.Errorf("otto signs in with the password %s set: %v", name, got)
			}
			r = b.Do("POST", "/hub/authorize", url.Values{"_xsrf": {xsrf}, "username": {"otto"}, "action": {"authorize"}})
			if c.may && r.Status >= 400 || !c.may && r.Status != 403 {
				t.Errorf("POST /hub/authorize: %d (may %v)", r.Status, c.may)
			}
		})
	}
}

// TestUserManagerCannotTakeOverAdmin performs the takeover a non-admin holding admin:users
// tried on the native pages: set the admin's password on /hub/change-password/admin, and
// un-authorize the admin on /hub/authorize. Both answer 403 and change nothing; the same pages
// still work on a user who is no admin.
func TestUserManagerCannotTakeOverAdmin(t *testing.T) {
	h := newHub(t, func(c *native.Config) { c.OpenSignup = true })
	ctx := t.Context()
	adminBrowser(t, h)
	signup(h.Browser(), "otto", "otto-password")
	b := h.Browser()
	signup(b, "mallory", "mallory-password")
	if r := b.Login("mallory", "mallory-password"); r.Status != 302 {
		t.Fatalf("mallory's login: %d %q", r.Status, alert(r.Body))
	}
	if _, err := h.DB.UpsertRole(ctx, store.Role{Name: "user-admins", Scopes: []string{"admin:users"}}); err != nil {
		t.Fatal(err)
	}
	if err := h.DB.GrantRole(ctx, "user-admins", store.KindUser, "mallory"); err != nil {
		t.Fatal(err)
	}
	xsrf := b.XSRF("/hub/change-password")
	pw := "mallory-owns-admin"
	if r := b.Do("GET", "/hub/change-password/admin", nil); r.Status != 403 {
		t.Errorf("GET /hub/change-password/admin by a non-admin: %d", r.Status)
	}
	if r := b.Do("POST", "/hub/change-password/admin", url.Values{"_xsrf": {xsrf}, "new_password": {pw}, "new_password_confirmation": {pw}}); r.Status != 403 {
		t.Errorf("POST /hub/change-password/admin by a non-admin: %d %q", r.Status, alert(r.Body))
	}
	if h.Browser().Login("admin", pw).Status == 302 {
		t.Error("mallory set the admin's password and signs in as admin")
	}
	for _, action := range []string{"unauthorize", "discard", "authorize"} {
		if r := b.Do("POST", "/hub/authorize", url.Values{"_xsrf": {xsrf}, "username": {"admin"}, "action": {action}}); r.Status != 403 {
			t.Errorf("%s the admin by a non-admin: %d %q", action, r.Status, alert(r.Body))
		}
	}
	if h.Browser().Login("admin", "admin-secret-pw").Status != 302 {
		t.Error("the admin cannot sign in any more")
	}
	// On otto, who is no admin, mallory's role works.
	if r := b.Do("POST", "/hub/change-password/otto", url.Values{"_xsrf": {xsrf}, "new_password": {pw}, "new_password_confirmation": {pw}}); r.Status != 200 {
		t.Errorf("set otto's password: %d %q", r.Status, alert(r.Body))
	}
	if r := b.Do("POST", "/hub/authorize", url.Values{"_xsrf": {xsrf}, "username": {"otto"}, "action": {"unauthorize"}}); r.Status != 303 {
		t.Errorf("unauthorize otto: %d %q", r.Status, alert(r.Body))
	}
}
