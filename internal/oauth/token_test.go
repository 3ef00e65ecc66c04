package oauth

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"gohub/internal/store"
)

// newCode runs alice's authorize step with the given PKCE parameters and returns the code.
func (h *hub) newCode(b *browser, pkceVerifier, method string) string {
	h.t.Helper()
	q := authorizeQuery(h.aliceClient, "/user/alice/oauth_callback", "st")
	if method != "" {
		q = withPKCE(q, pkceVerifier, method)
	}
	return codeFrom(h.t, b.authorize(q), "/user/alice/oauth_callback", "st")
}

func TestPKCE(t *testing.T) {
	t.Parallel()
	h := newHub(t)
	b := h.browser("alice")
	other := strings.Repeat("x", 43)
	cases := []struct {
		name, method, sent string
		status             int
		err                string
	}{
		{"S256", "S256", verifier, 200, ""},
		{"S256 wrong verifier", "S256", other, 400, "invalid_grant"},
		{"S256 missing verifier", "S256", "", 400, "invalid_request"},
		{"plain", "plain", verifier, 200, ""},
		{"plain wrong verifier", "plain", other, 400, "invalid_grant"},
		{"plain missing verifier", "plain", "", 400, "invalid_request"},
		{"no challenge", "", "", 200, ""},
		{"no challenge, verifier sent", "", verifier, 200, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code := h.newCode(b, verifier, c.method)
			status, body := h.exchange(h.tokenForm(code, c.sent))
			if status != c.status || c.err != "" && body["error"] != c.err {
				t.Errorf("%d %v, want %d %s", status, body, c.status, c.err)
			}
			if c.err != "" && body["error_description"] == "" {
				t.Errorf("no error_description: %v", body)
			}
		})
	}
}

// With RequirePKCE, an authorization request needs a challenge, and a code without one (made
// before the setting changed) is refused.
func TestRequirePKCE(t *testing.T) {
	t.Parallel()
	h := newHub(t, func(d *Deps) { d.RequirePKCE = true })
	b := h.browser("alice")
	r := b.authorize(authorizeQuery(h.aliceClient, "/user/alice/oauth_callback", "st"))
	if loc, _ := url.Parse(r.header.Get("Location")); r.status != http.StatusFound || loc.Query().Get("error") != "invalid_request" {
		t.Errorf("no challenge: %d %q, want error=invalid_request", r.status, r.header.Get("Location"))
	}
	code := h.newCode(b, verifier, "S256")
	if status, body := h.exchange(h.tokenForm(code, verifier)); status != http.StatusOK {
		t.Errorf("with PKCE: %d %v", status, body)
	}
	old := "Old" + strings.Repeat("0", 27)
	if _, err := h.db.CreateOAuthCode(t.Context(), store.OAuthCode{ClientID: h.aliceClient, Code: old,
		ExpiresAt: time.Now().Add(time.Minute), RedirectURI: "/user/alice/oauth_callback",
		UserID: h.users["alice"].ID, Scopes: []string{"read:users:name!user"}}); err != nil {
		t.Fatal(err)
	}
	if status, body := h.exchange(h.tokenForm(old, verifier)); status != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Errorf("code without challenge: %d %v, want invalid_grant", status, body)
	}
}

// Codes live 300 seconds.
func TestCodeExpiry(t *testing.T) {
	t.Parallel()
	h := newHub(t)
	b := h.browser("alice")
	code := h.newCode(b, "", "")
	h.clock.Add(299 * time.Second)
	if status, body := h.exchange(h.tokenForm(code, "")); status != http.StatusOK {
		t.Errorf("after 299 s: %d %v", status, body)
	}
	code = h.newCode(b, "", "")
	h.clock.Add(301 * time.Second)
	if status, body := h.exchange(h.tokenForm(code, "")); status != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Errorf("after 301 s: %d %v, want invalid_grant", status, body)
	}
}

func TestTokenErrors(t *testing.T) {
	t.Parallel()
	h := newHub(t)
	b := h.browser("alice")

	// A wrong secret is a 401 and leaves the code usable by the real client.
	code := h.newCode(b, "", "")
	form := h.tokenForm(code, "")
	form.Set("client_secret", wrongSecret(h.aliceToken))
	if status, body := h.exchange(form); status != http.StatusUnauthorized || body["error"] != "invalid_client" {
		t.Errorf("wrong secret: %d %v", status, body)
	}
	// HTTP Basic instead of form fields.
	form = h.tokenForm(code, "")
	form.Del("client_secret")
	if status, body := h.exchange(form, h.aliceClient, h.aliceToken); status != http.StatusOK {
		t.Errorf("basic auth: %d %v", status, body)
	}

	// A wrong redirect_uri is refused, and the code is gone.
	code = h.newCode(b, "", "")
	form = h.tokenForm(code, "")
	form.Set("redirect_uri", "/user/alice/other")
	if status, body := h.exchange(form); status != http.StatusBadRequest || body["error"] != "invalid_request" {
		t.Errorf("wrong redirect_uri: %d %v", status, body)
	}
	if status, body := h.exchange(h.tokenForm(code, "")); body["error"] != "invalid_grant" {
		t.Errorf("code after a failed exchange: %d %v, want invalid_grant", status, body)
	}

	// A code of alice's client presented by bob's server.
	bobToken, bobClient := h.startServer("bob", "")
	code = h.newCode(b, "", "")
	form = h.tokenForm(code, "")
	form.Set("client_id", bobClient)
	form.Set("client_secret", bobToken)
	form.Set("redirect_uri", "/user/bob/oauth_callback")
	if status, body := h.exchange(form); status != http.StatusBadRequest || body["error"] != "invalid_grant" {
		t.Errorf("other client's code: %d %v", status, body)
	}

	code = h.newCode(b, "", "")
	cases := []struct {
		name   string
		edit   func(url.Values)
		basic  []string
		status int
		err    string
	}{
		{"refresh grant", func(f url.Values) { f.Set("grant_type", "refresh_token") }, nil, 400, "unsupported_grant_type"},
		{"no grant", func(f url.Values) { f.Del("grant_type") }, nil, 400, "unsupported_grant_type"},
		{"no code", func(f url.Values) { f.Del("code") }, nil, 400, "invalid_request"},
		{"unknown code", func(f url.Values) { f.Set("code", strings.Repeat("a", 30)) }, nil, 400, "invalid_grant"},
		{"no secret", func(f url.Values) { f.Del("client_secret") }, nil, 401, "invalid_client"},
		{"unknown client", func(f url.Values) { f.Set("client_id", "jupyterhub-user-nobody") }, nil, 401, "invalid_client"},
		{"hub client", func(f url.Values) { f.Set("client_id", "jupyterhub"); f.Set("client_secret", "x") }, nil, 401, "invalid_client"},
		{"basic for another id", func(f url.Values) { f.Del("client_secret") }, []string{bobClient, bobToken}, 401, "invalid_client"},
		{"two codes", func(f url.Values) { f.Add("code", "x") }, nil, 400, "invalid_request"},
	}
	for _, c := range cases {
		form := h.tokenForm(code, "")
		c.edit(form)
		if status, body := h.exchange(form, c.basic...); status != c.status || body["error"] != c.err {
			t.Errorf("%s: %d %v, want %d %s", c.name, status, body, c.status, c.err)
		}
	}
	// None of those consumed the code.
	if status, body := h.exchange(h.tokenForm(code, "")); status != http.StatusOK {
		t.Errorf("code after refused requests: %d %v", status, body)
	}

	resp, err := http.Get(h.srv.URL + "/hub/api/oauth2/token")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("GET token endpoint: %d, want 405", resp.StatusCode)
	}
}

// wrongSecret is secret with its last character changed (to another one, whatever it was).
func wrongSecret(secret string) string {
	last := "0"
	if strings.HasSuffix(secret, "0") {
		last = "1"
	}
	return secret[:len(secret)-1] + last
}
