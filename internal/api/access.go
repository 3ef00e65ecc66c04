package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"gohub/internal/rbac"
	"gohub/internal/store"
)

// AccessControl is the hub's immediate revocation and account recovery, for the two gohub
// additions to the users endpoints:
//   - PATCH /users/{name} with "blocked": true blocks the user (logins refused, cookies,
//     tokens and, by default, servers ended at once) and "blocked": false lifts that block;
//   - POST /users/{name}/password-reset issues a one-time password-reset link.
//
// Both need admin:users on the user, and only admins may block or reset other admins.
type AccessControl interface {
	// BlockUser stores the block and revokes the user's access; UnblockUser lifts it.
	BlockUser(ctx context.Context, name, reason string) error
	UnblockUser(ctx context.Context, name string) error
	// IsBlocked reports whether a user is blocked (config or run time): their cookies and
	// tokens are refused.
	IsBlocked(name string) bool
	// IssueResetLink returns the path (under base_url) of a new reset link for the user and
	// when it expires. errors.Is ErrResetUnavailable when the authenticator keeps no
	// passwords, ErrNoSuchAccount when the name has none.
	IssueResetLink(ctx context.Context, name, by string) (path string, expires time.Time, err error)
	// IssueInvite returns the path of a new one-time invitation (an account created through
	// it is pre-authorized) and when it expires; ErrResetUnavailable as IssueResetLink.
	IssueInvite(ctx context.Context, by string) (path string, expires time.Time, err error)
}

// Errors IssueResetLink may wrap.
var (
	ErrResetUnavailable = errors.New("password reset is not available with this authenticator")
	ErrNoSuchAccount    = errors.New("no such account")
)

// onlyAdmins is JupyterHub's "Only admins can modify other admins" (its PATCH
// /users/{name}), applied by gohub to everything that changes another user's account,
// credentials or servers: a caller whose owner is not an admin gets 403 when u is an admin,
// whatever scopes it holds (a role with admin:users, tokens or servers on every user does not
// make an admin). An admin is a user with the admin flag or a name in admin_users (it becomes
// one at its next login), as auth.IsAdminAccount counts them for the pages. what completes
// "Only admins can … other admins". Stopping a server is not covered, as upstream: the idle
// culler is a service without admin rights.
func (a *API) onlyAdmins(c *caller, u *store.User, what string) error {
	if u != nil && (u.Admin || a.isAdminUserName(u.Name)) && !c.isAdmin() {
		return errorf(http.StatusForbidden, "Only admins can %s other admins", what)
	}
	return nil
}

// isAdminUserName reports whether name is listed in admin_users.
func (a *API) isAdminUserName(name string) bool {
	al, ok := a.d.Users.(adminUserLister)
	return ok && al.IsAdminUser(name)
}

// adminUserLister is a UsernamePolicy that knows admin_users (auth.Pipeline): a name listed
// there becomes an admin at its next login.
type adminUserLister interface {
	IsAdminUser(name string) bool
}

// onlyAdminsName refuses to give an account a name of admin_users unless the caller is an
// admin: the account would become an admin at its next login.
func (a *API) onlyAdminsName(c *caller, name string) error {
	if a.isAdminUserName(name) && !c.isAdmin() {
		return errorf(http.StatusForbidden, "Only admins can give a user the name of an admin (admin_users)")
	}
	return nil
}

// blocked reports whether a user's credentials must be refused.
func (a *API) blocked(name string) bool {
	return a.d.Access != nil && a.d.Access.IsBlocked(name)
}

// takeBlocked removes "blocked" from a PATCH body and checks who may set it.
func (a *API) takeBlocked(c *caller, u *store.User, body map[string]any) (blocked, set bool, err error) {
	if body == nil {
		return false, false, nil
	}
	raw, set := body["blocked"]
	if !set {
		return false, false, nil
	}
	delete(body, "blocked")
	blocked, ok := raw.(bool)
	if !ok {
		return false, false, errorf(http.StatusBadRequest, "user.blocked must be a boolean, not %s", jsonType(raw))
	}
	if a.d.Access == nil {
		return false, false, errorf(http.StatusNotImplemented, "Blocking users is not available")
	}
	if u != nil && c.user != nil && c.user.ID == u.ID && blocked {
		return false, false, errorf(http.StatusBadRequest, "Cannot block yourself!")
	}
	if err := a.onlyAdmins(c, u, "modify"); err != nil {
		return false, false, err
	}
	return blocked, true, nil
}

// setBlocked blocks or unblocks a user through the hub.
func (a *API) setBlocked(ctx context.Context, c *caller, name string, blocked bool) error {
	var err error
	if blocked {
		err = a.d.Access.BlockUser(ctx, name, "blocked through the REST API by "+c.owner.Kind+" "+c.name())
	} else {
		err = a.d.Access.UnblockUser(ctx, name)
	}
	a.Invalidate()
	if errors.Is(err, store.ErrNotFound) {
		return errorf(http.StatusNotFound, "No such user: %s", name)
	}
	if err != nil {
		return fmt.Errorf("block user: %w", err)
	}
	return nil
}

// postPasswordReset answers POST /users/{name}/password-reset (admin:users): a new one-time
// reset link, {"name", "url", "expires_at"}. The url is absolute, built from the request, as
// other URLs this API returns. The link is a secret for the admin to hand over.
func (a *API) postPasswordReset(w http.ResponseWriter, r *http.Request, c *caller) error {
	name := r.PathValue("name")
	u, t, err := a.userTarget(r, name)
	if err != nil {
		return err
	}
	if err := need(c, t, "admin:users"); err != nil {
		return err
	}
	if a.d.Access == nil {
		return errorf(http.StatusNotImplemented, "Password reset links are not available")
	}
	if err := a.onlyAdmins(c, u, "reset the password of"); err != nil {
		return err
	}
	path, expires, err := a.d.Access.IssueResetLink(r.Context(), name, c.owner.Kind+":"+c.name())
	switch {
	case errors.Is(err, ErrResetUnavailable):
		return errorf(http.StatusBadRequest, "%v", err)
	case errors.Is(err, ErrNoSuchAccount):
		return errorf(http.StatusNotFound, "No such user: %s", name)
	case err != nil:
		return fmt.Errorf("issue reset link: %w", err)
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusCreated, map[string]any{
		"name":       name,
		"url":        absoluteURL(r, path),
		"expires_at": FormatTime(expires),
	})
}

// absoluteURL joins the request's scheme and host with path.
func absoluteURL(r *http.Request, path string) string {
	scheme := "http"
	if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
		scheme = "https"
	}
	return scheme + "://" + r.Host + path
}

// postInvitation answers POST /invitations (admin:users, on all users): a new one-time
// invitation, {"url", "expires_at"}. A gohub addition.
func (a *API) postInvitation(w http.ResponseWriter, r *http.Request, c *caller) error {
	// Unfiltered admin:users: the invitation creates a user nobody's filter can name yet.
	if err := need(c, rbac.Target{}, "admin:users"); err != nil {
		return err
	}
	if a.d.Access == nil {
		return errorf(http.StatusNotImplemented, "Invitations are not available")
	}
	path, expires, err := a.d.Access.IssueInvite(r.Context(), c.owner.Kind+":"+c.name())
	if errors.Is(err, ErrResetUnavailable) {
		return errorf(http.StatusBadRequest, "%v", err)
	}
	if err != nil {
		return fmt.Errorf("issue invitation: %w", err)
	}
	w.Header().Set("Cache-Control", "no-store")
	return writeJSON(w, http.StatusCreated, map[string]any{
		"url":        absoluteURL(r, path),
		"expires_at": FormatTime(expires),
	})
}
