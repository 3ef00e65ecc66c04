package auth

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"
)

// UserRefresher is an authenticator that can bring a user's authentication up to date from
// what it stored at login (upstream's refresh_user): OAuth checks the access token and uses the
// refresh token. authState is the user's decrypted auth_state, nil when there is none.
//
// It returns (nil, nil) when the user is up to date, an Identity with the new auth_state
// (and groups and admin flag, as a login decides them) when something changed, an error that is
// or wraps ErrRejected when the user must log in again, and any other error when it could not
// decide (the provider is down).
type UserRefresher interface {
	RefreshUser(ctx context.Context, name string, authState map[string]any) (*Identity, error)
}

// CanRefresh reports whether the authenticator refreshes users (UserRefresher) and auth_state is
// enabled: without auth_state there is nothing to refresh from, and upstream treats every user
// as up to date.
func (p *Pipeline) CanRefresh() bool {
	_, ok := p.auth.(UserRefresher)
	return ok && p.cfg.EnableAuthState && offers(p.auth, CapRefresh)
}

// RefreshAge is auth_refresh_age: how old a user's authentication may be before a hub request
// refreshes it; 0 means requests never do.
func (p *Pipeline) RefreshAge() time.Duration {
	return time.Duration(p.cfg.AuthRefreshAge) * time.Second
}

// RefreshPreSpawn reports whether the user's authentication is refreshed before every spawn
// (refresh_pre_spawn). Unlike upstream, auth_refresh_age 0 does not turn it off
// (README, Authenticators).
func (p *Pipeline) RefreshPreSpawn() bool { return p.cfg.RefreshPreSpawn && p.CanRefresh() }

// Refresh asks the authenticator to bring name's authentication up to date (see
// UserRefresher). A changed Identity goes through the policy a login applies: a name now blocked
// or no longer allowed must log in again (an ErrRejected; upstream does not re-check these on
// refresh), admin_users stay admins, groups are kept only with manage_groups and auth_state only
// with enable_auth_state. (nil, nil) means up to date, also when the authenticator cannot
// refresh.
func (p *Pipeline) Refresh(ctx context.Context, name string, authState map[string]any) (*Identity, error) {
	r, ok := p.auth.(UserRefresher)
	if !ok || !p.cfg.EnableAuthState {
		return nil, nil
	}
	id, err := r.RefreshUser(ctx, name, authState)
	if err != nil {
		if errors.Is(err, ErrRejected) {
			p.log.Info("authentication expired; the user must log in again", "user", logName(name), "reason", err.Error())
			return nil, ErrRejected
		}
		p.log.Error("refresh user: authenticator error", "user", logName(name), "err", err)
		return nil, fmt.Errorf("refresh %q: %w", logName(name), err)
	}
	if id == nil {
		return nil, nil
	}
	l := p.lists.Load()
	if why := p.blockedBy(l, name); why != "" {
		return nil, p.refuse(name, why+" (at refresh)")
	}
	id.Name = name
	allowed, _, err := p.allowed(ctx, l, name, id)
	if err != nil {
		return nil, err
	}
	if !allowed {
		return nil, p.refuse(name, "user is no longer allowed (at refresh)")
	}
	out := &Identity{Name: name, AuthState: id.AuthState}
	switch {
	case l.admins[name]:
		out.Admin = Bool(true)
	case id.Admin != nil:
		out.Admin = Bool(*id.Admin)
	}
	if p.cfg.ManageGroups && id.Groups != nil {
		groups := append(make([]string, 0, len(id.Groups)), id.Groups...)
		slices.Sort(groups)
		out.Groups = slices.Compact(groups)
	}
	return out, nil
}
