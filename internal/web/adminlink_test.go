package web

import (
	"net/http"
	"strings"
	"testing"

	"gohub/internal/store"
)

// The header's Admin link: every page with a user shows it to admins and to users whose roles
// grant admin-ui (directly or through a group), the same check that opens /hub/admin; others
// do not see it, and it follows a role granted or taken away at once.
func TestAdminNavLink(t *testing.T) {
	a := newAuth()
	for _, n := range []string{"uma", "gil", "ned", "ray"} {
		a.passwords[n] = n + "-pw"
	}
	e := newEnv(t, a)
	ctx := t.Context()
	browsers := map[string]*browser{}
	for _, n := range []string{"Boss", "uma", "gil", "ned", "ray"} {
		pw := a.passwords[n]
		browsers[n] = loginAs(e, n, pw)
	}
	for _, r := range []store.Role{
		{Name: "admin-page", Scopes: []string{"admin-ui", "list:users"}},
		{Name: "readers", Scopes: []string{"read:users", "list:users"}},
	} {
		if _, err := e.db.UpsertRole(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(e.db.GrantRole(ctx, "admin-page", store.KindUser, "uma"))
	_, err := e.db.CreateGroups(ctx, []string{"staff"}, []string{"gil"})
	must(err)
	must(e.db.GrantRole(ctx, "admin-page", store.KindGroup, "staff"))
	must(e.db.GrantRole(ctx, "readers", store.KindUser, "ned"))

	const link = `<a href="/hub/admin">Admin</a>`
	cases := []struct {
		user string
		want bool
	}{
		{"boss", true},
		{"uma", true},  // admin-ui through a role
		{"gil", true},  // through a group's role
		{"ned", false}, // read:users is not admin-ui
		{"ray", false}, // no role beyond user
	}
	pages := []string{"/hub/home", "/hub/token", "/hub/admin", "/hub/nowhere"}
	for _, c := range cases {
		key := c.user
		if key == "boss" {
			key = "Boss"
		}
		b := browsers[key]
		for _, page := range pages {
			r := b.get(page)
			if got := strings.Contains(r.body, link); got != c.want {
				t.Errorf("%s on %s (%d): Admin link %v, want %v", c.user, page, r.StatusCode, got, c.want)
			}
		}
		// The link leads somewhere the user may go.
		if r := b.get("/hub/admin"); (r.StatusCode == http.StatusOK) != c.want {
			t.Errorf("%s: /hub/admin answers %d", c.user, r.StatusCode)
		}
	}

	// Taking the role away hides the link on the next page.
	must(e.db.RevokeRole(ctx, "admin-page", store.KindUser, "uma"))
	if strings.Contains(browsers["uma"].get("/hub/home").body, link) {
		t.Error("uma still sees the Admin link after losing admin-ui")
	}
}

// blockingAuth is fakeAuth on a hub that blocks users (the hub's login adapter has IsBlocked).
type blockingAuth struct{ *fakeAuth }

func (blockingAuth) IsBlocked(string) bool { return false }

// The admin page offers Block/Unblock only to holders of admin:users on a hub that blocks
// users, and reset links and invitations only with account recovery (none here).
func TestAdminPageOffersBlocking(t *testing.T) {
	a := newAuth()
	a.passwords["uma"] = "uma-pw"
	a.passwords["mo"] = "mo-pw"
	e := newEnv(t, blockingAuth{a})
	ctx := t.Context()
	boss, uma, mo := loginAs(e, "Boss", "secret"), loginAs(e, "uma", "uma-pw"), loginAs(e, "mo", "mo-pw")
	for _, r := range []store.Role{
		{Name: "admin-page", Scopes: []string{"admin-ui", "list:users"}},
		{Name: "user-admins", Scopes: []string{"admin-ui", "list:users", "admin:users"}},
	} {
		if _, err := e.db.UpsertRole(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.db.GrantRole(ctx, "admin-page", store.KindUser, "uma"); err != nil {
		t.Fatal(err)
	}
	if err := e.db.GrantRole(ctx, "user-admins", store.KindUser, "mo"); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		who   string
		b     *browser
		block bool
	}{{"Boss", boss, true}, {"uma (admin-ui)", uma, false}, {"mo (admin:users)", mo, true}} {
		r := c.b.get("/hub/admin")
		if r.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d", c.who, r.StatusCode)
		}
		want := `data-block="` + map[bool]string{true: "true", false: "false"}[c.block] + `" data-resets="false"`
		if !strings.Contains(r.body, want) {
			t.Errorf("%s: page lacks %s", c.who, want)
		}
		if strings.Contains(r.body, `id="invite-button"`) {
			t.Errorf("%s: Invite offered without account recovery", c.who)
		}
	}
}
