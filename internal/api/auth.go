package api

import (
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"gohub/internal/rbac"
	"gohub/internal/store"
)

// caller is who made a request and what it may do. Values are shared between requests through
// the token cache and never modified after authenticate returns them (except the lazily
// computed model-key cache, guarded by its sync.Once).
type caller struct {
	kind    string // store.KindUser or store.KindService
	user    *store.User
	service *store.Service
	token   *store.Token // nil when the login cookie authenticated the request
	owner   rbac.Owner
	scopes  rbac.Set

	keysOnce sync.Once
	keys     *callerKeys
}

// name is the owner's name.
func (c *caller) name() string { return c.owner.Name }

// isAdmin reports the owner's admin flag.
func (c *caller) isAdmin() bool {
	if c.user != nil {
		return c.user.Admin
	}
	return c.service != nil && c.service.Admin
}

// cacheTTL bounds how long a cached credential is trusted without a reload, for changes made
// outside this API that did not call Invalidate.
const cacheTTL = 5 * time.Second

// maxCachedTokens bounds the cache; it is emptied when full.
const maxCachedTokens = 10000

// tokenEntry is a cached, verified token with its owner and scopes.
type tokenEntry struct {
	gen       uint64
	loaded    time.Time
	c         *caller
	tokenSeen atomic.Int64 // unix nanos of the last token activity write
	userSeen  atomic.Int64 // unix nanos of the last owner activity write
}

// tokenCache maps sha256(plaintext) to verified tokens. Keys are digests, so the plaintext
// never sits in memory longer than the request.
type tokenCache struct {
	mu sync.RWMutex
	m  map[[32]byte]*tokenEntry
}

func newTokenCache() *tokenCache { return &tokenCache{m: map[[32]byte]*tokenEntry{}} }

func (tc *tokenCache) get(k [32]byte) *tokenEntry {
	tc.mu.RLock()
	e := tc.m[k]
	tc.mu.RUnlock()
	return e
}

func (tc *tokenCache) put(k [32]byte, e *tokenEntry) {
	tc.mu.Lock()
	if len(tc.m) >= maxCachedTokens {
		clear(tc.m)
	}
	tc.m[k] = e
	tc.mu.Unlock()
}

func (tc *tokenCache) drop(k [32]byte) {
	tc.mu.Lock()
	delete(tc.m, k)
	tc.mu.Unlock()
}

// tokenFromHeader returns the token of "Authorization: token|bearer <t>".
func tokenFromHeader(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	scheme, tok, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok {
		return "", false
	}
	if !strings.EqualFold(scheme, "token") && !strings.EqualFold(scheme, "bearer") {
		return "", false
	}
	tok = strings.TrimSpace(tok)
	if tok == "" || strings.ContainsAny(tok, " \t") {
		return "", false
	}
	return tok, true
}

// authenticate identifies the caller: nil, nil for an anonymous request. A cookie-authenticated
// request whose _xsrf check fails is an error (403).
func (a *API) authenticate(r *http.Request) (*caller, error) {
	if tok, ok := tokenFromHeader(r); ok {
		e, err := a.tokenCaller(r.Context(), tok)
		if err != nil || e == nil {
			return nil, err
		}
		a.bumpTokenActivity(r.Context(), e)
		return e.c, nil
	}
	return a.cookieCaller(r)
}

// tokenCaller returns the cache entry for a token, loading and verifying it on a miss.
func (a *API) tokenCaller(ctx context.Context, tok string) (*tokenEntry, error) {
	k := sha256.Sum256([]byte(tok))
	now := a.now()
	gen := a.gen.Load()
	if e := a.tokens.get(k); e != nil {
		exp := e.c.token.ExpiresAt
		if e.gen == gen && now.Sub(e.loaded) < cacheTTL && (exp == nil || now.Before(*exp)) {
			return e, nil
		}
		a.tokens.drop(k)
	}
	t, err := a.db.LookupToken(ctx, tok, now)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("look up token: %w", err)
	}
	c, err := a.loadTokenCaller(ctx, t)
	if err != nil || c == nil {
		return nil, err
	}
	e := &tokenEntry{gen: gen, loaded: now, c: c}
	if t.LastActivity != nil {
		e.tokenSeen.Store(t.LastActivity.UnixNano())
	}
	if c.user != nil && c.user.LastActivity != nil {
		e.userSeen.Store(c.user.LastActivity.UnixNano())
	}
	a.tokens.put(k, e)
	return e, nil
}

// loadTokenCaller resolves a token's owner and effective scopes (§5.3).
func (a *API) loadTokenCaller(ctx context.Context, t *store.Token) (*caller, error) {
	c := &caller{token: t}
	var client rbac.Client
	switch {
	case t.UserID != nil:
		u, err := a.db.GetUserByID(ctx, *t.UserID)
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("token owner: %w", err)
		}
		// A blocked user's tokens are refused, except a kept server's own (Revocation.stop_servers
		// false): the hub deletes the rest when it blocks, and this covers tokens minted since.
		if a.blocked(u.Name) && !isServerToken(t, u) {
			return nil, nil
		}
		c.kind, c.user = store.KindUser, u
		c.owner = rbac.Owner{Kind: store.KindUser, Name: u.Name, Groups: u.Groups}
		for _, sp := range u.Spawners {
			if t.ClientID != "" && sp.OAuthClientID == t.ClientID {
				client.Server = u.Name + "/" + sp.Name
			}
		}
	case t.ServiceID != nil:
		s, err := a.db.GetServiceByID(ctx, *t.ServiceID)
		if errors.Is(err, store.ErrNotFound) {
			return nil, nil
		}
		if err != nil {
			return nil, fmt.Errorf("token owner: %w", err)
		}
		c.kind, c.service = store.KindService, s
		c.owner = rbac.Owner{Kind: store.KindService, Name: s.Name}
	default:
		return nil, nil
	}
	if client.Server == "" && t.ClientID != "" && t.ClientID != store.HubClientID {
		// An OAuth token for someone else's server (granted through a share or a group).
		if un, sn, err := a.db.SpawnerOfClient(ctx, t.ClientID); err == nil {
			client.Server = un + "/" + sn
		} else if !errors.Is(err, store.ErrNotFound) {
			return nil, err
		}
	}
	if client.Server == "" && t.ClientID != "" && t.ClientID != store.HubClientID {
		svc, err := a.serviceOfClient(ctx, t.ClientID)
		if err != nil {
			return nil, err
		}
		client.Service = svc
	}
	ownerScopes, err := a.ownerScopes(ctx, c.kind, c.owner, ownerID(c))
	if err != nil {
		return nil, err
	}
	c.scopes = a.d.Catalog.TokenScopesFunc(t.Scopes, c.owner, client, ownerScopes, a.groupsOf(ctx, c.user))
	return c, nil
}

// isServerToken reports whether t is the own API token of one of u's servers: tied to a spawner
// row of u when the hub started the server. The note says nothing: its owner can set any.
func isServerToken(t *store.Token, u *store.User) bool {
	if t.SpawnerID == nil || t.UserID == nil || *t.UserID != u.ID {
		return false
	}
	for _, sp := range u.Spawners {
		if sp.ID == *t.SpawnerID {
			return true
		}
	}
	return false
}

func ownerID(c *caller) int64 {
	if c.user != nil {
		return c.user.ID
	}
	return c.service.ID
}

// serviceOfClient names the service whose OAuth client is clientID ("" if none).
func (a *API) serviceOfClient(ctx context.Context, clientID string) (string, error) {
	svcs, err := a.db.ListServices(ctx)
	if err != nil {
		return "", fmt.Errorf("token client: %w", err)
	}
	for _, s := range svcs {
		if s.OAuthClientID == clientID {
			return s.Name, nil
		}
	}
	return "", nil
}

// ownerScopes expands the roles of a user or service (their groups' roles included).
func (a *API) ownerScopes(ctx context.Context, kind string, owner rbac.Owner, id int64) (rbac.Set, error) {
	roles, err := a.db.RolesOf(ctx, kind, id)
	if err != nil {
		return nil, fmt.Errorf("roles of %s %s: %w", kind, owner.Name, err)
	}
	var raw []string
	for _, r := range roles {
		raw = append(raw, r.Scopes...)
	}
	return a.d.Catalog.Expand(raw, owner, rbac.Client{}), nil
}

// bumpTokenActivity records token use and, unless it is a server's own token, user activity,
// at most once per ActivityResolution (§0.4).
func (a *API) bumpTokenActivity(ctx context.Context, e *tokenEntry) {
	now := a.now()
	res := a.d.ActivityResolution.Nanoseconds()
	n := now.UnixNano()
	if last := e.tokenSeen.Load(); n-last > res && e.tokenSeen.CompareAndSwap(last, n) {
		if err := a.db.TouchToken(ctx, e.c.token.ID, now); err != nil && !errors.Is(err, store.ErrNotFound) {
			a.log.Warn("record token activity", "token", fmt.Sprintf("a%d", e.c.token.ID), "err", err)
		}
	}
	if e.c.user == nil || isServerToken(e.c.token, e.c.user) {
		return
	}
	if last := e.userSeen.Load(); n-last > res && e.userSeen.CompareAndSwap(last, n) {
		if err := a.db.TouchUser(ctx, e.c.user.ID, now); err != nil && !errors.Is(err, store.ErrNotFound) {
			a.log.Warn("record user activity", "user", e.c.user.Name, "err", err)
		}
	}
}

// cookieCaller authenticates by the login cookie, with the content-type and _xsrf rules of
// §4.4. Cookie callers hold their owner's full scopes.
func (a *API) cookieCaller(r *http.Request) (*caller, error) {
	if a.d.Sessions == nil {
		return nil, nil
	}
	cookieID, ok := a.d.Sessions.LoginCookieID(r)
	if !ok {
		return nil, nil
	}
	// A cross-site form POST carries a form content type: such a request is not cookie-authenticated.
	if r.Method == http.MethodPost && !jsonContentType(r.Header.Get("Content-Type")) {
		return nil, nil
	}
	ctx := r.Context()
	u, err := a.db.GetUserByCookieID(ctx, cookieID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("user of login cookie: %w", err)
	}
	if a.blocked(u.Name) {
		return nil, nil
	}
	if r.Method != http.MethodHead && r.Method != http.MethodOptions {
		if !a.d.Sessions.CheckXSRF(r, a.d.Sessions.XSRFID(r, cookieID)) {
			return nil, errXSRF
		}
	}
	c, err := a.userCaller(ctx, u)
	if err != nil {
		return nil, err
	}
	now := a.now()
	if u.LastActivity == nil || now.Sub(*u.LastActivity) > a.d.ActivityResolution {
		if err := a.db.TouchUser(ctx, u.ID, now); err != nil && !errors.Is(err, store.ErrNotFound) {
			a.log.Warn("record user activity", "user", u.Name, "err", err)
		}
	}
	return c, nil
}

// userCaller is a caller acting as user u with all of u's scopes (cookie or "auth" body).
func (a *API) userCaller(ctx context.Context, u *store.User) (*caller, error) {
	c := &caller{kind: store.KindUser, user: u,
		owner: rbac.Owner{Kind: store.KindUser, Name: u.Name, Groups: u.Groups}}
	var err error
	if c.scopes, err = a.ownerScopes(ctx, store.KindUser, c.owner, u.ID); err != nil {
		return nil, err
	}
	return c, nil
}

// jsonContentType reports whether a Content-Type is absent or application/json.
func jsonContentType(ct string) bool {
	if ct == "" {
		return true
	}
	mt, _, err := mime.ParseMediaType(ct)
	return err == nil && mt == "application/json"
}
