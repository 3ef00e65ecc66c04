// Package hub wires gohub together: it reads the config, opens the database, brings roles and
// services in line with the config, builds the authenticator, the pages and the REST API, and
// serves them on the public and the hub listener until its context ends.
package hub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"time"

	"gohub/internal/api"
	"gohub/internal/auth"
	"gohub/internal/config"
	"gohub/internal/rbac"
	"gohub/internal/session"
	"gohub/internal/store"
	"gohub/internal/web"
)

// Options are what the command line adds to the config file.
type Options struct {
	Logger *slog.Logger
	// Getenv reads the environment (JPY_COOKIE_SECRET); os.Getenv when nil.
	Getenv func(string) string
}

// Hub is one running gohub: everything hangs off it, nothing is global.
type Hub struct {
	cfg      *config.Hub
	log      *slog.Logger
	db       *store.DB
	pipeline *auth.Pipeline
	sessions *session.Manager
	handler  http.Handler
	authName string
}

// New builds a hub from a loaded config file. It validates the whole file first, so a broken
// config stops the hub before it touches anything.
func New(ctx context.Context, file *config.File, opts Options) (*Hub, error) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	getenv := opts.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	cfg, authEntry, authImpl, authCfg, err := loadConfig(file, log)
	if err != nil {
		return nil, err
	}
	secret, err := config.CookieSecret(cfg.CookieSecret, cfg.CookieSecretFile, getenv)
	if err != nil {
		return nil, err
	}
	catalog, err := rbac.NewCatalog(cfg.CustomScopes)
	if err != nil {
		return nil, fmt.Errorf("JupyterHub.custom_scopes: %w", err)
	}
	db, err := store.Open(ctx, cfg.DBURL, store.Options{Logger: log})
	if err != nil {
		return nil, fmt.Errorf("open database %s: %w", redactURL(cfg.DBURL), err)
	}
	h := &Hub{cfg: cfg, log: log, db: db, authName: authEntry.Class}
	if err := h.init(ctx, catalog, secret, authImpl, authCfg); err != nil {
		db.Close()
		return nil, err
	}
	return h, nil
}

func (h *Hub) init(ctx context.Context, catalog *rbac.Catalog, secret []byte, a auth.Authenticator, acfg *auth.Config) error {
	cfg := h.cfg
	pipeline, err := auth.NewPipeline(*acfg, a, h.userExists, h.log)
	if err != nil {
		return fmt.Errorf("authenticator: %w", err)
	}
	h.pipeline = pipeline
	if err := syncRoles(ctx, h.db, catalog, cfg.LoadRoles, pipeline.AdminUsers()); err != nil {
		return err
	}
	if err := syncServices(ctx, h.db, cfg.Services, cfg.BaseURL, cfg.TrustUserProvidedTokens, h.log); err != nil {
		return err
	}
	sessions, err := session.New(session.Options{
		Secret:  secret,
		BaseURL: cfg.BaseURL,
		MaxAge:  time.Duration(cfg.CookieMaxAgeDays * float64(24*time.Hour)),
		Secure:  strings.HasPrefix(cfg.PublicURL, "https:"),
	})
	if err != nil {
		return err
	}
	h.sessions = sessions

	apiHandler, err := api.New(api.Deps{
		Store:              h.db,
		Sessions:           sessions,
		Catalog:            catalog,
		Users:              pipeline,
		Version:            JupyterHubVersion,
		BaseURL:            cfg.BaseURL,
		PageDefaultLimit:   cfg.APIPageDefaultLimit,
		PageMaxLimit:       cfg.APIPageMaxLimit,
		TokenExpiresInMax:  time.Duration(cfg.TokenExpiresInMaxSeconds) * time.Second,
		ActivityResolution: time.Duration(cfg.ActivityResolution) * time.Second,
		AdminAccess:        cfg.AdminAccess,
		Info: api.Info{
			AuthenticatorClass: h.authName, AuthenticatorVersion: Version,
			SpawnerClass: cfg.SpawnerClass, SpawnerVersion: Version,
		},
		Logger: h.log,
	})
	if err != nil {
		return err
	}
	var publicURL *url.URL
	if cfg.PublicURL != "" {
		if publicURL, err = url.Parse(cfg.PublicURL); err != nil {
			return fmt.Errorf("JupyterHub.public_url: %w", err)
		}
	}
	pages, err := web.New(web.Deps{
		Store:            h.db,
		Sessions:         sessions,
		Auth:             loginAdapter{pipeline},
		BaseURL:          cfg.BaseURL,
		DefaultURL:       cfg.DefaultURL,
		RedirectToServer: cfg.RedirectToServer,
		Version:          JupyterHubVersion,
		Logger:           h.log,
		LoginService:     pipeline.LoginService(),
		PublicURL:        publicURL,
		TemplateDir:      templateDir(cfg.TemplatePaths),
	})
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	hubPrefix := cfg.BaseURL + "hub/"
	mux.Handle(hubPrefix+"api", apiHandler.Handler())
	mux.Handle(hubPrefix+"api/", apiHandler.Handler())
	health := func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) }
	mux.HandleFunc("GET "+hubPrefix+"health", health)
	mux.HandleFunc("HEAD "+hubPrefix+"health", health)
	pages.Register(mux)
	mux.HandleFunc(cfg.BaseURL, pages.NotHub)
	h.handler = mux
	return nil
}

// userExists answers allow_existing_users for the login pipeline.
func (h *Hub) userExists(ctx context.Context, name string) (bool, error) {
	_, err := h.db.GetUser(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// Handler is everything the hub serves (pages and API); tests mount it on httptest servers.
func (h *Hub) Handler() http.Handler { return h.handler }

// DB is the hub's database.
func (h *Hub) DB() *store.DB { return h.db }

// Close releases the database.
func (h *Hub) Close() error { return h.db.Close() }

// Listeners are the two addresses a running hub serves on.
type Listeners struct {
	Public net.Listener // JupyterHub.bind_url: browsers
	Hub    net.Listener // JupyterHub.hub_bind_url: single-user servers and services call the API here
}

// Listen opens the public and hub listeners named by the config.
func (h *Hub) Listen() (*Listeners, error) {
	pubHost, pubPort, err := h.cfg.BindAddr()
	if err != nil {
		return nil, err
	}
	hubHost, hubPort, err := h.cfg.HubBindAddr()
	if err != nil {
		return nil, err
	}
	pub, err := net.Listen("tcp", net.JoinHostPort(pubHost, pubPort))
	if err != nil {
		return nil, fmt.Errorf("public listener: %w", err)
	}
	hl, err := net.Listen("tcp", net.JoinHostPort(hubHost, hubPort))
	if err != nil {
		pub.Close()
		return nil, fmt.Errorf("hub listener: %w", err)
	}
	return &Listeners{Public: pub, Hub: hl}, nil
}

// Serve serves on both listeners until ctx ends, then shuts down gracefully.
func (h *Hub) Serve(ctx context.Context, ls *Listeners) error {
	servers := []*http.Server{
		{Handler: h.handler, ReadHeaderTimeout: 30 * time.Second, ErrorLog: slog.NewLogLogger(h.log.Handler(), slog.LevelWarn)},
		{Handler: h.handler, ReadHeaderTimeout: 30 * time.Second, ErrorLog: slog.NewLogLogger(h.log.Handler(), slog.LevelWarn)},
	}
	lns := []net.Listener{ls.Public, ls.Hub}
	errc := make(chan error, len(servers))
	var wg sync.WaitGroup
	for i, srv := range servers {
		wg.Go(func() {
			if err := srv.Serve(lns[i]); err != nil && !errors.Is(err, http.ErrServerClosed) {
				errc <- err
			}
		})
	}
	h.log.Info("gohub is running",
		"public_url", "http://"+ls.Public.Addr().String()+h.cfg.BaseURL,
		"hub_api", "http://"+ls.Hub.Addr().String()+h.cfg.BaseURL+"hub/api",
		"authenticator", h.authName)
	var err error
	select {
	case <-ctx.Done():
	case err = <-errc:
	}
	shutCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, srv := range servers {
		srv.Shutdown(shutCtx)
	}
	wg.Wait()
	return err
}

// loginAdapter lets the pages use the login pipeline.
type loginAdapter struct{ p *auth.Pipeline }

func (l loginAdapter) Login(ctx context.Context, r *http.Request, username, password string, form url.Values) (string, *bool, error) {
	id, err := l.p.Login(ctx, auth.Credentials{Username: username, Password: password, Form: form, Request: r})
	if err != nil {
		return "", nil, err
	}
	return id.Name, id.Admin, nil
}
func (l loginAdapter) LoginForm() bool { return l.p.LoginForm() }
func (l loginAdapter) AutoLogin() bool { return l.p.AutoLogin() }

// redactURL hides a password in a database URL before it is logged or shown.
func redactURL(u string) string {
	at := strings.LastIndex(u, "@")
	scheme := strings.Index(u, "://")
	if at < 0 || scheme < 0 || at < scheme {
		return u
	}
	creds := u[scheme+3 : at]
	if i := strings.Index(creds, ":"); i >= 0 {
		return u[:scheme+3] + creds[:i] + ":***" + u[at:]
	}
	return u
}

// templateDir picks the first of JupyterHub.template_paths: gohub reads overrides from one
// directory (templates of the same name replace the embedded ones).
func templateDir(paths []string) string {
	if len(paths) == 0 {
		return ""
	}
	return paths[0]
}
