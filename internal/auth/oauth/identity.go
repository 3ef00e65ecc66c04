package oauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"gohub/internal/auth"
)

// contextWithIdentity returns ctx carrying the identity Authenticate will return.
func contextWithIdentity(ctx context.Context, id *auth.Identity) context.Context {
	return context.WithValue(ctx, identityKey{}, id)
}

// exchange trades the callback's code for tokens and builds the identity.
func (a *Authenticator) exchange(ctx context.Context, code string, st *loginState) (*auth.Identity, error) {
	ep, err := a.endpoints(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errProvider, err)
	}
	var opts []oauth2.AuthCodeOption
	if st.Verifier != "" {
		opts = append(opts, oauth2.VerifierOption(st.Verifier))
	}
	for k, v := range a.cfg.TokenParams {
		opts = append(opts, oauth2.SetAuthURLParam(k, v))
	}
	tok, err := a.oauth2Config(ep, st.Redirect).Exchange(a.httpCtx(ctx), code, opts...)
	if err != nil {
		return nil, tokenError("code exchange", err)
	}
	return a.identity(ctx, ep, tok, st.Nonce, nil)
}

// tokenError turns a failed token request into a refusal (the provider said no: a used or
// wrong code, a revoked refresh token) or a provider failure.
func tokenError(what string, err error) error {
	var re *oauth2.RetrieveError
	if errors.As(err, &re) && re.Response != nil && re.Response.StatusCode < 500 {
		msg := cmpOr(re.ErrorDescription, re.ErrorCode, "the provider refused the "+what)
		return fmt.Errorf("%w: %s: %s", auth.ErrRejected, what, truncate(msg, 200))
	}
	return fmt.Errorf("%w: %s: %w", errProvider, what, err)
}

// statusError is a non-2xx answer of a provider API.
type statusError struct {
	url  string
	code int
}

func (e *statusError) Error() string { return fmt.Sprintf("GET %s: HTTP %d", e.url, e.code) }

// Is makes a 5xx an errProvider.
func (e *statusError) Is(target error) bool { return target == errProvider && e.code >= 500 }

// is4xx reports whether err is a provider API's 4xx (the token no longer works).
func is4xx(err error) bool {
	var se *statusError
	return errors.As(err, &se) && se.code >= 400 && se.code < 500
}

// identity builds the login's identity from a token response: verify the ID token, read the
// user info, let the provider add its part, then name, groups and admin flag. prev is the
// auth_state being refreshed (nil at login): an ID token the refresh did not renew is kept.
func (a *Authenticator) identity(ctx context.Context, ep *endpoints, tok *oauth2.Token, nonce string, prev map[string]any) (*auth.Identity, error) {
	rawID, _ := tok.Extra("id_token").(string)
	var claims map[string]any
	if rawID != "" {
		c, err := a.verifyIDToken(ctx, ep, rawID, nonce)
		if err != nil {
			return nil, err
		}
		claims = c
	} else if prev != nil {
		rawID, _ = prev["id_token"].(string)
	}

	var info map[string]any
	if a.cfg.UserdataFromIDToken {
		if claims == nil {
			if prev == nil {
				return nil, fmt.Errorf("%w: the provider sent no ID token", errProvider)
			}
			// A refresh without a new ID token: the stored user info stands.
			info, _ = prev[a.p.userKey()].(map[string]any)
		} else {
			info = claims
		}
	} else {
		var err error
		if info, err = a.userinfo(ctx, ep.userinfo, tok.AccessToken); err != nil {
			return nil, err
		}
	}
	if info == nil {
		return nil, fmt.Errorf("%w: no user info", errProvider)
	}
	// OpenID Connect: the userinfo's sub must be the ID token's (Core §5.3.2).
	if claims != nil && !a.cfg.UserdataFromIDToken {
		if sub, _ := info["sub"].(string); sub != "" && sub != claims["sub"] {
			a.log.Warn("userinfo refused: its sub differs from the ID token's")
			return nil, auth.Reject(msgBadIDToken)
		}
	}

	refresh := tok.RefreshToken
	if refresh == "" && prev != nil {
		refresh, _ = prev["refresh_token"].(string)
	}
	scope := stringList(tok.Extra("scope"))
	if scope == nil && prev != nil {
		scope = stringList(prev["scope"])
	}
	if scope == nil {
		scope = slices.Clone(a.cfg.Scope)
	}
	resp := map[string]any{"access_token": tok.AccessToken, "token_type": tok.TokenType}
	for _, k := range []string{"refresh_token", "id_token", "scope", "expires_in"} {
		if v := tok.Extra(k); v != nil {
			resp[k] = v
		}
	}
	state := map[string]any{
		"access_token":   tok.AccessToken,
		"refresh_token":  nilIfEmpty(refresh),
		"id_token":       nilIfEmpty(rawID),
		"scope":          scope,
		"token_response": resp,
		a.p.userKey():    info,
	}
	if !tok.Expiry.IsZero() {
		state["expires_at"] = tok.Expiry.Unix()
	}
	// A refresh that only checked the stored token keeps what the provider said when it issued it.
	if prev != nil && tok.AccessToken == prev["access_token"] {
		for _, k := range []string{"token_response", "expires_at"} {
			if v, ok := prev[k]; ok {
				state[k] = v
			}
		}
	}
	if err := a.p.enrich(ctx, a, tok, info, state); err != nil {
		return nil, err
	}
	name, err := a.username(info)
	if err != nil {
		return nil, err
	}
	if err := a.checkVerifiedEmail(info); err != nil {
		return nil, err
	}
	id := &auth.Identity{Name: name, AuthState: state}
	if groups, ok := a.groups(state); ok && a.cfg.ManageGroups {
		id.Groups = groups
		if len(a.cfg.AdminGroups) > 0 {
			admin := slices.ContainsFunc(a.cfg.AdminGroups, func(g string) bool { return slices.Contains(id.Groups, g) })
			id.Admin = &admin
		}
	}
	return id, nil
}

// groups finds the user's groups in auth_state: at auth_state_groups_key (a missing key is no
// groups), else the provider's own (GitHub teams). ok false means the groups are unknown, and
// the user's membership is left as it is.
func (a *Authenticator) groups(state map[string]any) ([]string, bool) {
	if a.groupsKey != "" {
		g := stringList(lookupPath(state, a.groupsKey))
		if g == nil {
			g = []string{}
		}
		return g, true
	}
	if gr, ok := a.p.(grouper); ok {
		return gr.groups(state)
	}
	return nil, false
}

// verifyIDToken checks an ID token's signature against the provider's keys, its issuer,
// audience, expiry and (at login) nonce, and returns its claims. Without a key set the token is
// not trusted: nil claims.
func (a *Authenticator) verifyIDToken(ctx context.Context, ep *endpoints, raw, nonce string) (map[string]any, error) {
	if ep.verifier == nil {
		return nil, nil
	}
	t, err := ep.verifier.Verify(a.httpCtx(ctx), raw)
	if err != nil {
		a.log.Warn("ID token refused", "err", err)
		return nil, auth.Reject(msgBadIDToken)
	}
	if nonce != "" && t.Nonce != nonce {
		a.log.Warn("ID token refused: nonce mismatch")
		return nil, auth.Reject(msgBadIDToken)
	}
	var claims map[string]any
	if err := t.Claims(&claims); err != nil {
		return nil, fmt.Errorf("%w: ID token claims: %w", errProvider, err)
	}
	return claims, nil
}

// msgBadIDToken is shown when the provider's ID token does not verify; the reason is logged.
const msgBadIDToken = "The identity provider's answer could not be verified. Please sign in again."

// userinfo reads the user info endpoint with the access token (header or url, as configured).
func (a *Authenticator) userinfo(ctx context.Context, endpoint, token string) (map[string]any, error) {
	if endpoint == "" {
		return nil, fmt.Errorf("%w: no user info endpoint", errProvider)
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil, err
	}
	q := u.Query()
	for k, v := range a.cfg.UserdataParams {
		q.Set(k, v)
	}
	if a.cfg.UserdataTokenMethod == "url" {
		q.Set("access_token", token)
	}
	u.RawQuery = q.Encode()
	var info map[string]any
	if err := a.getJSON(ctx, u.String(), token, &info); err != nil {
		return nil, err
	}
	return info, nil
}

// getJSON GETs url with the bearer token and decodes a JSON answer into out (nil: ignore the
// body). A non-2xx answer is a *statusError.
func (a *Authenticator) getJSON(ctx context.Context, target, token string, out any) error {
	_, err := a.get(ctx, target, token, out)
	return err
}

// get is getJSON that also returns the response headers (for pagination).
func (a *Authenticator) get(ctx context.Context, target, token string, out any) (http.Header, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return nil, err
	}
	if token != "" && a.cfg.UserdataTokenMethod != "url" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "gohub")
	resp, err := a.client.Do(req)
	if err != nil {
		// The *url.Error names the whole URL, whose query may hold the access token
		// (userdata_token_method url): it is logged, so only the redacted URL stays.
		var ue *url.Error
		if errors.As(err, &ue) {
			ue.URL = redact(ue.URL)
		}
		return nil, fmt.Errorf("%w: %w", errProvider, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, fmt.Errorf("%w: read %s: %w", errProvider, redact(target), err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return resp.Header, &statusError{url: redact(target), code: resp.StatusCode}
	}
	if out != nil && len(body) > 0 {
		if err := json.Unmarshal(body, out); err != nil {
			return nil, fmt.Errorf("%w: %s: not JSON: %w", errProvider, redact(target), err)
		}
	}
	return resp.Header, nil
}

// redact drops the query (it may hold an access token) from a URL for messages.
func redact(target string) string {
	if i := strings.IndexByte(target, '?'); i >= 0 {
		return target[:i]
	}
	return target
}

// username takes the username from the user info: the provider's own rule, or username_claim
// (a claim name, or a dotted path into the claims).
func (a *Authenticator) username(info map[string]any) (string, error) {
	if n, ok := a.p.(namer); ok {
		return n.username(a, info)
	}
	v := lookupPath(info, a.cfg.UsernameClaim)
	name := ""
	switch t := v.(type) {
	case string:
		name = t
	case float64, json.Number:
		name = scalarString(t)
	}
	if name == "" {
		keys := make([]string, 0, len(info))
		for k := range info {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		return "", fmt.Errorf("%w: the user info has no %q claim (it has: %s); set username_claim", errProvider, a.cfg.UsernameClaim, strings.Join(keys, ", "))
	}
	return name, nil
}

// checkVerifiedEmail refuses a username taken from an email claim unless the provider says
// the address is verified (email_verified, or Google's verified_email, true): at many
// providers (Auth0, Azure AD's email claim) anyone may set any address, and the username is
// the hub account (upstream's GHSA-rrvg-cxh4-qhrv, fixed there for Auth0 only). A provider
// that never sends the claim needs allow_unverified_email.
func (a *Authenticator) checkVerifiedEmail(info map[string]any) error {
	claim := a.cfg.UsernameClaim
	if a.cfg.AllowUnverifiedEmail || (claim != "email" && !strings.HasSuffix(claim, ".email")) {
		return nil
	}
	for _, k := range []string{"email_verified", "verified_email"} {
		switch v := info[k].(type) {
		case bool:
			if v {
				return nil
			}
		case string:
			if strings.EqualFold(v, "true") {
				return nil
			}
		}
	}
	email, _ := lookupPath(info, claim).(string)
	return auth.Reject(fmt.Sprintf("Login with unverified email %s is not allowed", email))
}

// lookupPath finds key in m: the key itself if present (claims such as
// "https://example.org/roles" contain dots), else a dotted path through nested objects.
func lookupPath(m map[string]any, key string) any {
	if key == "" || m == nil {
		return nil
	}
	if v, ok := m[key]; ok {
		return v
	}
	head, rest, found := strings.Cut(key, ".")
	if !found {
		return nil
	}
	next, ok := m[head].(map[string]any)
	if !ok {
		return nil
	}
	return lookupPath(next, rest)
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// RefreshUser implements auth.UserRefresher as upstream's refresh_user does: the stored access
// token is checked against the user info endpoint (or the stored ID token's expiry with
// userdata_from_id_token); when the provider refuses it or it has expired, the refresh token
// gets new tokens. Groups and admin are decided again from the fresh user info. No auth_state,
// a refused refresh token or no refresh token mean the user must log in again.
func (a *Authenticator) RefreshUser(ctx context.Context, name string, state map[string]any) (*auth.Identity, error) {
	if state == nil {
		return nil, fmt.Errorf("%w: no auth_state to refresh from", auth.ErrRejected)
	}
	ep, err := a.endpoints(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errProvider, err)
	}
	access, _ := state["access_token"].(string)
	refresh, _ := state["refresh_token"].(string)
	expired := false
	if exp, ok := number(state["expires_at"]); ok && time.Now().Unix() >= exp {
		expired = true
	}
	if a.cfg.UserdataFromIDToken {
		raw, _ := state["id_token"].(string)
		if raw == "" {
			expired = true
		} else if _, err := a.verifyIDToken(ctx, ep, raw, ""); err != nil {
			expired = true
		}
	}
	if access != "" && !expired {
		id, err := a.identity(ctx, ep, &oauth2.Token{AccessToken: access, TokenType: "Bearer"}, "", state)
		switch {
		case err == nil:
			return a.renamed(id, name), nil
		case !is4xx(err):
			return nil, err
		}
		a.log.Info("access token no longer accepted", "user", name)
	}
	if refresh == "" {
		return nil, fmt.Errorf("%w: the access token expired and there is no refresh token", auth.ErrRejected)
	}
	src := a.oauth2Config(ep, "").TokenSource(a.httpCtx(ctx), &oauth2.Token{RefreshToken: refresh, Expiry: time.Unix(1, 0)})
	tok, err := src.Token()
	if err != nil {
		return nil, tokenError("refresh", err)
	}
	id, err := a.identity(ctx, ep, tok, "", state)
	if is4xx(err) {
		return nil, fmt.Errorf("%w: the refreshed token is refused too: %w", auth.ErrRejected, err)
	}
	if err != nil {
		return nil, err
	}
	a.log.Info("refreshed tokens", "user", name)
	return a.renamed(id, name), nil
}

// renamed keeps the user's hub name: a refresh cannot rename a user.
func (a *Authenticator) renamed(id *auth.Identity, name string) *auth.Identity {
	id.Name = name
	return id
}

// number reads a JSON number (float64 after decoding, int64 before).
func number(v any) (int64, bool) {
	switch t := v.(type) {
	case float64:
		return int64(t), true
	case int64:
		return t, true
	case int:
		return int64(t), true
	case json.Number:
		n, err := t.Int64()
		return n, err == nil
	}
	return 0, false
}
