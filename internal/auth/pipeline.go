package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync/atomic"
	"time"

	"gohub/internal/forwarded"
)

// Pipeline is the login pipeline shared by all authenticators (upstream's
// get_authenticated_user): it applies the common configuration around one Authenticator. It is
// immutable after NewPipeline and safe for concurrent use.
type Pipeline struct {
	cfg        Config // resolved: AllowAll and AllowExistingUsers are set
	auth       Authenticator
	userExists func(ctx context.Context, name string) (bool, error)
	log        *slog.Logger
	names      *usernames // normalisation and validity; the name lists live in lists

	// lists holds the name lists and allow flags; ReloadLists swaps it while logins run.
	lists    atomic.Pointer[nameLists]
	blocks   nameSet // users blocked at run time (the REST API), beside blocked_users
	invited  nameSet // accounts created through an invitation: allowed like allowed_users
	formless bool
	throttle *throttle

	revoker atomic.Pointer[revokerBox] // set by UseRevoker
}

// NewPipeline checks cfg and builds the pipeline around a. userExists answers
// allow_existing_users (nil: no user exists); log may be nil. It resolves the dynamic defaults
// (the authenticator's first, see DefaultResolver), normalises and validates admin_users,
// allowed_users and blocked_users, compiles username_pattern, and logs startup warnings.
func NewPipeline(cfg Config, a Authenticator, userExists func(ctx context.Context, name string) (bool, error), log *slog.Logger) (*Pipeline, error) {
	if a == nil {
		return nil, errors.New("no authenticator")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if userExists == nil {
		userExists = func(context.Context, string) (bool, error) { return false, nil }
	}
	if cfg.AuthRefreshAge < 0 {
		return nil, fmt.Errorf("auth_refresh_age must not be negative, got %d", cfg.AuthRefreshAge)
	}
	cfg = cloneConfig(cfg)
	if r, ok := a.(DefaultResolver); ok {
		r.ResolveDefaults(&cfg)
	}
	cfg.AllowAll = Bool(boolOr(cfg.AllowAll, false))
	cfg.AllowExistingUsers = Bool(boolOr(cfg.AllowExistingUsers, len(cfg.AllowedUsers) > 0))

	names, err := newUsernames(cfg, a)
	if err != nil {
		return nil, err
	}
	lists, err := names.newLists(cfg)
	if err != nil {
		return nil, err
	}
	thr, err := newThrottle(cfg)
	if err != nil {
		return nil, err
	}
	_, formless := a.(FormlessAuthenticator)
	p := &Pipeline{
		cfg: cfg, auth: a, userExists: userExists, log: log, names: names,
		formless: formless, throttle: thr,
	}
	p.lists.Store(lists)
	readSystemUIDMin(log)
	p.warnings()
	return p, nil
}

// warnings logs what upstream's check_allow_config warns about, plus the authenticator's own.
func (p *Pipeline) warnings() {
	l := p.lists.Load()
	if !l.allowAll && !l.allowExisting && len(l.allowed) == 0 && len(l.admins) == 0 {
		if _, extra := p.auth.(AllowChecker); !extra && !p.formless {
			p.log.Warn("no allow rule is configured: nobody can log in; set Authenticator.allow_all, allowed_users, admin_users or allow_existing_users")
		}
	}
	if p.ClientTrust().TrustsLoopback() {
		p.log.Warn("Authenticator.trusted_proxies includes loopback: every local process, users' servers included, can name any client address to the login throttle and the _xsrf token; the hub's own proxy needs no entry")
	}
	if w, ok := p.auth.(ConfigWarner); ok {
		for _, msg := range w.ConfigWarnings(p.Config()) {
			p.log.Warn(msg)
		}
	}
}

// Config returns the resolved configuration: AllowAll and AllowExistingUsers are never nil. The
// name lists are as configured (as last reloaded); AdminUsers etc. give them normalised.
func (p *Pipeline) Config() Config {
	cfg := cloneConfig(p.cfg)
	l := p.lists.Load()
	cfg.AdminUsers = slices.Clone(l.raw.AdminUsers)
	cfg.AllowedUsers = slices.Clone(l.raw.AllowedUsers)
	cfg.BlockedUsers = slices.Clone(l.raw.BlockedUsers)
	cfg.AllowAll, cfg.AllowExistingUsers = Bool(l.allowAll), Bool(l.allowExisting)
	return cfg
}

// Authenticator returns the authenticator, for the hub to look for optional capabilities.
func (p *Pipeline) Authenticator() Authenticator { return p.auth }

// LoginForm reports whether the login page shows a username/password form (false for
// authenticators without one, such as null).
func (p *Pipeline) LoginForm() bool { return !p.formless }

// AutoLogin reports whether /hub/login should skip the login page (auto_login, always on for
// authenticators without a login form, as upstream forces it for null).
func (p *Pipeline) AutoLogin() bool { return p.cfg.AutoLogin || p.formless }

// ClientTrust is trusted_proxies: who the client of a request is, for the throttle and for the
// hub's cookies.
func (p *Pipeline) ClientTrust() *forwarded.Trust { return p.throttle.proxies.trust }

// LoginService is the name on the "Sign in with …" button; empty means show the form.
func (p *Pipeline) LoginService() string { return p.cfg.LoginService }

// Login runs the whole pipeline for one attempt: strip and normalise the typed name, map it,
// check it is valid and not blocked, authenticate, normalise and check the returned name again,
// check it is allowed, and decide the admin flag. Every refusal is ErrRejected (or an
// authenticator's *Rejection); the reason is logged at info with the username, never the
// password. Other errors mean the attempt could not be decided.
//
// Brute force: an attempt must wait after recent failed logins of its name from its address,
// of its address, or of its name from everywhere (see throttle and failed_logins_*); an attempt
// too early gets ErrRejected, or a *LockedOut saying how long to wait with show_lockout_reason,
// without reaching the authenticator.
func (p *Pipeline) Login(ctx context.Context, c Credentials) (*Identity, error) {
	key := ""
	if typed := strings.TrimSpace(c.Username); typed != "" {
		key = p.names.normalize(p.loginName(c, typed))
	}
	thr := p.throttle
	c.ClientAddr = ""
	if c.Request != nil {
		if a := thr.proxies.trust.Client(c.Request).Addr; a.IsValid() {
			c.ClientAddr = a.String()
		}
	}
	addr := unknownAddr
	if thr.on() {
		var untrusted bool
		addr, untrusted = thr.proxies.clientAddress(c.Request)
		if untrusted && thr.proxies.warned.CompareAndSwap(false, true) {
			p.log.Warn("X-Forwarded-For from a peer that is not the hub's own proxy nor in trusted_proxies is ignored: a proxy in front of the hub that is not listed in Authenticator.trusted_proxies makes every client look like the proxy (or a local process sent a forged header)",
				"peer", c.Request.RemoteAddr)
		}
	}
	// The attempt counts as a failure from here on, so parallel guesses cannot all pass the
	// check before the first of them fails.
	try, wait := thr.reserve(key, addr, time.Now())
	if wait > 0 {
		p.log.Info("login refused", "user", logName(key), "address", addr, "reason", "too many failed logins", "retry_in", wait.Round(time.Second).String())
		if thr.show {
			return nil, &LockedOut{Wait: wait}
		}
		return nil, ErrRejected
	}
	id, err := p.login(ctx, c)
	var shown *Rejection
	switch {
	case err == nil:
		thr.succeed(ctx, try)
		if id.Name != key {
			thr.clearPair(ctx, id.Name, addr)
		}
	// A refusal with its own message (a too-short first password, a busy hub) is not a guess.
	case errors.Is(err, ErrRejected) && !errors.As(err, &shown):
		switch wait, locked := thr.fail(ctx, try); {
		case wait < 0:
			p.log.Warn("too many failed-login counters are tracked; this attempt is not throttled", "user", logName(key), "address", addr)
		case locked:
			p.log.Warn("login locked after repeated failed logins", "user", logName(key), "address", addr, "retry_in", wait.String())
		}
	default:
		thr.release(try)
	}
	return id, err
}

// login is Login without the brute-force throttle.
func (p *Pipeline) login(ctx context.Context, c Credentials) (*Identity, error) {
	l := p.lists.Load()
	c.Typed = strings.TrimSpace(c.Username)
	c.Username, c.InAdminUsers = "", false
	if c.Typed != "" {
		name := p.names.normalize(p.loginName(c, c.Typed))
		if reason := p.names.problem(name); reason != "" {
			return nil, p.refuse(c.Typed, "invalid username: "+reason)
		}
		if why := p.blockedBy(l, name); why != "" {
			return nil, p.refuse(name, why)
		}
		c.Username, c.InAdminUsers = name, l.admins[name]
	}

	id, err := p.auth.Authenticate(ctx, c)
	if err != nil {
		who := c.Username
		if who == "" {
			who = c.Typed
		}
		if !errors.Is(err, ErrRejected) {
			p.log.Error("login failed: authenticator error", "user", logName(who), "err", err)
			return nil, fmt.Errorf("authenticate %q: %w", logName(who), err)
		}
		var shown *Rejection
		if errors.As(err, &shown) {
			p.log.Info("login refused by the authenticator", "user", logName(who), "reason", err.Error())
			return nil, shown
		}
		return nil, p.refuse(who, "authenticator: "+err.Error())
	}
	if id == nil {
		return nil, p.refuse(c.Username, "authenticator returned no identity")
	}

	name := id.Name
	if name != c.Username || c.Username == "" {
		name = p.names.normalize(name)
		if reason := p.names.problem(name); reason != "" {
			return nil, p.refuse(id.Name, "invalid authenticated username: "+reason)
		}
		if why := p.blockedBy(l, name); why != "" {
			return nil, p.refuse(name, why)
		}
	}
	ok, rule, err := p.allowed(ctx, l, name, id)
	if err != nil {
		p.log.Error("login failed: allow check", "user", name, "err", err)
		return nil, err
	}
	if !ok {
		return nil, p.refuse(name, "user is not allowed (no allow rule matches)")
	}

	out := &Identity{Name: name}
	switch {
	case l.admins[name]:
		out.Admin = Bool(true)
	case id.Admin != nil:
		out.Admin = Bool(*id.Admin)
	}
	// nil leaves the membership alone; an empty list (not nil) empties it.
	if p.cfg.ManageGroups && id.Groups != nil {
		groups := append(make([]string, 0, len(id.Groups)), id.Groups...)
		slices.Sort(groups)
		out.Groups = slices.Compact(groups)
	}
	if p.cfg.EnableAuthState {
		out.AuthState = id.AuthState
	}
	if IsSelfNamed(p.auth) {
		if err := RefuseSystemAccount(name); err != nil {
			p.log.Info("login refused", "user", logName(name), "reason", "a system account's name, with an authenticator where people choose their names", "err", err)
			return nil, err
		}
	}
	if err := p.complete(ctx, c, name, id); err != nil {
		return nil, err
	}
	p.log.Info("user authenticated", "user", name, "allowed_by", rule)
	return out, nil
}

// complete runs the authenticator's last steps of an accepted login: UserAdder (system account)
// then LoginCompleter (FirstUse's first password). A refusal keeps its message when it is a
// *Rejection.
func (p *Pipeline) complete(ctx context.Context, c Credentials, name string, id *Identity) error {
	steps := []func() error{}
	if a, ok := p.auth.(UserAdder); ok {
		steps = append(steps, func() error { return a.AddUser(ctx, name) })
	}
	if lc, ok := p.auth.(LoginCompleter); ok {
		steps = append(steps, func() error { return lc.CompleteLogin(ctx, c, name, id) })
	}
	for _, step := range steps {
		err := step()
		if err == nil {
			continue
		}
		var shown *Rejection
		switch {
		case errors.As(err, &shown):
			p.log.Info("login refused by the authenticator", "user", logName(name), "reason", err.Error())
			return shown
		case errors.Is(err, ErrRejected):
			return p.refuse(name, "authenticator: "+err.Error())
		default:
			p.log.Error("login failed: completing the login", "user", logName(name), "err", err)
			return fmt.Errorf("complete login of %q: %w", logName(name), err)
		}
	}
	return nil
}

// refuse logs why a login was refused and returns ErrRejected.
func (p *Pipeline) refuse(name, reason string) error {
	p.log.Info("login refused", "user", logName(name), "reason", reason)
	return ErrRejected
}

// logName shortens a long typed name before it is logged, as upstream does: people type their
// password into the username field, and the log should not keep all of it.
func logName(name string) string {
	const max = 32
	if len(name) <= max {
		return name
	}
	return fmt.Sprintf("%s…(%d chars)", truncate(name, 16), len(name))
}

// truncate returns at most n bytes of s without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := 0
	for i := range s {
		if i > n {
			break
		}
		cut = i
	}
	return s[:cut]
}

// cloneConfig copies cfg so later changes to the caller's slices and maps don't reach the
// pipeline.
func cloneConfig(cfg Config) Config {
	cfg.AdminUsers = slices.Clone(cfg.AdminUsers)
	cfg.AllowedUsers = slices.Clone(cfg.AllowedUsers)
	cfg.BlockedUsers = slices.Clone(cfg.BlockedUsers)
	cfg.TrustedProxies = slices.Clone(cfg.TrustedProxies)
	if cfg.UsernameMap != nil {
		m := make(map[string]string, len(cfg.UsernameMap))
		for k, v := range cfg.UsernameMap {
			m[k] = v
		}
		cfg.UsernameMap = m
	}
	if cfg.AllowAll != nil {
		cfg.AllowAll = Bool(*cfg.AllowAll)
	}
	if cfg.AllowExistingUsers != nil {
		cfg.AllowExistingUsers = Bool(*cfg.AllowExistingUsers)
	}
	return cfg
}
