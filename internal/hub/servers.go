package hub

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"time"

	"gohub/internal/auth"
	"gohub/internal/oauth"
	"gohub/internal/spawner"
	"gohub/internal/store"
)

// serverHooks is how the spawner manager reaches the rest of the hub: credentials through the
// OAuth provider, routes through the proxy.
type serverHooks struct {
	db     *store.DB
	oauth  *oauth.Provider
	router Router
	// auth, when the authenticator acts around spawns (PAM's open_sessions), is told before a
	// server starts and after it stopped.
	auth auth.SpawnHooks
}

func (s *serverHooks) PrepareServer(ctx context.Context, setup spawner.ServerSetup) (string, error) {
	u, err := s.db.GetUserByID(ctx, setup.User.ID)
	if err != nil {
		return "", err
	}
	if s.auth != nil {
		if err := s.auth.PreSpawnStart(ctx, u.Name); err != nil {
			return "", fmt.Errorf("the authenticator refused the spawn: %w", err)
		}
	}
	token, _, err := s.oauth.PrepareServer(ctx, u, setup.ServerName, setup.Prefix, oauth.ServerOptions{
		TokenScopes:         setup.TokenScopes,
		ClientAllowedScopes: setup.ClientAllowedScopes,
		RedirectURI:         setup.RedirectURI,
	})
	return token, err
}

func (s *serverHooks) Cleanup(ctx context.Context, setup spawner.ServerSetup) error {
	u, err := s.db.GetUserByID(ctx, setup.User.ID)
	if err != nil {
		return err
	}
	if s.auth != nil {
		s.auth.PostSpawnStop(ctx, u.Name)
	}
	return s.oauth.CleanupServer(ctx, u, setup.ServerName)
}

func (s *serverHooks) AddRoute(ctx context.Context, spec, target string, data map[string]any) error {
	return s.router.AddRoute(ctx, spec, target, data)
}

func (s *serverHooks) DeleteRoute(ctx context.Context, spec string) error {
	return s.router.DeleteRoute(ctx, spec)
}

// checkRoutes reconciles the proxy's routes with the hub's state (protocol.md §3.4): the hub route
// exists with the right target, every ready server has its route, and any other route carrying
// "jupyterhub": true is deleted. Routes of servers still starting are kept.
func (h *Hub) checkRoutes(ctx context.Context) error {
	have, err := h.router.Routes(ctx)
	if err != nil {
		return fmt.Errorf("read proxy routes: %w", err)
	}
	want := map[string]RouteInfo{
		canonicalRoutespec(h.hubRoutespec()): {Target: h.hubRouteTarget(), Data: map[string]any{"hub": true}},
	}
	active, err := h.db.ActiveSpawners(ctx)
	if err != nil {
		return err
	}
	pending := map[string]bool{}
	for _, a := range active {
		spec := spawner.ServerPrefix(h.cfg.BaseURL, a.UserName, a.Spawner.Name)
		if h.subdomains != nil {
			spec = h.subdomains.RouteSpec(a.UserName, spec)
		}
		spec = canonicalRoutespec(spec)
		st := h.spawners.Status(a.UserName, a.Spawner.Name)
		if !st.Ready {
			pending[spec] = true
			continue
		}
		srv := a.Spawner.Server
		target := (&url.URL{Scheme: srv.Proto, Host: net.JoinHostPort(srv.IP, fmt.Sprint(srv.Port))}).String()
		want[spec] = RouteInfo{Target: target, Data: map[string]any{"user": a.UserName, "server_name": a.Spawner.Name}}
	}
	for spec, w := range want {
		if cur, ok := have[spec]; ok && cur.Target == w.Target {
			continue
		}
		h.log.Info("adding route", "route", spec, "target", w.Target)
		if err := h.router.AddRoute(ctx, spec, w.Target, w.Data); err != nil {
			return fmt.Errorf("add route %s: %w", spec, err)
		}
	}
	for spec := range have {
		if _, ok := want[spec]; ok || pending[spec] {
			continue
		}
		h.log.Info("deleting stale route", "route", spec)
		if err := h.router.DeleteRoute(ctx, spec); err != nil {
			return fmt.Errorf("delete route %s: %w", spec, err)
		}
	}
	return nil
}

// pollActivity moves users' and servers' last_activity forward from the proxy's per-route
// activity (protocol.md §3.5), then reconciles the routes.
func (h *Hub) pollActivity(ctx context.Context) {
	routes, err := h.router.Routes(ctx)
	if err != nil {
		h.log.Warn("activity poll: cannot read proxy routes", "err", err)
		return
	}
	for _, r := range routes {
		user, _ := r.Data["user"].(string)
		server, ok := r.Data["server_name"].(string)
		if user == "" || !ok || r.LastActivity.IsZero() {
			continue
		}
		u, err := h.db.GetUser(ctx, user)
		if err != nil {
			continue
		}
		if err := h.db.TouchUser(ctx, u.ID, r.LastActivity); err != nil {
			h.log.Warn("activity poll", "user", user, "err", err)
		}
		if err := h.db.TouchSpawner(ctx, u.ID, server, r.LastActivity); err != nil {
			h.log.Warn("activity poll", "user", user, "server", server, "err", err)
		}
	}
	if err := h.checkRoutes(ctx); err != nil {
		h.log.Warn("route check", "err", err)
	}
}

// activityLoop runs pollActivity every last_activity_interval until ctx ends.
func (h *Hub) activityLoop(ctx context.Context, every time.Duration, log *slog.Logger) {
	if every <= 0 {
		return
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			h.pollActivity(ctx)
		}
	}
}
