package multi

import (
	"context"

	"gohub/internal/auth"
	"gohub/internal/store"
)

// loginKey carries the *login of a source login through the source's pipeline to wrapped.
type loginKey struct{}

// wrapped is a source's authenticator as its own pipeline sees it: the name policy and allow
// rules pass through, the last steps of a login do not (UserAdder, LoginCompleter: the
// MultiAuthenticator runs them once the hub-wide checks have passed too, so FirstUse never
// stores a password for a login the hub refuses). During a login, its allow check records the
// source's verdict in the login and lets the pipeline go on: the hub-wide rules may still allow
// the final name.
type wrapped struct{ a auth.Authenticator }

func (w *wrapped) Authenticate(ctx context.Context, c auth.Credentials) (*auth.Identity, error) {
	id, err := w.a.Authenticate(ctx, c)
	if l, ok := ctx.Value(loginKey{}).(*login); ok && err == nil {
		l.subID, l.creds = id, c
	}
	return id, err
}

func (w *wrapped) NormalizeUsername(name string) string {
	if n, ok := w.a.(auth.UsernameNormalizer); ok {
		return n.NormalizeUsername(name)
	}
	return auth.FoldUsername(name)
}

func (w *wrapped) ValidateUsername(name string) error {
	if v, ok := w.a.(auth.UsernameValidator); ok {
		return v.ValidateUsername(name)
	}
	return nil
}

func (w *wrapped) ResolveDefaults(cfg *auth.Config) {
	if r, ok := w.a.(auth.DefaultResolver); ok {
		r.ResolveDefaults(cfg)
	}
}

func (w *wrapped) ConfigWarnings(cfg auth.Config) []string {
	if cw, ok := w.a.(auth.ConfigWarner); ok {
		return cw.ConfigWarnings(cfg)
	}
	return nil
}

func (w *wrapped) CheckAllowed(ctx context.Context, name string, id *auth.Identity) (bool, error) {
	ok := false
	if ac, has := w.a.(auth.AllowChecker); has {
		var err error
		if ok, err = ac.CheckAllowed(ctx, name, id); err != nil {
			return false, err
		}
	}
	if l, during := ctx.Value(loginKey{}).(*login); during && id != nil {
		l.allowed = ok
		return true, nil
	}
	return ok, nil
}

func (w *wrapped) RefreshUser(ctx context.Context, name string, authState map[string]any) (*auth.Identity, error) {
	if r, ok := w.a.(auth.UserRefresher); ok {
		return r.RefreshUser(ctx, name, authState)
	}
	return nil, nil
}

func (w *wrapped) OTPPrompt() string {
	if o, ok := w.a.(auth.OTPRequester); ok {
		return o.OTPPrompt()
	}
	return ""
}

func (w *wrapped) LoginLinks() []auth.Link {
	if l, ok := w.a.(auth.LoginLinker); ok {
		return l.LoginLinks()
	}
	return nil
}

func (w *wrapped) HomeLinks(u *store.User) []auth.Link {
	if h, ok := w.a.(auth.HomeLinker); ok {
		return h.HomeLinks(u)
	}
	return nil
}
