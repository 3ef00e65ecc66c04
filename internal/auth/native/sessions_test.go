package native_test

import (
	"net/url"
	"strings"
	"testing"

	"gohub/internal/auth/authtest"
	"gohub/internal/auth/native"
)

// TestPasswordChangeEndsOtherSessions: a login cookie copied from fred's browser stops working
// when fred changes his password, while fred's own browser stays logged in; an admin setting
// fred's password ends every session of fred and none of the admin's.
func TestPasswordChangeEndsOtherSessions(t *testing.T) {
	h := newHub(t, func(c *native.Config) { c.OpenSignup = true })
	loggedIn := func(b *authtest.Browser) bool {
		t.Helper()
		r := b.Do("GET", "/hub/change-password", nil)
		if r.Status != 200 && (r.Status != 302 || !strings.Contains(r.Location, "/hub/login")) {
			t.Fatalf("GET /hub/change-password: %d %s", r.Status, r.Location)
		}
		return r.Status == 200
	}
	fred := h.Browser()
	signup(fred, "fred", "fred-password")
	if r := fred.Login("fred", "fred-password"); r.Status != 302 {
		t.Fatal(r.Status)
	}
	thief := fred.Copy()
	if !loggedIn(thief) {
		t.Fatal("the copied cookie does not log in to begin with")
	}
	change := func(b *authtest.Browser, path, old, pw string) {
		t.Helper()
		r := b.Submit(path, url.Values{"old_password": {old}, "new_password": {pw}, "new_password_confirmation": {pw}})
		if r.Status != 200 || !strings.Contains(alert(r.Body), "has been changed") {
			t.Fatalf("change password at %s: %d %q", path, r.Status, alert(r.Body))
		}
	}
	change(fred, "/hub/change-password", "fred-password", "fred-password-2")
	if loggedIn(thief) {
		t.Error("a copied login cookie still works after fred changed his password")
	}
	if !loggedIn(fred) {
		t.Error("fred was logged out by changing his own password")
	}
	change(fred, "/hub/change-password", "fred-password-2", "fred-password-3") // the page's _xsrf still works

	admin := adminBrowser(t, h)
	change(admin, "/hub/change-password/fred", "", "set-by-admin")
	if loggedIn(fred) {
		t.Error("fred's session survived the admin setting his password")
	}
	if !loggedIn(admin) {
		t.Error("the admin was logged out by setting fred's password")
	}
}
