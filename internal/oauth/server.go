package oauth

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"gohub/internal/naming"
	"slices"
	"strings"

	"gohub/internal/rbac"
	"gohub/internal/store"
)

// ServerOptions tune PrepareServer.
type ServerOptions struct {
	// TokenScopes are Spawner.server_token_scopes; empty means the scopes of the server role.
	TokenScopes []string
	// ClientAllowedScopes are Spawner.oauth_client_allowed_scopes; the server's access scope
	// (access:servers!server={user}/{server}) is always added.
	ClientAllowedScopes []string
	// RedirectURI overrides the client's redirect URI, {serverURL}oauth_callback by default
	// (absolute when servers live on subdomains).
	RedirectURI string
}

// ClientID is the OAuth client id of a user's server (see naming.ClientID).
func ClientID(user, server string) string { return naming.ClientID(user, server) }

// ServerPrefix is a user's server URL path (see naming.ServerPrefix).
func ServerPrefix(base, user, server string) string { return naming.ServerPrefix(base, user, server) }

// PrepareServer creates the credentials of a server about to start (protocol.md §2.1 steps 2–3): its
// API token (note "Server at {serverURL}", client jupyterhub, the server role's scopes or
// opts.TokenScopes with bare !server bound to this server and users:activity!user added, kept
// to what the user holds) and its OAuth client, whose secret is that token, stored hashed.
// serverURL is the server's URL path ("" means ServerPrefix of the provider's base URL); a
// previous token of the same server is deleted first. The caller records clientID on the
// spawner row, which is how the authorize endpoint finds the server of the client. Of user,
// only ID, Name and Groups are read.
func (p *Provider) PrepareServer(ctx context.Context, user *store.User, serverName, serverURL string, opts ServerOptions) (apiToken, clientID string, err error) {
	if serverURL == "" {
		serverURL = ServerPrefix(p.base, user.Name, serverName)
	}
	note := "Server at " + serverURL
	scopes, err := p.serverTokenScopes(ctx, user, serverName, opts.TokenScopes)
	if err != nil {
		return "", "", err
	}
	// The token is tied to the spawner row: that, not the note, makes it the server's token.
	sp, err := p.db.EnsureSpawner(ctx, user.ID, serverName)
	if err != nil {
		return "", "", fmt.Errorf("spawner row of %s: %w", serverURL, err)
	}
	if err := p.deleteServerTokens(ctx, user, sp.ID, note); err != nil {
		return "", "", err
	}
	// The old client's secret and tokens are replaced below: caches must forget them.
	defer p.invalidate()
	apiToken = uuid4Hex()
	id := user.ID
	if _, err := p.db.CreateToken(ctx, store.NewToken{
		Plain: apiToken, Rounds: store.GeneratedTokenRounds, UserID: &id,
		ClientID: store.HubClientID, Note: note, Scopes: scopes, SpawnerID: &sp.ID,
	}); err != nil {
		return "", "", fmt.Errorf("create server token for %s: %w", serverURL, err)
	}
	clientID = ClientID(user.Name, serverName)
	redirect := opts.RedirectURI
	if redirect == "" {
		redirect = serverURL + "oauth_callback"
	}
	allowed := append(slices.Clone(opts.ClientAllowedScopes),
		rbac.AccessScope(rbac.Client{Server: user.Name + "/" + serverName}))
	if _, err := p.db.UpsertOAuthClient(ctx, store.OAuthClient{
		Identifier: clientID, Description: note,
		Secret:      store.HashToken(apiToken, store.SuppliedTokenRounds),
		RedirectURI: redirect, AllowedScopes: sortUniq(allowed),
	}); err != nil {
		return "", "", fmt.Errorf("register oauth client of %s: %w", serverURL, err)
	}
	p.log.Info("oauth: server credentials ready", "user", user.Name, "server", serverName, "client", clientID)
	return apiToken, clientID, nil
}

// serverTokenScopes resolves the server token's scopes as JupyterHub's User.spawn does.
func (p *Provider) serverTokenScopes(ctx context.Context, user *store.User, serverName string, requested []string) ([]string, error) {
	if len(requested) == 0 {
		role, err := p.db.GetRole(ctx, rbac.RoleServer)
		switch {
		case err == nil:
			requested = role.Scopes
		case errors.Is(err, store.ErrNotFound):
			def, _ := rbac.DefaultRole(rbac.RoleServer)
			requested = def.Scopes
		default:
			return nil, fmt.Errorf("server role: %w", err)
		}
	}
	// A bare !server would resolve against the token's client, which is the hub's here.
	var req []string
	for _, s := range requested {
		if strings.HasSuffix(s, "!server") {
			s += "=" + user.Name + "/" + serverName
		}
		req = append(req, s)
	}
	const activity = "users:activity!user"
	if !slices.ContainsFunc(req, func(s string) bool {
		return s == activity || s == "users:activity" || s == scopeInherit
	}) {
		p.log.Warn("oauth: adding users:activity!user to the server token scopes; add it to server_token_scopes",
			"user", user.Name, "server", serverName)
		req = append(req, activity)
	}
	raw, err := p.rawScopes(ctx, user)
	if err != nil {
		return nil, err
	}
	allowed, excluded := p.d.Catalog.ResolveRequested(sortUniq(req), append(raw, scopeInherit),
		owner(user), rbac.Client{}, p.groupsOf(ctx, user))
	if len(excluded) > 0 {
		p.log.Debug("oauth: server token scopes the user does not hold", "user", user.Name,
			"server", serverName, "excluded", excluded)
	}
	return allowed, nil
}

// CleanupServer deletes a stopped server's API token and OAuth client (with the client's
// tokens and codes), protocol.md §2.1 "Stop". What is already gone is no error. Besides the client and
// note the names give, it removes the client recorded on the user's spawner row and the token
// named by that client's description (they differ after a rename, or with a custom serverURL):
// pass the user as GetUser returns it, with its spawners.
func (p *Provider) CleanupServer(ctx context.Context, user *store.User, serverName string) error {
	defer p.invalidate()
	clients := []string{ClientID(user.Name, serverName)}
	for _, sp := range user.Spawners {
		if sp.Name == serverName && sp.OAuthClientID != "" && !slices.Contains(clients, sp.OAuthClientID) {
			clients = append(clients, sp.OAuthClientID)
		}
	}
	notes := []string{"Server at " + ServerPrefix(p.base, user.Name, serverName)}
	for _, id := range clients {
		c, err := p.db.GetOAuthClient(ctx, id)
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("oauth client %s: %w", id, err)
		}
		if c != nil && strings.HasPrefix(c.Description, "Server at ") && !slices.Contains(notes, c.Description) {
			notes = append(notes, c.Description)
		}
	}
	var spawnerID int64 // 0 matches no row
	for _, sp := range user.Spawners {
		if sp.Name == serverName {
			spawnerID = sp.ID
		}
	}
	if err := p.deleteServerTokens(ctx, user, spawnerID, notes...); err != nil {
		return err
	}
	for _, id := range clients {
		if err := p.db.DeleteOAuthClient(ctx, id); err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("delete oauth client %s: %w", id, err)
		}
	}
	return nil
}

// deleteServerTokens deletes the tokens of the user's spawner row spawnerID, and hub-issued
// tokens without a spawner row that carry one of the server's notes: those a server started
// before tokens were tied to spawner rows still holds.
func (p *Provider) deleteServerTokens(ctx context.Context, user *store.User, spawnerID int64, notes ...string) error {
	tokens, err := p.db.ListTokens(ctx, store.KindUser, user.ID)
	if err != nil {
		return fmt.Errorf("tokens of user %s: %w", user.Name, err)
	}
	for _, t := range tokens {
		own := t.SpawnerID != nil && *t.SpawnerID == spawnerID
		legacy := t.SpawnerID == nil && t.ClientID == store.HubClientID && slices.Contains(notes, t.Note)
		if !own && !legacy {
			continue
		}
		if err := p.db.DeleteToken(ctx, t.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
			return fmt.Errorf("delete server token a%d: %w", t.ID, err)
		}
	}
	return nil
}

// uuid4Hex returns a random version-4 UUID in hex, as Python's uuid4().hex (API tokens, §6.2).
func uuid4Hex() string {
	var b [16]byte
	rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return hex.EncodeToString(b[:])
}
