package web

import (
	"html/template"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"gohub/internal/store"
)

// RenderContent wraps another package's fragment in the layout: stylesheet, header with the
// user, the fragment as HTML (not escaped), the status and the no-store header.
func TestRenderContent(t *testing.T) {
	e := newEnv(t, &fakeAuth{})
	rec := httptest.NewRecorder()
	u := &store.User{Name: "alice"}
	e.pages.RenderContent(rec, http.StatusTeapot, "Authorize access", u,
		template.HTML(`<section id="frag">x &amp; y</section>`))
	body := rec.Body.String()
	if rec.Code != http.StatusTeapot {
		t.Errorf("status %d, want 418", rec.Code)
	}
	for _, want := range []string{
		"<title>Authorize access · gohub</title>",
		`<section id="frag">x &amp; y</section>`,
		`<span class="who" id="current-user">alice</span>`,
		`/hub/static/style.css?v=`,
	} {
		if !strings.Contains(body, want) {
			t.Errorf("page lacks %q:\n%s", want, body)
		}
	}
	if got := rec.Header().Get("Cache-Control"); got != "no-store" {
		t.Errorf("Cache-Control %q", got)
	}
}
