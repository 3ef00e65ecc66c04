package hub

// Upstream JupyterHub's published security advisories, each performed against a whole gohub
// (public listener, built-in proxy, pages, REST API, OAuth provider) over HTTP. SECURITY.md
// lists them with the test that covers each.

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// advisoryHub is a hub with the dummy authenticator (password "pw") that lets anyone in, boss
// an admin; hubKeys are more JupyterHub keys (YAML lines indented by two spaces).
func advisoryHub(t *testing.T, hubKeys string) *liveHub {
	t.Helper()
	return startLiveHub(t, nil, func(dir string, pub, hubPort int) string {
		cfg := hubConfig(t, dir, pub, hubPort, "dummy",
			"Authenticator:\n  allow_all: true\n  admin_users: [boss]\nDummyAuthenticator:\n  password: pw\n")
		return strings.Replace(cfg, "\nJupyterHub:\n", "\nJupyterHub:\n"+hubKeys, 1)
	})
}

// call makes a request with the browser's cookies and the given headers (pairs) and returns
// the status, the Location header and the body.
func (b *browser) call(method, path string, body io.Reader, hdr ...string) (int, string, string) {
	b.t.Helper()
	resp, data := b.exchange(method, path, body, hdr...)
	return resp.StatusCode, resp.Header.Get("Location"), data
}

// cookie returns the value of the browser's cookie name as sent to path, "" if none.
func (b *browser) cookie(path, name string) string {
	for _, c := range b.c.Jar.Cookies(mustURL(b.t, b.lh.public+path)) {
		if c.Name == name {
			return c.Value
		}
	}
	return ""
}

// loginWithNext posts the login form with ?next=next and returns the redirect's Location.
func (b *browser) loginWithNext(user, next string) string {
	b.t.Helper()
	q := "?next=" + url.QueryEscape(next)
	code, loc, body := b.post("/hub/login"+q, "/hub/login"+q, url.Values{"username": {user}, "password": {"pw"}})
	if code != http.StatusFound {
		b.t.Fatalf("login with next %q: %d\n%s", next, code, body)
	}
	return loc
}

// offSite reports whether a browser following Location loc from the hub's page would leave
// the hub: browsers read "//x", "/\x" and "\\x" as a host, and drop tabs and newlines first.
func offSite(lh *liveHub, loc string) bool {
	clean := strings.NewReplacer("\t", "", "\n", "", "\r", "", `\`, "/").Replace(loc)
	u, err := url.Parse(clean)
	if err != nil {
		return true
	}
	pub := mustURL(lh.t, lh.public)
	return strings.HasPrefix(clean, "//") || (u.Host != "" && u.Host != pub.Host) || (u.Scheme != "" && u.Scheme != pub.Scheme)
}

// TestAdvisory_CVE_2019_10255_OpenRedirectAfterLogin: a crafted ?next on the login page sent the browser to another site after login.
func TestAdvisory_CVE_2019_10255_OpenRedirectAfterLogin(t *testing.T) {
	t.Parallel()
	lh := advisoryHub(t, "")
	for _, next := range []string{
		"//evil.example/", "///evil.example/", "////evil.example/", `/\evil.example/`, `\\evil.example/`,
		`\/evil.example/`, "/\t/evil.example/", "https://evil.example/", "http:evil.example",
		"https:/\\evil.example/", "javascript:alert(1)", "//evil.example@127.0.0.1/", "/%2F%2Fevil.example/",
	} {
		b := lh.browser()
		if loc := b.loginWithNext("alice", next); offSite(lh, loc) {
			t.Errorf("next %q: the login redirects off the hub to %q", next, loc)
		}
	}
	// The legitimate case still works, so the checks above are not vacuous.
	b := lh.browser()
	if loc := b.loginWithNext("alice", "/hub/token"); loc != "/hub/token" {
		t.Errorf("next /hub/token: Location %q", loc)
	}
	// The other redirects that carry a path from the link: user-redirect, and pages that send
	// a logged-out browser to the login page with next.
	for _, p := range []string{"/hub/user-redirect//evil.example/", "/hub/user-redirect/%2F%2Fevil.example/",
		`/hub/user-redirect/\evil.example/`, "/hub/user-redirect/%5C%5Cevil.example/", "/hub//evil.example/",
		"/hub/logout?next=//evil.example/", "/hub/spawn?next=//evil.example/", "/hub/?next=//evil.example/",
		"//evil.example/", "///evil.example/", "/user//evil.example/", "/hub/..//evil.example/", "/./evil.example/.."} {
		for _, br := range []*browser{b, lh.browser()} {
			code, loc, _ := br.get(p)
			if code >= 300 && code < 400 && offSite(lh, loc) {
				t.Errorf("GET %s: redirect off the hub to %q", p, loc)
			}
		}
	}
}

// TestAdvisory_GHSA_3vff_hjqv_m7h8_OpenRedirectThroughOwnHost: a ?next on the hub's own host was cut to "//evil/...", an off-site redirect.
func TestAdvisory_GHSA_3vff_hjqv_m7h8_OpenRedirectThroughOwnHost(t *testing.T) {
	t.Parallel()
	lh := advisoryHub(t, "")
	host := mustURL(t, lh.public).Host
	for _, next := range []string{
		lh.public + "//evil.example/", lh.public + "///evil.example/", lh.public + "////evil.example/x?y=1",
		"//" + host + "//evil.example/", lh.public + `/\evil.example/`,
	} {
		loc := lh.browser().loginWithNext("alice", next)
		if offSite(lh, loc) {
			t.Errorf("next %q: the login redirects off the hub to %q", next, loc)
		}
	}
	if loc := lh.browser().loginWithNext("alice", lh.public+"/hub/home?x=1"); loc != "/hub/home?x=1" {
		t.Errorf("next on the hub's own host: Location %q, want /hub/home?x=1", loc)
	}
}

// TestAdvisory_CVE_2020_36191_AdminAPICrossSiteRequest: the API took cookie requests without _xsrf: other sites made admins add or delete users.
func TestAdvisory_CVE_2020_36191_AdminAPICrossSiteRequest(t *testing.T) {
	t.Parallel()
	lh := advisoryHub(t, "")
	admin := lh.browser()
	if !admin.login("boss", "pw") {
		t.Fatal("boss cannot log in")
	}
	if code := lh.api("POST", "/users/bob", adminToken, nil, nil); code != 201 {
		t.Fatalf("create bob: %d", code)
	}
	attacks := []struct {
		name, method, path, body string
		hdr                      []string
	}{
		{"cross-site fetch creating a user", "POST", "/hub/api/users/mallory", "{}",
			[]string{"Content-Type", "application/json", "Origin", "http://evil.example", "Sec-Fetch-Site", "cross-site", "Sec-Fetch-Mode", "cors"}},
		{"cross-site HTML form creating a user", "POST", "/hub/api/users/mallory", "x=1",
			[]string{"Content-Type", "application/x-www-form-urlencoded", "Origin", "http://evil.example", "Sec-Fetch-Site", "cross-site", "Sec-Fetch-Mode", "navigate"}},
		{"form-encoded request without fetch metadata", "POST", "/hub/api/users/mallory", "x=1",
			[]string{"Content-Type", "text/plain"}},
		{"JSON request without fetch metadata or token", "POST", "/hub/api/users/mallory", "{}",
			[]string{"Content-Type", "application/json"}},
		{"no-cors POST", "POST", "/hub/api/users/mallory", "{}",
			[]string{"Content-Type", "text/plain", "Sec-Fetch-Site", "same-site", "Sec-Fetch-Mode", "no-cors"}},
		{"cross-site DELETE", "DELETE", "/hub/api/users/bob", "",
			[]string{"Origin", "http://evil.example", "Sec-Fetch-Site", "cross-site", "Sec-Fetch-Mode", "cors"}},
		{"cross-site PATCH making bob an admin", "PATCH", "/hub/api/users/bob", `{"admin": true}`,
			[]string{"Content-Type", "application/json", "Sec-Fetch-Site", "cross-site", "Sec-Fetch-Mode", "cors"}},
	}
	for _, a := range attacks {
		code, _, body := admin.call(a.method, a.path, strings.NewReader(a.body), a.hdr...)
		if code < 400 {
			t.Errorf("%s: %d %s", a.name, code, body)
		}
	}
	if code := lh.api("GET", "/users/mallory", adminToken, nil, nil); code != 404 {
		t.Errorf("mallory was created by a forged request: GET %d", code)
	}
	var bob map[string]any
	if code := lh.api("GET", "/users/bob", adminToken, nil, &bob); code != 200 || bob["admin"] != false {
		t.Errorf("bob was deleted or promoted by a forged request: %d %v", code, bob)
	}
	// The same request with the admin's own _xsrf token (what the hub's admin page sends)
	// works: the refusals above are the token check, not a broken request.
	code, _, body := admin.call("POST", "/hub/api/users/carol", strings.NewReader("{}"),
		"Content-Type", "application/json", "X-XSRFToken", admin.cookie("/hub/", "_xsrf"), "Sec-Fetch-Mode", "cors", "Sec-Fetch-Site", "same-origin")
	if code != 201 {
		t.Errorf("the admin's own request with its token: %d %s", code, body)
	}
}

// TestAdvisory_GHSA_7r3h_4ph8_w38g_CookieTossingAndSameOrigin: a user's server tossed cookies and used a visitor's cookies to reach their API.
func TestAdvisory_GHSA_7r3h_4ph8_w38g_CookieTossingAndSameOrigin(t *testing.T) {
	t.Parallel()
	lh := advisoryHub(t, "")
	mallory, victim := lh.browser(), lh.browser()
	if !mallory.login("mallory", "pw") || !victim.login("victim", "pw") {
		t.Fatal("login")
	}
	mallory.get("/hub/home")
	malloryXSRF := mallory.cookie("/hub/", "_xsrf")
	if malloryXSRF == "" {
		t.Fatal("mallory has no _xsrf cookie")
	}
	// Mallory's server, on the hub's origin, sets her own _xsrf cookie into the victim's
	// browser for the hub's paths (a more specific path is sent first) ...
	for _, p := range []string{"/hub/", "/hub/api/", "/hub/api/users/victim/"} {
		victim.c.Jar.SetCookies(mustURL(t, lh.public+p), []*http.Cookie{{Name: "_xsrf", Value: malloryXSRF, Path: p}})
	}
	// ... then, from a page the victim opens, asks the API for a token with the victim's
	// cookies and the token that matches the planted cookie.
	mint := func(token string) (int, string) {
		code, _, body := victim.call("POST", "/hub/api/users/victim/tokens", strings.NewReader(`{"note": "x"}`),
			"Content-Type", "application/json", "X-XSRFToken", token, "Sec-Fetch-Mode", "cors", "Sec-Fetch-Site", "same-origin")
		return code, body
	}
	if code, body := mint(malloryXSRF); code < 400 {
		t.Errorf("a token was minted for the victim with a tossed _xsrf cookie: %d %s", code, body)
	}
	for _, path := range []string{"/hub/api/user", "/hub/api/users/victim/tokens"} {
		// A script's fetch (mode cors) without any token is anonymous: no identity, no tokens.
		code, _, body := victim.call("GET", path, nil, "Sec-Fetch-Mode", "cors", "Sec-Fetch-Site", "same-origin")
		if code == 200 {
			t.Errorf("GET %s by a script with the victim's cookies and no token: %d %s", path, code, body)
		}
	}
	var toks map[string][]any
	if code := lh.api("GET", "/users/victim/tokens", adminToken, nil, &toks); code != 200 {
		t.Fatalf("list tokens: %d", code)
	}
	for _, tok := range toks["api_tokens"] {
		if m, _ := tok.(map[string]any); m["note"] == "x" {
			t.Errorf("the forged token exists: %v", m)
		}
	}
	// A page of mallory's server sends the visitor through the hub's OAuth authorize for
	// mallory's own server: no code for the visitor's identity comes back to it.
	target := lh.startServer("mallory")
	var env map[string]string
	if resp, err := http.Get(target + "/user/mallory/env"); err != nil {
		t.Fatal(err)
	} else {
		json.NewDecoder(resp.Body).Decode(&env)
		resp.Body.Close()
	}
	q := url.Values{"client_id": {env["JUPYTERHUB_CLIENT_ID"]}, "redirect_uri": {env["JUPYTERHUB_OAUTH_CALLBACK_URL"]},
		"response_type": {"code"}, "state": {"s"}}
	if code, loc, _ := victim.get("/hub/api/oauth2/authorize?" + q.Encode()); strings.Contains(loc, "code=") || code == http.StatusOK {
		t.Errorf("authorize for mallory's server with the visitor's cookies: %d %q", code, loc)
	}
	// Control: the victim's own token (from a fresh browser without the planted cookies)
	// mints, so the refusal above is the tossed cookie's.
	own := lh.browser()
	_, _, page := own.get("/hub/login")
	m := xsrfRE.FindStringSubmatch(page)
	if m == nil {
		t.Fatal("no _xsrf on the login page")
	}
	resp, err := own.c.PostForm(lh.public+"/hub/login", url.Values{"_xsrf": {m[1]}, "username": {"victim"}, "password": {"pw"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// The login and session cookies are out of reach of the server's scripts (HttpOnly).
	for _, c := range resp.Cookies() {
		if strings.HasPrefix(c.Name, "jupyterhub-") && !c.HttpOnly {
			t.Errorf("cookie %s is readable by scripts on the hub's origin", c.Name)
		}
	}
	own.get("/hub/home")
	code, _, body := own.call("POST", "/hub/api/users/victim/tokens", strings.NewReader(`{"note": "own"}`),
		"Content-Type", "application/json", "X-XSRFToken", own.cookie("/hub/", "_xsrf"), "Sec-Fetch-Mode", "cors", "Sec-Fetch-Site", "same-origin")
	if code != 201 {
		t.Errorf("the victim's own token request: %d %s", code, body)
	}
}

// TestAdvisory_GHSA_m68r_v472_jgq9_NoCorsFormPosts: no-cors requests skipped the _xsrf check: other sites could post the hub's forms.
func TestAdvisory_GHSA_m68r_v472_jgq9_NoCorsFormPosts(t *testing.T) {
	t.Parallel()
	lh := advisoryHub(t, "")
	victim := lh.browser()
	if !victim.login("victim", "pw") {
		t.Fatal("login")
	}
	for _, site := range []string{"cross-site", "same-site", "same-origin"} {
		for _, path := range []string{"/hub/spawn", "/hub/spawn/victim", "/hub/home/servers"} {
			code, _, _ := victim.call("POST", path, strings.NewReader("name=x"),
				"Content-Type", "application/x-www-form-urlencoded", "Sec-Fetch-Mode", "no-cors", "Sec-Fetch-Site", site)
			if code < 400 {
				t.Errorf("no-cors POST %s from %s: %d", path, site, code)
			}
		}
	}
	if st := lh.h.spawners.Status("victim", ""); st.Active {
		t.Errorf("a forged no-cors POST started the victim's server: %+v", st)
	}
	// The same form posted with its _xsrf starts the server: the refusals were the check's.
	if code, _, body := victim.post("/hub/home", "/hub/spawn", url.Values{}); code >= 400 {
		t.Errorf("the real spawn form: %d %s", code, body)
	}
	if !within(10*time.Second, func() bool { return lh.h.spawners.Status("victim", "").Active }) {
		t.Error("the real spawn form did not start the server")
	}
}

// TestAdvisory_GHSA_c4gm_pwx9_9w8j_NextURLInjectedIntoPages: next URLs went into the login, spawn and share pages without HTML escaping.
func TestAdvisory_GHSA_c4gm_pwx9_9w8j_NextURLInjectedIntoPages(t *testing.T) {
	t.Parallel()
	lh := advisoryHub(t, "")
	const marker = "injected-by-next"
	payloads := []string{
		`/hub/home"><script>` + marker + `</script>`,
		`/hub/home'><img src=x onerror=` + marker + `>`,
		`/hub/">` + marker + `</a><a href="`,
	}
	b := lh.browser()
	for _, p := range payloads {
		_, _, body := b.get("/hub/login?next=" + url.QueryEscape(p))
		checkNoMarkup(t, "login page", p, body, marker)
	}
	if !b.login("victim", "pw") {
		t.Fatal("login")
	}
	for _, p := range payloads {
		for _, path := range []string{"/hub/spawn?next=", "/hub/home?next=", "/hub/token?next="} {
			_, _, body := b.get(path + url.QueryEscape(p))
			checkNoMarkup(t, path, p, body, marker)
		}
	}
}

// checkNoMarkup fails when body carries the payload's markup (a tag or an attribute break
// next to the marker) rather than its escaped text.
func checkNoMarkup(t *testing.T, page, payload, body, marker string) {
	t.Helper()
	for _, bad := range []string{"<script>" + marker, "onerror=" + marker, `">` + marker, "'>" + "<img"} {
		if strings.Contains(body, bad) {
			t.Errorf("%s with next %q: the page contains %q unescaped", page, payload, bad)
		}
	}
}

// TestAdvisory_GHSA_9x4q_3gxw_849f_AdminUsersScopeEscalation: a non-admin with admin:users could make themselves admin or take over an admin.
func TestAdvisory_GHSA_9x4q_3gxw_849f_AdminUsersScopeEscalation(t *testing.T) {
	t.Parallel()
	lh := advisoryHub(t, "  load_roles:\n    - name: user-managers\n      scopes: [admin:users]\n      users: [mallory]\n")
	for _, u := range []string{"mallory", "bob"} {
		if code := lh.api("POST", "/users/"+u, adminToken, nil, nil); code != 201 && code != 409 {
			t.Fatalf("create %s: %d", u, code)
		}
	}
	tok := lh.newToken("mallory")
	// The scope works on ordinary users: the refusals below are about admins.
	if code := lh.api("PATCH", "/users/bob", tok, map[string]any{"name": "robert"}, nil); code != 200 {
		t.Fatalf("mallory renaming bob (her scope at work): %d", code)
	}
	attacks := []struct {
		name, method, path string
		body               any
	}{
		{"make herself admin", "PATCH", "/users/mallory", map[string]any{"admin": true}},
		{"make another user admin", "PATCH", "/users/robert", map[string]any{"admin": true}},
		{"create an admin", "POST", "/users/sleeper", map[string]any{"admin": true}},
		{"create admins in bulk", "POST", "/users", map[string]any{"usernames": []string{"sleeper2"}, "admin": true}},
		{"rename the admin away", "PATCH", "/users/boss", map[string]any{"name": "boss-old"}},
		{"demote the admin", "PATCH", "/users/boss", map[string]any{"admin": false}},
		{"block the admin", "PATCH", "/users/boss", map[string]any{"blocked": true}},
		{"delete the admin", "DELETE", "/users/boss", nil},
		{"mint a token as the admin", "POST", "/users/boss/tokens", map[string]any{"note": "x"}},
		{"start the admin's server", "POST", "/users/boss/server", nil},
	}
	for _, a := range attacks {
		var out any
		if code := lh.api(a.method, a.path, tok, a.body, &out); code != http.StatusForbidden && code != http.StatusNotFound {
			t.Errorf("%s: %d %v, want a refusal (403, or 404 hiding the resource)", a.name, code, out)
		}
	}
	for _, name := range []string{"mallory", "robert", "sleeper", "sleeper2"} {
		var u map[string]any
		if code := lh.api("GET", "/users/"+name, adminToken, nil, &u); code == 200 && u["admin"] == true {
			t.Errorf("%s became an admin", name)
		}
	}
	var boss map[string]any
	if code := lh.api("GET", "/users/boss", adminToken, nil, &boss); code != 200 || boss["admin"] != true {
		t.Errorf("boss after the attacks: %d %v", code, boss)
	}
	// A token mallory mints for herself carries no more than she has.
	var minted map[string]any
	code := lh.api("POST", "/users/mallory/tokens", tok, map[string]any{"scopes": []string{"admin-ui", "admin:servers"}}, &minted)
	if code < 400 {
		t.Errorf("mallory minted a token with scopes she lacks: %d %v", code, minted)
	}
}

// TestAdvisory_GHSA_69wv_m5fw_2fhp_FilteredAdminScopesCreate: admin:users/admin:groups filtered to some users could create any users and groups.
func TestAdvisory_GHSA_69wv_m5fw_2fhp_FilteredAdminScopesCreate(t *testing.T) {
	t.Parallel()
	lh := advisoryHub(t, "  load_roles:\n"+
		"    - name: staff-managers\n      scopes: ['admin:users!group=staff', 'admin:groups!group=staff', 'admin:users!user=alice']\n      users: [mallory]\n")
	for _, u := range []string{"mallory", "alice"} {
		if code := lh.api("POST", "/users/"+u, adminToken, nil, nil); code != 201 && code != 409 {
			t.Fatalf("create %s: %d", u, code)
		}
	}
	if code := lh.api("POST", "/groups/staff", adminToken, map[string]any{"users": []string{"alice"}}, nil); code != 201 {
		t.Fatalf("create group staff: %d", code)
	}
	tok := lh.newToken("mallory")
	attacks := []struct {
		name, method, path string
		body               any
	}{
		{"create users in bulk", "POST", "/users", map[string]any{"usernames": []string{"sneaky"}}},
		{"create a user outside the filter", "POST", "/users/sneaky2", nil},
		{"create groups in bulk", "POST", "/groups", map[string]any{"groups": []string{"newgroup"}}},
		{"create a group outside the filter", "POST", "/groups/newgroup2", nil},
	}
	for _, a := range attacks {
		var out any
		if code := lh.api(a.method, a.path, tok, a.body, &out); code < 400 {
			t.Errorf("%s: %d %v", a.name, code, out)
		}
	}
	for _, p := range []string{"/users/sneaky", "/users/sneaky2", "/groups/newgroup", "/groups/newgroup2"} {
		if code := lh.api("GET", p, adminToken, nil, nil); code != 404 {
			t.Errorf("%s exists after the attacks: %d", p, code)
		}
	}
	// The filter does cover alice: mallory may act on her, so the refusals are the filter's.
	if code := lh.api("PATCH", "/users/alice", tok, map[string]any{"name": "alice2"}, nil); code != 200 {
		t.Errorf("mallory renaming alice, whom her filter covers: %d", code)
	}
}

// TestAdvisory_GHSA_cw7p_q79f_m2v7_LogoutEndsServerCredentials: after logout the browser kept working credentials for the user's server.
func TestAdvisory_GHSA_cw7p_q79f_m2v7_LogoutEndsServerCredentials(t *testing.T) {
	t.Parallel()
	lh := advisoryHub(t, "")
	b := lh.browser()
	if !b.login("hank", "pw") {
		t.Fatal("login")
	}
	target := lh.startServer("hank")
	// The test server reports the environment the hub gave it, as the real one reads it.
	var env map[string]string
	if resp, err := http.Get(target + "/user/hank/env"); err != nil {
		t.Fatal(err)
	} else {
		json.NewDecoder(resp.Body).Decode(&env)
		resp.Body.Close()
	}
	clientID, secret, callback := env["JUPYTERHUB_CLIENT_ID"], env["JUPYTERHUB_API_TOKEN"], env["JUPYTERHUB_OAUTH_CALLBACK_URL"]
	if clientID == "" || secret == "" || callback == "" {
		t.Fatalf("the server's OAuth settings are missing: %v", env)
	}
	// The single-user server's OAuth dance for this browser, twice: two tabs each get a token.
	var tokens []string
	for i := range 2 {
		state := "tab" + string(rune('0'+i))
		q := url.Values{"client_id": {clientID}, "redirect_uri": {callback}, "response_type": {"code"}, "state": {state}}
		code, loc, body := b.get("/hub/api/oauth2/authorize?" + q.Encode())
		if code != http.StatusFound {
			t.Fatalf("authorize: %d %s", code, body)
		}
		codeVal := mustURL(t, loc).Query().Get("code")
		form := url.Values{"grant_type": {"authorization_code"}, "code": {codeVal}, "client_id": {clientID},
			"client_secret": {secret}, "redirect_uri": {callback}}
		resp, err := http.PostForm(lh.public+"/hub/api/oauth2/token", form)
		if err != nil {
			t.Fatal(err)
		}
		var tr map[string]any
		json.NewDecoder(resp.Body).Decode(&tr)
		resp.Body.Close()
		at, _ := tr["access_token"].(string)
		if at == "" || lh.api("GET", "/user", at, nil, nil) != 200 {
			t.Fatalf("token exchange: %d %v", resp.StatusCode, tr)
		}
		tokens = append(tokens, at)
	}
	if code, _, _ := b.get("/hub/logout"); code != http.StatusFound {
		t.Fatalf("logout: %d", code)
	}
	for i, at := range tokens {
		if code := lh.api("GET", "/user", at, nil, nil); code != http.StatusForbidden {
			t.Errorf("the server's OAuth token of tab %d still works after logout: %d", i, code)
		}
	}
	// And the browser cannot silently get a new one: authorize now asks it to log in.
	q := url.Values{"client_id": {clientID}, "redirect_uri": {callback}, "response_type": {"code"}, "state": {"again"}}
	code, loc, _ := b.get("/hub/api/oauth2/authorize?" + q.Encode())
	if code != http.StatusFound || !strings.Contains(loc, "/hub/login") {
		t.Errorf("authorize after logout: %d %q, want a redirect to the login page", code, loc)
	}
}

// TestAdvisory_GHSA_p43p_whwx_q52h_UnboundedUsernameInLogs: failed logins logged the whole posted username, filling logs and disk.
func TestAdvisory_GHSA_p43p_whwx_q52h_UnboundedUsernameInLogs(t *testing.T) {
	t.Parallel()
	lh := advisoryHub(t, "")
	huge := strings.Repeat("A", 512<<10) + "\nlevel=ERROR msg=forged"
	b := lh.browser()
	for range 5 {
		code, _, _ := b.post("/hub/login", "/hub/login", url.Values{"username": {huge}, "password": {"wrong"}})
		if code == http.StatusFound {
			t.Fatal("the huge name logged in")
		}
	}
	logs := lh.logs.String()
	// The pipeline logs the name normalised (lower case).
	if n := strings.Count(strings.ToLower(logs), strings.Repeat("a", 100)); n > 0 {
		t.Errorf("the logs carry the posted username (%d runs of 100 bytes, %d bytes of logs)", n, len(logs))
	}
	if len(logs) > 64<<10 {
		t.Errorf("five failed logins wrote %d bytes of logs", len(logs))
	}
	if strings.Contains(logs, "\nlevel=ERROR msg=forged") {
		t.Error("a newline in the username forged a log line")
	}
	if !strings.Contains(logs, "login") {
		t.Errorf("no log line about the failed logins at all (is the capture working?):\n%s", logs)
	}
}

// syncBuffer is a bytes.Buffer safe for the hub's concurrent log writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
