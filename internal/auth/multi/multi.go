package multi

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"

	"gohub/internal/auth"
	"gohub/internal/store"
)

// source is one configured authenticator with its own pipeline (its own name policy).
type source struct {
	name, label, prefix string
	urlPrefix           string
	class               string
	real                auth.Authenticator
	pipeline            *auth.Pipeline
	// page is true for a source with its own login page (OAuth): it is reached only through
	// its callback, never through a form post.
	page     bool
	mapsFrom map[string]bool
}

// Authenticator is MultiAuthenticator. It is safe for concurrent use.
type Authenticator struct {
	// hubAdmins are the top-level admin_users, normalised: each may come only through the
	// source that owns it (hubAdminOwners).
	hubAdmins map[string]bool
	sources   []*source
	byName    map[string]*source
	forms     []*source // sources with a username/password form
	log       *slog.Logger
	db        atomic.Pointer[store.DB]
}

// New builds every source from its validated config.
func New(cfg *Config, log *slog.Logger) (*Authenticator, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	for _, s := range cfg.Authenticators {
		if s.decoded == nil {
			if err := cfg.Validate(); err != nil {
				return nil, err
			}
			break
		}
	}
	m := &Authenticator{byName: map[string]*source{}, log: log}
	var owned map[int][]string
	m.hubAdmins, owned = hubAdminOwners(cfg)
	probe := &pageProbe{mux: http.NewServeMux()}
	for i, s := range cfg.Authenticators {
		cl, ok := lookupClass(s.Class)
		if !ok || s.decoded == nil {
			return nil, fmt.Errorf("%s.authenticators[%d]: class %q is not available", ClassName, i, s.Class)
		}
		sub := s.decoded
		common := sub.(interface{ Common() *auth.Config }).Common()
		// The hub-wide settings are the top level's: the throttle counts final names there,
		// auth_state and groups are kept (or not) by the hub.
		common.FailedLoginsBeforeLockout, common.FailedLoginDelaySeconds = 0, 0
		common.EnableAuthState, common.ManageGroups = cfg.EnableAuthState, cfg.ManageGroups
		common.AutoLogin = false
		common.AllowedUsers = append(common.AllowedUsers, s.AllowedUsers...)
		common.BlockedUsers = append(common.BlockedUsers, s.BlockedUsers...)
		common.AdminUsers = append(common.AdminUsers, s.AdminUsers...)
		// The hub-wide admins this source owns are its admins too: a source whose people
		// choose their names (native, firstuse) then refuses to let anyone claim them.
		common.AdminUsers = append(common.AdminUsers, owned[i]...)
		slg := log.With("source", s.Name)
		a, common, err := cl.New(sub, slg)
		if err != nil {
			return nil, fmt.Errorf("%s.authenticators[%d] (%s): %w", ClassName, i, s.Name, err)
		}
		src := &source{name: s.Name, label: s.Label, prefix: s.Prefix, urlPrefix: s.URLPrefix,
			class: cl.Name, real: a, mapsFrom: map[string]bool{}}
		if _, formless := a.(auth.FormlessAuthenticator); formless {
			return nil, fmt.Errorf("%s.authenticators[%d]: %s has no way to log in", ClassName, i, cl.Name)
		}
		_, src.page = a.(interface{ LoginURL() string })
		for _, f := range s.MapUsersFrom {
			src.mapsFrom[f] = true
		}
		if src.label == "" {
			src.label = common.LoginService
		}
		if src.label == "" {
			src.label = cl.Name
		}
		if pp, ok := a.(auth.PageProvider); ok {
			if err := probe.register(pp, s.URLPrefix); err != nil {
				return nil, fmt.Errorf("%s.authenticators[%d] (%s): %w", ClassName, i, s.Name, err)
			}
		}
		if _, ok := a.(auth.DatabaseUser); ok {
			for _, o := range m.sources {
				if _, db := o.real.(auth.DatabaseUser); db && o.class == cl.Name {
					return nil, fmt.Errorf("%s.authenticators[%d] (%s): source %s is also %s, and both would share its table of accounts", ClassName, i, s.Name, o.name, cl.Name)
				}
			}
		}
		prefix := s.Prefix
		exists := func(ctx context.Context, name string) (bool, error) {
			db := m.db.Load()
			if db == nil {
				return false, nil
			}
			_, err := db.GetUser(ctx, prefix+name)
			if errors.Is(err, store.ErrNotFound) {
				return false, nil
			}
			return err == nil, err
		}
		src.pipeline, err = auth.NewPipeline(*common, &wrapped{a: a}, exists, slg)
		if err != nil {
			return nil, fmt.Errorf("%s.authenticators[%d] (%s): %w", ClassName, i, s.Name, err)
		}
		m.sources = append(m.sources, src)
		m.byName[src.name] = src
		if !src.page {
			m.forms = append(m.forms, src)
		}
	}
	return m, nil
}

// pageProbe registers the sources' pages on a scratch mux at build time, so sources whose pages
// would clash (two OAuth providers without url_prefix) stop the hub with a clear error instead
// of a panic when the hub registers them. The hub's RegisterPages later registers them for
// real, which replaces what registering remembers (the prefix of OAuth's login URL, Native's).
type pageProbe struct{ mux *http.ServeMux }

func (p *pageProbe) register(pp auth.PageProvider, urlPrefix string) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("its pages clash with those of an earlier source (%v); give one of them a url_prefix", r)
		}
	}()
	prefix := "/hub/"
	if urlPrefix != "" {
		prefix += urlPrefix + "/"
	}
	pp.RegisterPages(p.mux, auth.PageDeps{Prefix: prefix})
	return nil
}

// ConfigWarnings warns about a MultiAuthenticator without sources (auth.ConfigWarner).
func (m *Authenticator) ConfigWarnings(auth.Config) []string {
	if len(m.sources) == 0 {
		return []string{"MultiAuthenticator.authenticators lists no source: nobody can log in"}
	}
	return nil
}

// hubAdminOwners normalises the top-level admin_users and gives each name to the one source
// that can produce it: the source with the longest prefix the name starts with, if no other
// source has a prefix of that length the name starts with. owned maps a source's index to the
// names it owns, without the prefix. A name two sources could produce (two sources without a
// prefix) has no owner: it logs in only through a source whose own admin_users lists it, so
// the first person to use a name at whichever source cannot claim a hub admin.
func hubAdminOwners(cfg *Config) (all map[string]bool, owned map[int][]string) {
	all, owned = map[string]bool{}, map[int][]string{}
	for _, raw := range cfg.AdminUsers {
		name := auth.FoldUsername(strings.TrimSpace(raw))
		all[name] = true
		best, n, owner := -1, 0, -1
		for i, s := range cfg.Authenticators {
			if !strings.HasPrefix(name, s.Prefix) {
				continue
			}
			switch l := len(s.Prefix); {
			case l > best:
				best, n, owner = l, 1, i
			case l == best:
				n++
			}
		}
		if n == 1 && len(name) > best {
			owned[owner] = append(owned[owner], name[best:])
		}
	}
	return all, owned
}

// pageSourceKey marks the request of a source's own page that completes a login (the OAuth
// callback): only such a request may log in through that source.
type pageSourceKey struct{}

// formSource is the source a login form names (login_source), or the only form source when
// the request names none (an API token request with just username and password).
func (m *Authenticator) formSource(c auth.Credentials) *source {
	name := ""
	if c.Form != nil {
		name = strings.TrimSpace(c.Form.Get(auth.LoginSourceField))
	}
	if name == "" {
		if len(m.forms) == 1 {
			return m.forms[0]
		}
		return nil
	}
	if s := m.byName[name]; s != nil && !s.page {
		return s
	}
	return nil
}

// loginSource is the source of a login: the page's source for a login completed by a source's
// own page, else the form's.
func (m *Authenticator) loginSource(ctx context.Context, c auth.Credentials) *source {
	if s, ok := ctx.Value(pageSourceKey{}).(*source); ok {
		return s
	}
	if c.Request != nil {
		if s, ok := c.Request.Context().Value(pageSourceKey{}).(*source); ok {
			return s
		}
	}
	return m.formSource(c)
}

// LoginName adds the form's source prefix to the typed name (auth.LoginNamer), so the hub-wide
// checks before authentication and the throttle see the final name.
func (m *Authenticator) LoginName(c auth.Credentials, typed string) string {
	if s := m.loginSource(context.Background(), c); s != nil {
		return s.prefix + typed
	}
	return typed
}

// login is what a successful source login hands from Authenticate to CompleteLogin.
type login struct {
	src     *source
	subName string
	subID   *auth.Identity   // what the source's authenticator returned (with its Private)
	creds   auth.Credentials // as the source saw them
	allowed bool             // the source's own rules allow the user
}

// Authenticate runs the login through the chosen source's pipeline (its name policy and allow
// rules) and returns the prefixed name.
func (m *Authenticator) Authenticate(ctx context.Context, c auth.Credentials) (*auth.Identity, error) {
	src := m.loginSource(ctx, c)
	if src == nil {
		return nil, fmt.Errorf("%w: the login names no known source (%s)", auth.ErrRejected, auth.LoginSourceField)
	}
	l := &login{src: src, allowed: true}
	sc := auth.Credentials{Username: c.Typed, Password: c.Password, Form: c.Form, Request: c.Request}
	id, err := src.pipeline.Login(context.WithValue(ctx, loginKey{}, l), sc)
	if err != nil {
		return nil, fmt.Errorf("source %s: %w", src.name, err)
	}
	l.subName = id.Name
	final := src.prefix + id.Name
	if m.hubAdmins[final] && !src.pipeline.IsAdminUser(id.Name) {
		return nil, fmt.Errorf("%w: %s is a hub-wide admin, and source %s does not own that name (list it in the source's admin_users, or give the sources distinct prefixes)",
			auth.ErrRejected, final, src.name)
	}
	if err := m.checkSource(ctx, src, final); err != nil {
		return nil, err
	}
	// A source where people choose their names never yields a system account's name, also
	// once prefixed (auth.SelfNamed; its own pipeline sees only the name without the prefix).
	if auth.IsSelfNamed(src.real) {
		if err := auth.RefuseSystemAccount(final); err != nil {
			return nil, err
		}
	}
	return &auth.Identity{Name: final, Admin: id.Admin, Groups: id.Groups, AuthState: id.AuthState, Private: l}, nil
}

// checkSource refuses a name recorded as coming through another source that src does not map.
func (m *Authenticator) checkSource(ctx context.Context, src *source, name string) error {
	db := m.db.Load()
	if db == nil {
		return nil
	}
	rec, err := db.UserSource(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	return src.admits(rec, name)
}

// admits says whether a user recorded as coming through source rec may log in through s.
func (s *source) admits(rec, name string) error {
	if rec == s.name || s.mapsFrom[rec] {
		return nil
	}
	return fmt.Errorf("%w: hub user %s came through source %s, not %s (see map_users_from)", auth.ErrRejected, name, rec, s.name)
}

// CheckAllowed is the sources' own allow rules (auth.AllowChecker), consulted after the
// hub-wide ones: during a login, whether the login's source allowed the user; otherwise,
// whether the user's source would.
func (m *Authenticator) CheckAllowed(ctx context.Context, name string, id *auth.Identity) (bool, error) {
	if id != nil {
		l, ok := id.Private.(*login)
		return ok && l.allowed, nil
	}
	src, sub, err := m.owner(ctx, name)
	if err != nil || src == nil {
		return false, err
	}
	return src.pipeline.IsAllowed(ctx, sub)
}

// CompleteLogin records the user's source (refusing if another source got there first) and
// runs the source's last steps of a login (auth.LoginCompleter): its add_user and its own
// completion (FirstUse stores the first password), with the source's name of the user.
func (m *Authenticator) CompleteLogin(ctx context.Context, _ auth.Credentials, name string, id *auth.Identity) error {
	l, ok := id.Private.(*login)
	if !ok {
		return errors.New("multi: a login without its source")
	}
	created := false
	if db := m.db.Load(); db != nil {
		rec, isNew, err := db.ClaimUserSource(ctx, name, l.src.name)
		if err != nil {
			return err
		}
		if err := l.src.admits(rec, name); err != nil {
			return err
		}
		created = isNew
	}
	if err := m.completeSource(ctx, l); err != nil {
		if created {
			if derr := m.db.Load().DeleteUserSource(context.WithoutCancel(ctx), name); derr != nil {
				m.log.Error("forget the source of a refused first login", "user", name, "err", derr)
			}
		}
		return err
	}
	return nil
}

func (m *Authenticator) completeSource(ctx context.Context, l *login) error {
	if a, ok := l.src.real.(auth.UserAdder); ok {
		if err := a.AddUser(ctx, l.subName); err != nil {
			return err
		}
	}
	if lc, ok := l.src.real.(auth.LoginCompleter); ok {
		return lc.CompleteLogin(ctx, l.creds, l.subName, l.subID)
	}
	return nil
}

// owner finds the source of a hub user: the recorded one, else the one whose prefix the name
// has (the longest; none when two sources share it). sub is the name at that source.
func (m *Authenticator) owner(ctx context.Context, name string) (src *source, sub string, err error) {
	if db := m.db.Load(); db != nil {
		rec, err := db.UserSource(ctx, name)
		switch {
		case err == nil:
			if s := m.byName[rec]; s != nil && strings.HasPrefix(name, s.prefix) {
				return s, strings.TrimPrefix(name, s.prefix), nil
			}
			return nil, "", nil // a source no longer configured
		case !errors.Is(err, store.ErrNotFound):
			return nil, "", err
		}
	}
	best, n := -1, 0
	for _, s := range m.sources {
		if !strings.HasPrefix(name, s.prefix) {
			continue
		}
		switch l := len(s.prefix); {
		case l > best:
			best, n, src = l, 1, s
		case l == best:
			n++
		}
	}
	if n != 1 || len(name) == best {
		return nil, "", nil
	}
	return src, name[best:], nil
}

// AddUser prepares a user the hub adds outside a login (auth.UserAdder) through its source's
// add_user. Names whose source cannot be told apart are left alone; at their first login,
// CompleteLogin runs the right source's add_user.
func (m *Authenticator) AddUser(ctx context.Context, name string) error {
	src, sub, err := m.owner(ctx, name)
	if err != nil || src == nil {
		return err
	}
	if err := src.pipeline.CheckUsername(sub); err != nil {
		return err
	}
	if a, ok := src.real.(auth.UserAdder); ok {
		return a.AddUser(ctx, sub)
	}
	return nil
}

// DeleteUser tells the user's source the hub deleted the user and forgets the source
// (auth.UserDeleter).
func (m *Authenticator) DeleteUser(ctx context.Context, name string) error {
	src, sub, err := m.owner(ctx, name)
	if err != nil {
		return err
	}
	if src != nil {
		if d, ok := src.real.(auth.UserDeleter); ok {
			if err := d.DeleteUser(ctx, sub); err != nil {
				return err
			}
		}
	}
	if db := m.db.Load(); db != nil {
		return db.DeleteUserSource(ctx, name)
	}
	return nil
}

// UseDatabase keeps the database (for users' sources) and hands it to every source that keeps
// state there (auth.DatabaseUser).
func (m *Authenticator) UseDatabase(ctx context.Context, db *store.DB) error {
	m.db.Store(db)
	for _, s := range m.sources {
		if du, ok := s.real.(auth.DatabaseUser); ok {
			if err := du.UseDatabase(ctx, db); err != nil {
				return fmt.Errorf("source %s: %w", s.name, err)
			}
		}
	}
	return nil
}

// PreSpawnStart runs the user's source's spawn hook (auth.SpawnHooks).
func (m *Authenticator) PreSpawnStart(ctx context.Context, name string) error {
	src, sub, err := m.owner(ctx, name)
	if err != nil || src == nil {
		return err
	}
	if h, ok := src.real.(auth.SpawnHooks); ok {
		return h.PreSpawnStart(ctx, sub)
	}
	return nil
}

// PostSpawnStop runs the user's source's stop hook (auth.SpawnHooks).
func (m *Authenticator) PostSpawnStop(ctx context.Context, name string) {
	src, sub, err := m.owner(ctx, name)
	if err != nil {
		m.log.Error("post spawn stop: find the user's source", "user", name, "err", err)
		return
	}
	if src == nil {
		return
	}
	if h, ok := src.real.(auth.SpawnHooks); ok {
		h.PostSpawnStop(ctx, sub)
	}
}

// RefreshUser refreshes the user through its source (auth.UserRefresher), with the source's
// own blocked and allow rules applied again.
func (m *Authenticator) RefreshUser(ctx context.Context, name string, authState map[string]any) (*auth.Identity, error) {
	src, sub, err := m.owner(ctx, name)
	if err != nil || src == nil {
		return nil, err
	}
	id, err := src.pipeline.Refresh(ctx, sub, authState)
	if err != nil || id == nil {
		return id, err
	}
	id.Name = name
	return id, nil
}

// LogoutURLFor asks the user's source where the browser goes after logout
// (auth.UserLogoutRedirector): an OAuth source's logout_redirect_url or end_session_endpoint.
func (m *Authenticator) LogoutURLFor(ctx context.Context, user string, authState map[string]any) string {
	src, _, err := m.owner(ctx, user)
	if err != nil || src == nil {
		return ""
	}
	if lr, ok := src.real.(auth.LogoutRedirector); ok {
		return lr.LogoutURL(ctx, authState)
	}
	return ""
}

// LoginOptions lists one way to sign in per source (auth.LoginOptioner).
func (m *Authenticator) LoginOptions() []auth.LoginOption {
	out := make([]auth.LoginOption, 0, len(m.sources))
	for _, s := range m.sources {
		o := auth.LoginOption{Source: s.name, Label: s.label, Links: s.pipeline.LoginLinks()}
		if s.page {
			o.URL = s.real.(interface{ LoginURL() string }).LoginURL()
			o.Service = s.pipeline.LoginService()
			if o.Service == "" {
				o.Service = s.label
			}
		} else {
			o.Form = true
			o.OTPPrompt = s.pipeline.OTPPrompt()
		}
		if s.prefix != "" {
			o.UsernameHint = "You sign in as " + s.prefix + "<username> on this hub."
		}
		out = append(out, o)
	}
	return out
}

// HomeLinks gathers the sources' home page links (auth.HomeLinker): all of the user's own
// source, and the admin-only ones of the others for an admin (Native's "Authorize Users").
func (m *Authenticator) HomeLinks(u *store.User) []auth.Link {
	own, sub, _ := m.owner(context.Background(), u.Name)
	var out []auth.Link
	for _, s := range m.sources {
		hl, ok := s.real.(auth.HomeLinker)
		if !ok {
			continue
		}
		if s == own {
			c := *u
			c.Name = sub
			out = append(out, hl.HomeLinks(&c)...)
			continue
		}
		if !u.Admin {
			continue
		}
		// What anyone gets: no admin flag, and no ID, so no roles (Native asks the hub's
		// roles for admin:users).
		plain := store.User{Name: u.Name}
		everyone := map[auth.Link]bool{}
		for _, l := range hl.HomeLinks(&plain) {
			everyone[l] = true
		}
		for _, l := range hl.HomeLinks(u) {
			if !everyone[l] {
				out = append(out, l)
			}
		}
	}
	return out
}

// Offers reports whether some source has capability (auth.Forwarder): without a source that
// keeps passwords, reset links and invitations stay off; without one that refreshes, the hub
// does not refresh users on requests.
func (m *Authenticator) Offers(capability string) bool {
	for _, s := range m.sources {
		var ok bool
		switch capability {
		case auth.CapPasswords:
			_, ok = s.real.(auth.PasswordSetter)
		case auth.CapRefresh:
			_, ok = s.real.(auth.UserRefresher)
		default:
			return true
		}
		if ok {
			return true
		}
	}
	return false
}

// passwordSource is the source that keeps the password of hub user name, with the name there.
func (m *Authenticator) passwordSource(ctx context.Context, name string) (auth.PasswordSetter, string, error) {
	src, sub, err := m.owner(ctx, name)
	if err != nil {
		return nil, "", err
	}
	if src != nil {
		if ps, ok := src.real.(auth.PasswordSetter); ok {
			return ps, sub, nil
		}
	}
	return nil, "", auth.Reject("The password of this account is not kept by the hub; it cannot be set here.")
}

// SetPassword sets the password at the user's source (auth.PasswordSetter), for the hub's
// reset links and invitations; a source that keeps no passwords refuses.
func (m *Authenticator) SetPassword(ctx context.Context, name, pw string) error {
	ps, sub, err := m.passwordSource(ctx, name)
	if err != nil {
		return err
	}
	return ps.SetPassword(ctx, sub, pw)
}

// SetOwnerPassword hands the user to its owner through its source (auth.OwnerPasswordSetter
// when the source has it, else its SetPassword).
func (m *Authenticator) SetOwnerPassword(ctx context.Context, name, pw string) error {
	ps, sub, err := m.passwordSource(ctx, name)
	if err != nil {
		return err
	}
	if os, ok := ps.(auth.OwnerPasswordSetter); ok {
		return os.SetOwnerPassword(ctx, sub, pw)
	}
	return ps.SetPassword(ctx, sub, pw)
}

// HasPassword asks the user's source (auth.PasswordKnower); false when it cannot tell.
func (m *Authenticator) HasPassword(ctx context.Context, name string) (bool, error) {
	ps, sub, err := m.passwordSource(ctx, name)
	if err != nil {
		return false, err
	}
	if pk, ok := ps.(auth.PasswordKnower); ok {
		return pk.HasPassword(ctx, sub)
	}
	return false, nil
}

// CheckNewPassword applies the password rules of the user's source (auth.PasswordRules).
func (m *Authenticator) CheckNewPassword(name, pw string) error {
	ps, sub, err := m.passwordSource(context.Background(), name)
	if err != nil {
		return err
	}
	if r, ok := ps.(auth.PasswordRules); ok {
		return r.CheckNewPassword(sub, pw)
	}
	return nil
}

// UseSealer hands the hub's secret sealer to every source that keeps secrets (auth.SecretKeeper).
func (m *Authenticator) UseSealer(sealer auth.SecretSealer) {
	for _, s := range m.sources {
		if k, ok := s.real.(auth.SecretKeeper); ok {
			k.UseSealer(sealer)
		}
	}
}

// UseRevoker hands the hub's revocation to every source that withdraws users itself
// (auth.RevokerUser, Native's un-authorize), translating the source's names to hub names.
func (m *Authenticator) UseRevoker(r auth.Revoker) {
	for _, s := range m.sources {
		if ru, ok := s.real.(auth.RevokerUser); ok {
			ru.UseRevoker(prefixRevoker{r: r, prefix: s.prefix})
		}
	}
}

// prefixRevoker revokes the hub user of a source's name.
type prefixRevoker struct {
	r      auth.Revoker
	prefix string
}

func (p prefixRevoker) RevokeUser(ctx context.Context, name, reason string) error {
	return p.r.RevokeUser(ctx, p.prefix+name, reason)
}
