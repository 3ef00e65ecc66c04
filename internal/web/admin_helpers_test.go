package web

import (
	"errors"
	"strings"
	"testing"
	"time"

	"gohub/internal/api"
	"gohub/internal/rbac"
	"gohub/internal/spawner"
	"gohub/internal/store"
)

// lowerNames is the username policy of the API in these tests: lowercase, no slashes.
type lowerNames struct{}

func (lowerNames) Normalize(name string) string { return strings.ToLower(name) }
func (lowerNames) CheckUsername(name string) error {
	if name == "" || strings.ContainsAny(name, "/ ") {
		return errors.New("not a username")
	}
	return nil
}

// apiEnv is a spawnEnv with the real REST API (internal/api) mounted at /hub/api/, over the
// same store, sessions and spawner manager, and the default roles as the hub creates them:
// what the admin and token pages' scripts talk to.
type apiEnv struct {
	*spawnEnv
	api *api.API
}

func newAPIEnv(t *testing.T, cfg testSpawnerConfig) *apiEnv {
	t.Helper()
	se := newSpawnEnv(t, cfg)
	for _, r := range rbac.DefaultRoles() {
		if _, err := se.db.UpsertRole(t.Context(), store.Role{Name: r.Name, Description: r.Description, Scopes: r.Scopes}); err != nil {
			t.Fatal(err)
		}
	}
	catalog, err := rbac.NewCatalog(nil)
	if err != nil {
		t.Fatal(err)
	}
	limits := spawner.DefaultLimits()
	limits.AllowNamedServers = true
	a, err := api.New(api.Deps{
		Store: se.db, Sessions: se.sessions, Catalog: catalog, Users: lowerNames{},
		Version: "5.4.0", BaseURL: "/", PageDefaultLimit: 50, PageMaxLimit: 200,
		ActivityResolution: 30 * time.Second, Servers: se.m, ServerLimits: limits,
	})
	if err != nil {
		t.Fatal(err)
	}
	se.mux.Handle("/hub/api/", a.Handler())
	return &apiEnv{spawnEnv: se, api: a}
}
