package hub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"gohub/internal/auth"
	"gohub/internal/authstate"
	"gohub/internal/session"
	"gohub/internal/spawner"
	"gohub/internal/store"
)

// refresher keeps users' authentication fresh for authenticators that can refresh it
// (auth.UserRefresher, e.g. OAuth with refresh tokens), as upstream's refresh_auth does: on a
// hub request when the last refresh is older than auth_refresh_age, and before every spawn with
// refresh_pre_spawn. The time of the last refresh is kept in memory, as upstream does, so the
// first request after a restart refreshes.
type refresher struct {
	p        *auth.Pipeline
	db       *store.DB
	crypt    *authstate.Crypter // nil without JUPYTERHUB_CRYPT_KEY
	login    loginAdapter
	sessions func() *session.Manager // built after the refresher
	// tokenUser names the user of a request's API token ("" for none, or a service), as the
	// REST API identifies it.
	tokenUser func(r *http.Request) string
	log       *slog.Logger

	mu       sync.Mutex
	last     map[string]time.Time
	inFlight map[string]*flight
}

// flight is one refresh in progress; concurrent refreshes of the same user wait for it and
// share its result. Providers that rotate refresh tokens refuse the second use of one, so two
// refreshes at once would log the user out.
type flight struct {
	done chan struct{}
	err  error
}

func newRefresher(p *auth.Pipeline, db *store.DB, crypt *authstate.Crypter, login loginAdapter, log *slog.Logger) *refresher {
	return &refresher{p: p, db: db, crypt: crypt, login: login, log: log,
		last: map[string]time.Time{}, inFlight: map[string]*flight{}}
}

// fresh records that name's authentication was just decided (a login or a refresh).
func (f *refresher) fresh(name string) {
	f.mu.Lock()
	f.last[name] = time.Now()
	f.mu.Unlock()
}

// due reports whether name's authentication is older than auth_refresh_age.
func (f *refresher) due(name string) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, ok := f.last[name]
	return !ok || time.Since(t) >= f.p.RefreshAge()
}

// refresh asks the authenticator about u and keeps what it decides: admin flag, groups and
// auth_state. An error that is auth.ErrRejected means u must log in again. One refresh per user
// runs at a time; callers arriving meanwhile get its result.
func (f *refresher) refresh(ctx context.Context, u *store.User) error {
	f.mu.Lock()
	if fl, ok := f.inFlight[u.Name]; ok {
		f.mu.Unlock()
		select {
		case <-fl.done:
			return fl.err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	fl := &flight{done: make(chan struct{})}
	f.inFlight[u.Name] = fl
	f.mu.Unlock()
	defer func() {
		f.mu.Lock()
		delete(f.inFlight, u.Name)
		f.mu.Unlock()
		close(fl.done)
	}()
	// The user row may have changed since the caller read it (another refresh just stored new
	// tokens): read it again.
	fresh, err := f.db.GetUserByID(ctx, u.ID)
	if err != nil {
		fl.err = err
		return err
	}
	fl.err = f.refreshUser(ctx, fresh)
	if fl.err != nil && !errors.Is(fl.err, auth.ErrRejected) && ctx.Err() == nil {
		// The back end could not answer (LDAP or the provider down): the user keeps the
		// session, and the next requests do not each wait for another failing refresh.
		f.retryLater(u.Name)
	}
	return fl.err
}

// refreshRetry is how long after a failed refresh (back end down) the next one is tried.
const refreshRetry = 30 * time.Second

// retryLater makes name's refresh due again in refreshRetry (or auth_refresh_age, if shorter).
func (f *refresher) retryLater(name string) {
	wait := min(refreshRetry, f.p.RefreshAge())
	f.mu.Lock()
	f.last[name] = time.Now().Add(wait - f.p.RefreshAge())
	f.mu.Unlock()
}

// refreshUser is refresh without the coordination.
func (f *refresher) refreshUser(ctx context.Context, u *store.User) error {
	var state map[string]any
	if len(u.EncryptedAuthState) > 0 && f.crypt != nil {
		var err error
		if state, err = f.crypt.Decrypt(ctx, u.EncryptedAuthState); err != nil {
			// As upstream: state that cannot be read is treated as absent.
			f.log.Warn("auth_state cannot be decrypted; treating it as absent", "user", u.Name, "err", err)
			state = nil
		}
	}
	id, err := f.p.Refresh(ctx, u.Name, state)
	if err != nil {
		return err
	}
	if id != nil {
		if id.Admin != nil && *id.Admin != u.Admin {
			if _, err := f.db.UpdateUser(ctx, u.ID, store.UserUpdate{Admin: id.Admin}); err != nil {
				return fmt.Errorf("set admin flag of %q: %w", u.Name, err)
			}
		}
		if err := f.login.keep(ctx, id); err != nil {
			return err
		}
	}
	f.fresh(u.Name)
	return nil
}

// middleware refreshes the user of a login cookie or an API token whose authentication is older
// than auth_refresh_age. When the user must log in again, the request goes on anonymous, as
// upstream's does: without the login cookie (which is cleared) or the token.
func (f *refresher) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := f.sessions()
		id, ok := s.LoginCookieID(r)
		if !ok {
			next.ServeHTTP(w, f.tokenRequest(r))
			return
		}
		u, err := f.db.GetUserByCookieID(r.Context(), id)
		if err != nil || !f.due(u.Name) {
			next.ServeHTTP(w, r)
			return
		}
		err = f.refresh(r.Context(), u)
		switch {
		case errors.Is(err, auth.ErrRejected):
			s.ClearLogin(w)
			r = withoutCookie(r, s.LoginCookieName())
		case err != nil:
			// The provider is down: keep the session rather than log everyone out.
			f.log.Error("refresh user failed; keeping the session", "user", u.Name, "err", err)
		}
		next.ServeHTTP(w, r)
	})
}

// tokenRequest refreshes the user of r's API token when due; it returns r without its token
// when the user must log in again.
func (f *refresher) tokenRequest(r *http.Request) *http.Request {
	if f.tokenUser == nil || r.Header.Get("Authorization") == "" {
		return r
	}
	name := f.tokenUser(r)
	if name == "" || !f.due(name) {
		return r
	}
	u, err := f.db.GetUser(r.Context(), name)
	if err != nil {
		return r
	}
	err = f.refresh(r.Context(), u)
	switch {
	case errors.Is(err, auth.ErrRejected):
		r2 := r.Clone(r.Context())
		r2.Header.Del("Authorization")
		return r2
	case err != nil:
		f.log.Error("refresh user failed; keeping the token", "user", u.Name, "err", err)
	}
	return r
}

// withoutCookie returns r without the cookies named name.
func withoutCookie(r *http.Request, name string) *http.Request {
	r2 := r.Clone(r.Context())
	r2.Header.Del("Cookie")
	for _, c := range r.Cookies() {
		if c.Name != name {
			r2.AddCookie(c)
		}
	}
	return r2
}

// spawnAuthState is the spawner's Options.AuthState: refresh first with refresh_pre_spawn
// (also when auth_refresh_age is 0, unlike upstream: README, Authenticators), then hand the
// spawn the decrypted auth_state.
func (f *refresher) spawnAuthState(ctx context.Context, su spawner.User) (map[string]any, error) {
	u, err := f.db.GetUserByID(ctx, su.ID)
	if err != nil {
		return nil, err
	}
	if f.p.RefreshPreSpawn() {
		if err := f.refresh(ctx, u); err != nil {
			if errors.Is(err, auth.ErrRejected) {
				return nil, fmt.Errorf("%w: %s's authentication has expired; log in again", spawner.ErrBadRequest, u.Name)
			}
			return nil, fmt.Errorf("refresh %s's authentication before the spawn: %w", u.Name, err)
		}
		if u, err = f.db.GetUserByID(ctx, su.ID); err != nil {
			return nil, err
		}
	}
	if !f.p.Config().EnableAuthState || f.crypt == nil || len(u.EncryptedAuthState) == 0 {
		return nil, nil
	}
	state, err := f.crypt.Decrypt(ctx, u.EncryptedAuthState)
	if err != nil {
		f.log.Warn("auth_state cannot be decrypted; the spawn goes on without it", "user", u.Name, "err", err)
		return nil, nil
	}
	return state, nil
}
