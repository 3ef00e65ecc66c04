package oauth

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"gohub/internal/store"
)

// authError is a failed authorization request. A fatal one (bad client or redirect_uri) is
// shown on the hub's error page; the others go back to the client's redirect_uri as
// error=…&error_description=…&state=… (RFC 6749 §4.1.2.1).
type authError struct {
	fatal bool
	code  string
	desc  string
}

func (e *authError) Error() string { return e.code + ": " + e.desc }

func fatalError(desc string) *authError {
	return &authError{fatal: true, code: "invalid_request", desc: desc}
}

// authRequest is a validated authorization request.
type authRequest struct {
	client      *store.OAuthClient
	redirectURI string
	state       string
	scope       string // the scope parameter, "" when absent
	challenge   string
	method      string
}

// single returns the one value of a parameter; a repeated parameter is an error.
func single(form url.Values, name string) (string, bool) {
	v := form[name]
	switch len(v) {
	case 0:
		return "", true
	case 1:
		return v[0], true
	}
	return "", false
}

// parseAuthorize validates client_id and redirect_uri (fatal errors), then response_type,
// state, scope and PKCE (redirected errors), as oauthlib does for JupyterHub.
func (p *Provider) parseAuthorize(ctx context.Context, form url.Values) (*authRequest, *authError, error) {
	clientID, ok := single(form, "client_id")
	if !ok {
		return nil, fatalError("Duplicate client_id parameter."), nil
	}
	if clientID == "" {
		return nil, fatalError("Missing client_id parameter."), nil
	}
	c, err := p.db.GetOAuthClient(ctx, clientID)
	if errors.Is(err, store.ErrNotFound) || err == nil && c.Secret == "" {
		// A client without a secret (the hub's own) cannot log anyone in.
		return nil, &authError{fatal: true, code: "invalid_client", desc: "Invalid client_id parameter value."}, nil
	}
	if err != nil {
		return nil, nil, err
	}
	redirectURI, ok := single(form, "redirect_uri")
	if !ok {
		return nil, fatalError("Duplicate redirect_uri parameter."), nil
	}
	if redirectURI == "" {
		redirectURI = c.RedirectURI
	}
	if redirectURI == "" || redirectURI != c.RedirectURI {
		return nil, fatalError("Mismatching redirect URI."), nil
	}
	req := &authRequest{client: c, redirectURI: redirectURI}
	// From here on errors go back to the client, with its state when there is one.
	req.state = form.Get("state")
	for _, name := range []string{"state", "response_type", "scope", "code_challenge", "code_challenge_method"} {
		if _, ok := single(form, name); !ok {
			return req, &authError{code: "invalid_request", desc: "Duplicate " + name + " parameter."}, nil
		}
	}
	switch rt := form.Get("response_type"); rt {
	case "code":
	case "":
		return req, &authError{code: "invalid_request", desc: "Missing response_type parameter."}, nil
	default:
		return req, &authError{code: "unsupported_response_type", desc: "Only response_type=code is supported."}, nil
	}
	req.scope = form.Get("scope")
	req.challenge = form.Get("code_challenge")
	if req.challenge != "" {
		req.method = form.Get("code_challenge_method")
		if req.method == "" {
			req.method = "plain" // RFC 7636 §4.3
		}
		if req.method != "S256" && req.method != "plain" {
			return req, &authError{code: "invalid_request", desc: "Transform algorithm not supported."}, nil
		}
		if !validVerifierText(req.challenge) {
			return req, &authError{code: "invalid_request", desc: "Invalid code_challenge."}, nil
		}
	} else if p.d.RequirePKCE {
		return req, &authError{code: "invalid_request", desc: "Code challenge required."}, nil
	}
	return req, nil, nil
}

// validVerifierText: 43–128 characters of [A-Za-z0-9-._~] (RFC 7636 §4.1, §4.2).
func validVerifierText(s string) bool {
	if len(s) < 43 || len(s) > 128 {
		return false
	}
	for i := range len(s) {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || strings.IndexByte("-._~", c) >= 0) {
			return false
		}
	}
	return true
}

// authorize answers GET and POST {base}hub/api/oauth2/authorize (protocol.md §1.9, §2.4 steps 2–7).
func (p *Provider) authorize(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodGet, http.MethodPost:
	default:
		// Not even HEAD: a GET may issue a code, which a HEAD must not (tornado answers 405 too).
		w.Header().Set("Allow", "GET, POST")
		p.errorPage(w, r, http.StatusMethodNotAllowed, "")
		return
	}
	ctx := r.Context()
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		p.errorPage(w, r, http.StatusBadRequest, "The request could not be read.")
		return
	}
	u, err := p.currentUser(ctx, r)
	if err != nil {
		p.log.Error("oauth authorize: look up login cookie", "err", err)
		p.errorPage(w, r, http.StatusInternalServerError, "")
		return
	}
	if u == nil {
		// Cookie authentication only, as tornado's @authenticated: GET goes to the login page
		// and comes back here, other methods are refused.
		if r.Method == http.MethodPost {
			p.errorPage(w, r, http.StatusForbidden, "")
			return
		}
		redirect(w, addParams(p.loginURL(r), "next", r.URL.RequestURI()))
		return
	}
	// A cookie-authenticated request is user activity (JupyterHub records it at most every
	// activity_resolution; TouchUser only moves last_activity forward).
	if err := p.db.TouchUser(ctx, u.ID, p.now()); err != nil {
		p.log.Warn("oauth authorize: record user activity", "user", u.Name, "err", err)
	}
	if r.Method == http.MethodPost && !p.d.Sessions.CheckXSRF(r, p.d.Sessions.XSRFID(r, u.CookieID)) {
		p.errorPage(w, r, http.StatusForbidden, "The authorization form is invalid or expired. Try again.")
		return
	}
	req, aerr, err := p.parseAuthorize(ctx, r.Form)
	if err != nil {
		p.log.Error("oauth authorize: look up client", "err", err)
		p.errorPage(w, r, http.StatusInternalServerError, "")
		return
	}
	if aerr != nil {
		p.fail(w, r, req, aerr)
		return
	}
	t, ok, err := p.clientTarget(ctx, req.client.Identifier, u)
	if err == nil && !ok {
		p.log.Error("oauth client has no server or service", "client", req.client.Identifier)
		p.errorPage(w, r, http.StatusInternalServerError, "OAuth configuration error")
		return
	}
	var allowed bool
	if err == nil {
		allowed, err = p.mayAccess(ctx, u, t)
	}
	if err != nil {
		p.log.Error("oauth authorize: access check", "client", req.client.Identifier, "err", err)
		p.errorPage(w, r, http.StatusInternalServerError, "")
		return
	}
	if !allowed {
		p.log.Warn("oauth: user may not access the client's resource", "user", u.Name, "client", req.client.Identifier)
		p.errorPage(w, r, http.StatusForbidden, "You do not have permission to access "+req.client.Description)
		return
	}
	if r.Method == http.MethodPost {
		p.confirmed(w, r, u, req, t)
		return
	}
	requested := strings.Fields(req.scope)
	if len(requested) == 0 {
		requested = defaultScopes(req.client, t)
	}
	scopes, err := p.validateScopes(ctx, requested, req.client, t, u)
	if err != nil {
		p.fail(w, r, req, &authError{code: "invalid_scope", desc: err.Error()})
		return
	}
	if scopes, err = p.userScopes(ctx, scopes, t, u); err == nil {
		var confirm bool
		if confirm, err = p.needsConfirm(ctx, u, req.client, t, scopes); err == nil && confirm {
			p.renderConfirm(w, r, u, req, t, scopes)
			return
		}
	}
	if err != nil {
		p.log.Error("oauth authorize: scopes", "user", u.Name, "client", req.client.Identifier, "err", err)
		p.errorPage(w, r, http.StatusInternalServerError, "")
		return
	}
	p.issueCode(w, r, u, req, scopes)
}

// confirmed handles the confirmation form: the scopes it carries (none means identify only)
// are validated again for the client and kept to what the user holds.
func (p *Provider) confirmed(w http.ResponseWriter, r *http.Request, u *store.User, req *authRequest, t target) {
	ctx := r.Context()
	submitted := r.PostForm["scopes"]
	if len(submitted) == 0 {
		submitted = []string{scopeIdentify}
	}
	scopes, err := p.validateScopes(ctx, submitted, req.client, t, u)
	if err != nil {
		p.fail(w, r, req, &authError{code: "invalid_scope", desc: err.Error()})
		return
	}
	if scopes, err = p.userScopes(ctx, scopes, t, u); err != nil {
		p.log.Error("oauth authorize: scopes", "user", u.Name, "client", req.client.Identifier, "err", err)
		p.errorPage(w, r, http.StatusInternalServerError, "")
		return
	}
	p.issueCode(w, r, u, req, scopes)
}

// needsConfirm: the confirmation page is skipped for the user's own servers, no-confirm
// clients, and clients the user already gave unexpired tokens covering the scopes (§2.4 step 6).
func (p *Provider) needsConfirm(ctx context.Context, u *store.User, c *store.OAuthClient, t target, scopes []string) (bool, error) {
	for _, sp := range u.Spawners {
		if sp.OAuthClientID == c.Identifier {
			return false, nil
		}
	}
	if p.noConfirm[c.Identifier] || t.service != nil && t.service.OAuthNoConfirm {
		return false, nil
	}
	tokens, err := p.db.ListTokens(ctx, store.KindUser, u.ID)
	if err != nil {
		return false, err
	}
	now := p.now()
	granted := map[string]bool{}
	for _, tok := range tokens {
		// Unlike JupyterHub, expired tokens do not count as an earlier authorization.
		if tok.ClientID != c.Identifier || tok.ExpiresAt != nil && !tok.ExpiresAt.After(now) {
			continue
		}
		for _, s := range tok.Scopes {
			granted[s] = true
		}
	}
	if len(granted) == 0 {
		return true, nil
	}
	return slices.ContainsFunc(scopes, func(s string) bool { return !granted[s] }), nil
}

// issueCode stores an authorization code for the request and sends the browser back to the
// client with it (§2.4 step 7).
func (p *Provider) issueCode(w http.ResponseWriter, r *http.Request, u *store.User, req *authRequest, scopes []string) {
	ctx := r.Context()
	sessionID := p.d.Sessions.EnsureSessionID(w, r)
	code := store.OAuthCode{
		ClientID: req.client.Identifier, ExpiresAt: p.now().Add(p.d.CodeTTL),
		RedirectURI: req.client.RedirectURI, SessionID: sessionID, UserID: u.ID, Scopes: scopes,
		CodeChallenge: req.challenge, CodeChallengeMethod: req.method,
	}
	var err error
	for range 3 { // a collision of 30 random characters is not expected; retry anyway
		code.Code = randomToken(tokenLength)
		if _, err = p.db.CreateOAuthCode(ctx, code); !errors.Is(err, store.ErrExists) {
			break
		}
	}
	if err != nil {
		p.log.Error("oauth authorize: store code", "user", u.Name, "client", req.client.Identifier, "err", err)
		p.errorPage(w, r, http.StatusInternalServerError, "")
		return
	}
	p.log.Info("oauth: authorization code issued", "user", u.Name, "client", req.client.Identifier)
	target := addParams(req.redirectURI, "code", code.Code)
	if req.state != "" {
		target = addParams(target, "state", req.state)
	}
	redirect(w, target)
}

// fail answers a failed authorization request: fatal errors on the error page (400), the
// others by redirect to the client.
func (p *Provider) fail(w http.ResponseWriter, r *http.Request, req *authRequest, e *authError) {
	p.log.Warn("oauth authorize refused", "error", e.code, "reason", e.desc)
	if e.fatal || req == nil {
		p.errorPage(w, r, http.StatusBadRequest, e.desc)
		return
	}
	target := addParams(req.redirectURI, "error", e.code)
	target = addParams(target, "error_description", e.desc)
	if req.state != "" {
		target = addParams(target, "state", req.state)
	}
	redirect(w, target)
}

// loginURL is where a browser that is not logged in goes.
func (p *Provider) loginURL(r *http.Request) string {
	if p.d.LoginURL != nil {
		if u := p.d.LoginURL(r); u != "" {
			return u
		}
	}
	return p.hubPrefix + "login"
}

// addParams appends key=value to a URL's query.
func addParams(target, key, value string) string {
	sep := "?"
	if strings.Contains(target, "?") {
		sep = "&"
	}
	return target + sep + url.QueryEscape(key) + "=" + url.QueryEscape(value)
}

// redirect answers 302 with target as it is.
func redirect(w http.ResponseWriter, target string) {
	w.Header().Set("Location", target)
	w.WriteHeader(http.StatusFound)
}
