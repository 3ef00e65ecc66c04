package web

import (
	"bytes"
	"errors"
	"html/template"
	"net/http"
	"strings"

	"gohub/internal/recovery"
	"gohub/internal/store"
)

// Account recovery pages (Deps.Recovery, a gohub addition):
//   - GET/POST {hub}forgot-password: "Forgot password?" from the login page, with SMTP
//     configured. The answer is the same page, status and (the work runs in the background)
//     time whether or not the name exists or has an address;
//   - GET/POST {hub}reset-password?token=...: set a new password through a one-time link;
//   - GET/POST {hub}reset-link: an admin issues a reset link for a user and sees it once.
//
// The reset page sends Referrer-Policy: no-referrer, so the link's secret never leaves in a
// Referer header.

// Messages of the recovery pages.
const (
	msgForgotSent   = "If that account exists and has an email address, a message with a link to reset its password is on its way. The link works once and expires soon."
	msgResetDone    = "Your password has been changed. You can sign in with it now."
	msgMismatch     = "The two passwords do not match."
	msgNoRecovery   = "Password reset by email is not available on this hub. Ask its administrator for a reset link."
	msgNoAdminReset = "This hub's authenticator has no passwords that the hub could reset."
)

var recoveryTmpl = template.Must(template.New("recovery").Parse(`
{{define "forgot"}}
<section class="card card-narrow" id="forgot-main">
  <h1>Forgot password?</h1>
  <p class="lead">We will email you a link to choose a new one.</p>
  {{- if .Message}}<p class="alert alert-ok" role="status" id="forgot-message">{{.Message}}</p>{{end}}
  {{- if .Error}}<p class="alert alert-error" role="alert" id="forgot-error">{{.Error}}</p>{{end}}
  {{- if .Form}}
  <form action="{{.Action}}" method="post" class="form">
    <input type="hidden" name="_xsrf" value="{{.XSRF}}">
    <label for="username_input">Username</label>
    <input id="username_input" type="text" name="username" autocapitalize="off" autocorrect="off"
           autocomplete="username" spellcheck="false" required autofocus>
    <button id="forgot_submit" type="submit" class="btn btn-primary btn-block">Email me a reset link</button>
  </form>
  {{- end}}
  <p class="muted"><a href="{{.Prefix}}login">Back to sign in</a></p>
</section>
{{end}}
{{define "reset"}}
<section class="card card-narrow" id="reset-main">
  <h1>New password</h1>
  {{- if .User}}<p class="lead">for <strong>{{.User}}</strong></p>{{end}}
  {{- if .Message}}<p class="alert alert-ok" role="status" id="reset-message">{{.Message}}</p>{{end}}
  {{- if .Error}}<p class="alert alert-error" role="alert" id="reset-error">{{.Error}}</p>{{end}}
  {{- if .Form}}
  <form action="{{.Action}}" method="post" class="form">
    <input type="hidden" name="_xsrf" value="{{.XSRF}}">
    <input type="hidden" name="token" value="{{.Token}}">
    <label for="password_input">New password</label>
    <input id="password_input" type="password" name="password" autocomplete="new-password" required autofocus>
    <label for="confirm_input">New password again</label>
    <input id="confirm_input" type="password" name="confirm" autocomplete="new-password" required>
    <button id="reset_submit" type="submit" class="btn btn-primary btn-block">Set password</button>
  </form>
  {{- end}}
  <p class="muted"><a href="{{.Prefix}}login">Sign in</a></p>
</section>
{{end}}
{{define "invite"}}
<section class="card card-narrow" id="invite-main">
  <h1>Create your account</h1>
  <p class="lead">You were invited to this Jupyter hub.</p>
  {{- if .Message}}<p class="alert alert-ok" role="status" id="invite-message">{{.Message}}</p>{{end}}
  {{- if .Error}}<p class="alert alert-error" role="alert" id="invite-error">{{.Error}}</p>{{end}}
  {{- if .Form}}
  <form action="{{.Action}}" method="post" class="form">
    <input type="hidden" name="_xsrf" value="{{.XSRF}}">
    <input type="hidden" name="token" value="{{.Token}}">
    <label for="username_input">Username</label>
    <input id="username_input" type="text" name="username" value="{{.User}}" autocapitalize="off"
           autocorrect="off" autocomplete="username" spellcheck="false" required autofocus>
    <label for="password_input">Password</label>
    <input id="password_input" type="password" name="password" autocomplete="new-password" required>
    <label for="confirm_input">Password again</label>
    <input id="confirm_input" type="password" name="confirm" autocomplete="new-password" required>
    <button id="invite_submit" type="submit" class="btn btn-primary btn-block">Create account</button>
  </form>
  {{- end}}
  <p class="muted"><a href="{{.Prefix}}login{{if .User}}?username={{.User}}{{end}}">Sign in</a></p>
</section>
{{end}}
{{define "resetlink"}}
<section class="card card-narrow" id="resetlink-main">
  <h1>Password-reset link</h1>
  <p class="lead">One-time link for a user to choose a new password.</p>
  {{- if .Error}}<p class="alert alert-error" role="alert" id="resetlink-error">{{.Error}}</p>{{end}}
  {{- if .Link}}
  <p class="alert alert-ok" role="status">Give this link to <strong>{{.User}}</strong>. It works once, until {{.Expires}}.</p>
  <div class="form"><input id="reset-link" type="text" readonly value="{{.Link}}" aria-label="Reset link"></div>
  {{- end}}
  {{- if .Form}}
  <form action="{{.Action}}" method="post" class="form">
    <input type="hidden" name="_xsrf" value="{{.XSRF}}">
    <label for="username_input">Username</label>
    <input id="username_input" type="text" name="username" value="{{.User}}" autocapitalize="off"
           autocorrect="off" spellcheck="false" required>
    <button id="resetlink_submit" type="submit" class="btn btn-primary btn-block">Create link</button>
  </form>
  {{- end}}
  {{- if .Invites}}
  <div class="section" id="invite-section">
  <h2>Invitation</h2>
  <p class="muted">A one-time link for someone new to create an account that may sign in.</p>
  {{- if .Invite}}
  <p class="alert alert-ok" role="status">Send this link to the person you invite. It creates one account, until {{.InviteExpires}}.</p>
  <div class="form"><input id="invite-link" type="text" readonly value="{{.Invite}}" aria-label="Invitation link"></div>
  {{- end}}
  <form action="{{.Prefix}}invite-link" method="post" class="form">
    <input type="hidden" name="_xsrf" value="{{.XSRF}}">
    <button id="invite_create" type="submit" class="btn btn-secondary btn-block">Create an invitation link</button>
  </form>
  </div>
  {{- end}}
  <p class="muted"><a href="{{.Prefix}}home">Home</a></p>
</section>
{{end}}
`))

// recoveryView is what the recovery fragments see.
type recoveryView struct {
	Prefix, Action, XSRF string
	Message, Error       string
	Form                 bool
	User, Token          string
	Link, Expires        string
	// Invites: the admin page offers invitations; Invite is a new one.
	Invites               bool
	Invite, InviteExpires string
}

// registerRecovery adds the recovery pages (Deps.Recovery set).
func (p *Pages) registerRecovery(handle func(string, http.HandlerFunc)) {
	h := p.hubPrefix
	handle("GET "+h+"forgot-password", p.forgotGet)
	handle("POST "+h+"forgot-password", p.forgotPost)
	handle("GET "+h+"reset-password", p.resetGet)
	handle("POST "+h+"reset-password", p.resetPost)
	handle("GET "+h+"reset-link", p.resetLinkGet)
	handle("POST "+h+"reset-link", p.resetLinkPost)
	handle("POST "+h+"invite-link", p.inviteLinkPost)
	handle("GET "+h+"invite", p.inviteGet)
	handle("POST "+h+"invite", p.invitePost)
}

// forgotURL is the login page's "Forgot password?" target, "" when mail is off.
func (p *Pages) forgotURL() string {
	if p.d.Recovery == nil || !p.d.Recovery.CanMail() {
		return ""
	}
	return p.hubPrefix + "forgot-password"
}

// renderFragment renders one of the recovery fragments in the hub's layout.
func (p *Pages) renderFragment(w http.ResponseWriter, status int, title, name string, u *store.User, v *recoveryView) {
	v.Prefix = p.hubPrefix
	var buf bytes.Buffer
	if err := recoveryTmpl.ExecuteTemplate(&buf, name, v); err != nil {
		p.log.Error("render template", "template", name, "err", err)
		http.Error(w, "500: Internal Server Error", http.StatusInternalServerError)
		return
	}
	p.RenderContent(w, status, title, u, template.HTML(buf.String()))
}

// anonXSRF is the _xsrf token of a form shown to someone not logged in.
func (p *Pages) anonXSRF(w http.ResponseWriter, r *http.Request) string {
	s := p.d.Sessions
	return s.RefreshXSRFToken(w, r, s.XSRFID(r, ""))
}

// parseAnonForm reads a posted form and checks its anonymous _xsrf; false means answered.
func (p *Pages) parseAnonForm(w http.ResponseWriter, r *http.Request) bool {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		p.Error(w, r, http.StatusBadRequest, "The form could not be read.")
		return false
	}
	if !p.d.Sessions.CheckXSRF(r, p.d.Sessions.XSRFID(r, "")) {
		p.Error(w, r, http.StatusForbidden, msgFormExpired)
		return false
	}
	return true
}

func (p *Pages) forgotGet(w http.ResponseWriter, r *http.Request) {
	v := &recoveryView{Action: p.hubPrefix + "forgot-password"}
	if p.d.Recovery.CanMail() {
		v.Form, v.XSRF = true, p.anonXSRF(w, r)
	} else {
		v.Error = msgNoRecovery
	}
	p.renderFragment(w, http.StatusOK, "Forgot password", "forgot", nil, v)
}

// forgotPost answers every well-formed request with the same page: whether the name exists
// is never revealed, and the lookup and mail happen after the answer.
func (p *Pages) forgotPost(w http.ResponseWriter, r *http.Request) {
	if !p.d.Recovery.CanMail() {
		p.Error(w, r, http.StatusNotFound, msgNoRecovery)
		return
	}
	if !p.parseAnonForm(w, r) {
		return
	}
	p.d.Recovery.Forgot(r.PostForm.Get("username"))
	p.renderFragment(w, http.StatusOK, "Forgot password", "forgot", nil,
		&recoveryView{Message: msgForgotSent})
}

func (p *Pages) resetGet(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Referrer-Policy", "no-referrer")
	token := r.URL.Query().Get("token")
	name, err := p.d.Recovery.CheckReset(r.Context(), token)
	if err != nil {
		p.resetFailed(w, r, err)
		return
	}
	p.renderFragment(w, http.StatusOK, "Reset password", "reset", nil, &recoveryView{
		Action: p.hubPrefix + "reset-password", XSRF: p.anonXSRF(w, r), Form: true, User: name, Token: token})
}

func (p *Pages) resetPost(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Referrer-Policy", "no-referrer")
	if !p.parseAnonForm(w, r) {
		return
	}
	token, pw := r.PostForm.Get("token"), r.PostForm.Get("password")
	again := func(status int, msg string) {
		name, err := p.d.Recovery.CheckReset(r.Context(), token)
		if err != nil {
			p.resetFailed(w, r, err)
			return
		}
		p.renderFragment(w, status, "Reset password", "reset", nil, &recoveryView{
			Action: p.hubPrefix + "reset-password", XSRF: p.anonXSRF(w, r), Form: true, User: name,
			Token: token, Error: msg})
	}
	if pw != r.PostForm.Get("confirm") {
		again(http.StatusBadRequest, msgMismatch)
		return
	}
	name, err := p.d.Recovery.Reset(r.Context(), token, pw)
	var shown interface{ UserMessage() string }
	switch {
	case err == nil:
		p.renderFragment(w, http.StatusOK, "Password changed", "reset", nil,
			&recoveryView{User: name, Message: msgResetDone})
	case errors.As(err, &shown) && shown.UserMessage() != "":
		again(http.StatusBadRequest, shown.UserMessage())
	default:
		p.resetFailed(w, r, err)
	}
}

// resetFailed answers an unusable link (400, one message for every reason) or an internal
// failure (500).
func (p *Pages) resetFailed(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, recovery.ErrInvalidLink) {
		p.renderFragment(w, http.StatusBadRequest, "Reset password", "reset", nil, &recoveryView{
			Error: "This password-reset link is invalid, expired or already used. Ask for a new one."})
		return
	}
	p.log.Error("password reset", "err", err)
	p.Error(w, r, http.StatusInternalServerError, "")
}

// requireAdmin is requireUser for the pages that manage users' access: admins and holders of
// admin:users (Grants, as the REST API's password-reset and invitation endpoints); others get
// 403.
func (p *Pages) requireAdmin(w http.ResponseWriter, r *http.Request) (*store.User, bool) {
	u, ok := p.requireUser(w, r)
	if !ok {
		return nil, false
	}
	may, err := p.Grants(r.Context(), u, "admin:users")
	if err != nil {
		p.log.Error("reset-link page", "user", u.Name, "err", err)
		p.Error(w, r, http.StatusInternalServerError, "")
		return nil, false
	}
	if !may {
		p.Error(w, r, http.StatusForbidden, "Only admins can create password-reset links.")
		return nil, false
	}
	return u, true
}

func (p *Pages) resetLinkGet(w http.ResponseWriter, r *http.Request) {
	u, ok := p.requireAdmin(w, r)
	if !ok {
		return
	}
	v := &recoveryView{Action: p.hubPrefix + "reset-link", User: r.URL.Query().Get("user"),
		Invites: p.d.Recovery.InvitesAvailable(), XSRF: p.XSRFToken(w, r, u)}
	if p.d.Recovery.Available() {
		v.Form = true
	} else {
		v.Error = msgNoAdminReset
	}
	p.renderFragment(w, http.StatusOK, "Password-reset link", "resetlink", u, v)
}

func (p *Pages) resetLinkPost(w http.ResponseWriter, r *http.Request) {
	u, ok := p.adminForm(w, r)
	if !ok {
		return
	}
	target := strings.TrimSpace(r.PostForm.Get("username"))
	v := &recoveryView{Action: p.hubPrefix + "reset-link", User: target, Form: true, XSRF: p.XSRFToken(w, r, u),
		Invites: p.d.Recovery.InvitesAvailable()}
	w.Header().Set("Cache-Control", "no-store")
	if !u.Admin {
		// As the REST API: only admins reset the passwords of admins.
		tu, err := p.d.Store.GetUser(r.Context(), p.d.Recovery.Normalize(target))
		if err != nil && !errors.Is(err, store.ErrNotFound) {
			p.log.Error("reset-link page: look up the user", "user", target, "err", err)
			p.Error(w, r, http.StatusInternalServerError, "")
			return
		}
		if err == nil && tu.Admin {
			v.Error = "Only admins can reset the password of other admins."
			p.renderFragment(w, http.StatusForbidden, "Password-reset link", "resetlink", u, v)
			return
		}
	}
	link, err := p.d.Recovery.IssueReset(r.Context(), target, "admin:"+u.Name)
	switch {
	case err == nil:
		v.User = link.Username
		v.Link = p.absolute(r, link.Path)
		v.Expires = link.ExpiresAt.UTC().Format("2006-01-02 15:04 UTC")
		p.renderFragment(w, http.StatusOK, "Password-reset link", "resetlink", u, v)
	case errors.Is(err, recovery.ErrUnknownUser):
		v.Error = "There is no account named " + target + "."
		p.renderFragment(w, http.StatusNotFound, "Password-reset link", "resetlink", u, v)
	case errors.Is(err, recovery.ErrUnavailable):
		v.Error, v.Form = msgNoAdminReset, false
		p.renderFragment(w, http.StatusBadRequest, "Password-reset link", "resetlink", u, v)
	default:
		p.log.Error("issue reset link", "user", target, "err", err)
		p.Error(w, r, http.StatusInternalServerError, "")
	}
}

// adminForm reads the form of an admin's post (size-limited, XSRF-checked) and returns the
// admin; false when it has answered.
func (p *Pages) adminForm(w http.ResponseWriter, r *http.Request) (*store.User, bool) {
	u, ok := p.requireAdmin(w, r)
	if !ok {
		return nil, false
	}
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		p.Error(w, r, http.StatusBadRequest, "The form could not be read.")
		return nil, false
	}
	if !p.CheckXSRF(r, u) {
		p.Error(w, r, http.StatusForbidden, msgFormExpired)
		return nil, false
	}
	return u, true
}

// absolute makes a hub path absolute for showing: public_url when set, else the request's
// own scheme and host (the admin's browser reached the hub there).
func (p *Pages) absolute(r *http.Request, path string) string {
	if p.d.PublicURL != nil {
		return strings.TrimSuffix(p.d.PublicURL.Scheme+"://"+p.d.PublicURL.Host, "/") + path
	}
	scheme := "http"
	if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
		scheme = "https"
	}
	return scheme + "://" + r.Host + path
}

// inviteLinkPost answers the admin page's "Create an invitation link".
func (p *Pages) inviteLinkPost(w http.ResponseWriter, r *http.Request) {
	u, ok := p.adminForm(w, r)
	if !ok {
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	v := &recoveryView{Action: p.hubPrefix + "reset-link", Form: p.d.Recovery.Available(), XSRF: p.XSRFToken(w, r, u),
		Invites: p.d.Recovery.InvitesAvailable()}
	link, err := p.d.Recovery.IssueInvite(r.Context(), "admin:"+u.Name)
	switch {
	case err == nil:
		v.Invite = p.absolute(r, link.Path)
		v.InviteExpires = link.ExpiresAt.UTC().Format("2006-01-02 15:04 UTC")
		p.renderFragment(w, http.StatusOK, "Password-reset link", "resetlink", u, v)
	case errors.Is(err, recovery.ErrUnavailable):
		v.Error = msgNoAdminReset
		p.renderFragment(w, http.StatusBadRequest, "Password-reset link", "resetlink", u, v)
	default:
		p.log.Error("issue invitation", "err", err)
		p.Error(w, r, http.StatusInternalServerError, "")
	}
}

func (p *Pages) inviteGet(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Referrer-Policy", "no-referrer")
	token := r.URL.Query().Get("token")
	bound, err := p.d.Recovery.CheckInvite(r.Context(), token)
	if err != nil {
		p.inviteFailed(w, r, err)
		return
	}
	p.renderFragment(w, http.StatusOK, "Create your account", "invite", nil, &recoveryView{
		Action: p.hubPrefix + "invite", XSRF: p.anonXSRF(w, r), Form: true, Token: token, User: bound})
}

func (p *Pages) invitePost(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Referrer-Policy", "no-referrer")
	if !p.parseAnonForm(w, r) {
		return
	}
	token, typed, pw := r.PostForm.Get("token"), strings.TrimSpace(r.PostForm.Get("username")), r.PostForm.Get("password")
	again := func(status int, msg string) {
		if _, err := p.d.Recovery.CheckInvite(r.Context(), token); err != nil {
			p.inviteFailed(w, r, err)
			return
		}
		p.renderFragment(w, status, "Create your account", "invite", nil, &recoveryView{
			Action: p.hubPrefix + "invite", XSRF: p.anonXSRF(w, r), Form: true, Token: token, User: typed, Error: msg})
	}
	if pw != r.PostForm.Get("confirm") {
		again(http.StatusBadRequest, msgMismatch)
		return
	}
	name, err := p.d.Recovery.AcceptInvite(r.Context(), token, typed, pw)
	var shown interface{ UserMessage() string }
	switch {
	case err == nil:
		p.renderFragment(w, http.StatusOK, "Account created", "invite", nil,
			&recoveryView{User: name, Message: "Your account " + name + " is ready. You can sign in now."})
	case errors.As(err, &shown) && shown.UserMessage() != "":
		again(http.StatusBadRequest, shown.UserMessage())
	case errors.Is(err, recovery.ErrInvalidLink):
		p.inviteFailed(w, r, err)
	default:
		p.log.Error("accept invitation", "err", err)
		p.Error(w, r, http.StatusInternalServerError, "")
	}
}

// inviteFailed answers an unusable invitation (400, one message for every reason).
func (p *Pages) inviteFailed(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, recovery.ErrInvalidLink) {
		p.renderFragment(w, http.StatusBadRequest, "Invitation", "invite", nil, &recoveryView{
			Error: "This invitation is invalid, expired or already used. Ask for a new one."})
		return
	}
	p.log.Error("invitation", "err", err)
	p.Error(w, r, http.StatusInternalServerError, "")
}
