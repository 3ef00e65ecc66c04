package native

import (
	"errors"
	"html/template"
	"net/http"

	"gohub/internal/auth"
)

var signupTmpl = parse("signup", `<section class="card card-narrow" id="native-signup">
<h1>{{if .Done}}Account created{{else}}Create an account{{end}}</h1>
{{if not .Done}}<p class="lead">An administrator may need to approve it before you can sign in.</p>{{end}}
{{template "alert" .Alert}}
{{with .TOTP}}<div class="enrol" id="native-2fa">
<p class="muted">Scan this code with an authenticator app, or type the secret into it. It is shown
only this once: every sign-in will ask for a code from the app.</p>
<p><img src="{{.QR}}" alt="QR code of the two-factor secret" width="200" height="200"></p>
<p><code id="native-2fa-secret">{{.Secret}}</code></p>
</div>{{end}}
{{if not .Done}}
<form action="{{.Prefix}}signup" method="post" class="form">
<input type="hidden" name="_xsrf" value="{{.XSRF}}">
<label for="username_input">Username</label>
<input id="username_input" type="text" name="username" value="{{.Username}}" autocapitalize="off"
 autocorrect="off" autocomplete="username" spellcheck="false" required{{if not .Username}} autofocus{{end}}>
{{if .AskEmail}}<label for="email_input">Email</label>
<input id="email_input" type="email" name="email" value="{{.Email}}" autocomplete="email" required>{{end}}
<label for="password_input">Password</label>
<input id="password_input" type="password" name="signup_password" autocomplete="new-password" required{{if .Username}} autofocus{{end}}{{if .MinLength}} minlength="{{.MinLength}}"{{end}}>
<label for="password_confirmation_input">Confirm password</label>
<input id="password_confirmation_input" type="password" name="signup_password_confirmation" autocomplete="new-password" required>
{{if .Allow2FA}}<label class="check check-long"><input id="twofa_input" type="checkbox" name="2fa" value="on"{{if .Want2FA}} checked{{end}}> <span>Protect my account with two-factor authentication (an authenticator app)</span></label>{{end}}
{{if .TOS}}<label class="check check-long"><input id="tos_input" type="checkbox" name="tos" value="on" required{{if .TOSChecked}} checked{{end}}> <span>{{.TOS}}</span></label>{{end}}
<button id="signup_submit" type="submit" class="btn btn-primary btn-block">Create account</button>
</form>
<p class="card-links">Already have an account? <a href="{{.Hub}}login">Sign in</a></p>
{{else}}
<a class="btn btn-primary btn-block" href="{{.Hub}}login" id="native-signin">Sign in</a>
{{end}}
</section>`)

type signupView struct {
	Prefix, Hub, XSRF, Username, Email string
	Alert                              *alert
	AskEmail, Allow2FA, Done           bool
	Want2FA, TOSChecked                bool
	MinLength                          int
	TOS                                template.HTML
	TOTP                               *enrolment
}

// Sign-up outcomes.
const (
	msgSignedUpOpen    = "Your account has been created. You can sign in now."
	msgSignedUpPending = "Your account has been created. An administrator must authorize it before you can sign in."
)

// registerSignup adds GET and POST {prefix}signup; both answer 404 when enable_signup is off.
func (a *Authenticator) registerSignup(mux *http.ServeMux, d auth.PageDeps) {
	path := d.Prefix + "signup"
	handleSecure(mux, "GET "+path, func(w http.ResponseWriter, r *http.Request) {
		if !a.cfg.EnableSignup {
			http.NotFound(w, r)
			return
		}
		a.renderSignup(w, r, d, http.StatusOK, a.signupView(w, r, d))
	})
	handleSecure(mux, "POST "+path, func(w http.ResponseWriter, r *http.Request) {
		if !a.cfg.EnableSignup {
			http.NotFound(w, r)
			return
		}
		v := a.signupView(w, r, d)
		if err := readForm(w, r); err != nil {
			v.Alert = errAlert("The form could not be read.")
			a.renderSignup(w, r, d, http.StatusBadRequest, v)
			return
		}
		v.Username, v.Email = r.PostForm.Get("username"), r.PostForm.Get("email")
		v.Want2FA, v.TOSChecked = r.PostForm.Get("2fa") != "", r.PostForm.Get("tos") != ""
		if !d.Host.CheckXSRF(r, nil) {
			v.Alert = errAlert(msgFormStale)
			a.renderSignup(w, r, d, http.StatusForbidden, v)
			return
		}
		res, err := a.CreateAccount(r.Context(), d.Pipeline, Signup{
			Username: v.Username, Email: v.Email,
			Password: r.PostForm.Get("signup_password"), Confirmation: r.PostForm.Get("signup_password_confirmation"),
			TOS: r.PostForm.Get("tos") != "", Want2FA: r.PostForm.Get("2fa") != "",
		})
		var shown *auth.Rejection
		switch {
		case err == nil:
			v.Done, v.TOTP, v.Username = true, res.TOTP, res.Name
			v.Alert = infoAlert(msgSignedUpPending)
			if res.Authorized {
				v.Alert = infoAlert(msgSignedUpOpen)
			}
			a.renderSignup(w, r, d, http.StatusOK, v)
		case errors.As(err, &shown):
			v.Alert = errAlert(shown.Message)
			a.renderSignup(w, r, d, http.StatusBadRequest, v)
		default:
			a.log.Error("native: sign-up", "err", err)
			v.Alert = errAlert("The account could not be created. Please try again later.")
			a.renderSignup(w, r, d, http.StatusInternalServerError, v)
		}
	})
}

func (a *Authenticator) signupView(w http.ResponseWriter, r *http.Request, d auth.PageDeps) *signupView {
	return &signupView{
		Prefix: d.Prefix, Hub: d.Hub(), XSRF: d.Host.XSRFToken(w, r, nil), AskEmail: a.cfg.AskEmailOnSignup,
		Allow2FA: a.cfg.Allow2FA, MinLength: a.cfg.MinimumPasswordLength,
		// tos is HTML written by the hub's administrator in the config, as upstream shows it.
		TOS: template.HTML(a.cfg.TOS),
	}
}

func (a *Authenticator) renderSignup(w http.ResponseWriter, r *http.Request, d auth.PageDeps, status int, v *signupView) {
	a.render(w, d, status, "Sign up", nil, signupTmpl, v)
}
