package multi_test

import (
	"context"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"gohub/internal/config"
	"gohub/internal/hub"
	"gohub/internal/testutil"
)

// TestBrowserLoginPage drives Chromium through the multi login page: two forms (FirstUse staff,
// Native guests with its sign-up link and prefix hint) and two provider buttons; a failed guest
// login comes back with the error and the name kept in the guests' form; a staff login lands
// in the hub. Screenshots of both states go to $GOHUB_SCREENSHOTS.
func TestBrowserLoginPage(t *testing.T) {
	if testing.Short() {
		t.Skip("skipping the browser test in -short mode")
	}
	dir := t.TempDir()
	file, err := config.Parse("gohub_config.yaml", []byte(`
JupyterHub:
  authenticator_class: multi
  db_url: sqlite:///`+filepath.Join(dir, "hub.sqlite")+`
MultiAuthenticator:
  authenticators:
    - class: firstuse
      name: staff
      label: Staff
      config: {create_users: true, allow_all: true}
    - class: native
      label: Guests
      prefix: guest-
      config: {enable_signup: true, bcrypt_cost: 10}
    - class: github
      label: GitHub
      prefix: gh-
      url_prefix: github
      config: {client_id: x, client_secret: y}
    - class: generic
      label: University
      prefix: uni-
      url_prefix: sso
      config:
        login_service: University SSO
        client_id: x
        client_secret: y
        authorize_url: https://sso.example.org/authorize
        token_url: https://sso.example.org/token
        userdata_url: https://sso.example.org/userinfo
`))
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"JPY_COOKIE_SECRET": strings.Repeat("ab", 32)}
	h, err := hub.New(t.Context(), file, hub.Options{Getenv: func(k string) string { return env[k] }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	srv := httptest.NewServer(h.Handler())
	t.Cleanup(srv.Close)

	b := testutil.NewTab(t, 60*time.Second)
	ctx, must, shot := b.Ctx, b.Must, b.Shot
	must(chromedp.Do(ctx,
		chromedp.EmulateViewport(1280, 900),
		chromedp.Navigate(srv.URL+"/hub/login"),
		chromedp.WaitVisible(chromedp.CSS("#src-staff-username")),
	))
	shot("multi-login.png")
	for sel, want := range map[string]string{
		"#src-staff .login-option-title":  "Staff",
		"#src-native .login-option-title": "Guests",
		"#src-native .login-hint":         "guest-",
		"#src-native .card-links a":       "Sign up",
		"#src-github-service":             "Sign in with GitHub",
		"#src-generic-oauth-service":      "Sign in with University SSO",
	} {
		sctx, scancel := context.WithTimeout(ctx, 5*time.Second)
		got, err := chromedp.Run(sctx, chromedp.Text(chromedp.CSS(sel)))
		scancel()
		if err != nil {
			t.Errorf("%s: %v", sel, err)
			continue
		}
		if !strings.Contains(got, want) {
			t.Errorf("%s = %q, want %q", sel, got, want)
		}
	}
	href, err := chromedp.Run(ctx, chromedp.AttributeValue(chromedp.CSS("#src-github-service"), "href"))
	must(err)
	if href.Value != "/hub/github/oauth_login" {
		t.Errorf("GitHub button goes to %q", href.Value)
	}

	// A refused guest login: the error, and the name back in the guests' form only.
	must(chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS("#src-native-username"), "zoe"),
		chromedp.SendKeys(chromedp.CSS("#src-native-password"), "not-her-password"),
		chromedp.Click(chromedp.CSS("#src-native-submit")),
		chromedp.WaitVisible(chromedp.CSS("#login-error")),
	))
	shot("multi-login-error.png")
	kept, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS("#src-native-username")))
	must(err)
	other, err := chromedp.Run(ctx, chromedp.Value(chromedp.CSS("#src-staff-username")))
	must(err)
	if kept != "zoe" || other != "" {
		t.Errorf("after the refused login: guests' username %q, staff's %q", kept, other)
	}

	// A staff login (FirstUse's first use sets the password) lands in the hub.
	must(chromedp.Do(ctx,
		chromedp.SendKeys(chromedp.CSS("#src-staff-username"), "ada"),
		chromedp.SendKeys(chromedp.CSS("#src-staff-password"), "ada-first-password"),
		chromedp.Click(chromedp.CSS("#src-staff-submit")),
		chromedp.WaitNotPresent(chromedp.CSS("#src-staff-username")),
	))
	loc, err := chromedp.Run(ctx, chromedp.Location())
	must(err)
	if strings.HasSuffix(loc, "/hub/login") || !strings.Contains(loc, "/hub/") {
		t.Errorf("after the staff login the browser is at %s", loc)
	}
	if _, err := h.DB().GetUser(ctx, "ada"); err != nil {
		t.Errorf("no hub user ada after the staff login: %v", err)
	}
}
