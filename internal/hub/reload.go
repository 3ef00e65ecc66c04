package hub

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"

	"gohub/internal/auth"
	"gohub/internal/config"
	"gohub/internal/store"
)

// Reload applies a freshly read config file to the running hub without dropping anything that
// runs: the authenticator's user lists (admin_users, allowed_users, blocked_users) and its
// allow_all and allow_existing_users flags, and Revocation.stop_servers. Every other setting
// needs a restart; the whole file is still validated first, and a file that would not start a
// hub changes nothing. gohub's answer to SIGHUP (JupyterHub has no reload).
//
// What the new lists mean for users already in:
//   - a name newly in blocked_users is revoked at once (see RevokeUser);
//   - a name removed from allowed_users (or admin_users), and with allow_all or
//     allow_existing_users turned off every user, is revoked if the new lists no longer let them
//     log in. With allow_existing_users on (the default when allowed_users is set) a user in the
//     database stays allowed, as in JupyterHub: the log says so, and blocking or deleting the
//     user is how to end that access;
//   - names new in admin_users become admins (created if missing), names removed from it lose
//     the admin role and flag; names new in allowed_users are prepared by the authenticator
//     (create_system_users) as at startup.
//
// Other users' sessions, tokens and servers are untouched.
func (h *Hub) Reload(ctx context.Context, file *config.File) error {
	l, err := loadConfig(file, h.log)
	if err != nil {
		return fmt.Errorf("reload: %w", err)
	}
	if l.authEntry.Class != h.loaded.authEntry.Class {
		h.log.Warn("reload: a different authenticator_class needs a restart; only the user lists are applied",
			"running", h.loaded.authEntry.Class, "configured", l.authEntry.Class)
	}
	ch, err := h.pipeline.ReloadLists(*l.authCommon)
	if err != nil {
		return fmt.Errorf("reload: %s: %w", h.loaded.authEntry.Class, err)
	}
	h.stopOnRevoke.Store(l.revocation.StopServers)
	return h.applyListChanges(ctx, ch)
}

// applyListChanges brings users in line with reloaded lists (see Reload).
func (h *Hub) applyListChanges(ctx context.Context, ch auth.ListChanges) error {
	var errs []error
	for _, name := range ch.Blocked {
		if err := h.RevokeUser(ctx, name, "added to blocked_users"); err != nil {
			errs = append(errs, err)
		}
	}
	// Prepare new names as startup does (system accounts), then admin role and flags.
	for _, name := range mergeScopes(ch.AdminsAdded, ch.AllowedAdded) {
		if err := h.pipeline.AddUser(ctx, name); err != nil {
			h.log.Error("reload: the authenticator could not add a configured user", "user", name, "err", err)
		}
	}
	if len(ch.AdminsAdded) > 0 {
		if err := syncRoles(ctx, h.db, h.catalog, h.cfg.LoadRoles, h.pipeline.AdminUsers()); err != nil {
			errs = append(errs, fmt.Errorf("reload: admin_users: %w", err))
		}
	}
	for _, name := range ch.AdminsRemoved {
		if err := h.demote(ctx, name); err != nil {
			errs = append(errs, err)
		}
	}
	// Who may have lost their allow rule.
	check := mergeScopes(ch.AllowedRemoved, ch.AdminsRemoved)
	cfg := h.pipeline.Config()
	if (ch.AllowAllChanged && !*cfg.AllowAll) || (ch.AllowExistingChanged && !*cfg.AllowExistingUsers) {
		if _, own := h.pipeline.Authenticator().(auth.AllowChecker); own {
			// Its own rule (groups, organisations) needs the login's identity to answer; those
			// users are checked again at their next login instead of all being revoked now.
			h.log.Warn("reload: allow_all or allow_existing_users was turned off; users the authenticator's own rules admit keep their sessions until they log in again")
		} else {
			users, err := h.allUserNames(ctx)
			if err != nil {
				errs = append(errs, err)
			}
			check = mergeScopes(check, users)
		}
	}
	for _, name := range check {
		if h.pipeline.IsBlocked(name) {
			continue // revoked above
		}
		ok, err := h.pipeline.IsAllowed(ctx, name)
		if err != nil {
			errs = append(errs, fmt.Errorf("reload: allow check of %q: %w", name, err))
			continue
		}
		if !ok {
			if err := h.RevokeUser(ctx, name, "no longer allowed by the config"); err != nil {
				errs = append(errs, err)
			}
			continue
		}
		if *cfg.AllowExistingUsers && !*cfg.AllowAll && !h.pipeline.IsAdminUser(name) &&
			!slices.Contains(h.pipeline.AllowedUsers(), name) {
			h.log.Warn("reload: a user removed from the allow lists keeps access through allow_existing_users (they are in the database); block or delete them to end it",
				"user", name)
		}
	}
	h.api.Invalidate()
	return errors.Join(errs...)
}

// demote takes the admin role and flag from a user removed from admin_users. Upstream never
// demotes (admin_users only grants, at startup); a reload that removes a name means it.
func (h *Hub) demote(ctx context.Context, name string) error {
	u, err := h.db.GetUser(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if err := h.db.RevokeRole(ctx, "admin", store.KindUser, name); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("reload: remove %q from the admin role: %w", name, err)
	}
	if u.Admin {
		no := false
		if _, err := h.db.UpdateUser(ctx, u.ID, store.UserUpdate{Admin: &no}); err != nil {
			return fmt.Errorf("reload: clear the admin flag of %q: %w", name, err)
		}
	}
	h.log.Info("reload: user is no longer an admin", "user", name)
	return nil
}

// allUserNames lists every user in the database.
func (h *Hub) allUserNames(ctx context.Context) ([]string, error) {
	users, _, err := h.db.ListUsers(ctx, store.UserQuery{})
	if err != nil {
		return nil, fmt.Errorf("reload: list users: %w", err)
	}
	names := make([]string, 0, len(users))
	for _, u := range users {
		names = append(names, u.Name)
	}
	return names, nil
}

// watchReload reloads the config (Options.LoadConfig) on every signal from sigs (SIGHUP in
// `gohub serve`) until ctx ends. A failed reload is logged and changes nothing.
func (h *Hub) watchReload(ctx context.Context, sigs <-chan os.Signal, load func() (*config.File, error)) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-sigs:
		}
		h.log.Info("reloading the config")
		file, err := load()
		if err == nil {
			err = h.Reload(ctx, file)
		}
		if err != nil {
			h.log.Error("config reload failed", "err", err)
			continue
		}
		h.log.Info("config reloaded")
	}
}
