package web

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// Home's New server and Delete forms: _xsrf required, bad names and the default server
// refused with a message, a running server not deleted, an unknown one 404.
func TestHomeCreateDelete(t *testing.T) {
	se := newSpawnEnv(t, slowStart(0))
	b := se.loggedIn("alice", "wonderland")
	home := b.get("/hub/home").body
	x := xsrfField.FindStringSubmatch(home)[1]
	for _, want := range []string{`action="/hub/home/servers"`, `id="new-server-name"`} {
		if !strings.Contains(home, want) {
			t.Errorf("home lacks %s", want)
		}
	}

	if r := b.do("POST", "/hub/home/servers", url.Values{"name": {"gpu"}}); r.StatusCode != http.StatusForbidden {
		t.Errorf("create without _xsrf: %d", r.StatusCode)
	}
	for _, bad := range []string{"", "a/b", "two words", "50%", strings.Repeat("x", 256), ".", ".."} {
		r := b.do("POST", "/hub/home/servers", url.Values{"_xsrf": {x}, "name": {bad}})
		if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.body, "Invalid server name") {
			t.Errorf("create %q: %d %.200s", bad, r.StatusCode, r.body)
		}
	}
	wantRedirect(t, b.do("POST", "/hub/home/servers", url.Values{"_xsrf": {x}, "name": {" gpu-1 "}}),
		http.StatusSeeOther, "/hub/spawn/alice/gpu-1")
	wantRedirect(t, b.get("/hub/spawn/alice/gpu-1"), http.StatusFound, "/user/alice/gpu-1/")

	if r := b.do("POST", "/hub/home/delete", url.Values{"_xsrf": {x}, "server": {"gpu-1"}}); r.StatusCode != http.StatusBadRequest ||
		!strings.Contains(r.body, "Stop the server gpu-1 before deleting it.") {
		t.Errorf("delete of a running server: %d %.300s", r.StatusCode, r.body)
	}
	if r := b.do("POST", "/hub/home/delete", url.Values{"_xsrf": {x}, "server": {""}}); r.StatusCode != http.StatusBadRequest {
		t.Errorf("delete of the default server: %d", r.StatusCode)
	}
	if r := b.do("POST", "/hub/home/delete", url.Values{"_xsrf": {x}, "server": {"nope"}}); r.StatusCode != http.StatusNotFound {
		t.Errorf("delete of an unknown server: %d", r.StatusCode)
	}
	if r := b.do("POST", "/hub/home/delete", url.Values{"server": {"gpu-1"}}); r.StatusCode != http.StatusForbidden {
		t.Errorf("delete without _xsrf: %d", r.StatusCode)
	}
	wantRedirect(t, b.do("POST", "/hub/home/stop", url.Values{"_xsrf": {x}, "server": {"gpu-1"}}), http.StatusSeeOther, "/hub/home")
	wantRedirect(t, b.do("POST", "/hub/home/delete", url.Values{"_xsrf": {x}, "server": {"gpu-1"}}), http.StatusSeeOther, "/hub/home")
	if home := b.get("/hub/home").body; strings.Contains(home, `data-server="gpu-1"`) {
		t.Error("gpu-1 still on home after Delete")
	}
}
