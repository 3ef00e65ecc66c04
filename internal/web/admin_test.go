package web

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"gohub/internal/store"
)

var dataXSRF = regexp.MustCompile(`data-xsrf="([^"]+)"`)

// The admin page: login first; admins and holders of admin-ui get it, with the _xsrf token
// its script sends; everyone else gets the 403 page.
func TestAdminPageAccess(t *testing.T) {
	e := newEnv(t, newAuth())
	ctx := t.Context()
	if r := e.browser().get("/hub/admin?x=1"); r.StatusCode != http.StatusFound ||
		r.Header.Get("Location") != "/hub/login?next=%2Fhub%2Fadmin%3Fx%3D1" {
		t.Fatalf("anonymous: %d %q", r.StatusCode, r.Header.Get("Location"))
	}

	alice := loginAs(e, "alice", "wonderland")
	r := alice.get("/hub/admin")
	if r.StatusCode != http.StatusForbidden || !strings.Contains(r.body, "for administrators") {
		t.Errorf("non-admin: %d %.200s", r.StatusCode, r.body)
	}
	if strings.Contains(alice.get("/hub/home").body, `href="/hub/admin"`) {
		t.Error("home links a non-admin to the admin page")
	}

	boss := loginAs(e, "Boss", "secret")
	r = boss.get("/hub/admin")
	if r.StatusCode != http.StatusOK {
		t.Fatalf("admin: %d %.300s", r.StatusCode, r.body)
	}
	m := dataXSRF.FindStringSubmatch(r.body)
	if c := boss.cookie("/hub/", "_xsrf"); m == nil || c == nil || m[1] != c.Value {
		t.Errorf("page token %v, cookie %+v", m, c)
	}
	for _, want := range []string{`id="users-table"`, `id="add-users"`, `id="groups-table"`, `data-api="/hub/api/"`,
		`<script src="/hub/static/admin.js?v=`, `<label for="user-search">`, `aria-sort="none"`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("admin page lacks %s", want)
		}
	}
	if !strings.Contains(boss.get("/hub/home").body, `href="/hub/admin"`) {
		t.Error("home does not link an admin to the admin page")
	}

	// A role with admin-ui opens the page for a user who is not an admin, as upstream.
	if _, err := e.db.UpsertRole(ctx, store.Role{Name: "helpdesk", Scopes: []string{"admin-ui", "list:users"}}); err != nil {
		t.Fatal(err)
	}
	if err := e.db.GrantRole(ctx, "helpdesk", store.KindUser, "alice"); err != nil {
		t.Fatal(err)
	}
	if r := alice.get("/hub/admin"); r.StatusCode != http.StatusOK {
		t.Errorf("admin-ui holder: %d", r.StatusCode)
	}
	// It grants the page only: no access:servers, so no Open links.
	if r := alice.get("/hub/admin"); !strings.Contains(r.body, `data-access="false"`) {
		t.Error("admin-ui alone shows Open links")
	}
}

// The scripts and the stylesheet are served from the binary, nothing from elsewhere.
func TestAdminAssetsEmbedded(t *testing.T) {
	e := newEnv(t, newAuth())
	b := loginAs(e, "Boss", "secret")
	for _, page := range []string{"/hub/admin", "/hub/token"} {
		r := b.get(page)
		if strings.Contains(r.body, "http://") || strings.Contains(r.body, "https://") || strings.Contains(r.body, `src="//`) {
			t.Errorf("%s refers to another origin", page)
		}
	}
	for _, f := range []string{"admin.js", "token.js"} {
		r := b.get("/hub/static/" + f)
		if r.StatusCode != 200 || !strings.Contains(r.Header.Get("Content-Type"), "javascript") || len(r.body) < 1000 {
			t.Errorf("%s: %d %q %d bytes", f, r.StatusCode, r.Header.Get("Content-Type"), len(r.body))
		}
	}
}

// The token page lists the user's API tokens (newest first, expired ones left out) and the
// OAuth clients holding tokens, each with the ids its Revoke button deletes.
func TestTokenPageLists(t *testing.T) {
	e := newEnv(t, newAuth())
	ctx := t.Context()
	if r := e.browser().get("/hub/token"); r.StatusCode != http.StatusFound {
		t.Fatalf("anonymous: %d", r.StatusCode)
	}
	b := loginAs(e, "alice", "wonderland")
	r := b.get("/hub/token")
	if r.StatusCode != 200 || !strings.Contains(r.body, `id="no-api-tokens">`) || !strings.Contains(r.body, `id="no-clients"`) {
		t.Fatalf("empty token page: %d", r.StatusCode)
	}
	u, _ := e.db.GetUser(ctx, "alice")
	if _, err := e.db.UpsertOAuthClient(ctx, store.OAuthClient{Identifier: "service-notebook-viewer",
		Description: "Notebook <viewer>", Secret: store.HashToken("s3cret-s3cret", 1), RedirectURI: "http://x/cb"}); err != nil {
		t.Fatal(err)
	}
	past, future := time.Now().Add(-time.Hour), time.Now().Add(48*time.Hour)
	mk := func(plain, note, client string, exp *time.Time, scopes ...string) *store.Token {
		tok, err := e.db.CreateToken(ctx, store.NewToken{Plain: plain, Rounds: 1, UserID: &u.ID, ClientID: client,
			ExpiresAt: exp, Note: note, Scopes: scopes})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	old := mk("token-one-aaaa", "old laptop", "", nil, "inherit")
	mk("token-two-bbbb", "expired", "", &past)
	newer := mk("token-three-cc", "ci <runner>", "", &future, "read:users:name")
	o1 := mk("token-oauth-11", "", "service-notebook-viewer", nil, "identify")
	o2 := mk("token-oauth-22", "", "service-notebook-viewer", nil, "read:users:name")

	r = b.get("/hub/token")
	body := r.body
	iOld, iNew := strings.Index(body, "old laptop"), strings.Index(body, "ci &lt;runner&gt;")
	if iOld < 0 || iNew < 0 || iNew > iOld {
		t.Errorf("API tokens newest first and escaped: old at %d, new at %d", iOld, iNew)
	}
	if strings.Contains(body, "expired") {
		t.Error("an expired token is listed")
	}
	if !strings.Contains(body, "All of yours") || !strings.Contains(body, "<code>read:users:name</code>") {
		t.Error("scopes not shown")
	}
	want := `data-token-ids="` + tokenID(o2) + ` ` + tokenID(o1) + `"`
	if !strings.Contains(body, "Notebook &lt;viewer&gt;") || !strings.Contains(body, want) {
		t.Errorf("OAuth client row: want %s", want)
	}
	for _, tok := range []*store.Token{old, newer} {
		if !strings.Contains(body, `data-token-id="`+tokenID(tok)+`"`) {
			t.Errorf("no row for %s", tokenID(tok))
		}
	}
	if m := dataXSRF.FindStringSubmatch(body); m == nil || m[1] != b.cookie("/hub/", "_xsrf").Value {
		t.Error("token page without the _xsrf token of its cookie")
	}
}

func tokenID(t *store.Token) string { return "a" + strconv.FormatInt(t.ID, 10) }

// loginAs returns a browser logged in on e as user.
func loginAs(e *env, user, password string) *browser {
	e.t.Helper()
	b := e.browser()
	if r := b.login("?next=%2Fhub%2Fhome", user, password); r.StatusCode != http.StatusFound {
		e.t.Fatalf("login %s: %d %s", user, r.StatusCode, r.body)
	}
	return b
}

// A template directory replaces the admin and token pages like the others.
func TestAdminTemplateOverride(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "token.html"), []byte(`{{define "body"}}<p id="custom">mine, {{.User.Name}}</p>{{end}}`), 0o644); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, newAuth(), func(d *Deps) { d.TemplateDir = dir })
	r := loginAs(e, "alice", "wonderland").get("/hub/token")
	if !strings.Contains(r.body, `<p id="custom">mine, alice</p>`) {
		t.Errorf("override not used: %.300s", r.body)
	}
}

// The page's token is what the REST API wants from a cookie-authenticated script: without it a
// request is refused, with it (in the X-XSRFToken header, as admin.js sends it) it goes through.
func TestAdminPageTokenWorksWithAPI(t *testing.T) {
	ae := newAPIEnv(t, slowStart(0))
	b := ae.browser()
	if r := b.login("?next=%2Fhub%2Fadmin", "Boss", "secret"); r.StatusCode != http.StatusFound {
		t.Fatalf("login: %d", r.StatusCode)
	}
	r := b.get("/hub/admin")
	m := dataXSRF.FindStringSubmatch(r.body)
	if m == nil {
		t.Fatalf("no token on the admin page: %d", r.StatusCode)
	}
	post := func(hdr ...string) *response {
		req, _ := http.NewRequest("POST", ae.srv.URL+"/hub/api/users", strings.NewReader(`{"usernames": ["erin", "frank"]}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Sec-Fetch-Mode", "cors")
		for i := 0; i+1 < len(hdr); i += 2 {
			req.Header.Set(hdr[i], hdr[i+1])
		}
		resp, err := b.c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		return &response{Response: resp, body: string(body)}
	}
	if r := post(); r.StatusCode != http.StatusForbidden {
		t.Errorf("without _xsrf: %d %s", r.StatusCode, r.body)
	}
	if r := post("X-XSRFToken", "forged"+m[1]); r.StatusCode != http.StatusForbidden {
		t.Errorf("with a wrong _xsrf: %d %s", r.StatusCode, r.body)
	}
	if r := post("X-XSRFToken", m[1]); r.StatusCode != http.StatusCreated {
		t.Errorf("with the page's _xsrf: %d %s", r.StatusCode, r.body)
	}
	if _, err := ae.db.GetUser(t.Context(), "frank"); err != nil {
		t.Errorf("frank not created: %v", err)
	}
}
