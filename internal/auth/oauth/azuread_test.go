package oauth_test

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// azureStandIn is an Azure AD (Entra ID) stand-in for one tenant: the v2.0 authorize and
// token endpoints, whose token response carries an RS256 ID token, and the tenant's key set at
// /{tenant}/discovery/v2.0/keys.
type azureStandIn struct {
	*standIn
	key    *rsa.PrivateKey
	issuer string

	mu sync.Mutex
	// tamper changes the claims of the next ID tokens (another tenant's issuer, a nonce the
	// hub did not send); forge signs them with a key that is not in the key set.
	tamper func(claims map[string]any)
	forge  bool
}

func startAzure(t *testing.T, tenant string) *azureStandIn {
	s := newStandIn(t, "/"+tenant+"/oauth2/v2.0/authorize", "/"+tenant+"/oauth2/v2.0/token")
	key, _ := rsa.GenerateKey(rand.Reader, 2048)
	a := &azureStandIn{standIn: s, key: key, issuer: s.srv.URL + "/" + tenant + "/v2.0"}
	people := map[string]map[string]any{
		"ada":   {"name": "ada", "preferred_username": "ada@contoso.example", "oid": "o-1", "groups": []string{"g-physics", "g-admins"}},
		"grace": {"name": "grace", "preferred_username": "grace@contoso.example", "oid": "o-2", "groups": []string{"g-physics"}},
		"eve":   {"name": "eve", "preferred_username": "eve@contoso.example", "oid": "o-3", "groups": []string{"g-other"}},
	}
	s.tokenExtra = func(user, nonce string) map[string]any {
		claims := map[string]any{"iss": a.issuer, "aud": s.clientID, "sub": "sub-" + user, "tid": tenant,
			"iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix(), "nonce": nonce}
		for k, v := range people[user] {
			claims[k] = v
		}
		a.mu.Lock()
		defer a.mu.Unlock()
		if a.tamper != nil {
			a.tamper(claims)
		}
		signKey := a.key
		if a.forge {
			signKey, _ = rsa.GenerateKey(rand.Reader, 2048)
		}
		return map[string]any{"id_token": signJWT(t, signKey, claims)}
	}
	s.mux.HandleFunc("GET /"+tenant+"/discovery/v2.0/keys", func(w http.ResponseWriter, r *http.Request) {
		jsonReply(w, jose.JSONWebKeySet{Keys: []jose.JSONWebKey{{Key: &key.PublicKey, KeyID: "k1", Algorithm: "RS256", Use: "sig"}}})
	})
	return a
}

func (a *azureStandIn) set(tamper func(map[string]any), forge bool) {
	a.mu.Lock()
	a.tamper, a.forge = tamper, forge
	a.mu.Unlock()
}

// signJWT signs claims as an RS256 JWT with key id k1.
func signJWT(t *testing.T, key *rsa.PrivateKey, claims map[string]any) string {
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.RS256, Key: key},
		(&jose.SignerOptions{}).WithType("JWT").WithHeader("kid", "k1"))
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(claims)
	obj, err := signer.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	out, err := obj.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// Azure AD: the user info is the ID token, verified against the tenant's keys (signature,
// issuer of this tenant, audience, expiry, nonce); groups come from its groups claim, so
// allowed_groups and admin_groups work. A forged signature, another tenant's token, an expired
// token and a replayed nonce are refused.
func TestAzureADPreset(t *testing.T) {
	az := startAzure(t, "tenant-1")
	th := startPresetHub(t, `
JupyterHub:
  authenticator_class: azuread
  db_url: "@DB@"
Authenticator:
  manage_groups: true
AzureAdOAuthenticator:
  client_id: hub-client
  client_secret: hub-secret
  tenant_id: tenant-1
  graph_url: `+az.srv.URL+`
  allowed_groups: [g-physics]
  admin_groups: [g-admins]
`)
	ctx := t.Context()
	if _, body := get(t, browser(t), th.srv.URL+"/hub/login"); !strings.Contains(body, "Sign in with Azure AD") {
		t.Errorf("login page: %s", body)
	}
	resp, body := presetLogin(t, th, az.standIn, "ada")
	if resp.StatusCode != 200 || resp.Request.URL.Path != "/hub/home" {
		t.Fatalf("ada: %d %s", resp.StatusCode, body)
	}
	ada, err := th.db.GetUser(ctx, "ada")
	if err != nil || !ada.Admin || !slices.Equal(ada.Groups, []string{"g-admins", "g-physics"}) {
		t.Errorf("ada: %+v, %v", ada, err)
	}
	if resp, body := presetLogin(t, th, az.standIn, "grace"); resp.StatusCode != 200 {
		t.Errorf("grace: %d %s", resp.StatusCode, body)
	}
	if g, _ := th.db.GetUser(ctx, "grace"); g == nil || g.Admin {
		t.Errorf("grace: %+v", g)
	}
	if resp, _ := presetLogin(t, th, az.standIn, "eve"); resp.StatusCode != http.StatusForbidden {
		t.Errorf("eve (no allowed group): %d", resp.StatusCode)
	}

	for name, c := range map[string]struct {
		tamper func(map[string]any)
		forge  bool
	}{
		"forged signature": {forge: true},
		"other tenant":     {tamper: func(m map[string]any) { m["iss"] = strings.Replace(m["iss"].(string), "tenant-1", "tenant-2", 1) }},
		"other audience":   {tamper: func(m map[string]any) { m["aud"] = "someone-else" }},
		"expired":          {tamper: func(m map[string]any) { m["exp"] = time.Now().Add(-time.Hour).Unix() }},
		"wrong nonce":      {tamper: func(m map[string]any) { m["nonce"] = "replayed" }},
	} {
		az.set(c.tamper, c.forge)
		resp, body := presetLogin(t, th, az.standIn, "grace")
		if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "could not be verified") {
			t.Errorf("%s: %d %s", name, resp.StatusCode, body)
		}
	}
}

// A tenant given by its domain (contoso.example) signs ID tokens with its GUID in iss, as
// Azure does (https://login.microsoftonline.com/{tenant GUID}/v2.0). The hub learns that issuer
// from the tenant's OpenID configuration, so logins work, and still refuses another tenant's
// token.
func TestAzureADTenantByDomain(t *testing.T) {
	const domain, guid = "contoso.example", "8f1c2a34-0000-4c5d-9e6f-1234567890ab"
	az := startAzure(t, domain)
	az.issuer = az.srv.URL + "/" + guid + "/v2.0"
	az.mux.HandleFunc("GET /"+domain+"/v2.0/.well-known/openid-configuration", func(w http.ResponseWriter, r *http.Request) {
		jsonReply(w, map[string]any{"issuer": az.issuer, "jwks_uri": az.srv.URL + "/" + domain + "/discovery/v2.0/keys"})
	})
	th := startPresetHub(t, `
JupyterHub:
  authenticator_class: azuread
  db_url: "@DB@"
Authenticator:
  allow_all: true
AzureAdOAuthenticator:
  client_id: hub-client
  client_secret: hub-secret
  tenant_id: `+domain+`
  graph_url: `+az.srv.URL+`
`)
	if resp, body := presetLogin(t, th, az.standIn, "ada"); resp.StatusCode != 200 || resp.Request.URL.Path != "/hub/home" {
		t.Fatalf("ada of the tenant %s: %d %s", domain, resp.StatusCode, body)
	}
	az.set(func(m map[string]any) { m["iss"] = strings.Replace(m["iss"].(string), guid, "another-tenant", 1) }, false)
	if resp, body := presetLogin(t, th, az.standIn, "grace"); resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "could not be verified") {
		t.Errorf("another tenant's token: %d %s", resp.StatusCode, body)
	}
}
