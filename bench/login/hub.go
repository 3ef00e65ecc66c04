package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"time"

	"gohub/internal/api"
	"gohub/internal/auth"
	"gohub/internal/auth/firstuse"
	"gohub/internal/rbac"
	"gohub/internal/session"
	"gohub/internal/store"
	"gohub/internal/web"
)

// benchHub is the hub's login page and REST API, assembled from the same packages and in the
// same way as internal/hub does, with the FirstUse authenticator, on 127.0.0.1.
type benchHub struct {
	dir      string // removed by close
	db       *store.DB
	auth     *firstuse.Authenticator
	url      string
	token    string // an admin's API token
	srv      *http.Server
	pipeline *auth.Pipeline
}

// startHub builds the hub in dir with cfg and listens on a free port.
func startHub(ctx context.Context, dir string, cfg *firstuse.Config) (*benchHub, error) {
	// Quiet: the capacity runs end by cancelling requests in flight, which the hub logs as
	// errors; the bench reports failed answers itself.
	log := slog.New(slog.DiscardHandler)
	db, err := store.Open(ctx, "sqlite:///"+filepath.Join(dir, "jupyterhub.sqlite"), store.Options{Logger: log})
	if err != nil {
		return nil, err
	}
	h := &benchHub{dir: dir, db: db}
	if err := h.init(ctx, cfg, log); err != nil {
		db.Close()
		return nil, err
	}
	return h, nil
}

func (h *benchHub) init(ctx context.Context, cfg *firstuse.Config, log *slog.Logger) error {
	catalog, err := rbac.NewCatalog(nil)
	if err != nil {
		return err
	}
	for _, r := range rbac.DefaultRoles() {
		if _, err := h.db.UpsertRole(ctx, store.Role{Name: r.Name, Description: r.Description, Scopes: r.Scopes}); err != nil {
			return err
		}
	}
	if h.auth, err = firstuse.New(cfg, log); err != nil {
		return err
	}
	if err := h.auth.UseDatabase(ctx, h.db); err != nil {
		return err
	}
	exists := func(ctx context.Context, name string) (bool, error) {
		_, err := h.db.GetUser(ctx, name)
		if errors.Is(err, store.ErrNotFound) {
			return false, nil
		}
		return err == nil, err
	}
	if h.pipeline, err = auth.NewPipeline(cfg.Config.Config, h.auth, exists, log); err != nil {
		return err
	}
	secret := make([]byte, 32)
	rand.Read(secret)
	sessions, err := session.New(session.Options{Secret: secret, BaseURL: "/"})
	if err != nil {
		return err
	}
	apiHandler, err := api.New(api.Deps{
		Store: h.db, Sessions: sessions, Catalog: catalog, Users: h.pipeline, Version: "5.4.0", BaseURL: "/",
		PageDefaultLimit: 50, PageMaxLimit: 200, ActivityResolution: 30 * time.Second, Logger: log,
		Info: api.Info{AuthenticatorClass: "FirstUseAuthenticator", SpawnerClass: "localprocess"},
	})
	if err != nil {
		return err
	}
	pages, err := web.New(web.Deps{Store: h.db, Sessions: sessions, Auth: loginAdapter{h.pipeline}, BaseURL: "/", Version: "5.4.0", Logger: log})
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/hub/api", apiHandler.Handler())
	mux.Handle("/hub/api/", apiHandler.Handler())
	h.auth.RegisterPages(mux, auth.PageDeps{Prefix: "/hub/", Host: pages, Pipeline: h.pipeline})
	pages.Register(mux)
	mux.HandleFunc("/", pages.NotHub)

	admin, err := h.db.CreateUser(ctx, "bench-admin", true)
	if err != nil {
		return err
	}
	h.token = rand.Text() + rand.Text()
	if _, err := h.db.CreateToken(ctx, store.NewToken{Plain: h.token, Rounds: 1, UserID: &admin.ID, Scopes: []string{"inherit"}, Note: "bench"}); err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	h.url = "http://" + ln.Addr().String()
	h.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go h.srv.Serve(ln)
	return nil
}

// addUsers creates hub users user00000… with their FirstUse password hashed once (the same hash
// for all: the cost of verifying does not depend on which hash it is).
func (h *benchHub) addUsers(ctx context.Context, n int, pw string) error {
	hash, err := h.auth.Hasher().Hash(ctx, pw)
	if err != nil {
		return err
	}
	names := make([]string, n)
	for i := range names {
		names[i] = userName(i)
		if err := h.db.SetPasswordHash(ctx, names[i], hash); err != nil {
			return err
		}
	}
	_, err = h.db.CreateUsers(ctx, names, false)
	return err
}

func userName(i int) string { return fmt.Sprintf("user%05d", i) }

func (h *benchHub) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	h.srv.Shutdown(ctx)
	h.db.Close()
	os.RemoveAll(h.dir)
}

// loginAdapter is internal/hub's adapter from the pipeline to the pages.
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
