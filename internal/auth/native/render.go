package native

import (
	"bytes"
	"html/template"
	"net/http"
	"net/url"

	"gohub/internal/auth"
	"gohub/internal/store"
)

// contentRenderer is the part of the hub's pages (*web.Pages) that wraps a fragment in the
// hub's layout; pages fall back to a bare document when the host lacks it.
type contentRenderer interface {
	RenderContent(w http.ResponseWriter, status int, title string, u *store.User, body template.HTML)
}

// alert is a message box of a page: Kind "error" is red, "ok" green.
type alert struct {
	Kind, Text string
}

// errAlert and infoAlert build the two kinds.
func errAlert(s string) *alert  { return &alert{Kind: "error", Text: s} }
func infoAlert(s string) *alert { return &alert{Kind: "ok", Text: s} }

// shared template parts: the alert box.
const alertTmpl = `{{define "alert"}}{{with .}}<p class="alert{{if eq .Kind "error"}} alert-error{{else if eq .Kind "ok"}} alert-ok{{end}}" role="alert" id="native-alert">{{.Text}}</p>{{end}}{{end}}`

// parse builds a page template with the shared parts. pathEscape escapes a name for a URL
// path segment: html/template leaves ? and # alone, which would cut "fred?x" to "fred".
func parse(name, text string) *template.Template {
	t := template.New(name).Funcs(template.FuncMap{"pathEscape": url.PathEscape})
	return template.Must(template.Must(t.Parse(alertTmpl)).Parse(text))
}

// render executes t with data and writes it in the hub's layout with status.
func (a *Authenticator) render(w http.ResponseWriter, d auth.PageDeps, status int, title string, u *store.User, t *template.Template, data any) {
	var buf bytes.Buffer
	if err := t.Execute(&buf, data); err != nil {
		a.log.Error("native: render page", "page", t.Name(), "err", err)
		http.Error(w, "500: Internal Server Error", http.StatusInternalServerError)
		return
	}
	if cr, ok := d.Host.(contentRenderer); ok {
		cr.RenderContent(w, status, title, u, template.HTML(buf.String()))
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	bare.Execute(w, map[string]any{"Title": title, "Body": template.HTML(buf.String())})
}

var bare = template.Must(template.New("bare").Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{.Title}}</title></head><body>{{.Body}}</body></html>
`))

// readForm parses a posted form of at most 64 KiB.
func readForm(w http.ResponseWriter, r *http.Request) error {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	return r.ParseForm()
}

// msgFormStale is the answer to a form post without a valid _xsrf token.
const msgFormStale = "The form has expired or is invalid. Please reload the page and try again."

// forbidden answers 403 with a page in the layout.
func (a *Authenticator) forbidden(w http.ResponseWriter, d auth.PageDeps, u *store.User) {
	a.render(w, d, http.StatusForbidden, "Forbidden", u, forbiddenTmpl, nil)
}

var forbiddenTmpl = parse("forbidden", `<section class="card card-narrow"><h1>403: Forbidden</h1>
<p class="muted">Only hub administrators can use this page.</p></section>`)

// handleSecure registers f with the headers every hub page sends (protocol.md §0.2): no framing by
// other sites (the authorize page's buttons must not be clickjacked), no MIME sniffing, no
// Referer to other sites.
func handleSecure(mux *http.ServeMux, pattern string, f http.HandlerFunc) {
	mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Security-Policy", "frame-ancestors 'none'")
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		f(w, r)
	})
}
