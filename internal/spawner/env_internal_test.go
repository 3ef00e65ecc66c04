package spawner

import (
	"context"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"testing"
	"time"
)

// Names are quoted as JupyterHub quotes them: URL paths keep @ and ~, client ids escape @.
func TestNameQuoting(t *testing.T) {
	for _, c := range []struct{ user, server, prefix, client string }{
		{"alice", "", "/user/alice/", "jupyterhub-user-alice"},
		{"alice", "gpu", "/user/alice/gpu/", "jupyterhub-user-alice-gpu"},
		{"a.b@c~d", "", "/user/a.b@c~d/", "jupyterhub-user-a.b%40c~d"},
		{"ünï cödé", "x/y", "/user/%C3%BCn%C3%AF%20c%C3%B6d%C3%A9/x%2Fy/", "jupyterhub-user-%C3%BCn%C3%AF%20c%C3%B6d%C3%A9-x/y"},
	} {
		if got := ServerPrefix("/", c.user, c.server); got != c.prefix {
			t.Errorf("ServerPrefix(%q, %q) = %q, want %q", c.user, c.server, got, c.prefix)
		}
		if got := ClientID(c.user, c.server); got != c.client {
			t.Errorf("ClientID(%q, %q) = %q, want %q", c.user, c.server, got, c.client)
		}
	}
	if got := ServerPrefix("/base", "a", ""); got != "/base/user/a/" {
		t.Errorf("with base_url: %q", got)
	}
}

// The JSON in environment variables is byte for byte what Python's json.dumps writes.
func TestJSONMatchesPython(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("python3 needed")
		}
		t.Skip("no python3")
	}
	values := []any{
		[]string{"access:servers!server=alice/", "access:servers!user=alice"},
		[]string{},
		[]string{`quote " back\slash`, "tab\tnewline\n", "ünïcode ☃ 𝄞", "<html>&"},
		map[string]any{"secure": true, "samesite": "Lax", "max_age": 3600.0, "n": nil, "list": []any{"a", 1.5}},
	}
	for _, v := range values {
		in, _ := json.Marshal(v)
		out, err := exec.Command(py, "-c", "import json,sys; d=json.loads(sys.argv[1]); sys.stdout.write(json.dumps(d, sort_keys=True))", string(in)).Output()
		if err != nil {
			t.Fatal(err)
		}
		if got := jsonString(v); got != string(out) {
			t.Errorf("jsonString(%v) = %s, python %s", v, got, out)
		}
	}
}

// The environment follows upstream's order: env_keep, hub variables, limits, environment last.
func TestEnvOrder(t *testing.T) {
	cfg := DefaultConfig()
	cfg.EnvKeep = []string{"KEEP", "JUPYTERHUB_USER", "MISSING"}
	cfg.Environment = map[string]string{"JUPYTERHUB_API_URL": "http://override/", "EXTRA": "x"}
	cfg.Debug, cfg.DisableUserConfig, cfg.CPUGuarantee, cfg.MemGuarantee = true, true, 0.25, 1000
	b := envBase{
		settings: EnvSettings{HubAPIURL: "http://10.0.0.1:8081/hub/api/", BaseURL: "/jh/", PublicURL: "https://hub.example.org/jh/",
			CookieHostPrefixEnabled: true, CookieOptions: map[string]any{"secure": true}, AdminAccess: true},
		cfg: &cfg, user: "alice", serverName: "gpu", prefix: "/jh/user/alice/gpu/", token: "tok", clientID: "jupyterhub-user-alice-gpu",
		getenv: func(k string) (string, bool) {
			v, ok := map[string]string{"KEEP": "kept", "JUPYTERHUB_USER": "from-hub-env"}[k]
			return v, ok
		},
	}
	env := b.build("", 8888)
	want := map[string]string{
		"KEEP":                                  "kept",
		"JUPYTERHUB_USER":                       "alice",
		"JUPYTERHUB_API_URL":                    "http://override/",
		"EXTRA":                                 "x",
		"JUPYTERHUB_ACTIVITY_URL":               "http://10.0.0.1:8081/hub/api/users/alice/activity",
		"JUPYTERHUB_SERVICE_URL":                "http://:8888/jh/user/alice/gpu/",
		"JUPYTERHUB_BASE_URL":                   "/jh/",
		"JUPYTERHUB_HOST":                       "https://hub.example.org",
		"JUPYTERHUB_PUBLIC_URL":                 "https://hub.example.org/jh/user/alice/gpu/",
		"JUPYTERHUB_PUBLIC_HUB_URL":             "https://hub.example.org/jh/hub/",
		"JUPYTERHUB_COOKIE_HOST_PREFIX_ENABLED": "1",
		"JUPYTERHUB_COOKIE_OPTIONS":             `{"secure": true}`,
		"JUPYTERHUB_ADMIN_ACCESS":               "1",
		"JUPYTERHUB_DEBUG":                      "1",
		"JUPYTERHUB_DISABLE_USER_CONFIG":        "1",
		"CPU_GUARANTEE":                         "0.25",
		"MEM_GUARANTEE":                         "1000",
	}
	for k, v := range want {
		if env[k] != v {
			t.Errorf("%s = %q, want %q", k, env[k], v)
		}
	}
	if _, ok := env["MISSING"]; ok {
		t.Error("unset env_keep variable exported")
	}
	if _, ok := env["MEM_LIMIT"]; ok {
		t.Error("MEM_LIMIT without mem_limit")
	}
}

// Late watchers get the whole history; spawner events cannot end the stream; nothing is added
// after the final event.
func TestEventLog(t *testing.T) {
	l := newEventLog()
	l.add(Event{Progress: 0, Message: "Server requested"})
	early := l.watch(context.Background())
	l.add(Event{Progress: 40, Message: "pulling", Ready: true, Failed: true, URL: "/x"})
	l.finish(failedEvent(errors.New("boom"), false))
	l.add(Event{Progress: 99, Message: "too late"})
	late := l.watch(context.Background())
	want := []Event{
		{Progress: 0, Message: "Server requested"},
		{Progress: 40, Message: "pulling"},
		{Progress: 100, Failed: true, Message: "Spawn failed: boom", HTMLMessage: "Spawn failed: boom"},
	}
	for name, ch := range map[string]<-chan Event{"early": early, "late": late} {
		var got []Event
		timeout := time.After(5 * time.Second)
	loop:
		for {
			select {
			case e, ok := <-ch:
				if !ok {
					break loop
				}
				got = append(got, e)
			case <-timeout:
				t.Fatalf("%s watcher did not end", name)
			}
		}
		if len(got) != len(want) {
			t.Fatalf("%s: %+v", name, got)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("%s[%d] = %+v, want %+v", name, i, got[i], want[i])
			}
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	open := newEventLog()
	ch := open.watch(ctx)
	cancel()
	select {
	case _, ok := <-ch:
		if ok {
			t.Error("event from an empty log")
		}
	case <-time.After(5 * time.Second):
		t.Error("watcher did not stop with its context")
	}
	if e := readyEvent("/user/a&b/"); e.HTMLMessage != `Server ready at <a href="/user/a&amp;b/">/user/a&amp;b/</a>` {
		t.Errorf("ready html %q", e.HTMLMessage)
	}
}
