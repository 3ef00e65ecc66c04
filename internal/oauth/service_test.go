package oauth

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"gohub/internal/store"
)

const svcSecret = "svc-api-token-0123456789"

// addService registers a service with an OAuth client, as the hub does for configured services.
func (h *hub) addService(noConfirm bool) {
	h.t.Helper()
	ctx := h.t.Context()
	if _, err := h.db.UpsertOAuthClient(ctx, store.OAuthClient{Identifier: "service-svc", Description: "Service svc",
		Secret: store.HashToken(svcSecret, store.SuppliedTokenRounds), RedirectURI: "/services/svc/oauth_callback",
		AllowedScopes: []string{"read:users!user"}}); err != nil {
		h.t.Fatal(err)
	}
	if _, err := h.db.UpsertService(ctx, store.Service{Name: "svc", URL: "http://127.0.0.1:9",
		OAuthClientID: "service-svc", OAuthNoConfirm: noConfirm}); err != nil {
		h.t.Fatal(err)
	}
}

// grantServiceAccess gives alice access:services!service=svc.
func (h *hub) grantServiceAccess() {
	h.t.Helper()
	ctx := h.t.Context()
	if _, err := h.db.UpsertRole(ctx, store.Role{Name: "svc-users", Scopes: []string{"access:services!service=svc"}}); err != nil {
		h.t.Fatal(err)
	}
	if err := h.db.GrantRole(ctx, "svc-users", store.KindUser, "alice"); err != nil {
		h.t.Fatal(err)
	}
}

func svcQuery(scope string) url.Values {
	q := authorizeQuery("service-svc", "/services/svc/oauth_callback", "s")
	if scope != "" {
		q.Set("scope", scope)
	}
	return q
}

// A service's client needs access:services on it; then the user confirms what it asks for.
func TestServiceClient(t *testing.T) {
	t.Parallel()
	h := newHub(t)
	h.addService(false)
	b := h.browser("alice")
	if r := b.authorize(svcQuery("")); r.status != http.StatusForbidden {
		t.Fatalf("without access:services: %d, want 403", r.status)
	}
	h.grantServiceAccess()

	page := b.authorize(svcQuery("read:users!user"))
	if page.status != http.StatusOK {
		t.Fatalf("service: %d %q, want the confirmation page", page.status, page.header.Get("Location"))
	}
	if !strings.Contains(page.body, `data-scope="read:users"`) || !strings.Contains(page.body, "Applies to only you.") ||
		strings.Contains(page.body, "will not be able to take actions") {
		t.Errorf("confirmation page does not describe read:users for alice:\n%s", page.body)
	}
	scopes := formValues(page.body, "scopes")
	want := []string{"access:services!service=svc", "read:users!user", "read:users:groups!user", "read:users:name!user"}
	if !slices.Equal(scopes, want) {
		t.Errorf("form scopes %v, want %v", scopes, want)
	}
	path := authorizePath + "?" + svcQuery("read:users!user").Encode()
	code := codeFrom(t, b.do("POST", path, url.Values{"_xsrf": formValues(page.body, "_xsrf"), "scopes": scopes}),
		"/services/svc/oauth_callback", "s")
	status, body := h.exchange(url.Values{"grant_type": {"authorization_code"}, "code": {code},
		"redirect_uri": {"/services/svc/oauth_callback"}}, "service-svc", svcSecret)
	if status != http.StatusOK {
		t.Fatalf("token: %d %v", status, body)
	}
	_, ident := h.identity(body["access_token"].(string))
	got := strs(ident["scopes"])
	slices.Sort(got)
	wantScopes := []string{"access:services!service=svc", "read:users!user=alice", "read:users:activity!user=alice",
		"read:users:groups!user=alice", "read:users:name!user=alice"}
	if !slices.Equal(got, wantScopes) {
		t.Errorf("identity scopes %v, want %v", got, wantScopes)
	}
}

// oauth_no_confirm services and Deps.NoConfirm clients skip the confirmation page.
func TestServiceNoConfirm(t *testing.T) {
	t.Parallel()
	h := newHub(t)
	h.addService(true)
	h.grantServiceAccess()
	codeFrom(t, h.browser("alice").authorize(svcQuery("")), "/services/svc/oauth_callback", "s")

	h = newHub(t, func(d *Deps) { d.NoConfirm = []string{"service-svc"} })
	h.addService(false)
	h.grantServiceAccess()
	codeFrom(t, h.browser("alice").authorize(svcQuery("")), "/services/svc/oauth_callback", "s")
}
