package native_test

// NativeAuthenticator has published no GHSA; its security fixes are in its changelog (XSRF on
// its forms, names with slashes, the admin name at sign-up). Each is performed here through
// the hub's pages. SECURITY.md lists them.

import (
	"net/http"
	"net/url"
	"testing"

	"gohub/internal/auth/native"
)

// TestAdvisory_NativeAuthenticator236_CrossSiteFormPosts: NativeAuthenticator's forms took posts without _xsrf (nativeauthenticator #236, #239).
func TestAdvisory_NativeAuthenticator236_CrossSiteFormPosts(t *testing.T) {
	h := newHub(t, nil)
	admin := adminBrowser(t, h)
	if r := signup(h.Browser(), "pending", "pending-password"); r.Status != 200 {
		t.Fatalf("sign-up: %d", r.Status)
	}
	if r := signup(h.Browser(), "bob", "bob-password-1"); r.Status != 200 {
		t.Fatalf("sign-up: %d", r.Status)
	}
	if r := admin.Submit("/hub/authorize", url.Values{"username": {"bob"}, "action": {"authorize"}}); r.Status >= 400 {
		t.Fatalf("authorize bob: %d", r.Status)
	}
	forged := []struct {
		path string
		form url.Values
	}{
		{"/hub/authorize", url.Values{"username": {"pending"}, "action": {"authorize"}}},
		{"/hub/change-password", url.Values{"old_password": {"admin-secret-pw"}, "password": {"attacker-pw-1"}, "password_confirmation": {"attacker-pw-1"}}},
		{"/hub/change-password/bob", url.Values{"password": {"attacker-pw-2"}, "password_confirmation": {"attacker-pw-2"}}},
		{"/hub/signup", url.Values{"username": {"sneaky"}, "signup_password": {"sneaky-password"}, "signup_password_confirmation": {"sneaky-password"}}},
	}
	for _, f := range forged {
		for _, xsrf := range []string{"", "forged-token"} {
			form := url.Values{}
			for k, v := range f.form {
				form[k] = v
			}
			if xsrf != "" {
				form.Set("_xsrf", xsrf)
			}
			if r := admin.Do("POST", f.path, form); r.Status < 400 {
				t.Errorf("POST %s with _xsrf %q: %d", f.path, xsrf, r.Status)
			}
		}
	}
	// The admin API with the admin's cookie and no token, as a cross-site fetch would send it.
	if r := admin.Do("POST", "/hub/api/native/users/pending/authorize", url.Values{}); r.Status < 400 {
		t.Errorf("POST the native API's authorize with the cookie only: %d", r.Status)
	}
	if r := h.Browser().Login("pending", "pending-password"); r.Status == http.StatusFound {
		t.Error("a forged post authorized the pending sign-up")
	}
	for user, pw := range map[string]string{"admin": "admin-secret-pw", "bob": "bob-password-1"} {
		if r := h.Browser().Login(user, pw); r.Status != http.StatusFound {
			t.Errorf("%s's password was changed by a forged post: %d", user, r.Status)
		}
	}
	if h.User("sneaky") != nil {
		t.Error("a forged post signed up sneaky")
	}
	// The same authorize with the page's own token works: the refusals are the token check.
	if r := admin.Submit("/hub/authorize", url.Values{"username": {"pending"}, "action": {"authorize"}}); r.Status >= 400 {
		t.Errorf("authorize with the page's token: %d", r.Status)
	}
	if r := h.Browser().Login("pending", "pending-password"); r.Status != http.StatusFound {
		t.Errorf("pending after the admin's real authorization: %d", r.Status)
	}
}

// TestAdvisory_NativeAuthenticator_AdminNameClaimedAtSignup: an admin_users name nobody had signed up for went to the first to sign up.
func TestAdvisory_NativeAuthenticator_AdminNameClaimedAtSignup(t *testing.T) {
	for _, open := range []bool{false, true} {
		h := newHub(t, func(c *native.Config) { c.OpenSignup = open })
		attacker := h.Browser()
		signup(attacker, "admin", "attacker-password")
		if r := attacker.Login("admin", "attacker-password"); r.Status == http.StatusFound {
			t.Errorf("open_signup %v: a stranger signed up as the admin_users name and logged in", open)
		}
		if u := h.User("admin"); u != nil && u.Admin {
			if r := h.Browser().Login("admin", "attacker-password"); r.Status == http.StatusFound {
				t.Errorf("open_signup %v: the admin account has the stranger's password", open)
			}
		}
		// Another case of the name is the same name.
		signup(h.Browser(), "ADMIN", "attacker-password")
		if r := h.Browser().Login("Admin", "attacker-password"); r.Status == http.StatusFound {
			t.Errorf("open_signup %v: the admin name in another case was claimed", open)
		}
	}
}
