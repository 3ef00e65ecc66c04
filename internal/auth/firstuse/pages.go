package firstuse

import (
	"bytes"
	"errors"
	"html/template"
	"net/http"

	"gohub/internal/auth"
	"gohub/internal/store"
)

// Messages of the change-password page.
const (
	msgChanged   = "Your password has been changed successfully!"
	msgFormStale = "The form has expired. Please try again."
)

// changeTmpl is the change-password page's body; the hub's layout (header, stylesheet) goes
// around it.
var changeTmpl = template.Must(template.New("change-password").Parse(`<section class="card card-narrow" id="change-password">
<h1>Change password</h1>
<p class="lead">for {{.User}}</p>
{{if .Error}}<p class="alert alert-error" role="alert" id="change-password-error">{{.Error}}</p>{{end}}
{{if .Success}}<p class="alert alert-ok" role="status" id="change-password-done">{{.Success}}</p>{{end}}
<form method="post" action="{{.Prefix}}auth/change-password" class="form">
<input type="hidden" name="_xsrf" value="{{.XSRF}}">
<label for="password_input">New password</label>
<input id="password_input" type="password" name="password" autocomplete="new-password" required{{if .MinLength}} minlength="{{.MinLength}}"{{end}}>
<button type="submit" class="btn btn-primary btn-block">Change password</button>
</form>
<p class="back"><a href="{{.Hub}}home">Back to home</a></p>
</section>
`))

// bareTmpl wraps the body when the host has no layout to offer.
var bareTmpl = template.Must(template.New("bare").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Change password</title></head><body>{{.}}</body></html>
`))

// contentRenderer is the part of the hub's pages (*web.Pages) that puts a page body in the
// hub's layout.
type contentRenderer interface {
	RenderContent(w http.ResponseWriter, status int, title string, u *store.User, body template.HTML)
}

// HomeLinks links the change-password page on the hub's home page (auth.HomeLinker), once the
// pages are registered.
func (a *Authenticator) HomeLinks(*store.User) []auth.Link {
	prefix := a.prefix.Load()
	if prefix == nil {
		return nil
	}
	return []auth.Link{{Text: "Change password", URL: *prefix + "auth/change-password"}}
}

type changeView struct {
	Prefix, Hub, User, XSRF, Error, Success string
	MinLength                               int
}

// RegisterPages adds GET and POST {prefix}auth/change-password (auth.PageProvider): a logged-in
// user sets a new password (no current password asked, as upstream); too short → the form
// message naming the minimum.
func (a *Authenticator) RegisterPages(mux *http.ServeMux, d auth.PageDeps) {
	prefix := d.Prefix
	a.prefix.Store(&prefix)
	path := d.Prefix + "auth/change-password"
	mux.HandleFunc("GET "+path, func(w http.ResponseWriter, r *http.Request) {
		u, ok := d.Host.RequireUser(w, r)
		if !ok {
			return
		}
		a.renderChange(w, r, d, u, http.StatusOK, "", "")
	})
	mux.HandleFunc("POST "+path, func(w http.ResponseWriter, r *http.Request) {
		u, ok := d.Host.RequireUser(w, r)
		if !ok {
			return
		}
		r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
		if err := r.ParseForm(); err != nil {
			a.renderChange(w, r, d, u, http.StatusBadRequest, "The form could not be read.", "")
			return
		}
		if !d.Host.CheckXSRF(r, u) {
			a.renderChange(w, r, d, u, http.StatusForbidden, msgFormStale, "")
			return
		}
		err := a.SetPassword(r.Context(), u.Name, r.PostForm.Get("password"))
		var shown *auth.Rejection
		switch {
		case err == nil:
			a.log.Info("firstuse: password changed", "user", u.Name)
			d.Host.PasswordChanged(w, r, u, u.Name)
			a.renderChange(w, r, d, u, http.StatusOK, "", msgChanged)
		case errors.As(err, &shown):
			a.renderChange(w, r, d, u, http.StatusBadRequest, shown.Message, "")
		default:
			a.log.Error("firstuse: change password", "user", u.Name, "err", err)
			a.renderChange(w, r, d, u, http.StatusInternalServerError, "The password could not be changed.", "")
		}
	})
}

func (a *Authenticator) renderChange(w http.ResponseWriter, r *http.Request, d auth.PageDeps, u *store.User, status int, errMsg, success string) {
	v := changeView{Prefix: d.Prefix, Hub: d.Hub(), User: u.Name, XSRF: d.Host.XSRFToken(w, r, u), Error: errMsg, Success: success, MinLength: a.minLength}
	var buf bytes.Buffer
	if err := changeTmpl.Execute(&buf, v); err != nil {
		a.log.Error("firstuse: render change-password page", "err", err)
		http.Error(w, "500: Internal Server Error", http.StatusInternalServerError)
		return
	}
	if cr, ok := d.Host.(contentRenderer); ok {
		cr.RenderContent(w, status, "Change password", u, template.HTML(buf.String()))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	bareTmpl.Execute(w, template.HTML(buf.String()))
}
