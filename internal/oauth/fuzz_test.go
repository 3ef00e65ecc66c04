package oauth

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// Whatever the query, the authorize endpoint answers without a server error and redirects
// only to the login page or to the client's registered redirect_uri (no open redirect).
func FuzzAuthorizeQuery(f *testing.F) {
	for _, seed := range []string{
		"client_id=jupyterhub-user-alice&redirect_uri=%2Fuser%2Falice%2Foauth_callback&response_type=code&state=x",
		"client_id=jupyterhub-user-alice&redirect_uri=https%3A%2F%2Fevil.example%2F&response_type=code",
		"client_id=jupyterhub-user-alice&response_type=token&state=%0d%0aSet-Cookie:x",
		"client_id=jupyterhub-user-alice&response_type=code&scope=inherit+admin:users&code_challenge=" + strings.Repeat("a", 43),
		"client_id=jupyterhub-user-alice&client_id=x",
		"client_id=jupyterhub&redirect_uri=",
		"%zz=1&client_id=jupyterhub-user-alice",
	} {
		f.Add(seed)
	}
	h := newHub(f)
	var cookies []*http.Cookie
	rec := httptest.NewRecorder()
	h.sessions.SetLogin(rec, h.users["alice"].CookieID)
	cookies = rec.Result().Cookies()
	f.Fuzz(func(t *testing.T, query string) {
		req := httptest.NewRequest("GET", authorizePath, nil)
		req.URL.RawQuery = query
		for _, c := range cookies {
			req.AddCookie(c)
		}
		w := httptest.NewRecorder()
		h.oauth.authorize(w, req)
		if w.Code >= 500 {
			t.Fatalf("status %d for %q", w.Code, query)
		}
		if loc := w.Header().Get("Location"); loc != "" &&
			!strings.HasPrefix(loc, "/user/alice/oauth_callback?") && !strings.HasPrefix(loc, "/hub/login?") {
			t.Fatalf("redirect to %q for %q", loc, query)
		}
	})
}
