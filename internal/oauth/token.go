package oauth

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"gohub/internal/store"
)

// tokenError is an OAuth error reply of the token endpoint (RFC 6749 §5.2).
type tokenError struct {
	status int
	code   string
	desc   string
}

func (e *tokenError) Error() string { return e.code + ": " + e.desc }

func invalidRequest(desc string) *tokenError {
	return &tokenError{http.StatusBadRequest, "invalid_request", desc}
}

func invalidGrant(desc string) *tokenError {
	return &tokenError{http.StatusBadRequest, "invalid_grant", desc}
}

// tokenReply is the 200 body of the token endpoint.
type tokenReply struct {
	AccessToken string `json:"access_token"`
	TokenType   string `json:"token_type"`
	ExpiresIn   int64  `json:"expires_in"`
	Scope       string `json:"scope"`
}

// token answers POST {base}hub/api/oauth2/token: the authorization_code grant (protocol.md §2.4 step 9).
func (p *Provider) token(w http.ResponseWriter, r *http.Request) {
	switch r.Method {
	case http.MethodOptions:
		w.WriteHeader(http.StatusOK) // CORS preflight, as every API handler answers it
		return
	case http.MethodPost:
	default:
		w.Header().Set("Allow", "POST, OPTIONS")
		writeJSON(w, http.StatusMethodNotAllowed, map[string]any{"status": 405, "message": "Method Not Allowed"})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, maxFormBytes)
	if err := r.ParseForm(); err != nil {
		p.tokenFail(w, "", invalidRequest("The request body could not be read."))
		return
	}
	reply, clientID, terr := p.exchange(r)
	if terr != nil {
		p.tokenFail(w, clientID, terr)
		return
	}
	writeJSON(w, http.StatusOK, reply)
}

// exchange validates a token request and creates the access token.
func (p *Provider) exchange(r *http.Request) (*tokenReply, string, *tokenError) {
	ctx := r.Context()
	form := r.PostForm
	for _, name := range []string{"grant_type", "code", "client_id", "client_secret", "redirect_uri", "code_verifier"} {
		if _, ok := single(form, name); !ok {
			return nil, "", invalidRequest("Duplicate " + name + " parameter.")
		}
	}
	if gt := form.Get("grant_type"); gt != "authorization_code" {
		return nil, "", &tokenError{http.StatusBadRequest, "unsupported_grant_type",
			"Only grant_type=authorization_code is supported."}
	}
	client, terr := p.authenticateClient(r)
	if terr != nil {
		return nil, "", terr
	}
	codeValue := form.Get("code")
	if codeValue == "" {
		return nil, client.Identifier, invalidRequest("Missing code parameter.")
	}
	// Taking the code deletes it: whatever happens next, it cannot be used again.
	code, err := p.db.TakeOAuthCode(ctx, codeValue, p.now())
	if errors.Is(err, store.ErrNotFound) {
		return nil, client.Identifier, invalidGrant("The code is invalid, expired or already used.")
	}
	if err != nil {
		p.log.Error("oauth token: take code", "client", client.Identifier, "err", err)
		return nil, client.Identifier, &tokenError{http.StatusInternalServerError, "server_error", ""}
	}
	if subtle.ConstantTimeCompare([]byte(code.ClientID), []byte(client.Identifier)) != 1 {
		return nil, client.Identifier, invalidGrant("The code was issued to another client.")
	}
	redirectURI := form.Get("redirect_uri")
	if redirectURI == "" {
		redirectURI = client.RedirectURI // oauthlib falls back to the client's default
	}
	if redirectURI != code.RedirectURI || redirectURI != client.RedirectURI {
		return nil, client.Identifier, invalidRequest("Mismatching redirect URI.")
	}
	if terr := p.checkPKCE(code, form.Get("code_verifier")); terr != nil {
		return nil, client.Identifier, terr
	}
	plain := randomToken(tokenLength)
	expires := p.now().Add(p.d.TokenExpiresIn).UTC()
	uid := code.UserID
	_, err = p.db.CreateToken(ctx, store.NewToken{
		Plain: plain, Rounds: store.GeneratedTokenRounds, UserID: &uid, ClientID: client.Identifier,
		SessionID: code.SessionID, ExpiresAt: &expires, Scopes: code.Scopes,
	})
	if errors.Is(err, store.ErrNotFound) {
		return nil, client.Identifier, invalidGrant("The user or client no longer exists.")
	}
	if err != nil {
		p.log.Error("oauth token: create token", "client", client.Identifier, "err", err)
		return nil, client.Identifier, &tokenError{http.StatusInternalServerError, "server_error", ""}
	}
	p.log.Info("oauth: access token issued", "client", client.Identifier, "user_id", uid)
	return &tokenReply{
		AccessToken: plain, TokenType: "Bearer",
		ExpiresIn: int64(p.d.TokenExpiresIn.Seconds()), Scope: strings.Join(code.Scopes, " "),
	}, client.Identifier, nil
}

// authenticateClient checks the client's credentials: HTTP Basic (RFC 6749 §2.3.1, both parts
// form-encoded) or client_id and client_secret in the form. The secret is compared with the
// client's stored hash (§6.3); a client without a secret cannot authenticate.
func (p *Provider) authenticateClient(r *http.Request) (*store.OAuthClient, *tokenError) {
	id, secret := r.PostForm.Get("client_id"), r.PostForm.Get("client_secret")
	if bid, bsecret, ok := r.BasicAuth(); ok {
		var err1, err2 error
		bid, err1 = url.QueryUnescape(bid)
		bsecret, err2 = url.QueryUnescape(bsecret)
		if err1 != nil || err2 != nil || id != "" && id != bid {
			return nil, &tokenError{http.StatusUnauthorized, "invalid_client", "Client authentication failed."}
		}
		id, secret = bid, bsecret
	}
	fail := &tokenError{http.StatusUnauthorized, "invalid_client", "Client authentication failed."}
	if id == "" || secret == "" {
		return nil, fail
	}
	c, err := p.db.GetOAuthClient(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, fail
	}
	if err != nil {
		p.log.Error("oauth token: look up client", "client", id, "err", err)
		return nil, &tokenError{http.StatusInternalServerError, "server_error", ""}
	}
	if c.Secret == "" || !store.VerifyToken(c.Secret, secret) {
		p.log.Warn("oauth token: client secret mismatch", "client", id)
		return nil, fail
	}
	return c, nil
}

// checkPKCE verifies the code_verifier against the challenge stored with the code (RFC 7636
// §4.6). Without a challenge, a verifier is not needed unless RequirePKCE.
func (p *Provider) checkPKCE(code *store.OAuthCode, verifier string) *tokenError {
	if code.CodeChallenge == "" {
		if p.d.RequirePKCE {
			return invalidGrant("PKCE is required and the code has no challenge.")
		}
		return nil
	}
	if verifier == "" {
		return invalidRequest("Code verifier required.")
	}
	var want string
	switch code.CodeChallengeMethod {
	case "S256":
		sum := sha256.Sum256([]byte(verifier))
		want = base64.RawURLEncoding.EncodeToString(sum[:])
	case "plain", "":
		want = verifier
	default:
		return invalidGrant("Unknown code challenge method.")
	}
	if subtle.ConstantTimeCompare([]byte(want), []byte(code.CodeChallenge)) != 1 {
		return invalidGrant("The code verifier does not match the challenge.")
	}
	return nil
}

// tokenFail writes an OAuth error: {"error", "error_description"} (RFC 6749 §5.2).
func (p *Provider) tokenFail(w http.ResponseWriter, clientID string, e *tokenError) {
	if e.status < 500 {
		p.log.Warn("oauth token refused", "client", clientID, "error", e.code, "reason", e.desc)
	}
	if e.status == http.StatusUnauthorized {
		w.Header().Set("WWW-Authenticate", `Basic realm="oauth2"`)
	}
	body := map[string]string{"error": e.code}
	if e.desc != "" {
		body["error_description"] = e.desc
	}
	writeJSON(w, e.status, body)
}

// writeJSON writes v as the JSON body with status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"server_error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	w.Write(b)
}
