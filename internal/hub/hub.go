// Package hub wires gohub together: it reads the config, opens the database, brings roles and
// services in line with the config, builds the authenticator, the spawner manager, the OAuth
// provider, the pages, the REST API and the proxy, and serves them on the public and the hub
// listener until its context ends.
package hub

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"gohub/internal/api"
	"gohub/internal/auth"
	"gohub/internal/authstate"
	"gohub/internal/config"
	"gohub/internal/naming"
	"gohub/internal/oauth"
	"gohub/internal/proxy"
	"gohub/internal/rbac"
	"gohub/internal/recovery"
	"gohub/internal/session"
	"gohub/internal/spawner"
	"gohub/internal/store"
	"gohub/internal/web"
)

// Options are what the command line adds to the config file.
type Options struct {
	Logger *slog.Logger
	// Getenv reads the environment (JPY_COOKIE_SECRET, CONFIGPROXY_AUTH_TOKEN); os.Getenv when nil.
	Getenv func(string) string
	// ReloadSignals, with LoadConfig, makes Serve reload the config (Reload) on every value
	// received: `gohub serve` passes SIGHUP. Optional.
	ReloadSignals <-chan os.Signal
	// LoadConfig reads the config file again for a reload.
	LoadConfig func() (*config.File, error)
	// Console is where the hub prints what its operator must see and the log must not hold
	// (the one-time invitation of an admin without a password); os.Stderr when nil.
	Console io.Writer
}

// Hub is one running gohub: everything hangs off it, nothing is global.
type Hub struct {
	cfg      *config.Hub
	loaded   *loaded
	log      *slog.Logger
	getenv   func(string) string
	db       *store.DB
	console  io.Writer // Options.Console
	pipeline *auth.Pipeline
	sessions *session.Manager
	api      *api.API
	pages    *web.Pages
	spawners *spawner.Manager
	handler  http.Handler

	table     *proxy.RouteTable // the built-in proxy's routes (nil with an external CHP)
	proxy     *proxy.Proxy
	router    Router
	chp       *chpProcess
	hubTarget string // where the proxy sends hub traffic: http://<hub listener>
	// subdomains is JupyterHub.subdomain_host (nil when unset): servers on their users' hosts,
	// routes keyed by host.
	subdomains *naming.Subdomains
	// proxySecret proves a request on the hub listener came through configurable-http-proxy
	// (hubRouteTarget); "" with the built-in proxy.
	proxySecret string

	shutdown chan shutdownRequest // POST /hub/api/shutdown and the spawn failure limit

	catalog      *rbac.Catalog
	recovery     *recovery.Service
	stopOnRevoke atomic.Bool // Revocation.stop_servers, reloadable
	reloadSigs   <-chan os.Signal
	loadConfig   func() (*config.File, error)

	startProxy func(context.Context) (*chpProcess, error) // (re)starts the external proxy
}

// watchProxy checks every interval that the configurable-http-proxy the hub started is alive;
// if it died, it starts it again and restores every route, as JupyterHub does.
func (h *Hub) watchProxy(ctx context.Context, interval time.Duration) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		select {
		case <-h.chp.done:
		default:
			continue
		}
		h.log.Error("configurable-http-proxy exited; starting it again", "state", h.chp.cmd.ProcessState.String())
		p, err := h.startProxy(ctx)
		if err != nil {
			h.log.Error("restarting configurable-http-proxy", "err", err)
			continue
		}
		h.chp = p
		if err := h.checkRoutes(ctx); err != nil {
			h.log.Error("restoring routes after a proxy restart", "err", err)
		}
	}
}

// shutdownRequest asks Serve to end, stopping servers and the proxy as said.
type shutdownRequest struct{ servers, proxy bool }

// requestShutdown asks a serving hub to shut down (POST /hub/api/shutdown); a second request
// while one is pending is dropped.
func (h *Hub) requestShutdown(servers, proxy bool) {
	select {
	case h.shutdown <- shutdownRequest{servers, proxy}:
	default:
	}
}

// apiProxy is the proxy as /hub/api/proxy sees it.
type apiProxy struct{ h *Hub }

func (p apiProxy) Routes(ctx context.Context) (map[string]api.RouteInfo, error) {
	routes, err := p.h.router.Routes(ctx)
	if err != nil {
		return nil, err
	}
	out := make(map[string]api.RouteInfo, len(routes))
	for spec, r := range routes {
		data := map[string]any{}
		for k, v := range r.Data {
			if k != "target" && k != "jupyterhub" {
				data[k] = v
			}
		}
		if !r.LastActivity.IsZero() {
			data["last_activity"] = api.FormatTime(r.LastActivity)
		}
		out[spec] = api.RouteInfo{Routespec: spec, Target: r.Target, Data: data}
	}
	return out, nil
}

func (p apiProxy) CheckRoutes(ctx context.Context) error { return p.h.checkRoutes(ctx) }

// New builds a hub from a loaded config file. It validates the whole file first, so a broken
// config stops the hub before it touches anything. The hub serves nothing until Listen and Serve.
func New(ctx context.Context, file *config.File, opts Options) (*Hub, error) {
	log := opts.Logger
	if log == nil {
		log = slog.Default()
	}
	getenv := opts.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	l, err := loadConfig(file, log)
	if err != nil {
		return nil, err
	}
	cfg := l.hub
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
	h := &Hub{cfg: cfg, loaded: l, log: log, getenv: getenv, db: db, shutdown: make(chan shutdownRequest, 1),
		catalog: catalog, reloadSigs: opts.ReloadSignals, loadConfig: opts.LoadConfig, console: opts.Console}
	if h.console == nil {
		h.console = os.Stderr
	}
	h.stopOnRevoke.Store(l.revocation.StopServers)
	if err := h.init(ctx, catalog, secret); err != nil {
		h.Close()
		return nil, err
	}
	return h, nil
}

func (h *Hub) init(ctx context.Context, catalog *rbac.Catalog, secret []byte) error {
	cfg, l := h.cfg, h.loaded
	pipeline, err := auth.NewPipeline(*l.authCommon, l.auth, h.userExists, h.log)
	if err != nil {
		return fmt.Errorf("authenticator: %w", err)
	}
	h.pipeline = pipeline
	var crypt *authstate.Crypter
	if key := h.getenv(authstate.EnvKey); key != "" {
		if crypt, err = authstate.New(key); err != nil {
			return err
		}
	} else if pipeline.Config().EnableAuthState {
		return fmt.Errorf("Authenticator.enable_auth_state: %w", authstate.ErrNoKey)
	}
	login := loginAdapter{p: pipeline, db: h.db, crypt: crypt, log: h.log,
		invalidate: func() { h.api.Invalidate() }}
	refresh := newRefresher(pipeline, h.db, crypt, login, h.log)
	refresh.sessions = func() *session.Manager { return h.sessions }
	login.fresh = refresh.fresh
	// Secrets authenticators keep in the database (Native's 2FA) are sealed with
	// JUPYTERHUB_CRYPT_KEY, or a key derived from the cookie secret without it; a cookie secret
	// made for this run only (cookie_secret_file "") is no key: they would be lost at restart.
	if err := useSealer(pipeline, cfg, h.getenv, secret); err != nil {
		return err
	}
	if err := pipeline.Start(ctx, h.db); err != nil {
		return err
	}
	if err := h.loadBlocks(ctx); err != nil {
		return err
	}
	pipeline.UseRevoker(h)
	// As upstream's init_users: the authenticator prepares the users the config names (a
	// LocalAuthenticator with create_system_users makes their system accounts).
	for _, name := range mergeScopes(pipeline.AdminUsers(), pipeline.AllowedUsers()) {
		if err := pipeline.AddUser(ctx, name); err != nil {
			h.log.Error("the authenticator could not add a configured user", "user", name, "err", err)
		}
	}
	if err := syncRoles(ctx, h.db, catalog, cfg.LoadRoles, pipeline.AdminUsers()); err != nil {
		return err
	}
	if err := syncServices(ctx, h.db, cfg.Services, cfg.BaseURL, cfg.TrustUserProvidedTokens, h.log); err != nil {
		return err
	}
	if h.subdomains, err = naming.ParseSubdomainHost(cfg.SubdomainHost); err != nil {
		return fmt.Errorf("JupyterHub.subdomain_host: %w", err)
	}
	h.sessions, err = session.New(session.Options{
		Secret:  secret,
		BaseURL: cfg.BaseURL,
		MaxAge:  time.Duration(cfg.CookieMaxAgeDays * float64(24*time.Hour)),
		Secure:  strings.HasPrefix(cfg.PublicURL, "https:") || strings.HasPrefix(cfg.SubdomainHost, "https:"),
		// The anonymous _xsrf id hashes the client's address: never one the client can name.
		ClientIP: func(r *http.Request) string {
			if a := pipeline.ClientTrust().Client(r).Addr; a.IsValid() {
				return a.String()
			}
			return ""
		},
		HostPrefix:   cfg.CookieHostPrefixEnabled,
		CookieDomain: cookieDomain(h.subdomains),
	})
	if err != nil {
		return err
	}
	if h.subdomains != nil && !cfg.CookieHostPrefixEnabled {
		h.log.Warn("subdomain_host without cookie_host_prefix_enabled: a user's server can plant its login cookie on the hub's host (cookie tossing); enable cookie_host_prefix_enabled")
	}
	if err := h.initProxy(); err != nil {
		return err
	}

	var publicURL *url.URL
	publicRaw := cfg.PublicURL
	if publicRaw == "" && h.subdomains != nil {
		publicRaw = h.subdomains.HubOrigin() + cfg.BaseURL // as upstream's public_url default
	}
	if publicRaw != "" {
		if publicURL, err = url.Parse(publicRaw); err != nil {
			return fmt.Errorf("JupyterHub.public_url: %w", err)
		}
	}
	if err := h.initRecovery(publicURL); err != nil {
		return err
	}
	if err := h.inviteFirstAdmins(ctx, publicURL); err != nil {
		return err
	}
	h.pages, err = web.New(web.Deps{
		Store:            h.db,
		Sessions:         h.sessions,
		Auth:             login,
		BaseURL:          cfg.BaseURL,
		DefaultURL:       cfg.DefaultURL,
		RedirectToServer: cfg.RedirectToServer,
		Version:          JupyterHubVersion,
		Logger:           h.log,
		LoginService:     pipeline.LoginService(),
		PublicURL:        publicURL,
		Subdomains:       h.subdomains,
		TemplateDir:      templateDir(cfg.TemplatePaths),
		Recovery:         h.recovery,
		Invalidate:       func() { h.api.Invalidate() }, // h.api is built below
	})
	if err != nil {
		return err
	}
	provider, err := oauth.New(oauth.Deps{
		Store:          h.db,
		Sessions:       h.sessions,
		Catalog:        catalog,
		BaseURL:        cfg.BaseURL,
		Pages:          h.pages,
		Invalidate:     func() { h.api.Invalidate() }, // h.api is built below
		TokenExpiresIn: time.Duration(cfg.CookieMaxAgeDays * float64(24*time.Hour)),
		Version:        JupyterHubVersion,
		Logger:         h.log,
	})
	if err != nil {
		return err
	}
	limits := spawner.Limits{
		ConcurrentSpawnLimit:    cfg.ConcurrentSpawnLimit,
		ActiveServerLimit:       cfg.ActiveServerLimit,
		AllowNamedServers:       cfg.AllowNamedServers,
		NamedServerLimitPerUser: cfg.NamedServerLimitPerUser,
		SlowSpawnTimeout:        spawner.Seconds(cfg.SlowSpawnTimeout),
		SlowStopTimeout:         spawner.Seconds(cfg.SlowStopTimeout),
	}
	hooks := &serverHooks{db: h.db, oauth: provider, router: h.router}
	if sh, ok := pipeline.Authenticator().(auth.SpawnHooks); ok {
		hooks.auth = sh
	}
	h.spawners, err = spawner.NewManager(spawner.Options{
		DB:     h.db,
		Plugin: l.spawnerEntry.Plugin(l.spawnerCfg),
		Hooks:  hooks,
		Limits: limits,
		Env: spawner.EnvSettings{
			HubAPIURL:   h.hubAPIURL(),
			BaseURL:     cfg.BaseURL,
			PublicURL:   cfg.PublicURL,
			AdminAccess: cfg.AdminAccess,
			Subdomains:  h.subdomains,

			CookieHostPrefixEnabled: cfg.CookieHostPrefixEnabled,
		},
		Logger: h.log,
		OnFailureLimit: func(n int) {
			h.log.Error("consecutive spawn failures reached the limit; shutting down", "failures", n)
			h.requestShutdown(false, false)
		},
		AuthState: refresh.spawnAuthState,
	})
	if err != nil {
		return fmt.Errorf("spawner: %w", err)
	}

	h.api, err = api.New(api.Deps{
		Store:              h.db,
		Sessions:           h.sessions,
		Catalog:            catalog,
		Users:              pipeline,
		Version:            JupyterHubVersion,
		BaseURL:            cfg.BaseURL,
		PublicURL:          publicURL,
		Subdomains:         h.subdomains,
		PageDefaultLimit:   cfg.APIPageDefaultLimit,
		PageMaxLimit:       cfg.APIPageMaxLimit,
		TokenExpiresInMax:  time.Duration(cfg.TokenExpiresInMaxSeconds) * time.Second,
		ActivityResolution: time.Duration(cfg.ActivityResolution) * time.Second,
		AdminAccess:        cfg.AdminAccess,
		Info: api.Info{
			AuthenticatorClass: l.authEntry.Class, AuthenticatorVersion: Version,
			SpawnerClass: l.spawnerEntry.Class, SpawnerVersion: Version,
		},
		Logger: h.log,
		Login:  login.apiLogin,

		Servers:        h.spawners,
		ServerLimits:   limits,
		Proxy:          apiProxy{h},
		Shutdown:       h.requestShutdown,
		CleanupServers: cfg.CleanupServers,
		CleanupProxy:   cfg.CleanupProxy,
		AuthState:      authStateOrNil(crypt),
		Access:         hubAccess{h},
	})
	if err != nil {
		return err
	}
	h.pages.UseServers(h.spawners, cfg.AllowNamedServers)

	mux := http.NewServeMux()
	hubPrefix := cfg.BaseURL + "hub/"
	mux.Handle(hubPrefix+"api", h.api.Handler())
	mux.Handle(hubPrefix+"api/", h.api.Handler())
	health := func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusOK) }
	mux.HandleFunc("GET "+hubPrefix+"health", health)
	mux.HandleFunc("HEAD "+hubPrefix+"health", health)
	provider.Register(mux)
	pipeline.RegisterPagesWith(mux, auth.PageDeps{Prefix: hubPrefix, Host: h.pages, API: &auth.APIAccess{
		Identify: func(r *http.Request) (*auth.APICaller, error) {
			c, err := h.api.Identify(r)
			if errors.Is(err, api.ErrXSRF) {
				return nil, auth.ErrAPIXSRF
			}
			if err != nil || c == nil {
				return nil, err
			}
			return &auth.APICaller{Name: c.Name, Admin: c.Admin, Cookie: c.Cookie, HasScope: c.HasScope}, nil
		},
		Invalidate: h.api.Invalidate,
	}})
	h.pages.Register(mux)
	mux.HandleFunc(cfg.BaseURL, h.pages.NotHub)
	h.handler = mux
	if pipeline.CanRefresh() && pipeline.RefreshAge() > 0 {
		refresh.tokenUser = func(r *http.Request) string {
			if c, err := h.api.Identify(r); err == nil && c != nil && c.Kind == store.KindUser {
				return c.Name
			}
			return ""
		}
		h.handler = refresh.middleware(mux)
	}
	if h.subdomains != nil {
		h.handler = h.hubHostOnly(h.handler, hubPrefix)
	}
	h.handler = secureCookies(pipeline.ClientTrust(), h.handler)
	return nil
}

// hubHostOnly keeps the hub's pages and API off users' hosts under subdomain_host: the hub's
// cookies are host-only on its own host, so a login or a page there must never happen on a
// user's origin, where that user's scripts could read it. GET and HEAD go to the same URL on
// the hub's host; other methods are refused.
func (h *Hub) hubHostOnly(next http.Handler, hubPrefix string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !h.subdomains.IsUserHost(r.Host) || !strings.HasPrefix(r.URL.Path, hubPrefix) {
			next.ServeHTTP(w, r)
			return
		}
		if r.Method != http.MethodGet && r.Method != http.MethodHead {
			http.Error(w, "The hub is at "+h.subdomains.HubOrigin()+", not on a user's host.", http.StatusForbidden)
			return
		}
		w.Header().Set("Location", h.subdomains.HubOrigin()+r.URL.RequestURI())
		w.WriteHeader(http.StatusFound)
	})
}

// initProxy sets up the built-in route table and proxy, or the client of an external
// configurable-http-proxy (JupyterHub.proxy_class).
func (h *Hub) initProxy() error {
	switch strings.ToLower(h.cfg.ProxyClass) {
	case "", "builtin", "gohub":
		h.table = proxy.NewRouteTable()
		opts := proxy.Options{
			Logger:      h.log,
			HostRouting: h.subdomains != nil,
			ErrorHandler: func(w http.ResponseWriter, r *http.Request, status int) {
				msg := "Your server appears to be down. Try restarting it from the hub."
				switch status {
				case http.StatusNotFound:
					msg = "Nothing is served at this address."
				case http.StatusBadGateway:
					msg = "The server sent an answer the proxy does not pass on (malformed or too large)."
				}
				h.pages.Error(w, r, status, msg)
			},
		}
		h.loaded.builtinProxy.Apply(&opts)
		h.proxy = proxy.New(h.table, opts)
		h.router = builtinRouter{h.table}
	case "configurable-http-proxy", "chp", "configurablehttpproxy", "jupyterhub.proxy.configurablehttpproxy":
		c := h.loaded.chp
		token := c.AuthToken
		if token == "" {
			token = h.getenv("CONFIGPROXY_AUTH_TOKEN")
		}
		if token == "" && !c.ShouldStart {
			return errors.New("ConfigurableHTTPProxy: should_start is false, so auth_token (or CONFIGPROXY_AUTH_TOKEN) is required")
		}
		if token == "" {
			b := make([]byte, 32)
			rand.Read(b)
			token = hex.EncodeToString(b)
		}
		c.AuthToken = token
		c.hostRouting = h.subdomains != nil
		h.proxySecret = newProxySecret()
		h.router = chpRouter{proxy.NewCHPClient(c.APIURL, token, proxy.CHPClientOptions{Logger: h.log})}
	default:
		return fmt.Errorf("JupyterHub.proxy_class: unknown proxy %q (builtin or configurable-http-proxy)", h.cfg.ProxyClass)
	}
	return nil
}

// hubAPIURL is where servers reach the hub API: hub_connect_url, or the hub listener.
func (h *Hub) hubAPIURL() string {
	if h.cfg.HubConnectURL != "" {
		return strings.TrimSuffix(h.cfg.HubConnectURL, "/") + h.cfg.BaseURL + "hub/api"
	}
	host, port, err := h.cfg.HubBindAddr()
	if err != nil {
		return ""
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, port) + h.cfg.BaseURL + "hub/api"
}

// userExists answers allow_existing_users for the login pipeline.
func (h *Hub) userExists(ctx context.Context, name string) (bool, error) {
	_, err := h.db.GetUser(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	return err == nil, err
}

// Handler is everything the hub itself serves (pages and API); tests mount it on httptest servers.
func (h *Hub) Handler() http.Handler { return h.handler }

// DB is the hub's database.
func (h *Hub) DB() *store.DB { return h.db }

// Close stops background work and releases the database. Running servers are left alone.
func (h *Hub) Close() error {
	if h.recovery != nil {
		h.recovery.Close()
	}
	if h.spawners != nil {
		h.spawners.Close()
	}
	if h.proxy != nil {
		h.proxy.Close()
	}
	h.chp.stop()
	return h.db.Close()
}

// Listeners are the two addresses a running hub serves on.
type Listeners struct {
	Public net.Listener // JupyterHub.bind_url: browsers (nil with an external proxy)
	Hub    net.Listener // JupyterHub.hub_bind_url: single-user servers and services call the API here
}

// Listen opens the hub listener and, with the built-in proxy, the public one.
func (h *Hub) Listen() (*Listeners, error) {
	hubHost, hubPort, err := h.cfg.HubBindAddr()
	if err != nil {
		return nil, err
	}
	hl, err := net.Listen("tcp", net.JoinHostPort(hubHost, hubPort))
	if err != nil {
		return nil, fmt.Errorf("hub listener: %w", err)
	}
	ls := &Listeners{Hub: hl}
	if h.table == nil {
		return ls, nil
	}
	pubHost, pubPort, err := h.cfg.BindAddr()
	if err != nil {
		hl.Close()
		return nil, err
	}
	ls.Public, err = net.Listen("tcp", net.JoinHostPort(pubHost, pubPort))
	if err != nil {
		hl.Close()
		return nil, fmt.Errorf("public listener: %w", err)
	}
	return ls, nil
}

// Serve starts the proxy (or connects to it), re-adopts servers that kept running while the hub
// was down, reconciles routes and serves until ctx ends; then it shuts down gracefully,
// stopping servers only with cleanup_servers.
func (h *Hub) Serve(ctx context.Context, ls *Listeners) error {
	h.hubTarget = "http://" + connectable(ls.Hub.Addr().String())
	if h.router == nil {
		return errors.New("hub: no proxy")
	}
	if h.loaded.chp != nil && h.table == nil && h.loaded.chp.ShouldStart {
		pubHost, pubPort, err := h.cfg.BindAddr()
		if err != nil {
			return err
		}
		h.startProxy = func(ctx context.Context) (*chpProcess, error) {
			return startCHP(ctx, h.loaded.chp, h.loaded.chp.AuthToken, pubHost, pubPort,
				h.hubTarget+h.cfg.BaseURL+"hub/error", h.hubRouteTarget(), h.log)
		}
		if h.chp, err = h.startProxy(ctx); err != nil {
			return err
		}
	}
	if err := h.spawners.Restore(ctx); err != nil {
		h.log.Warn("restoring servers", "err", err)
	}
	h.revokeBlocked(ctx)
	if err := h.checkRoutes(ctx); err != nil {
		return err
	}

	logger := slog.NewLogLogger(h.log.Handler(), slog.LevelWarn)
	hubHandler := h.handler
	if h.proxySecret != "" {
		hubHandler = h.fromProxy(hubHandler)
	}
	// The hub's own listener (users' servers, services, configurable-http-proxy): idle
	// keep-alive connections are closed, as on the public listener.
	hubSrv := &http.Server{Handler: hubHandler, ReadHeaderTimeout: 30 * time.Second, IdleTimeout: 90 * time.Second,
		ErrorLog: logger}
	var pubSrv *proxy.Server
	if ls.Public != nil {
		pubSrv = h.loaded.builtinProxy.Server(h.publicHandler())
		pubSrv.Logger = h.log
	}
	errc := make(chan error, 2)
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := hubSrv.Serve(ls.Hub); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("hub listener: %w", err)
		}
	})
	if pubSrv != nil {
		wg.Go(func() {
			if err := pubSrv.Serve(ls.Public); err != nil && !errors.Is(err, http.ErrServerClosed) && !errors.Is(err, net.ErrClosed) {
				errc <- fmt.Errorf("public listener: %w", err)
			}
		})
	}
	loopCtx, stopLoops := context.WithCancel(ctx)
	wg.Go(func() {
		h.activityLoop(loopCtx, time.Duration(h.cfg.LastActivityInterval)*time.Second, h.log)
	})
	if h.chp != nil {
		wg.Go(func() { h.watchProxy(loopCtx, 5*time.Second) })
	}
	if h.reloadSigs != nil && h.loadConfig != nil {
		wg.Go(func() { h.watchReload(loopCtx, h.reloadSigs, h.loadConfig) })
	}
	public := ""
	if ls.Public != nil {
		public = "http://" + ls.Public.Addr().String() + h.cfg.BaseURL
	} else if h.loaded.chp != nil {
		host, port, _ := h.cfg.BindAddr()
		public = "http://" + connectable(net.JoinHostPort(host, port)) + h.cfg.BaseURL
	}
	h.log.Info("gohub is running", "public_url", public,
		"hub_api", h.hubTarget+h.cfg.BaseURL+"hub/api", "authenticator", h.loaded.authEntry.Class,
		"spawner", h.loaded.spawnerEntry.Class)

	var err error
	stopServers, stopProxy := h.cfg.CleanupServers, h.cfg.CleanupProxy
	select {
	case <-ctx.Done():
	case err = <-errc:
	case req := <-h.shutdown:
		h.log.Info("shutting down on request", "stop_servers", req.servers, "stop_proxy", req.proxy)
		stopServers, stopProxy = req.servers, req.proxy
	}
	stopLoops()
	shutCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if stopServers {
		h.log.Info("stopping all servers (cleanup_servers)")
		if err := h.spawners.StopAll(shutCtx); err != nil {
			h.log.Warn("stopping servers", "err", err)
		}
	}
	if pubSrv != nil {
		pubSrv.Shutdown(shutCtx)
	}
	hubSrv.Shutdown(shutCtx)
	wg.Wait()
	if !stopProxy {
		h.chp = nil // leave the external proxy running, with its routes
	}
	return err
}

// publicHandler is what the public listener serves with the built-in proxy: routed requests go
// to their server; everything the hub's own route covers is handled in-process, without a
// loopback hop.
func (h *Hub) publicHandler() http.Handler {
	hubRoute := routespecPath(h.hubRoutespec())
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.URL.Path
		if h.subdomains != nil {
			key = "/" + hostOnly(r.Host) + key // as the proxy's host routing keys it
		}
		if rt := h.table.Match(key); rt == nil || rt.Prefix == hubRoute {
			h.handler.ServeHTTP(w, r)
			return
		}
		h.proxy.ServeHTTP(w, r)
	})
}

// cookieDomain is the session Manager's CookieDomain: the hub's host under subdomain_host,
// where users' servers can toss cookies; "" without subdomains or on an IP address (which has
// none).
func cookieDomain(sd *naming.Subdomains) string {
	if sd == nil || net.ParseIP(sd.HubHost()) != nil {
		return ""
	}
	return sd.HubHost()
}

// hubRoutespec is the hub's own route: base_url, or "/" (every host) with subdomain_host, as
// upstream's hub_routespec.
func (h *Hub) hubRoutespec() string {
	if h.subdomains != nil {
		return "/"
	}
	return h.cfg.BaseURL
}

// hostOnly is a Host header without its port.
func hostOnly(host string) string {
	if h, _, err := net.SplitHostPort(host); err == nil {
		return h
	}
	return host
}

// connectable turns a listener address into one others can dial (0.0.0.0 → 127.0.0.1).
func connectable(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}

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

// authStateOrNil keeps a nil crypter a nil interface, so the API knows there is none.
func authStateOrNil(c *authstate.Crypter) api.AuthStateCrypter {
	if c == nil {
		return nil
	}
	return c
}

// useSealer gives the authenticators the key that seals the secrets they keep in the database
// (Native's 2FA): JUPYTERHUB_CRYPT_KEY, or one derived from the cookie secret without it. A
// cookie secret made for this run only (cookie_secret_file "") is no key: the secrets would be
// lost at restart, so none is given and an authenticator that needs one refuses to start.
func useSealer(p *auth.Pipeline, cfg *config.Hub, getenv func(string) string, secret []byte) error {
	if getenv(authstate.EnvKey) == "" && cfg.CookieSecret == "" && getenv(config.CookieSecretEnv) == "" && cfg.CookieSecretFile == "" {
		return nil
	}
	sealer, err := authstate.NewSealer(getenv(authstate.EnvKey), secret)
	if err != nil {
		return err
	}
	p.UseSealer(sealer)
	return nil
}
