package storetest

import (
	"slices"
	"testing"

	"gohub/internal/store"
)

func testServices(t *testing.T, open func(t *testing.T) *store.DB) {
	db := open(t)
	ctx := t.Context()
	defaultRoles(t, db)
	in := store.Service{
		Name: "culler", Admin: true, URL: "http://127.0.0.1:9000",
		OAuthClientID: "service-culler", OAuthClientAllowedScopes: []string{"read:users"},
		OAuthNoConfirm: true, Info: map[string]any{"k": "v"}, Display: true,
		Command: []string{"python3", "-m", "culler"}, Cwd: "/srv", Environment: map[string]string{"A": "1"},
		User: "nobody", FromConfig: true,
	}
	// The OAuth client must exist first.
	_, err := db.UpsertService(ctx, in)
	wantErr(t, err, store.ErrNotFound)
	_, err = db.GetService(ctx, "culler")
	wantErr(t, err, store.ErrNotFound)
	must(db.UpsertOAuthClient(ctx, store.OAuthClient{Identifier: "service-culler"}))

	s := must(db.UpsertService(ctx, in))
	eq(t, "admin", s.Admin, true)
	eq(t, "url", s.URL, in.URL)
	eq(t, "client", s.OAuthClientID, "service-culler")
	eqList(t, "allowed scopes", s.OAuthClientAllowedScopes, []string{"read:users"})
	eq(t, "no confirm", s.OAuthNoConfirm, true)
	eq(t, "info", s.Info["k"], any("v"))
	eq(t, "display", s.Display, true)
	eqList(t, "command", s.Command, in.Command)
	eq(t, "cwd", s.Cwd, "/srv")
	eq(t, "env", s.Environment["A"], "1")
	eq(t, "user", s.User, "nobody")
	eq(t, "from config", s.FromConfig, true)
	eqList(t, "admin service gets admin role", s.Roles, []string{"admin"})

	in.Admin, in.URL, in.Command = false, "", nil
	s2 := must(db.UpsertService(ctx, in))
	eq(t, "same id", s2.ID, s.ID)
	eq(t, "url cleared", s2.URL, "")
	eqList(t, "command cleared", s2.Command, []string{})
	eqList(t, "admin role revoked", s2.Roles, []string{})

	must(db.UpsertService(ctx, store.Service{Name: "another"}))
	eq(t, "by id", must(db.GetServiceByID(ctx, s.ID)).Name, "culler")
	ss := must(db.ListServices(ctx))
	got := []string{}
	for _, s := range ss {
		got = append(got, s.Name)
	}
	eqList(t, "list", got, []string{"another", "culler"})
	if ss[0].Info == nil || ss[0].Environment == nil {
		t.Error("empty info/environment read back as nil")
	}

	tok := must(db.CreateToken(ctx, store.NewToken{Plain: "service-token-1", Rounds: 16384, ServiceID: &s.ID}))
	eq(t, "owner", must(db.LookupToken(ctx, "service-token-1", at(0))).OwnerName, "culler")
	ok(t, db.DeleteService(ctx, "culler"))
	wantErr(t, db.DeleteService(ctx, "culler"), store.ErrNotFound)
	_, err = db.GetToken(ctx, tok.ID)
	wantErr(t, err, store.ErrNotFound)
	_, err = db.GetServiceByID(ctx, s.ID)
	wantErr(t, err, store.ErrNotFound)
	if slices.Contains(must(db.GetRole(ctx, "admin")).Services, "culler") {
		t.Error("deleted service still bound to admin")
	}
}
