package web

import (
	"encoding/json"
	"html"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"gohub/internal/spawner"
)

// withProfiles is a spawner config with a profile list of two profiles, the second with an
// option of two choices.
func withProfiles() testSpawnerConfig {
	cfg := slowStart(0)
	cfg.ProfileList = []spawner.Profile{
		{DisplayName: "Small", Description: "One core <for reading>", SpawnerOverride: map[string]any{"environment": map[string]any{"SIZE": "small"}}},
		{DisplayName: "Large", Slug: "large", Default: true, SpawnerOverride: map[string]any{"environment": map[string]any{"SIZE": "large"}},
			ProfileOptions: map[string]spawner.ProfileOption{"image": {DisplayName: "Image", Choices: map[string]spawner.ProfileChoice{
				"base":  {DisplayName: "Base"},
				"scipy": {DisplayName: "SciPy", Default: true, SpawnerOverride: map[string]any{"environment": map[string]any{"IMAGE": "scipy"}}},
			}}}},
	}
	return cfg
}

// storedOptions reads the user_options of a user's server row.
func (se *spawnEnv) storedOptions(user, server string) map[string]any {
	se.t.Helper()
	u, err := se.db.GetUser(se.t.Context(), user)
	if err != nil {
		se.t.Fatal(err)
	}
	for _, sp := range u.Spawners {
		if sp.Name == server {
			var opts map[string]any
			if err := json.Unmarshal(sp.UserOptions, &opts); err != nil {
				se.t.Fatal(err)
			}
			return opts
		}
	}
	se.t.Fatalf("%s has no server %q", user, server)
	return nil
}

// With a profile list, GET /hub/spawn shows the choices (the default checked, text escaped)
// instead of starting; the posted choice becomes user_options {"profile", option: choice} and
// the profile's override reaches the spawner; an unknown profile shows the form again with 400.
func TestSpawnProfileForm(t *testing.T) {
	se := newSpawnEnv(t, withProfiles())
	b := se.loggedIn("alice", "wonderland")
	r := b.get("/hub/spawn?next=%2Fuser%2Falice%2Flab")
	if r.StatusCode != http.StatusOK {
		t.Fatalf("spawn page: %d %.300s", r.StatusCode, r.body)
	}
	for _, want := range []string{
		`id="profile-item-small" value="small">`,
		`id="profile-item-large" value="large" checked>`,
		"One core &lt;for reading&gt;",
		`<select id="profile-option-large--image" name="profile-option-large--image">`,
		`<option value="scipy" selected>SciPy</option>`,
		`action="/hub/spawn?next=%2Fuser%2Falice%2Flab"`,
	} {
		if !strings.Contains(r.body, want) {
			t.Errorf("spawn page lacks %s", want)
		}
	}
	if st := se.m.Status("alice", ""); st.Active {
		t.Fatalf("GET with a form started the server: %+v", st)
	}
	x := xsrfField.FindStringSubmatch(r.body)[1]

	r = b.do("POST", "/hub/spawn?next=%2Fuser%2Falice%2Flab", url.Values{"_xsrf": {x}, "profile": {"huge"}})
	if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.body, `No such profile: &#34;huge&#34;`) ||
		!strings.Contains(r.body, `id="spawn_form"`) {
		t.Fatalf("unknown profile: %d %.2000s", r.StatusCode, r.body)
	}

	r = b.do("POST", "/hub/spawn?next=%2Fuser%2Falice%2Flab", url.Values{"_xsrf": {x}, "profile": {"large"},
		"profile-option-large--image": {"base"}, "profile-option-small--image": {"ignored"}})
	wantRedirect(t, r, http.StatusFound, "/user/alice/lab")
	if diff := cmp.Diff(map[string]any{"profile": "large", "image": "base"}, se.storedOptions("alice", "")); diff != "" {
		t.Errorf("user_options (-want +got):\n%s", diff)
	}
	if page := b.get("/user/alice/").body; !strings.Contains(page, "SIZE=large") || strings.Contains(page, "IMAGE=") {
		t.Errorf("server environment: %s", page)
	}
}

// An options_form is shown as the admin wrote it inside the hub's form; its fields become
// user_options, a repeated one a list.
func TestSpawnOptionsForm(t *testing.T) {
	cfg := slowStart(0)
	cfg.OptionsForm = `<label for="flavour">Flavour</label><select id="flavour" name="flavour"><option>vanilla</option><option>mint</option></select>
<input type="checkbox" name="extra" value="a" checked><input type="checkbox" name="extra" value="b" checked>`
	se := newSpawnEnv(t, cfg)
	b := se.loggedIn("alice", "wonderland")
	r := b.get("/hub/spawn/alice/gpu")
	if r.StatusCode != http.StatusOK || !strings.Contains(r.body, `<select id="flavour" name="flavour">`) ||
		!strings.Contains(r.body, `action="/hub/spawn/alice/gpu"`) || strings.Contains(r.body, "profile-list") {
		t.Fatalf("spawn page: %d %.3000s", r.StatusCode, r.body)
	}
	x := xsrfField.FindStringSubmatch(r.body)[1]
	r = b.do("POST", "/hub/spawn/alice/gpu", url.Values{"_xsrf": {x}, "flavour": {"mint"}, "extra": {"a", "b"}})
	wantRedirect(t, r, http.StatusFound, "/user/alice/gpu/")
	want := map[string]any{"flavour": "mint", "extra": []any{"a", "b"}}
	if diff := cmp.Diff(want, se.storedOptions("alice", "gpu")); diff != "" {
		t.Errorf("user_options (-want +got):\n%s", diff)
	}
	// Home's Start of a stopped server is then a link to the form, not a start.
	u, err := se.db.GetUser(t.Context(), "alice")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := se.m.Stop(t.Context(), spawner.UserFromStore(u), "gpu"); err != nil {
		t.Fatal(err)
	}
	if home := b.get("/hub/home").body; !strings.Contains(home, `<a class="btn btn-primary btn-small server-start" href="/hub/spawn/alice/gpu">`) {
		t.Errorf("home's Start with a form:\n%s", home)
	}
}

func TestOptionsFromForm(t *testing.T) {
	for _, c := range []struct {
		form url.Values
		want map[string]any
	}{
		{url.Values{"_xsrf": {"x"}}, nil},
		{url.Values{"a": {"1"}, "b": {"1", "2"}}, map[string]any{"a": "1", "b": []any{"1", "2"}}},
		{url.Values{"profile": {"p"}, "profile-option-p--img": {"i"}, "profile-option-q--img": {"j"}, "profile-option-p--": {"z"}},
			map[string]any{"profile": "p", "img": "i"}},
		// Without a chosen profile, the fields stay as they are.
		{url.Values{"profile-option-p--img": {"i"}}, map[string]any{"profile-option-p--img": "i"}},
	} {
		if diff := cmp.Diff(c.want, optionsFromForm(c.form)); diff != "" {
			t.Errorf("%v (-want +got):\n%s", c.form, diff)
		}
	}
}

// opt- arguments of a spawn link start the server with those options, skipping the form; an
// option the spawner refuses shows the form with why.
func TestSpawnOptionsFromQuery(t *testing.T) {
	se := newSpawnEnv(t, withProfiles())
	b := se.loggedIn("alice", "wonderland")
	r := b.get("/hub/spawn/alice/q?opt-profile=huge")
	if r.StatusCode != http.StatusBadRequest || !strings.Contains(r.body, `id="spawn_form"`) || !strings.Contains(r.body, "No such profile") {
		t.Fatalf("unknown profile by link: %d %.2000s", r.StatusCode, r.body)
	}
	wantRedirect(t, b.get("/hub/spawn/alice/q?opt-profile=small&next=%2Fuser%2Falice%2Fq%2Ftree"), http.StatusFound, "/user/alice/q/tree")
	if diff := cmp.Diff(map[string]any{"profile": "small"}, se.storedOptions("alice", "q")); diff != "" {
		t.Errorf("user_options (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]any{"a": "1", "b": []any{"x", "y"}}, optionsFromQuery(url.Values{"opt-a": {"1"}, "opt-b": {"x", "y"}, "next": {"/x"}, "opt-": {"z"}})); diff != "" {
		t.Errorf("optionsFromQuery (-want +got):\n%s", diff)
	}
	if got := optionsFromQuery(url.Values{"next": {"/x"}}); got != nil {
		t.Errorf("no opt- arguments: %v", got)
	}
}

// Home looks again by itself while a server is busy, and only then.
func TestHomeRefreshWhilePending(t *testing.T) {
	se := newSpawnEnv(t, slowStart(1500*time.Millisecond))
	b := se.loggedIn("alice", "wonderland")
	if r := b.get("/hub/home"); r.Header.Get("Refresh") != "" {
		t.Errorf("Refresh with nothing pending: %q", r.Header.Get("Refresh"))
	}
	b.get("/hub/spawn/alice")
	r := b.get("/hub/home")
	if r.Header.Get("Refresh") != "3" || !strings.Contains(r.body, "Starting") {
		t.Errorf("home while starting: Refresh %q\n%.2000s", r.Header.Get("Refresh"), r.body)
	}
	se.waitStatus("alice", "", func(st spawner.ServerStatus) bool { return st.Ready })
}

// The form posts back to the page's own path, escaped: an admin's form for the user "alice?x"
// must not post to /hub/spawn/alice?x, which is alice's page with a query, and start alice's
// server instead.
func TestSpawnFormActionKeepsTheEscapedPath(t *testing.T) {
	se := newSpawnEnv(t, withProfiles())
	if _, err := se.db.CreateUser(t.Context(), "alice?x", false); err != nil {
		t.Fatal(err)
	}
	b := se.loggedIn("Boss", "secret")
	r := b.get("/hub/spawn/alice%3Fx")
	m := regexp.MustCompile(`<form method="post" action="([^"]*)"`).FindStringSubmatch(r.body)
	x := xsrfField.FindStringSubmatch(r.body)
	if r.StatusCode != http.StatusOK || m == nil || x == nil {
		t.Fatalf("spawn page of alice?x: %d %.500s", r.StatusCode, r.body)
	}
	action := html.UnescapeString(m[1])
	if action != "/hub/spawn/alice%3Fx" {
		t.Errorf("form action %q, want /hub/spawn/alice%%3Fx", action)
	}
	b.do("POST", action, url.Values{"_xsrf": {x[1]}, "profile": {"large"}})
	if st := se.m.Status("alice", ""); st.Active || st.Pending != "" {
		t.Errorf("the form for alice?x started alice's server: %+v", st)
	}
	se.waitStatus("alice?x", "", func(st spawner.ServerStatus) bool { return st.Ready })
}
