package oauth

import (
	"bytes"
	_ "embed"
	"html/template"
	"net/http"
	"slices"

	"gohub/internal/rbac"
	"gohub/internal/store"
)

//go:embed confirm.html
var confirmHTML string

// confirmTmpl is the body of the confirmation page (JupyterHub's oauth.html), rendered into the
// hub's layout by Pages.RenderContent.
var confirmTmpl = template.Must(template.New("confirm").Parse(confirmHTML))

// confirmView is what confirm.html sees.
type confirmView struct {
	Client       *store.OAuthClient
	XSRF         string
	Scopes       []string // the form's hidden scopes inputs: what is granted on submit
	Descriptions []rbac.ScopeDescription
	IdentifyOnly bool // the request grants no more than identifying the user
}

// renderConfirm writes the page asking u to authorize the client for scopes (protocol.md §1.9). It
// posts back to the same URL (query kept) with _xsrf and the repeated scopes field.
func (p *Provider) renderConfirm(w http.ResponseWriter, r *http.Request, u *store.User, req *authRequest, t target, scopes []string) {
	v := confirmView{Client: req.client, Scopes: scopes}
	// Being able to identify the user and reach the client itself needs no explanation.
	var describe []string
	for _, s := range scopes {
		if !slices.Contains(requiredScopes(t), s) {
			describe = append(describe, s)
		}
	}
	switch {
	case len(describe) == 0:
		text, _ := p.d.Catalog.Description("(no_scope)")
		v.Descriptions = []rbac.ScopeDescription{{Description: text}}
		v.IdentifyOnly = true
	case slices.Contains(describe, scopeInherit):
		text, _ := p.d.Catalog.Description(scopeInherit)
		v.Scopes = []string{scopeInherit}
		v.Descriptions = []rbac.ScopeDescription{{Scope: scopeInherit, Description: text}}
	default:
		v.Descriptions = p.d.Catalog.DescribeRaw(describe, u.Name)
	}
	p.d.Sessions.EnsureSessionID(w, r)
	v.XSRF = p.d.Sessions.XSRFToken(w, r, p.d.Sessions.XSRFID(r, u.CookieID))
	var buf bytes.Buffer
	if err := confirmTmpl.Execute(&buf, v); err != nil {
		p.log.Error("render oauth confirmation page", "err", err)
		p.errorPage(w, r, http.StatusInternalServerError, "")
		return
	}
	if p.d.Pages != nil {
		p.d.Pages.RenderContent(w, http.StatusOK, "Authorize access", u, template.HTML(buf.String()))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(http.StatusOK)
	w.Write([]byte("<!DOCTYPE html>\n<title>Authorize access</title>\n"))
	w.Write(buf.Bytes())
}
