package oauth_test

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
)

// standIn is a local stand-in for a provider's OAuth endpoints: an authorize endpoint that
// approves at once as the current user (no login form: the presets' tests are about the REST
// shapes, the real login form is exercised against the OpenID provider), and a token endpoint
// that checks the client, the code and PKCE as a real provider does. The provider-specific API
// is added on mux by each test.
type standIn struct {
	t   *testing.T
	srv *httptest.Server
	mux *http.ServeMux

	clientID, secret string

	mu        sync.Mutex
	user      string            // who approves at the authorize endpoint
	codes     map[string]grant  // code → grant
	tokens    map[string]string // access token → user
	authorize url.Values        // the last authorize request
	tokenForm url.Values        // the last token request's form
	basic     bool              // whether it authenticated with HTTP Basic
	// tokenExtra adds fields (an id_token) to a token response for user; nonce is the one sent
	// to the authorize endpoint.
	tokenExtra func(user, nonce string) map[string]any
}

type grant struct {
	user, challenge, redirect, nonce string
}

func newStandIn(t *testing.T, authorizePath, tokenPath string) *standIn {
	s := &standIn{t: t, mux: http.NewServeMux(), clientID: "hub-client", secret: "hub-secret",
		codes: map[string]grant{}, tokens: map[string]string{}}
	s.mux.HandleFunc("GET "+authorizePath, s.authorizeHandler)
	s.mux.HandleFunc("POST "+tokenPath, s.tokenHandler)
	s.srv = httptest.NewServer(s.mux)
	t.Cleanup(s.srv.Close)
	return s
}

func (s *standIn) as(user string) {
	s.mu.Lock()
	s.user = user
	s.mu.Unlock()
}

func (s *standIn) authorizeHandler(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.authorize = q
	if q.Get("client_id") != s.clientID || q.Get("response_type") != "code" {
		http.Error(w, "bad authorize request", 400)
		return
	}
	if q.Get("code_challenge_method") != "S256" || q.Get("code_challenge") == "" {
		http.Error(w, "PKCE required", 400)
		return
	}
	code := "code-" + s.user + "-" + q.Get("code_challenge")[:8]
	s.codes[code] = grant{user: s.user, challenge: q.Get("code_challenge"), redirect: q.Get("redirect_uri"), nonce: q.Get("nonce")}
	target, _ := url.Parse(q.Get("redirect_uri"))
	back := target.Query()
	back.Set("code", code)
	back.Set("state", q.Get("state"))
	target.RawQuery = back.Encode()
	http.Redirect(w, r, target.String(), http.StatusFound)
}

func (s *standIn) tokenHandler(w http.ResponseWriter, r *http.Request) {
	r.ParseForm()
	id, secret, basic := r.BasicAuth()
	if !basic {
		id, secret = r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.tokenForm, s.basic = r.PostForm, basic
	fail := func(code, desc string) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(400)
		json.NewEncoder(w).Encode(map[string]string{"error": code, "error_description": desc})
	}
	if id != s.clientID || secret != s.secret {
		fail("invalid_client", "bad client credentials")
		return
	}
	g, ok := s.codes[r.PostForm.Get("code")]
	delete(s.codes, r.PostForm.Get("code"))
	if r.PostForm.Get("grant_type") != "authorization_code" || !ok {
		fail("invalid_grant", "unknown code")
		return
	}
	sum := sha256.Sum256([]byte(r.PostForm.Get("code_verifier")))
	if base64.RawURLEncoding.EncodeToString(sum[:]) != g.challenge {
		fail("invalid_grant", "PKCE verification failed")
		return
	}
	if r.PostForm.Get("redirect_uri") != g.redirect {
		fail("invalid_grant", "redirect_uri differs")
		return
	}
	access := "tok-" + g.user + "-" + g.challenge[:6]
	s.tokens[access] = g.user
	resp := map[string]any{"access_token": access, "token_type": "bearer", "scope": "read:org user:email"}
	if s.tokenExtra != nil {
		for k, v := range s.tokenExtra(g.user, g.nonce) {
			resp[k] = v
		}
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(resp)
}

// bearer returns the user of the request's access token, or answers 401 and returns "".
func (s *standIn) bearer(w http.ResponseWriter, r *http.Request) string {
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	user := s.tokens[tok]
	s.mu.Unlock()
	if !ok || user == "" {
		w.WriteHeader(http.StatusUnauthorized)
		io.WriteString(w, `{"message":"Bad credentials"}`)
		return ""
	}
	return user
}

// jsonReply writes v as JSON.
func jsonReply(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(v)
}

// presetLogin logs in through the hub's oauth_login with a fresh browser as user and returns
// the final response.
func presetLogin(t *testing.T, th *testHub, s *standIn, user string) (*http.Response, string) {
	t.Helper()
	s.as(user)
	return get(t, browser(t), th.srv.URL+"/hub/oauth_login?next=%2Fhub%2Fhome")
}

// startPresetHub runs a hub with the given config (the @DB@ placeholder is filled in).
func startPresetHub(t *testing.T, yaml string) *testHub {
	srv, handler := newHubServer(t)
	return startHub(t, srv, handler, yaml)
}
