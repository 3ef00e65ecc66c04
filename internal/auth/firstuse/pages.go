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

var changeTmpl = template.Must(template.New("change-password").Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Change password</title>
<link rel="stylesheet" href="{{.Prefix}}static/style.css">
</head>
<body>
<main class="container">
<h1>Change password for {{.User}}</h1>
{{if .Error}}<div class="alert alert-danger" role="alert">{{.Error}}</div>{{end}}
{{if .Success}}<div class="alert alert-success" role="alert">{{.Success}}</div>{{end}}
<form method="post" action="{{.Prefix}}auth/change-password">
<input type="hidden" name="_xsrf" value="{{.XSRF}}">
<label for="password_input">New password</label>
<input id="password_input" type="password" name="password" autocomplete="new-password" required{{if .MinLength}} minlength="{{.MinLength}}"{{end}}>
<button type="submit" class="btn btn-primary">Change password</button>
</form>
<p><a href="{{.Prefix}}home">Home</a></p>
</main>
</body>
</html>
`))

type changeView struct {
	Prefix, User, XSRF, Error, Success string
	MinLength                          int
}

// RegisterPages adds GET and POST {prefix}auth/change-password (auth.PageProvider): a logged-in
// user sets a new password (no current password asked, as upstream); too short → the form
// message naming the minimum.
func (a *Authenticator) RegisterPages(mux *http.ServeMux, d auth.PageDeps) {
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
	v := changeView{Prefix: d.Prefix, User: u.Name, XSRF: d.Host.XSRFToken(w, r, u), Error: errMsg, Success: success, MinLength: a.minLength}
	var buf bytes.Buffer
	if err := changeTmpl.Execute(&buf, v); err != nil {
		a.log.Error("firstuse: render change-password page", "err", err)
		http.Error(w, "500: Internal Server Error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}
