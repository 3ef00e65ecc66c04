package oauth_test

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
)

// The state cookie holds the login's next. Browsers drop a cookie over 4096 bytes without a
// word, and the callback then fails with "state missing": a very long next must not cost the
// login. It is left out (the login lands on the default page) and the cookie stays small.
func TestLongNextKeepsTheStateCookieSmall(t *testing.T) {
	s := newStandIn(t, "/authorize", "/token")
	s.mux.HandleFunc("GET /userinfo", func(w http.ResponseWriter, r *http.Request) {
		if u := s.bearer(w, r); u != "" {
			jsonReply(w, map[string]any{"username": u})
		}
	})
	th := startPresetHub(t, `
JupyterHub:
  authenticator_class: generic-oauth
  db_url: "@DB@"
Authenticator:
  allow_all: true
GenericOAuthenticator:
  client_id: hub-client
  client_secret: hub-secret
  authorize_url: `+s.srv.URL+`/authorize
  token_url: `+s.srv.URL+`/token
  userdata_url: `+s.srv.URL+`/userinfo
`)
	noFollow := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	for _, c := range []struct {
		next    string
		keepsIt bool
	}{
		{"/hub/token?x=" + strings.Repeat("a", 200), true},
		{"/hub/token?x=" + strings.Repeat("a", 5000), false},
	} {
		resp, err := noFollow.Get(th.srv.URL + "/hub/oauth_login?next=" + url.QueryEscape(c.next))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		var state *http.Cookie
		for _, ck := range resp.Cookies() {
			if ck.Name == "oauthenticator-state" {
				state = ck
			}
		}
		if resp.StatusCode != http.StatusFound || state == nil {
			t.Fatalf("oauth_login with a next of %d bytes: %d, cookies %v", len(c.next), resp.StatusCode, resp.Cookies())
		}
		if n := len(state.Name) + len(state.Value); n > 4000 {
			t.Errorf("next of %d bytes: the state cookie has %d bytes, more than browsers keep", len(c.next), n)
		}
		// The whole login, in a browser that keeps the cookie: the callback logs in and sends
		// the browser on, to next when it was kept.
		s.as("ann")
		c2 := browser(t)
		c2.CheckRedirect = noFollow.CheckRedirect
		target := th.srv.URL + "/hub/oauth_login?next=" + url.QueryEscape(c.next)
		for range 2 { // oauth_login → provider → callback
			resp, err := c2.Get(target)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			loc, err := resp.Location()
			if err != nil {
				t.Fatalf("%s: %d without Location", target, resp.StatusCode)
			}
			target = loc.String()
		}
		resp, err = c2.Get(target)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		loc := resp.Header.Get("Location")
		if resp.StatusCode != http.StatusFound || strings.HasPrefix(loc, "/hub/token") != c.keepsIt {
			t.Errorf("callback with a next of %d bytes: %d to %.100q (next kept: want %v)", len(c.next), resp.StatusCode, loc, c.keepsIt)
		}
	}
}

// A numeric username claim (username_claim: id) names the user with its digits, as upstream
// does, not in float notation: the id 12345678 is the user "12345678", not "1.2345678e+07".
func TestNumericUsernameClaim(t *testing.T) {
	s := newStandIn(t, "/authorize", "/token")
	s.mux.HandleFunc("GET /userinfo", func(w http.ResponseWriter, r *http.Request) {
		if u := s.bearer(w, r); u != "" {
			jsonReply(w, map[string]any{"id": 12345678, "groups": []any{"staff", 4200000}})
		}
	})
	th := startPresetHub(t, `
JupyterHub:
  authenticator_class: generic-oauth
  db_url: "@DB@"
Authenticator:
  allow_all: true
  manage_groups: true
GenericOAuthenticator:
  client_id: hub-client
  client_secret: hub-secret
  authorize_url: `+s.srv.URL+`/authorize
  token_url: `+s.srv.URL+`/token
  userdata_url: `+s.srv.URL+`/userinfo
  username_claim: id
`)
	if resp, body := presetLogin(t, th, s, "ann"); resp.StatusCode != http.StatusOK {
		t.Fatalf("login: %d %.300s", resp.StatusCode, body)
	}
	u, err := th.db.GetUser(t.Context(), "12345678")
	if err != nil {
		t.Fatalf("hub user 12345678: %v", err)
	}
	if !slices.Contains(u.Groups, "4200000") {
		t.Errorf("groups %v, want 4200000 among them", u.Groups)
	}
}
