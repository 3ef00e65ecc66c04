package hub

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"gohub/internal/auth"
	"gohub/internal/spawner"
	"gohub/internal/store"
)

// RevocationConfig is the Revocation config class: what ending a user's access does (a block
// through blocked_users or the REST API, removal from the allow lists on a reload, Native's
// un-authorize). A gohub addition; JupyterHub has no immediate revocation.
type RevocationConfig struct {
	StopServers bool `yaml:"stop_servers" help:"Stop a revoked user's servers at once (true), or keep them running (false): their browser access ends anyway, because the OAuth tokens the servers accept are deleted (a server may honour a token it cached for up to its own cache time)."`
}

// DefaultRevocationConfig returns the defaults: revoked users' servers are stopped.
func DefaultRevocationConfig() *RevocationConfig { return &RevocationConfig{StopServers: true} }

// revocationClass is the config section of RevocationConfig.
const revocationClass = "Revocation"

// The hub hands itself to the pipeline (and so to authenticators such as Native) as this.
var _ auth.Revoker = (*Hub)(nil)

// RevokeUser ends a user's access at once, without a restart (auth.Revoker): a new cookie_id
// (every login cookie stops verifying), every API and OAuth token and pending OAuth code
// deleted, the API's caches of credentials and users dropped, and, with
// Revocation.stop_servers (the default), every server of the user stopped, waiting up to
// slow_stop_timeout for each. With stop_servers false the servers' own API tokens are kept, so
// they keep working for nobody but themselves. It does not by itself prevent a new login; a
// block (BlockUser, blocked_users) or the authenticator's refusal does that. A name the hub
// does not know is no error (nothing to revoke). name must be the normalised hub name.
func (h *Hub) RevokeUser(ctx context.Context, name, reason string) error {
	u, err := h.db.GetUser(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		h.api.Invalidate()
		return nil
	}
	if err != nil {
		return fmt.Errorf("revoke %q: %w", name, err)
	}
	stop := h.stopOnRevoke.Load()
	n, err := h.db.RevokeUserAccess(ctx, u.ID, !stop)
	// Drop cached credentials even after an error: whatever did change must show at once.
	h.api.Invalidate()
	if err != nil {
		return fmt.Errorf("revoke %q: %w", name, err)
	}
	h.log.Info("user access revoked", "user", name, "reason", reason, "tokens_deleted", n, "stop_servers", stop)
	if !stop {
		return nil
	}
	return h.stopUserServers(ctx, u)
}

// stopUserServers stops every active server of u concurrently and waits for them (each up to
// slow_stop_timeout; a slower stop goes on in the background).
func (h *Hub) stopUserServers(ctx context.Context, u *store.User) error {
	names := []string{""}
	for _, sp := range u.Spawners {
		if sp.Name != "" {
			names = append(names, sp.Name)
		}
	}
	su := spawner.UserFromStore(u)
	var wg sync.WaitGroup
	errs := make([]error, len(names))
	for i, sn := range names {
		if !h.spawners.Status(u.Name, sn).Active {
			continue
		}
		wg.Go(func() {
			stopped, err := h.spawners.Stop(ctx, su, sn)
			switch {
			case err != nil:
				errs[i] = fmt.Errorf("stop server %q of %s: %w", sn, u.Name, err)
			case !stopped:
				h.log.Warn("a revoked user's server is still stopping", "user", u.Name, "server", sn)
			default:
				h.log.Info("stopped a revoked user's server", "user", u.Name, "server", sn)
			}
		})
	}
	wg.Wait()
	h.api.Invalidate()
	return errors.Join(errs...)
}

// BlockUser blocks a user at run time (the REST API's PATCH {"blocked": true}): the block is
// stored, so it survives a restart, the login pipeline refuses the name from now on, and the
// user's access is revoked at once (RevokeUser). Blocking a blocked user revokes again.
// store.ErrNotFound if there is no such user.
func (h *Hub) BlockUser(ctx context.Context, name, reason string) error {
	if err := h.db.BlockUser(ctx, name, reason); err != nil {
		return err
	}
	h.pipeline.Block(name)
	return h.RevokeUser(ctx, name, reason)
}

// UnblockUser lifts a run-time block (blocked_users in the config still applies); the user
// logs in again to get access back. store.ErrNotFound if there is no such user.
func (h *Hub) UnblockUser(ctx context.Context, name string) error {
	had, err := h.db.UnblockUser(ctx, name)
	if err != nil {
		return err
	}
	h.pipeline.Unblock(name)
	h.api.Invalidate()
	if had {
		h.log.Info("user unblocked", "user", name)
	}
	return nil
}

// IsBlocked reports whether a user is blocked (blocked_users or at run time).
func (h *Hub) IsBlocked(name string) bool { return h.pipeline.IsBlocked(name) }

// loadBlocks reads the run-time blocks (and the invited accounts) into the pipeline at startup.
func (h *Hub) loadBlocks(ctx context.Context) error {
	names, err := h.db.BlockedUserNames(ctx)
	if err != nil {
		return err
	}
	h.pipeline.SetBlocked(names)
	return h.loadInvited(ctx)
}

// revokeBlocked revokes every blocked user the database knows, at startup: a user added to
// blocked_users while the hub was down must not keep a session, token or server (as upstream
// stops blocked users' servers at start).
func (h *Hub) revokeBlocked(ctx context.Context) {
	blocked := h.pipeline.BlockedUsers()
	if names, err := h.db.BlockedUserNames(ctx); err == nil {
		blocked = mergeScopes(blocked, names)
	}
	for _, name := range blocked {
		if err := h.RevokeUser(ctx, name, "blocked"); err != nil {
			h.log.Warn("revoking a blocked user at startup", "user", name, "err", err)
		}
	}
}
