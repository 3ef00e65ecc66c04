package hub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"

	"gohub/internal/auth"
	"gohub/internal/authstate"
	"gohub/internal/store"
	"gohub/internal/web"
)

// loginAdapter lets the pages and the API log people in through the pipeline, and keeps what
// a login decides beyond the name: group membership (Authenticator.manage_groups) and
// auth_state (enable_auth_state, encrypted with JUPYTERHUB_CRYPT_KEY).
type loginAdapter struct {
	p          *auth.Pipeline
	db         *store.DB
	crypt      *authstate.Crypter // nil without JUPYTERHUB_CRYPT_KEY
	invalidate func()             // drops the API's cached views after a change
	log        *slog.Logger
	// fresh, if set, is told of every successful login (the refresher's clock).
	fresh func(name string)
}

func (l loginAdapter) Login(ctx context.Context, r *http.Request, username, password string, form url.Values) (string, *bool, error) {
	id, err := l.p.Login(ctx, auth.Credentials{Username: username, Password: password, Form: form, Request: r})
	if err != nil && !errors.Is(err, auth.ErrRejected) {
		return "", nil, fmt.Errorf("%w: %w", web.ErrLoginUnavailable, err)
	}
	if err != nil {
		return "", nil, err
	}
	if err := l.keep(ctx, id); err != nil {
		return "", nil, fmt.Errorf("%w: %w", web.ErrLoginUnavailable, err)
	}
	if l.fresh != nil {
		l.fresh(id.Name)
	}
	return id.Name, id.Admin, nil
}

// LoginForm is false for authenticators with their own login page (OAuth): the login page
// shows a "Sign in with …" button to it instead.
func (l loginAdapter) LoginForm() bool { return l.p.LoginForm() && l.LoginURL() == "" }

// LoginURL is the authenticator's own login page (web.LoginURLer), "" if it has none.
func (l loginAdapter) LoginURL() string {
	if u, ok := l.p.Authenticator().(interface{ LoginURL() string }); ok {
		return u.LoginURL()
	}
	return ""
}
func (l loginAdapter) AutoLogin() bool { return l.p.AutoLogin() }

// IsBlocked lets the pages refuse a blocked user's login cookie.
func (l loginAdapter) IsBlocked(name string) bool { return l.p.IsBlocked(name) }

// OTPPrompt, LoginLinks and HomeLinks pass the authenticator's page extras on (web.PageExtras).
func (l loginAdapter) OTPPrompt() string                  { return l.p.OTPPrompt() }
func (l loginAdapter) LoginLinks() []web.Link             { return webLinks(l.p.LoginLinks()) }
func (l loginAdapter) HomeLinks(u *store.User) []web.Link { return webLinks(l.p.HomeLinks(u)) }

// LoginOptions passes an authenticator's several ways to sign in on (web.LoginOptioner).
func (l loginAdapter) LoginOptions() []web.LoginOption {
	var out []web.LoginOption
	for _, o := range l.p.LoginOptions() {
		out = append(out, web.LoginOption{Source: o.Source, Label: o.Label, Form: o.Form, OTPPrompt: o.OTPPrompt,
			URL: o.URL, Service: o.Service, UsernameHint: o.UsernameHint, Links: webLinks(o.Links)})
	}
	return out
}

func webLinks(in []auth.Link) []web.Link {
	var out []web.Link
	for _, k := range in {
		out = append(out, web.Link{Text: k.Text, URL: k.URL})
	}
	return out
}

// LogoutURL is where the browser goes after user logged out (web.LogoutURLer), "" for the
// usual: the authenticator decides (auth.LogoutRedirector) from the user's auth_state.
func (l loginAdapter) LogoutURL(ctx context.Context, user string) string {
	lr, ok := l.p.Authenticator().(auth.LogoutRedirector)
	ur, forUser := l.p.Authenticator().(auth.UserLogoutRedirector)
	if !ok && !forUser {
		return ""
	}
	var state map[string]any
	if user != "" && l.crypt != nil {
		if u, err := l.db.GetUser(ctx, user); err == nil && len(u.EncryptedAuthState) > 0 {
			if state, err = l.crypt.Decrypt(ctx, u.EncryptedAuthState); err != nil {
				l.log.Warn("auth_state cannot be decrypted at logout", "user", user, "err", err)
				state = nil
			}
		}
	}
	if forUser {
		return ur.LogoutURLFor(ctx, user, state)
	}
	return lr.LogoutURL(ctx, state)
}

// apiLogin checks the "auth" body of an unauthenticated POST /hub/api/users/{name}/tokens
// ({"username": ..., "password": ...}), as JupyterHub hands it to its authenticator.
func (l loginAdapter) apiLogin(ctx context.Context, r *http.Request, body map[string]any) (string, error) {
	user, _ := body["username"].(string)
	pass, _ := body["password"].(string)
	form := url.Values{}
	for k, v := range body {
		if s, ok := v.(string); ok && k != "password" {
			form.Set(k, s)
		}
	}
	id, err := l.p.Login(ctx, auth.Credentials{Username: user, Password: pass, Form: form, Request: r})
	if err != nil {
		return "", err
	}
	if err := l.keep(ctx, id); err != nil {
		return "", err
	}
	return id.Name, nil
}

// keep writes the groups and auth_state a login decided, creating the user if this is its
// first login.
func (l loginAdapter) keep(ctx context.Context, id *auth.Identity) error {
	cfg := l.p.Config()
	wantGroups := cfg.ManageGroups && id.Groups != nil
	wantState := cfg.EnableAuthState && id.AuthState != nil
	if !wantGroups && !wantState {
		return nil
	}
	u, err := l.db.GetUser(ctx, id.Name)
	if errors.Is(err, store.ErrNotFound) {
		u, err = l.db.CreateUser(ctx, id.Name, id.Admin != nil && *id.Admin)
		if errors.Is(err, store.ErrExists) {
			u, err = l.db.GetUser(ctx, id.Name)
		}
	}
	if err != nil {
		return fmt.Errorf("user %q: %w", id.Name, err)
	}
	if wantGroups {
		if err := syncUserGroups(ctx, l.db, u, id.Groups); err != nil {
			return err
		}
	}
	if wantState {
		blob, err := l.crypt.Encrypt(ctx, id.AuthState)
		if err != nil {
			return err
		}
		if _, err := l.db.UpdateUser(ctx, u.ID, store.UserUpdate{EncryptedAuthState: &blob}); err != nil {
			return fmt.Errorf("store auth_state of %q: %w", id.Name, err)
		}
	}
	if l.invalidate != nil {
		l.invalidate()
	}
	return nil
}

// syncUserGroups makes the user's group membership exactly groups, creating missing groups.
func syncUserGroups(ctx context.Context, db *store.DB, u *store.User, groups []string) error {
	for _, g := range groups {
		if slices.Contains(u.Groups, g) {
			continue
		}
		if _, err := db.GetGroup(ctx, g); errors.Is(err, store.ErrNotFound) {
			if _, err := db.CreateGroups(ctx, []string{g}, nil); err != nil && !errors.Is(err, store.ErrExists) {
				return fmt.Errorf("create group %q: %w", g, err)
			}
		}
		if _, err := db.AddGroupMembers(ctx, g, []string{u.Name}); err != nil {
			return fmt.Errorf("add %q to group %q: %w", u.Name, g, err)
		}
	}
	for _, g := range u.Groups {
		if !slices.Contains(groups, g) {
			if _, err := db.RemoveGroupMembers(ctx, g, []string{u.Name}); err != nil {
				return fmt.Errorf("remove %q from group %q: %w", u.Name, g, err)
			}
		}
	}
	return nil
}
