package oauth

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"gohub/internal/auth"
)

// RegisterPages implements auth.PageProvider: GET {prefix}oauth_login and
// GET {prefix}oauth_callback.
func (a *Authenticator) RegisterPages(mux *http.ServeMux, d auth.PageDeps) {
	a.mu.Lock()
	a.prefix = d.Prefix
	a.mu.Unlock()
	mux.HandleFunc("GET "+d.Prefix+"oauth_login", func(w http.ResponseWriter, r *http.Request) { a.login(w, r, d) })
	mux.HandleFunc("GET "+d.Prefix+"oauth_callback", func(w http.ResponseWriter, r *http.Request) { a.callback(w, r, d) })
}

// login answers GET oauth_login: remember a new state in the state cookie, then send the
// browser to the provider's authorization endpoint.
func (a *Authenticator) login(w http.ResponseWriter, r *http.Request, d auth.PageDeps) {
	if m := a.missing(); len(m) > 0 {
		a.log.Error("oauth login: not configured", "missing", strings.Join(m, "; "))
		d.Host.Error(w, r, http.StatusInternalServerError, "Sign-in with "+a.cfg.LoginService+" is not configured on this hub yet. Please tell the hub administrator.")
		return
	}
	ep, err := a.endpoints(r.Context())
	if err != nil {
		a.log.Error("oauth login: provider unavailable", "err", err)
		d.Host.Error(w, r, http.StatusBadGateway, "The identity provider cannot be reached right now. Please try again later.")
		return
	}
	next := r.URL.Query().Get("next")
	if len(next) > maxNextBytes {
		// Sealed into the cookie it would pass the 4096 bytes browsers keep, and the callback
		// would find no state: the login goes on without it.
		a.log.Warn("oauth login: next is too long to keep; the login will land on the default page", "bytes", len(next))
		next = ""
	}
	st := &loginState{
		ID:       randomID(),
		Next:     next,
		Redirect: a.redirectURI(r, d.Prefix),
		Expires:  time.Now().Add(stateTTL).Unix(),
	}
	var opts []oauth2.AuthCodeOption
	if a.cfg.EnablePKCE {
		st.Verifier = oauth2.GenerateVerifier()
		opts = append(opts, oauth2.S256ChallengeOption(st.Verifier))
	}
	if a.isOIDC() {
		st.Nonce = randomID()
		opts = append(opts, oauth2.SetAuthURLParam("nonce", st.Nonce))
	}
	for k, v := range a.cfg.ExtraAuthorizeParams {
		opts = append(opts, oauth2.SetAuthURLParam(k, v))
	}
	a.states.setCookie(w, r, d.Prefix, st)
	target := a.oauth2Config(ep, st.Redirect).AuthCodeURL(urlState(st.ID), opts...)
	w.Header().Set("Cache-Control", "no-store")
	http.Redirect(w, r, target, http.StatusFound)
}

// maxNextBytes bounds the next kept in the state cookie: with the rest of the state, sealing
// and base64 the cookie stays well under the 4096 bytes browsers keep.
const maxNextBytes = 2048

// isOIDC reports whether the login asks for OpenID Connect (scope openid), so an ID token and
// a nonce are expected.
func (a *Authenticator) isOIDC() bool {
	for _, s := range a.cfg.Scope {
		if s == "openid" {
			return true
		}
	}
	return false
}

// redirectURI is oauth_callback_url, or the callback on the host the browser used.
func (a *Authenticator) redirectURI(r *http.Request, prefix string) string {
	if a.cfg.OAuthCallbackURL != "" {
		return a.cfg.OAuthCallbackURL
	}
	scheme := "http"
	if isHTTPS(r) {
		scheme = "https"
	}
	return (&url.URL{Scheme: scheme, Host: r.Host, Path: prefix + "oauth_callback"}).String()
}

// callback answers GET oauth_callback: check the state (cookie and URL agree, not used
// before), exchange the code, build the identity and complete the hub login. Every failure
// is a readable error page.
func (a *Authenticator) callback(w http.ResponseWriter, r *http.Request, d auth.PageDeps) {
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		msg := cmpOr(q.Get("error_description"), e)
		a.log.Warn("oauth callback: the provider returned an error", "error", truncate(e, 100), "description", truncate(q.Get("error_description"), 200))
		d.Host.Error(w, r, http.StatusBadRequest, "OAuth error: "+truncate(msg, 300))
		return
	}
	cookie, err := r.Cookie(stateCookie)
	if err != nil {
		a.log.Warn("oauth callback without a state cookie")
		d.Host.Error(w, r, http.StatusBadRequest, "OAuth state missing from cookies. Please sign in again.")
		return
	}
	clearStateCookie(w, r, d.Prefix)
	now := time.Now()
	st, err := a.states.open(cookie.Value, now)
	if err != nil {
		a.log.Warn("oauth callback: bad state cookie", "err", err)
		d.Host.Error(w, r, http.StatusBadRequest, "OAuth state invalid or expired. Please sign in again.")
		return
	}
	if !sameState(q.Get("state"), st.ID) {
		a.log.Warn("oauth callback: state does not match the cookie (forged or stale)")
		d.Host.Error(w, r, http.StatusBadRequest, "OAuth state mismatch. Please sign in again.")
		return
	}
	if !a.states.consume(st.ID, now) {
		a.log.Warn("oauth callback: state used before (replay)")
		d.Host.Error(w, r, http.StatusBadRequest, "This sign-in link was already used. Please sign in again.")
		return
	}
	code := q.Get("code")
	if code == "" {
		d.Host.Error(w, r, http.StatusBadRequest, "OAuth callback made without a code.")
		return
	}
	id, err := a.exchange(r.Context(), code, st)
	if err != nil {
		a.loginError(w, r, d, err)
		return
	}
	r = r.WithContext(contextWithIdentity(r.Context(), id))
	if err := d.Host.CompleteLogin(w, r, st.Next); err != nil {
		a.loginError(w, r, d, err)
	}
}

// loginError shows why a callback did not log in: a refusal gets 403 with the authenticator's
// message or custom_403_message, anything else 500 (502 when the provider failed).
func (a *Authenticator) loginError(w http.ResponseWriter, r *http.Request, d auth.PageDeps, err error) {
	var shown *auth.Rejection
	switch {
	case errors.As(err, &shown):
		d.Host.Error(w, r, http.StatusForbidden, shown.Message)
	case errors.Is(err, auth.ErrRejected):
		d.Host.Error(w, r, http.StatusForbidden, a.cfg.Custom403Message)
	case errors.Is(err, errProvider):
		a.log.Error("oauth login failed at the provider", "err", err)
		d.Host.Error(w, r, http.StatusBadGateway, "The identity provider did not answer as expected. Please try again later.")
	default:
		a.log.Error("oauth login failed", "err", err)
		d.Host.Error(w, r, http.StatusInternalServerError, "Login is not available right now. Please try again later.")
	}
}

// truncate shortens provider-supplied text before it is shown or logged.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}
