package api

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"gohub/internal/rbac"
	"gohub/internal/store"
)

// newTokenValue returns a fresh API token: a uuid4 in hex, as JupyterHub generates (§6.2).
func newTokenValue() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return hex.EncodeToString(b[:])
}

// parseTokenID turns "a<digits>" into the row id.
func parseTokenID(s string) (int64, bool) {
	rest, ok := strings.CutPrefix(s, "a")
	if !ok || rest == "" {
		return 0, false
	}
	for i := 0; i < len(rest); i++ {
		if rest[i] < '0' || rest[i] > '9' {
			return 0, false
		}
	}
	id, err := strconv.ParseInt(rest, 10, 64)
	return id, err == nil
}

// tokenModels renders tokens of one user with their effective scopes (§1.1 Token model).
type tokenModels struct {
	a           *API
	u           *store.User
	owner       rbac.Owner
	ownerScopes rbac.Set
	clients     map[string]string // client id → description
}

func (a *API) tokenModelsFor(ctx context.Context, u *store.User) (*tokenModels, error) {
	owner := rbac.Owner{Kind: store.KindUser, Name: u.Name, Groups: u.Groups}
	os, err := a.ownerScopes(ctx, store.KindUser, owner, u.ID)
	if err != nil {
		return nil, err
	}
	return &tokenModels{a: a, u: u, owner: owner, ownerScopes: os, clients: map[string]string{}}, nil
}

// clientName is the oauth_client field: the client's description, else its identifier.
func (tm *tokenModels) clientName(ctx context.Context, id string) string {
	if id == "" {
		id = "jupyterhub"
	}
	if d, ok := tm.clients[id]; ok {
		return d
	}
	d := id
	if c, err := tm.a.db.GetOAuthClient(ctx, id); err == nil && c.Description != "" {
		d = c.Description
	}
	tm.clients[id] = d
	return d
}

// client resolves a token's OAuth client for placeholder expansion.
func (tm *tokenModels) client(ctx context.Context, id string) rbac.Client {
	var c rbac.Client
	if id == "" || id == "jupyterhub" {
		return c
	}
	for _, sp := range tm.u.Spawners {
		if sp.OAuthClientID == id {
			c.Server = tm.u.Name + "/" + sp.Name
			return c
		}
	}
	c.Service, _ = tm.a.serviceOfClient(ctx, id)
	return c
}

func (tm *tokenModels) write(ctx context.Context, j *jw, t *store.Token, plain string) {
	scopes := tm.a.d.Catalog.TokenScopes(t.Scopes, tm.owner, tm.client(ctx, t.ClientID), tm.ownerScopes)
	j.open()
	j.key("user")
	j.str(tm.u.Name)
	j.key("id")
	j.str(fmt.Sprintf("a%d", t.ID))
	j.key("kind")
	j.str("api_token")
	j.key("roles")
	j.b = append(j.b, "[]"...)
	j.key("scopes")
	j.strs(scopes.Sorted())
	j.key("created")
	j.time(&t.Created)
	j.key("last_activity")
	j.time(t.LastActivity)
	j.key("expires_at")
	j.time(t.ExpiresAt)
	j.key("note")
	j.str(t.Note)
	j.key("session_id")
	j.strOrNull(t.SessionID)
	j.key("oauth_client")
	j.str(tm.clientName(ctx, t.ClientID))
	if plain != "" {
		j.key("token")
		j.str(plain)
	}
	j.close()
}

// listTokens answers GET /users/{name}/tokens (read:tokens); expired tokens are purged first.
func (a *API) listTokens(w http.ResponseWriter, r *http.Request, c *caller) error {
	name := r.PathValue("name")
	u, t, err := a.userTarget(r, name)
	if err != nil {
		return err
	}
	if err := need(c, t, "read:tokens"); err != nil {
		return err
	}
	if u == nil {
		return errorf(http.StatusNotFound, "No such user: %s", name)
	}
	ctx := r.Context()
	if _, err := a.db.PurgeExpiredTokens(ctx, a.now()); err != nil {
		return err
	}
	tokens, err := a.db.ListTokens(ctx, store.KindUser, u.ID)
	if err != nil {
		return err
	}
	// JupyterHub orders by last use, or creation for tokens never used.
	sort.SliceStable(tokens, func(i, j int) bool { return tokenTime(tokens[i]).Before(tokenTime(tokens[j])) })
	tm, err := a.tokenModelsFor(ctx, u)
	if err != nil {
		return err
	}
	j := getJW()
	defer putJW(j)
	j.b = append(j.b, `{"api_tokens":[`...)
	for i, tok := range tokens {
		if i > 0 {
			j.comma()
		}
		tm.write(ctx, j, tok, "")
	}
	j.b = append(j.b, "]}"...)
	writeBody(w, http.StatusOK, j.b)
	return nil
}

// tokenTime is a token's last use, else its creation.
func tokenTime(t *store.Token) time.Time {
	if t.LastActivity != nil {
		return *t.LastActivity
	}
	return t.Created
}

// userToken loads the user's token named by {token_id}: 404 unless it exists and is theirs.
func (a *API) userToken(r *http.Request, u *store.User) (*store.Token, error) {
	notFound := errorf(http.StatusNotFound, "No such token %s for user %s", r.PathValue("token_id"), u.Name)
	id, ok := parseTokenID(r.PathValue("token_id"))
	if !ok {
		return nil, notFound
	}
	tok, err := a.db.GetToken(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (tok.UserID == nil || *tok.UserID != u.ID)) {
		return nil, notFound
	}
	if err == nil && tok.ExpiresAt != nil && !a.now().Before(*tok.ExpiresAt) {
		return nil, notFound
	}
	return tok, err
}

// getToken answers GET /users/{name}/tokens/{token_id} (read:tokens).
func (a *API) getToken(w http.ResponseWriter, r *http.Request, c *caller) error {
	name := r.PathValue("name")
	u, t, err := a.userTarget(r, name)
	if err != nil {
		return err
	}
	if err := need(c, t, "read:tokens"); err != nil {
		return err
	}
	if u == nil {
		return errorf(http.StatusNotFound, "No such user: %s", name)
	}
	tok, err := a.userToken(r, u)
	if err != nil {
		return err
	}
	tm, err := a.tokenModelsFor(r.Context(), u)
	if err != nil {
		return err
	}
	j := getJW()
	defer putJW(j)
	tm.write(r.Context(), j, tok, "")
	writeBody(w, http.StatusOK, j.b)
	return nil
}

// deleteToken answers DELETE /users/{name}/tokens/{token_id} (tokens). Revoking an OAuth token
// revokes every token of the user from the same client.
func (a *API) deleteToken(w http.ResponseWriter, r *http.Request, c *caller) error {
	name := r.PathValue("name")
	u, t, err := a.userTarget(r, name)
	if err != nil {
		return err
	}
	if err := need(c, t, "tokens"); err != nil {
		return err
	}
	if u == nil {
		return errorf(http.StatusNotFound, "No such user: %s", name)
	}
	if err := a.onlyAdmins(c, u, "revoke the tokens of"); err != nil {
		return err
	}
	tok, err := a.userToken(r, u)
	if err != nil {
		return err
	}
	if tok.ClientID != "" && tok.ClientID != "jupyterhub" {
		err = a.db.DeleteTokensOfClient(r.Context(), u.ID, tok.ClientID)
	} else {
		err = a.db.DeleteToken(r.Context(), tok.ID)
	}
	if err != nil {
		return fmt.Errorf("delete token: %w", err)
	}
	a.gen.Add(1) // before replying: the token must be dead once the client sees 204
	writeEmpty(w, http.StatusNoContent)
	return nil
}

// createToken answers POST /users/{name}/tokens: the requester needs `tokens` on the user.
func (a *API) createToken(w http.ResponseWriter, r *http.Request, c *caller) error {
	name := r.PathValue("name")
	if c == nil && a.d.Login == nil {
		return errNoCredentials
	}
	body, err := readObject(w, r)
	if err != nil {
		return err
	}
	if c == nil {
		// No credentials: the body's "auth" goes to the authenticator (no _xsrf on this path).
		if c, err = a.callerFromAuthBody(r, body); err != nil {
			return err
		}
	}
	u, t, err := a.userTarget(r, name)
	if err != nil {
		return err
	}
	if u == nil || c.scopes.Check([]string{"tokens"}, t) != rbac.Allowed {
		kind := "User"
		if c.kind == store.KindService {
			kind = "Service"
		}
		return errorf(http.StatusForbidden, "%s %s not found or no permissions to generate tokens", kind, name)
	}
	// A token of an admin acts as an admin (isAdmin reads its owner): minting one is taking
	// the admin's place.
	if err := a.onlyAdmins(c, u, "create tokens for"); err != nil {
		return err
	}
	note, _, err := stringField(body, "note", "token")
	if err != nil {
		return err
	}
	if note == "" {
		note = "Requested via api"
		if c.kind != store.KindUser || c.user.ID != u.ID {
			note += " by " + c.kind + " " + c.name()
		}
	}
	expiresIn, err := a.expiresIn(body)
	if err != nil {
		return err
	}
	scopes, err := a.requestedScopes(r.Context(), body, u)
	if err != nil {
		return err
	}
	nt := store.NewToken{Plain: newTokenValue(), Rounds: store.GeneratedTokenRounds, UserID: &u.ID,
		Note: note, Scopes: scopes}
	if expiresIn > 0 {
		exp := a.now().Add(expiresIn)
		nt.ExpiresAt = &exp
	}
	tok, err := a.db.CreateToken(r.Context(), nt)
	if err != nil {
		return fmt.Errorf("create token: %w", err)
	}
	a.gen.Add(1)
	tm, err := a.tokenModelsFor(r.Context(), u)
	if err != nil {
		return err
	}
	j := getJW()
	defer putJW(j)
	tm.write(r.Context(), j, tok, nt.Plain)
	writeBody(w, http.StatusCreated, j.b)
	return nil
}

// callerFromAuthBody authenticates the "auth" object of a token request; 403 on any failure.
func (a *API) callerFromAuthBody(r *http.Request, body map[string]any) (*caller, error) {
	auth, ok := body["auth"].(map[string]any)
	if !ok {
		return nil, errNoCredentials
	}
	name, err := a.d.Login(r.Context(), r, auth)
	if err != nil || name == "" {
		a.log.Info("token request with auth body refused", "err", err)
		return nil, errorf(http.StatusForbidden, "")
	}
	u, err := a.db.GetUser(r.Context(), name)
	if errors.Is(err, store.ErrNotFound) {
		return nil, errorf(http.StatusForbidden, "")
	}
	if err != nil {
		return nil, err
	}
	return a.userCaller(r.Context(), u)
}

// expiresIn reads expires_in (null or an integer ≥ 0; 0 = never) and applies
// token_expires_in_max_seconds.
func (a *API) expiresIn(body map[string]any) (time.Duration, error) {
	var secs int64
	if v, ok := body["expires_in"]; ok && v != nil {
		n, isNum := v.(json.Number)
		i, err := n.Int64()
		if !isNum || err != nil {
			return 0, errorf(http.StatusBadRequest, "token expires_in must be null or integer, got %v", v)
		}
		if i < 0 {
			return 0, errorf(http.StatusBadRequest, "token expires_in must not be negative, got %d", i)
		}
		secs = i
	}
	if max := int64(a.d.TokenExpiresInMax / time.Second); max > 0 {
		if secs == 0 {
			secs = max
		} else if secs > max {
			return 0, errorf(http.StatusBadRequest, "token expires_in: %d must not exceed %d", secs, max)
		}
	}
	return time.Duration(secs) * time.Second, nil
}

// requestedScopes returns the raw scopes of a new token: from "scopes", or resolved from
// "roles", or the token role's inherit. Each must be a known scope the owner holds.
func (a *API) requestedScopes(ctx context.Context, body map[string]any, u *store.User) ([]string, error) {
	// null is the same as absent for both, as in JupyterHub.
	for _, k := range []string{"scopes", "roles"} {
		if v, ok := body[k]; ok && v == nil {
			delete(body, k)
		}
	}
	scopes, hasScopes, err := stringList(body, "scopes", "token")
	if err != nil {
		return nil, err
	}
	roles, hasRoles, err := stringList(body, "roles", "token")
	if err != nil {
		return nil, err
	}
	if hasScopes && hasRoles {
		return nil, errorf(http.StatusBadRequest, "Can only assign one of scopes or roles")
	}
	if hasRoles {
		scopes = []string{}
		for _, rn := range roles {
			role, err := a.db.GetRole(ctx, rn)
			if errors.Is(err, store.ErrNotFound) {
				return nil, errorf(http.StatusBadRequest, "Role %s does not exist", rn)
			}
			if err != nil {
				return nil, err
			}
			scopes = append(scopes, role.Scopes...)
		}
	} else if !hasScopes {
		return []string{"inherit"}, nil
	}
	if err := a.d.Catalog.ValidateAll(scopes); err != nil {
		return nil, errorf(http.StatusBadRequest, "%v", err)
	}
	owner := rbac.Owner{Kind: store.KindUser, Name: u.Name, Groups: u.Groups}
	ownerScopes, err := a.ownerScopes(ctx, store.KindUser, owner, u.ID)
	if err != nil {
		return nil, err
	}
	want := a.d.Catalog.Expand(scopes, owner, rbac.Client{})
	got := rbac.Intersect(want, ownerScopes, a.groupsOf(ctx, u))
	var excess []string
	for s := range want {
		if _, ok := got[s]; !ok {
			excess = append(excess, s)
		}
	}
	if len(excess) > 0 {
		sort.Strings(excess)
		return nil, errorf(http.StatusBadRequest, "Not assigning requested scopes %s not held by User %s",
			strings.Join(excess, ","), u.Name)
	}
	return scopes, nil
}

// groupsOf answers rbac's group lookups: the known user from memory, others from the store.
func (a *API) groupsOf(ctx context.Context, known *store.User) func(string) []string {
	return func(name string) []string {
		if known != nil && name == known.Name {
			return known.Groups
		}
		u, err := a.db.GetUser(ctx, name)
		if err != nil {
			return nil
		}
		return u.Groups
	}
}

func sortStrings(s []string) { sort.Strings(s) }
