package web

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"gohub/internal/session"
	"gohub/internal/store"
)

// Messages of the login form, as JupyterHub words them.
const (
	msgInvalidLogin = "Invalid username or password"
	msgFormExpired  = "Login form invalid or expired. Try again."
)

// loginPage answers GET /hub/login (protocol.md §4.2).
func (p *Pages) loginPage(w http.ResponseWriter, r *http.Request) {
	u, ok := p.user(w, r)
	if !ok {
		return
	}
	if u != nil {
		p.finishLogin(w, r, u, false)
		return
	}
	if p.d.Auth.AutoLogin() {
		p.autoLogin(w, r)
		return
	}
	p.renderLogin(w, r, http.StatusOK, r.URL.Query().Get("username"), "")
}

// autoLogin sends the browser to the authenticator's own login page, or, when the login page
// is this one, logs in from the request itself (e.g. a REMOTE_USER header).
func (p *Pages) autoLogin(w http.ResponseWriter, r *http.Request) {
	if target := p.authLoginURL(); target != "" && target != p.hubPrefix+"login" {
		if next := r.URL.Query().Get("next"); next != "" {
			target = addQuery(target, "next", p.nextURL(r, nil))
		}
		redirect(w, target)
		return
	}
	name, admin, err := p.d.Auth.Login(r.Context(), r, "", "", nil)
	if err != nil {
		p.log.Warn("auto login refused", "err", err)
		p.Error(w, r, http.StatusForbidden, "")
		return
	}
	u, err := p.userForLogin(r.Context(), name, admin)
	if err != nil {
		p.log.Error("log in", "user", name, "err", err)
		p.Error(w, r, http.StatusInternalServerError, "")
		return
	}
	p.finishLogin(w, r, u, true)
}

// loginPost answers POST /hub/login: check _xsrf, ask the authenticator, then log in.
func (p *Pages) loginPost(w http.ResponseWriter, r *http.Request) {
	r.Body = http.MaxBytesReader(w, r.Body, p.d.MaxFormBytes)
	if err := r.ParseForm(); err != nil {
		p.Error(w, r, http.StatusBadRequest, "The login form could not be read.")
		return
	}
	username := strings.TrimSpace(r.PostForm.Get("username"))
	// Login CSRF: a page of another site must not log the browser into the attacker's account.
	if proto, host := p.origin(r); session.CrossSite(r, proto+"://"+host) {
		p.log.Warn("cross-site login form refused", "origin", truncate(r.Header.Get("Origin"), 100), "sec_fetch_site", r.Header.Get("Sec-Fetch-Site"))
		p.Error(w, r, http.StatusForbidden, "Sign in from the hub's own login page.")
		return
	}
	if !p.d.Sessions.CheckXSRF(r, p.d.Sessions.XSRFID(r, "")) {
		p.log.Warn("xsrf check failed on the login form")
		if mode := r.Header.Get("Sec-Fetch-Mode"); mode == "" || mode == "navigate" {
			p.renderLogin(w, r, http.StatusForbidden, username, msgFormExpired)
		} else {
			p.Error(w, r, http.StatusForbidden, msgFormExpired)
		}
		return
	}
	// Everything posted but _xsrf goes to the authenticator; only the username is stripped.
	form := url.Values{}
	for k, v := range r.PostForm {
		if k != "_xsrf" {
			form[k] = append([]string(nil), v...)
		}
	}
	form.Set("username", username)
	name, admin, err := p.d.Auth.Login(r.Context(), r, username, r.PostForm.Get("password"), form)
	if errors.Is(err, ErrLoginUnavailable) {
		// The authenticator could not decide (its back end is down): not the user's fault, so
		// not "invalid password" (upstream answers 500 too).
		p.log.Error("login failed in the authenticator", "user", truncate(username, 32), "err", err)
		p.Error(w, r, http.StatusInternalServerError, "Login is not available right now. Please try again later.")
		return
	}
	if err != nil {
		p.log.Warn("failed login", "user", truncate(username, 32), "err", err)
		msg := msgInvalidLogin
		// An authenticator's deliberate message (auth.Rejection: FirstUse's "Password too
		// short!") replaces the generic one, as upstream's HTTPError(403, msg) does.
		var shown interface{ UserMessage() string }
		if errors.As(err, &shown) && shown.UserMessage() != "" {
			msg = shown.UserMessage()
		}
		status := http.StatusForbidden
		// The login throttle's refusal, when show_lockout_reason lets it say so (auth.LockedOut):
		// 429 with Retry-After; otherwise it is the generic 403 above.
		var locked interface{ RetryAfter() time.Duration }
		if errors.As(err, &locked) {
			status = http.StatusTooManyRequests
			w.Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(locked.RetryAfter().Seconds()))))
		}
		p.renderLogin(w, r, status, username, msg)
		return
	}
	u, err := p.userForLogin(r.Context(), name, admin)
	if err != nil {
		p.log.Error("log in", "user", name, "err", err)
		p.Error(w, r, http.StatusInternalServerError, "")
		return
	}
	p.log.Info("user logged in", "user", u.Name)
	p.finishLogin(w, r, u, true)
}

// CompleteLogin logs in the user an authenticator's own page has authenticated (the OAuth
// callback; auth.PageHost): the same path as the login form after its checks — Auth.Login with
// r (no username or password), the user found or created with its admin flag, the cookies set —
// then a redirect to next, validated like /hub/login's ?next. It writes nothing when it fails:
// the error is the authenticator's refusal, or wraps ErrLoginUnavailable.
func (p *Pages) CompleteLogin(w http.ResponseWriter, r *http.Request, next string) error {
	name, admin, err := p.d.Auth.Login(r.Context(), r, "", "", nil)
	if err != nil {
		return err
	}
	u, err := p.userForLogin(r.Context(), name, admin)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrLoginUnavailable, err)
	}
	r2 := r.Clone(r.Context())
	u2 := *r.URL
	q := url.Values{}
	if next != "" {
		q.Set("next", next)
	}
	u2.RawQuery = q.Encode()
	r2.URL = &u2
	p.log.Info("user logged in", "user", u.Name)
	p.finishLogin(w, r2, u, true)
	return nil
}

// userForLogin finds or creates the user an authenticator accepted and applies its admin flag.
func (p *Pages) userForLogin(ctx context.Context, name string, admin *bool) (*store.User, error) {
	db := p.d.Store
	u, err := db.GetUser(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		u, err = db.CreateUser(ctx, name, admin != nil && *admin)
		if errors.Is(err, store.ErrExists) { // created concurrently by another login
			u, err = db.GetUser(ctx, name)
		} else if err == nil {
			p.log.Info("created user", "user", name)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("find or create user %q: %w", name, err)
	}
	if admin != nil && *admin != u.Admin {
		if u, err = db.UpdateUser(ctx, u.ID, store.UserUpdate{Admin: admin}); err != nil {
			return nil, fmt.Errorf("set admin flag of %q: %w", name, err)
		}
	}
	if err := db.TouchUser(ctx, u.ID, time.Now()); err != nil {
		p.log.Warn("record login activity", "user", name, "err", err)
	}
	return u, nil
}

// finishLogin sets the cookies of a logged-in browser and redirects to the next URL: session
// id ensured, login cookie set unless it already names u, _xsrf reset for the logged-in id.
func (p *Pages) finishLogin(w http.ResponseWriter, r *http.Request, u *store.User, fresh bool) {
	s := p.d.Sessions
	s.EnsureSessionID(w, r)
	if id, ok := s.LoginCookieID(r); !ok || id != u.CookieID || fresh {
		s.SetLogin(w, u.CookieID)
	}
	s.ResetXSRF(w, s.XSRFID(r, u.CookieID))
	redirect(w, p.nextURL(r, u))
}

// renderLogin shows the login form with status, the username kept and an error if any.
func (p *Pages) renderLogin(w http.ResponseWriter, r *http.Request, status int, username, loginError string) {
	s := p.d.Sessions
	xsrf := s.RefreshXSRFToken(w, r, s.XSRFID(r, ""))
	action := p.hubPrefix + "login"
	if next := r.URL.Query().Get("next"); next != "" {
		action = addQuery(action, "next", next)
	}
	v := &view{
		Title:        "Sign in",
		XSRF:         xsrf,
		LoginAction:  action,
		Username:     username,
		LoginError:   loginError,
		LoginForm:    p.d.Auth.LoginForm(),
		LoginService: p.d.LoginService,
		ForgotURL:    p.forgotURL(),
	}
	if x, ok := p.d.Auth.(PageExtras); ok {
		v.OTPPrompt, v.Links = x.OTPPrompt(), x.LoginLinks()
	}
	if lo, ok := p.d.Auth.(LoginOptioner); ok {
		v.Options = loginOptionViews(lo.LoginOptions(), r, username)
	}
	if target := p.authLoginURL(); target != "" && target != p.hubPrefix+"login" {
		v.LoginURL = target
		if next := r.URL.Query().Get("next"); next != "" {
			v.LoginURL = addQuery(target, "next", next)
		}
	}
	p.render(w, status, "login.html", v)
}

// loginOptionView is one LoginOption as the login page shows it.
type loginOptionView struct {
	LoginOption
	// ID is a safe element id for the option ("src-ldap").
	ID string
	// Username is kept in the form of the source a failed login was for.
	Username string
	// First marks the option that takes the focus.
	First bool
	// Or puts an "or" divider before the option: between options, except between two
	// buttons, which stand together.
	Or bool
}

// loginOptionViews prepares the options: the source of a failed post keeps its username, and
// next is carried by the buttons.
func loginOptionViews(opts []LoginOption, r *http.Request, username string) []loginOptionView {
	posted := ""
	if r.Method == http.MethodPost {
		posted = r.PostFormValue("login_source")
	}
	next := r.URL.Query().Get("next")
	out := make([]loginOptionView, 0, len(opts))
	firstForm := -1
	for i, o := range opts {
		v := loginOptionView{LoginOption: o, ID: "src-" + safeID(o.Source)}
		if o.Form && o.Source == posted {
			v.Username = username
			firstForm = i
		}
		if !o.Form && o.URL != "" && next != "" {
			v.URL = addQuery(o.URL, "next", next)
		}
		v.Or = i > 0 && (o.Form || opts[i-1].Form)
		out = append(out, v)
	}
	if firstForm < 0 {
		for i, o := range out {
			if o.Form {
				firstForm = i
				break
			}
		}
	}
	if firstForm >= 0 {
		out[firstForm].First = true
	}
	return out
}

// safeID keeps the letters, digits, '-' and '_' of s, for an element id.
func safeID(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_':
			return r
		}
		return '_'
	}, s)
}

// authLoginURL is the authenticator's own login page, "" if it has none.
func (p *Pages) authLoginURL() string {
	if l, ok := p.d.Auth.(LoginURLer); ok {
		return l.LoginURL()
	}
	return ""
}

// logout answers GET /hub/logout (protocol.md §4.2).
func (p *Pages) logout(w http.ResponseWriter, r *http.Request) {
	s := p.d.Sessions
	u, ok := p.user(w, r)
	if !ok {
		return
	}
	if sid := s.SessionID(r); sid != "" {
		s.ClearSessionID(w)
		// Only a logged-in request may end its session's tokens: a forged logout link must not.
		if u != nil {
			if err := p.d.Store.DeleteTokensOfSession(r.Context(), u.ID, sid); err != nil {
				p.log.Error("delete session tokens at logout", "user", u.Name, "err", err)
			}
			// The API caches tokens for a few seconds; the deleted ones must fail at once.
			if p.d.Invalidate != nil {
				p.d.Invalidate()
			}
		}
	}
	// The login cookie may have been copied: end every session of the user server-side (a
	// new cookie_id), not only this browser's cookie (upstream keeps the cookie_id).
	if u != nil {
		p.endSessions(r.Context(), u, "logout")
	}
	s.ClearLogin(w)
	// JupyterHub before 3.2 set this one; clear it as JupyterHub still does.
	http.SetCookie(w, &http.Cookie{Name: "jupyterhub-services", Path: p.d.BaseURL + "services", MaxAge: -1,
		Expires: time.Unix(0, 0), HttpOnly: true})
	s.ClearXSRF(w)
	if u != nil {
		p.log.Info("user logged out", "user", u.Name)
	}
	// An authenticator may send the browser on after the hub's logout (OAuth's
	// logout_redirect_url, e.g. the provider's own logout page).
	if l, ok := p.d.Auth.(LogoutURLer); ok {
		name := ""
		if u != nil {
			name = u.Name
		}
		if target := l.LogoutURL(r.Context(), name); target != "" {
			redirect(w, target)
			return
		}
	}
	if p.d.Auth.AutoLogin() {
		p.render(w, http.StatusOK, "logout.html", &view{Title: "Signed out"})
		return
	}
	redirect(w, p.hubPrefix+"login")
}

// addQuery appends key=value to a URL that may already have a query.
func addQuery(target, key, value string) string {
	sep := "?"
	if strings.Contains(target, "?") {
		sep = "&"
	}
	return target + sep + url.QueryEscape(key) + "=" + url.QueryEscape(value)
}

// xsrfIDFor is the _xsrf id of a page request: the logged-in form when u is set.
func (p *Pages) xsrfIDFor(w http.ResponseWriter, r *http.Request, u *store.User) string {
	if u == nil {
		return p.d.Sessions.XSRFID(r, "")
	}
	p.d.Sessions.EnsureSessionID(w, r)
	return p.d.Sessions.XSRFID(r, u.CookieID)
}

// ErrLoginUnavailable marks an Authenticator.Login error that is not a refusal but a failure to
// decide (a back end that is down): the page answers 500 instead of "Invalid username or
// password".
var ErrLoginUnavailable = errors.New("login unavailable")
