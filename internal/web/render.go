package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"mime"
	"net/http"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"

	"gohub/internal/store"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// pageNames are the pages; each is parsed together with the layout page.html.
var pageNames = []string{"login.html", "logout.html", "home.html", "error.html", "content.html",
	"spawn_pending.html", "not_running.html", "spawn.html", "admin.html", "token.html"}

// templates holds one parsed template set per page.
type templates struct {
	pages map[string]*template.Template
}

// loadTemplates parses the embedded templates, each file replaced by the one of the same name
// in dir when dir is set and has it.
func loadTemplates(dir string) (*templates, error) {
	read := func(name string) ([]byte, error) {
		if dir != "" {
			b, err := os.ReadFile(filepath.Join(dir, name))
			if err == nil {
				return b, nil
			}
			if !errors.Is(err, fs.ErrNotExist) {
				return nil, fmt.Errorf("template %s: %w", name, err)
			}
		}
		return templateFS.ReadFile("templates/" + name)
	}
	layout, err := read("page.html")
	if err != nil {
		return nil, err
	}
	t := &templates{pages: map[string]*template.Template{}}
	for _, name := range pageNames {
		body, err := read(name)
		if err != nil {
			return nil, err
		}
		tp, err := template.New("page.html").Parse(string(layout))
		if err != nil {
			return nil, fmt.Errorf("parse template page.html: %w", err)
		}
		if _, err := tp.New(name).Parse(string(body)); err != nil {
			return nil, fmt.Errorf("parse template %s: %w", name, err)
		}
		t.pages[name] = tp
	}
	return t, nil
}

// view is what every template sees. Page-specific fields are zero where they do not apply.
type view struct {
	Title     string
	BaseURL   string
	HubPrefix string
	StaticCSS string // the stylesheet's versioned URL
	SpawnJS   string // the ?v= of the spawn-pending script
	LogoURL   string
	User      *store.User
	Version   string
	// CanAdmin: the header links to the admin page (the user is an admin or holds admin-ui).
	CanAdmin bool

	// login page
	XSRF         string
	LoginAction  string
	Username     string
	LoginError   string
	LoginForm    bool
	LoginURL     string
	LoginService string
	ForgotURL    string // "Forgot password?" link, "" without mail
	// OTPPrompt labels the login form's one-time-password field; "" for none.
	OTPPrompt string
	// Links are an authenticator's links (PageExtras) under the login form or on home.
	Links []Link
	// Options are the ways to sign in of an authenticator with several (LoginOptioner); the
	// login page then shows them instead of the single form.
	Options []loginOptionView

	// home page
	Servers []serverView
	// Spawning is true when the hub can start servers (Deps.Servers set): home shows buttons.
	Spawning bool
	// NamedServers is true with spawning and allow_named_servers: home lists named servers and
	// offers to create one.
	NamedServers bool
	// HasSpawnForm is true when starting asks for options first: Start links to the form.
	HasSpawnForm bool

	// spawn-pending and not-running pages
	Server *serverPage

	// spawn page (the options form)
	SpawnForm *spawnFormView

	// pages rendered elsewhere (RenderContent)
	Content template.HTML

	// error pages
	Status      int
	StatusText  string
	Message     string
	MessageHTML template.HTML
}

// serverView is one of the user's servers on the home page.
type serverView struct {
	Name    string // "" for the default server
	Display string
	URL     string
	Active  bool
	Started *time.Time
	// With spawning: Pending is "spawn", "stop", "check" or ""; Ready when it answers.
	Pending    string
	Ready      bool
	SpawnURL   string // POST target of the Start button
	PendingURL string // the spawn-pending page
	// Failed is true when the last spawn failed (and nothing runs now).
	Failed bool
}

// serverPage is the server a spawn-pending or not-running page is about.
type serverPage struct {
	Owner string
	Name  string // "" for the default server
	// SpawnURL starts the server (GET), with next kept.
	SpawnURL string
	// ProgressURL is the progress event stream, with _xsrf; set while a spawn is pending.
	ProgressURL string
	// Busy is the pending action other than a spawn ("stop", "check").
	Busy string
	// Failure is the last spawn's error message.
	Failure string
}

// render writes a page with status. A template error is logged and answered with a bare 500,
// since the error page may be what failed.
func (p *Pages) render(w http.ResponseWriter, status int, name string, v *view) {
	p.execute(w, status, name, v, v)
}

// execute fills v's layout fields and writes page name executed with data (v itself, or v
// wrapped with a page's own fields).
func (p *Pages) execute(w http.ResponseWriter, status int, name string, v *view, data any) {
	v.BaseURL = p.d.BaseURL
	v.HubPrefix = p.hubPrefix
	v.StaticCSS = p.hubPrefix + "static/style.css?v=" + p.static.version("style.css")
	v.LogoURL = p.hubPrefix + "logo"
	v.SpawnJS = p.static.version("spawn-pending.js")
	v.Version = p.d.Version
	v.CanAdmin = p.canAdminUI(v.User)
	var buf bytes.Buffer
	if err := p.tmpl.pages[name].ExecuteTemplate(&buf, "page.html", data); err != nil {
		p.log.Error("render template", "template", name, "err", err)
		http.Error(w, "500: Internal Server Error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// RenderContent writes a page in the hub's layout (header, stylesheet, footer) around body, an
// HTML fragment rendered by another package (the OAuth confirmation page). u is the user shown
// in the header, nil for none.
func (p *Pages) RenderContent(w http.ResponseWriter, status int, title string, u *store.User, body template.HTML) {
	p.render(w, status, "content.html", &view{Title: title, User: u, Content: body})
}

// staticFile is one embedded asset with its validators.
type staticFile struct {
	body  []byte
	etag  string
	hash  string // first 16 hex digits of its SHA-256, the ?v= of its URL
	ctype string
}

// staticFiles serves the embedded static directory.
type staticFiles struct {
	files map[string]*staticFile
}

func loadStatic() (*staticFiles, error) {
	s := &staticFiles{files: map[string]*staticFile{}}
	err := fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		h := hex.EncodeToString(sum[:])[:16]
		ctype := mime.TypeByExtension(path.Ext(p))
		if ctype == "" {
			ctype = http.DetectContentType(b)
		}
		s.files[strings.TrimPrefix(p, "static/")] = &staticFile{body: b, etag: `"` + h + `"`, hash: h, ctype: ctype}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load static files: %w", err)
	}
	return s, nil
}

// version is the ?v= cache-buster of a static file.
func (s *staticFiles) version(name string) string {
	if f, ok := s.files[name]; ok {
		return f.hash
	}
	return ""
}

// serve answers GET /hub/static/{file...}: a year of caching when ?v= names this content,
// else revalidation by ETag.
func (s *staticFiles) serve(w http.ResponseWriter, r *http.Request) {
	s.write(w, r, r.PathValue("file"))
}

func (s *staticFiles) write(w http.ResponseWriter, r *http.Request, name string) {
	f, ok := s.files[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	if v := r.URL.Query().Get("v"); v != "" && v == f.hash {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	w.Header().Set("Content-Type", f.ctype)
	w.Header().Set("ETag", f.etag)
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(f.body))
}

// logo answers GET /hub/logo.
func (p *Pages) logo(w http.ResponseWriter, r *http.Request) {
	p.static.write(w, r, "logo.svg")
}
