package oauth

import (
	"net/http"
	"strings"
	"testing"
)

// Both endpoints send the hub's headers and forbid caching; the token endpoint's CSP is the
// API's. OPTIONS on the token endpoint is a CORS preflight.
func TestHeaders(t *testing.T) {
	t.Parallel()
	h := newHub(t)
	r := h.browser("alice").authorize(authorizeQuery(h.aliceClient, "/user/alice/oauth_callback", "s"))
	for k, want := range map[string]string{
		"X-JupyterHub-Version":    "5.4.0",
		"Cache-Control":           "no-store",
		"Content-Security-Policy": "frame-ancestors 'none'; report-uri /hub/security/csp-report",
	} {
		if got := r.header.Get(k); got != want {
			t.Errorf("authorize %s: %q, want %q", k, got, want)
		}
	}
	req, _ := http.NewRequest("OPTIONS", h.srv.URL+"/hub/api/oauth2/token", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || !strings.HasSuffix(resp.Header.Get("Content-Security-Policy"), "; default-src 'none'") ||
		resp.Header.Get("Cache-Control") != "no-store" {
		t.Errorf("token OPTIONS: %d %v", resp.StatusCode, resp.Header)
	}
}

// Without Pages the provider still renders a working confirmation page and error pages.
func TestWithoutPages(t *testing.T) {
	t.Parallel()
	h := newHub(t, func(d *Deps) { d.Pages = nil })
	q := authorizeQuery(h.aliceClient, "/user/alice/oauth_callback", "s")
	b := h.browser("admin")
	page := b.authorize(q)
	xsrf := formValues(page.body, "_xsrf")
	if page.status != http.StatusOK || len(xsrf) != 1 || !strings.Contains(page.body, "<title>Authorize access</title>") {
		t.Fatalf("confirmation page: %d\n%s", page.status, page.body)
	}
	codeFrom(t, b.do("POST", authorizePath+"?"+q.Encode(), map[string][]string{"_xsrf": xsrf}),
		"/user/alice/oauth_callback", "s")
	r := h.browser("bob").authorize(q)
	if r.status != http.StatusForbidden || !strings.Contains(r.body, "You do not have permission to access Server at /user/alice/") ||
		r.header.Get("Content-Type") != "text/html; charset=utf-8" {
		t.Errorf("403 page: %d %q\n%s", r.status, r.header.Get("Content-Type"), r.body)
	}
}
