package api

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"gohub/internal/auth"
	"gohub/internal/auth/dummy"
	"gohub/internal/rbac"
	"gohub/internal/session"
	"gohub/internal/store"
	"gohub/internal/testutil"
)

// testHub is an API over a real SQLite store with users, groups, roles, a service and tokens.
type testHub struct {
	t        testing.TB
	api      *API
	db       *store.DB
	sessions *session.Manager
	srv      *testutil.PublicServer // the API as users reach it: through the public listener's server
	tokens   map[string]string      // caller name → token
	check    *specChecker           // validates every reply against the OpenAPI file
}

// Callers of the table tests.
const (
	callAnon     = "anonymous"
	callAdmin    = "admin"
	callAlice    = "alice"
	callBob      = "bob"
	callFiltered = "filtered"   // alice-read-only token: read:users!user=alice etc.
	callService  = "service"    // service "culler" with list:users, read:users, users:activity
	callAliceSrv = "alice-srv"  // alice's server token: users:activity!user=alice, access:servers
	callGroupTok = "group-read" // token of carol, who holds read:users!group=team via a role
)

var testSecret = []byte("0123456789abcdef0123456789abcdef-test-secret")

func newTestHub(t testing.TB) *testHub {
	t.Helper()
	return newTestHubWith(t, hubOptions{})
}

// hubOptions vary newTestHubWith.
type hubOptions struct {
	db           *store.DB   // the database to use (a new SQLite file when nil)
	deps         func(*Deps) // changes to the dependencies
	noFakeServer bool        // seed alice without the pretend running default server
}

func newTestHubWith(t testing.TB, o hubOptions) *testHub {
	t.Helper()
	ctx := context.Background()
	db := o.db
	if db == nil {
		var err error
		db, err = store.Open(ctx, "sqlite:///"+filepath.Join(t.TempDir(), "hub.sqlite"), store.Options{})
		if err != nil {
			t.Fatalf("open store: %v", err)
		}
		t.Cleanup(func() { db.Close() })
	}
	catalog, err := rbac.NewCatalog(nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rbac.DefaultRoles() {
		if _, err := db.UpsertRole(ctx, store.Role{Name: r.Name, Description: r.Description, Scopes: r.Scopes}); err != nil {
			t.Fatalf("role %s: %v", r.Name, err)
		}
	}
	sessions, err := session.New(session.Options{Secret: testSecret})
	if err != nil {
		t.Fatal(err)
	}
	authn, err := dummy.New(&dummy.Config{Config: auth.DefaultConfig()})
	if err != nil {
		t.Fatal(err)
	}
	cfg := auth.DefaultConfig()
	cfg.UsernamePattern = `[a-z0-9._@-]+`
	pipeline, err := auth.NewPipeline(cfg, authn, func(context.Context, string) (bool, error) { return false, nil }, nil)
	if err != nil {
		t.Fatal(err)
	}
	d := Deps{
		Store: db, Sessions: sessions, Catalog: catalog, Users: pipeline,
		Version: "5.4.0", BaseURL: "/", PageDefaultLimit: 50, PageMaxLimit: 200,
		ActivityResolution: 30 * time.Second,
		Info:               Info{SpawnerClass: "localprocess", SpawnerVersion: "0.1", AuthenticatorClass: "dummy", AuthenticatorVersion: "0.1"},
	}
	if o.deps != nil {
		o.deps(&d)
	}
	a, err := New(d)
	if err != nil {
		t.Fatal(err)
	}
	h := &testHub{t: t, api: a, db: db, sessions: sessions, tokens: map[string]string{}, check: loadSpec(t)}
	h.srv = testutil.NewPublicServer(t, a.Handler())
	t.Cleanup(h.srv.Close)
	h.seed(o.noFakeServer)
	return h
}

// seed creates: admin (admin), alice, bob, carol; group team = {alice}; a service culler with
// a role; and one token per caller kind.
func (h *testHub) seed(noFakeServer bool) {
	ctx := context.Background()
	t := h.t
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	admin, err := h.db.CreateUser(ctx, "admin", true)
	must(err)
	alice, err := h.db.CreateUser(ctx, "alice", false)
	must(err)
	bob, err := h.db.CreateUser(ctx, "bob", false)
	must(err)
	carol, err := h.db.CreateUser(ctx, "carol", false)
	must(err)
	_, err = h.db.CreateGroups(ctx, []string{"team"}, []string{"alice"})
	must(err)
	_, err = h.db.UpsertRole(ctx, store.Role{Name: "team-reader", Scopes: []string{"read:users!group=team", "list:users!group=team"}})
	must(err)
	must(h.db.GrantRole(ctx, "team-reader", store.KindUser, "carol"))
	svc, err := h.db.UpsertService(ctx, store.Service{Name: "culler", FromConfig: true, Display: true})
	must(err)
	_, err = h.db.UpsertRole(ctx, store.Role{Name: "culler-role", Scopes: []string{"list:users", "read:users:activity", "read:servers", "delete:servers", "users:activity"}})
	must(err)
	must(h.db.GrantRole(ctx, "culler-role", store.KindService, "culler"))

	// Alice has a running default server with a server token, and a stopped named server.
	if !noFakeServer {
		sp, err := h.db.EnsureSpawner(ctx, alice.ID, "")
		must(err)
		must(h.db.SetSpawnerServer(ctx, sp.ID, &store.Server{IP: "127.0.0.1", Port: 50123, BaseURL: "/user/alice/"}))
		started := time.Date(2026, 1, 2, 3, 4, 5, 123456000, time.UTC)
		sp.Started, sp.LastActivity = &started, &started
		sp.State = json.RawMessage(`{"pid": 4242}`)
		must(h.db.SaveSpawner(ctx, sp))
	}
	_, err = h.db.EnsureSpawner(ctx, alice.ID, "gpu")
	must(err)

	mk := func(name string, nt store.NewToken) {
		nt.Plain = newTokenValue()
		_, err := h.db.CreateToken(ctx, nt)
		must(err)
		h.tokens[name] = nt.Plain
	}
	mk(callAdmin, store.NewToken{UserID: &admin.ID, Scopes: []string{"inherit"}, Note: "test"})
	mk(callAlice, store.NewToken{UserID: &alice.ID, Scopes: []string{"inherit"}, Note: "test"})
	mk(callBob, store.NewToken{UserID: &bob.ID, Scopes: []string{"inherit"}, Note: "test"})
	mk(callFiltered, store.NewToken{UserID: &admin.ID, Note: "filtered",
		Scopes: []string{"read:users!user=alice", "list:users!user=alice", "read:tokens!user=alice", "read:groups!group=team"}})
	mk(callService, store.NewToken{ServiceID: &svc.ID, Scopes: []string{"inherit"}, Note: "culler"})
	aliceSp, err := h.db.EnsureSpawner(ctx, alice.ID, "")
	must(err)
	mk(callAliceSrv, store.NewToken{UserID: &alice.ID, Note: "Server at /user/alice/", SpawnerID: &aliceSp.ID,
		Scopes: []string{"users:activity!user=alice", "access:servers!server=alice/"}})
	mk(callGroupTok, store.NewToken{UserID: &carol.ID, Scopes: []string{"inherit"}, Note: "test"})
}

// reply is a received response with its body.
type reply struct {
	status int
	header http.Header
	body   []byte
}

func (r reply) json(t testing.TB) any {
	t.Helper()
	var v any
	if err := json.Unmarshal(r.body, &v); err != nil {
		t.Fatalf("reply is not JSON: %v: %q", err, r.body)
	}
	return v
}

// do sends a request as caller (token auth; "" or callAnon for none) and validates the reply
// against the OpenAPI file.
func (h *testHub) do(caller, method, path string, body any, hdr ...string) reply {
	h.t.Helper()
	var rd io.Reader
	var raw []byte
	switch b := body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	case []byte:
		raw = b
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			h.t.Fatal(err)
		}
	}
	if raw != nil {
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(method, h.srv.URL+path, rd)
	if err != nil {
		h.t.Fatal(err)
	}
	if raw != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if tok, ok := h.tokens[caller]; ok {
		req.Header.Set("Authorization", "token "+tok)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	return h.send(req)
}

// send performs req and checks the reply against the spec.
func (h *testHub) send(req *http.Request) reply {
	h.t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		h.t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		h.t.Fatal(err)
	}
	rep := reply{status: resp.StatusCode, header: resp.Header, body: b}
	h.check.validate(h.t, req, rep)
	if resp.StatusCode >= 400 {
		h.checkErrorBody(req, rep)
	}
	return rep
}

// checkErrorBody asserts the JSON error shape of §0.5.
func (h *testHub) checkErrorBody(req *http.Request, r reply) {
	h.t.Helper()
	var e struct {
		Status  int    `json:"status"`
		Message string `json:"message"`
	}
	if err := json.Unmarshal(r.body, &e); err != nil || e.Status != r.status || e.Message == "" {
		h.t.Errorf("%s %s: error body %q is not {status: %d, message}", req.Method, req.URL.Path, r.body, r.status)
	}
	if ct := r.header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		h.t.Errorf("%s %s: error Content-Type %q", req.Method, req.URL.Path, ct)
	}
}

// userNames lists every user name in the database.
func (h *testHub) userNames() []string {
	h.t.Helper()
	us, _, err := h.db.ListUsers(context.Background(), store.UserQuery{})
	if err != nil {
		h.t.Fatal(err)
	}
	var out []string
	for _, u := range us {
		out = append(out, u.Name)
	}
	return out
}

// snapshot is the state that a refused request must leave unchanged.
func (h *testHub) snapshot() string {
	h.t.Helper()
	ctx := context.Background()
	us, _, err := h.db.ListUsers(ctx, store.UserQuery{})
	if err != nil {
		h.t.Fatal(err)
	}
	gs, _, err := h.db.ListGroups(ctx, store.GroupQuery{})
	if err != nil {
		h.t.Fatal(err)
	}
	svcs, err := h.db.ListServices(ctx)
	if err != nil {
		h.t.Fatal(err)
	}
	var b strings.Builder
	for _, u := range us {
		toks, _ := h.db.ListTokens(ctx, store.KindUser, u.ID)
		b.WriteString(u.Name + " admin=" + boolStr(u.Admin) + " groups=" + strings.Join(u.Groups, ",") +
			" roles=" + strings.Join(u.Roles, ",") + " tokens=" + itoa(len(toks)) + " spawners=" + itoa(len(u.Spawners)) + "\n")
		for _, sp := range u.Spawners {
			b.WriteString("  " + sp.Name + " " + string(sp.State) + "\n")
		}
	}
	for _, g := range gs {
		props, _ := json.Marshal(g.Properties)
		b.WriteString("group " + g.Name + " users=" + strings.Join(g.Users, ",") + " props=" + string(props) + "\n")
	}
	for _, s := range svcs {
		b.WriteString("service " + s.Name + "\n")
	}
	return b.String()
}

func boolStr(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

func itoa(n int) string { return strconv.Itoa(n) }
