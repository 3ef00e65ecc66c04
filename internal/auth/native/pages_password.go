package native

import (
	"errors"
	"net/http"
	"net/url"

	"gohub/internal/auth"
	"gohub/internal/store"
)

var changeTmpl = parse("change-password", `<section class="card card-narrow" id="native-change-password">
<h1>{{if .Other}}Set a password{{else}}Change your password{{end}}</h1>
<p class="lead">{{if .Other}}for <strong>{{.Target}}</strong>; they sign in with it from now on{{else}}for {{.Target}}{{end}}</p>
{{template "alert" .Alert}}
<form action="{{.Action}}" method="post" class="form">
<input type="hidden" name="_xsrf" value="{{.XSRF}}">
{{if not .Other}}<label for="old_password_input">Current password</label>
<input id="old_password_input" type="password" name="old_password" autocomplete="current-password" required autofocus>{{end}}
<label for="new_password_input">New password</label>
<input id="new_password_input" type="password" name="new_password" autocomplete="new-password" required{{if .MinLength}} minlength="{{.MinLength}}"{{end}}{{if .Other}} autofocus{{end}}>
<label for="new_password_confirmation_input">Confirm new password</label>
<input id="new_password_confirmation_input" type="password" name="new_password_confirmation" autocomplete="new-password" required>
<button id="change_submit" type="submit" class="btn btn-primary btn-block">{{if .Other}}Set password{{else}}Change password{{end}}</button>
</form>
<p class="card-links"><a href="{{.Hub}}home">Home</a>{{if .Other}} · <a href="{{.Prefix}}authorize">Authorize users</a>{{end}}</p>
</section>`)

type changeView struct {
	Prefix, Hub, XSRF, Action, Target string
	Other                             bool
	MinLength                         int
	Alert                             *alert
}

// Messages of the change-password pages.
const (
	msgWrongCurrent = "Your current password is not correct. Please try again."
	msgNoSignup     = "Your account has no password on this hub (it did not sign up), so it cannot be changed here."
)

func msgChangedOther(name string) string { return "The password of " + name + " has been changed." }

const msgChangedOwn = "Your password has been changed."

// registerPassword adds {prefix}change-password (own password, needs the current one) and
// {prefix}change-password/{user} (admins set anyone's password).
func (a *Authenticator) registerPassword(mux *http.ServeMux, d auth.PageDeps) {
	own := d.Prefix + "change-password"
	handleSecure(mux, "GET "+own, func(w http.ResponseWriter, r *http.Request) {
		u, ok := d.Host.RequireUser(w, r)
		if !ok {
			return
		}
		a.renderChange(w, r, d, u, u.Name, false, http.StatusOK, nil)
	})
	handleSecure(mux, "POST "+own, func(w http.ResponseWriter, r *http.Request) {
		u, ok := d.Host.RequireUser(w, r)
		if !ok {
			return
		}
		if !a.changeForm(w, r, d, u, u.Name, false) {
			return
		}
		ok, err := a.CheckPassword(r.Context(), u.Name, r.PostForm.Get("old_password"))
		if err != nil {
			a.changeFailed(w, r, d, u, u.Name, false, err)
			return
		}
		if !ok {
			if db, err := a.store(); err == nil {
				if _, err := db.GetNativeUser(r.Context(), u.Name); errors.Is(err, store.ErrNotFound) {
					a.renderChange(w, r, d, u, u.Name, false, http.StatusBadRequest, errAlert(msgNoSignup))
					return
				}
			}
			a.renderChange(w, r, d, u, u.Name, false, http.StatusBadRequest, errAlert(msgWrongCurrent))
			return
		}
		a.setPassword(w, r, d, u, u.Name, false)
	})

	other := d.Prefix + "change-password/{user}"
	handleSecure(mux, "GET "+other, func(w http.ResponseWriter, r *http.Request) {
		u, ok := a.requireAdmin(w, r, d)
		if !ok {
			return
		}
		if !a.hasSignup(w, r, d, u) || !a.mayActOn(w, r, d, u) {
			return
		}
		a.renderChange(w, r, d, u, r.PathValue("user"), true, http.StatusOK, nil)
	})
	handleSecure(mux, "POST "+other, func(w http.ResponseWriter, r *http.Request) {
		u, ok := a.requireAdmin(w, r, d)
		if !ok {
			return
		}
		target := r.PathValue("user")
		if !a.changeForm(w, r, d, u, target, true) || !a.hasSignup(w, r, d, u) || !a.mayActOn(w, r, d, u) {
			return
		}
		a.setPassword(w, r, d, u, target, true)
	})
}

// changeForm reads a change-password post and checks its XSRF token; false when it answered.
func (a *Authenticator) changeForm(w http.ResponseWriter, r *http.Request, d auth.PageDeps, u *store.User, target string, other bool) bool {
	if err := readForm(w, r); err != nil {
		a.renderChange(w, r, d, u, target, other, http.StatusBadRequest, errAlert("The form could not be read."))
		return false
	}
	if !d.Host.CheckXSRF(r, u) {
		a.renderChange(w, r, d, u, target, other, http.StatusForbidden, errAlert(msgFormStale))
		return false
	}
	return true
}

// hasSignup answers 404 when the {user} of the path has no sign-up.
func (a *Authenticator) hasSignup(w http.ResponseWriter, r *http.Request, d auth.PageDeps, u *store.User) bool {
	db, err := a.store()
	if err == nil {
		_, err = db.GetNativeUser(r.Context(), r.PathValue("user"))
	}
	switch {
	case errors.Is(err, store.ErrNotFound):
		a.render(w, d, http.StatusNotFound, "Not found", u, notFoundTmpl, nil)
		return false
	case err != nil:
		a.changeFailed(w, r, d, u, r.PathValue("user"), true, err)
		return false
	}
	return true
}

// mayActOn answers 403 when u may not set the password of the {user} of the path: only
// admins set an admin's (auth.CheckActOn).
func (a *Authenticator) mayActOn(w http.ResponseWriter, r *http.Request, d auth.PageDeps, u *store.User) bool {
	db, err := a.store()
	if err == nil {
		err = auth.CheckActOn(r.Context(), db, d.Pipeline, u.Admin, r.PathValue("user"))
	}
	switch {
	case errors.Is(err, auth.ErrOnlyAdmins):
		a.renderChange(w, r, d, u, r.PathValue("user"), true, http.StatusForbidden, errAlert(msgOnlyAdmins))
		return false
	case err != nil:
		a.changeFailed(w, r, d, u, r.PathValue("user"), true, err)
		return false
	}
	return true
}

var notFoundTmpl = parse("not-found", `<section class="card card-narrow"><h1>404: Not found</h1>
<p class="muted">There is no sign-up of that name.</p></section>`)

// setPassword stores the posted new password of target and answers.
func (a *Authenticator) setPassword(w http.ResponseWriter, r *http.Request, d auth.PageDeps, u *store.User, target string, other bool) {
	err := a.ChangePassword(r.Context(), target, r.PostForm.Get("new_password"), r.PostForm.Get("new_password_confirmation"))
	if err != nil {
		a.changeFailed(w, r, d, u, target, other, err)
		return
	}
	a.log.Info("native: password changed", "user", target, "by", u.Name)
	d.Host.PasswordChanged(w, r, u, target)
	msg := msgChangedOwn
	if other {
		msg = msgChangedOther(target)
	}
	a.renderChange(w, r, d, u, target, other, http.StatusOK, infoAlert(msg))
}

// changeFailed answers a refused or failed password change.
func (a *Authenticator) changeFailed(w http.ResponseWriter, r *http.Request, d auth.PageDeps, u *store.User, target string, other bool, err error) {
	var shown *auth.Rejection
	switch {
	case errors.As(err, &shown):
		a.renderChange(w, r, d, u, target, other, http.StatusBadRequest, errAlert(shown.Message))
	case errors.Is(err, store.ErrNotFound):
		a.renderChange(w, r, d, u, target, other, http.StatusBadRequest, errAlert(msgNoSignup))
	default:
		a.log.Error("native: change password", "user", target, "err", err)
		a.renderChange(w, r, d, u, target, other, http.StatusInternalServerError, errAlert("The password could not be changed."))
	}
}

func (a *Authenticator) renderChange(w http.ResponseWriter, r *http.Request, d auth.PageDeps, u *store.User, target string, other bool, status int, al *alert) {
	v := &changeView{Prefix: d.Prefix, Hub: d.Hub(), XSRF: d.Host.XSRFToken(w, r, u), Target: target, Other: other,
		MinLength: a.cfg.MinimumPasswordLength, Alert: al, Action: d.Prefix + "change-password"}
	if other {
		v.Action += "/" + url.PathEscape(target)
	}
	a.render(w, d, status, "Change password", u, changeTmpl, v)
}

// RegisterPages adds the sign-up, authorize, change-password pages and the admin API
// (auth.PageProvider).
func (a *Authenticator) RegisterPages(mux *http.ServeMux, d auth.PageDeps) {
	a.registerSignup(mux, d)
	a.registerAuthorize(mux, d)
	a.registerPassword(mux, d)
	a.registerAPI(mux, d)
	a.prefix.Store(&d.Prefix)
	a.host.Store(&hostBox{d.Host})
	if d.API != nil {
		a.api.Store(d.API)
	}
}
