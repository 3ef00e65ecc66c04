package spawner_test

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"

	"gohub/internal/spawner"
)

// kindConfig is a spawner kind's config with a trait of its own, as a plug-in would have.
type kindConfig struct {
	spawner.Config `yaml:",inline"`
	Image          string `yaml:"image"`
}

const policyYAML = `
environment: {A: base, B: base}
mem_limit: 1G
image: default-image
admin_overrides:
  mem_limit: 8G
  environment: {ROLE: admin}
non_admin_overrides:
  mem_limit: 2G
  cpu_limit: 1
  environment: {ROLE: student}
group_overrides:
  20-late:
    groups: [gpu]
    spawner_override: {image: gpu-late}
  10-gpu:
    groups: [gpu, other]
    spawner_override:
      image: gpu-image
      environment: {B: null, GPU: "1"}
user_overrides:
  carol: {cpu_limit: 4}
`

// loadKind reads policyYAML (plus extra) over the defaults.
func loadKind(t *testing.T, extra string) spawner.Plugin {
	t.Helper()
	cfg := &kindConfig{Config: spawner.DefaultConfig()}
	if err := yaml.Unmarshal([]byte(policyYAML+extra), cfg); err != nil {
		t.Fatal(err)
	}
	return spawner.Plugin{Class: "KindSpawner", Config: cfg}
}

func resolve(t *testing.T, p *spawner.SpawnPolicy, u spawner.User, opts map[string]any) *kindConfig {
	t.Helper()
	c, err := p.Resolve(t.Context(), u, "", opts, true)
	if err != nil {
		t.Fatal(err)
	}
	return c.(*kindConfig)
}

// Admins and students get different environments and limits; group overrides apply in key
// order and can delete keys; a user override comes last; the loaded config is not changed.
func TestSpawnPolicyLayers(t *testing.T) {
	plugin := loadKind(t, "")
	p, err := spawner.NewSpawnPolicy(plugin)
	if err != nil {
		t.Fatal(err)
	}
	admin := resolve(t, p, spawner.User{Name: "root-ish", Admin: true}, nil)
	student := resolve(t, p, spawner.User{Name: "bob", Groups: []string{"gpu"}}, nil)
	carol := resolve(t, p, spawner.User{Name: "carol"}, nil)

	type view struct {
		Env   map[string]string
		Mem   spawner.ByteSize
		CPU   float64
		Image string
	}
	got := map[string]view{
		"admin":   {admin.Environment, admin.MemLimit, admin.CPULimit, admin.Image},
		"student": {student.Environment, student.MemLimit, student.CPULimit, student.Image},
		"carol":   {carol.Environment, carol.MemLimit, carol.CPULimit, carol.Image},
	}
	want := map[string]view{
		"admin":   {map[string]string{"A": "base", "B": "base", "ROLE": "admin"}, 8 << 30, 0, "default-image"},
		"student": {map[string]string{"A": "base", "ROLE": "student", "GPU": "1"}, 2 << 30, 1, "gpu-late"},
		"carol":   {map[string]string{"A": "base", "B": "base", "ROLE": "student"}, 2 << 30, 4, "default-image"},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("resolved configs (-want +got):\n%s", diff)
	}
	orig := plugin.Config.(*kindConfig)
	if orig.MemLimit != 1<<30 || len(orig.Environment) != 2 || orig.Image != "default-image" {
		t.Errorf("loaded config changed: %+v", orig)
	}
	if admin.StartTimeout != spawner.Seconds(60) || admin.Cmd[0] != "jupyterhub-singleuser" {
		t.Errorf("defaults lost in the round trip: %+v", admin.Config)
	}
}

// An override naming a trait the spawner does not have is refused when the policy is built,
// with the layer's name.
func TestSpawnPolicyUnknownTrait(t *testing.T) {
	_, err := spawner.NewSpawnPolicy(loadKind(t, "\n  dave: {mem_limt: 1G}\n"))
	if err == nil || !strings.Contains(err.Error(), "KindSpawner.user_overrides.dave") || !strings.Contains(err.Error(), "mem_limt") {
		t.Fatalf("err = %v", err)
	}
	_, err = spawner.NewSpawnPolicy(loadKind(t, "\n  dave: {mem_limit: lots}\n"))
	if err == nil || !strings.Contains(err.Error(), `"lots" is not a size`) {
		t.Fatalf("err = %v", err)
	}
}

// hookScript writes an executable pre-spawn hook.
func hookScript(t *testing.T, body string) string {
	t.Helper()
	py, err := exec.LookPath("/usr/bin/python3") // not a pyenv shim: its start-up is slow
	if err != nil {
		py, err = exec.LookPath("python3")
	}
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatal("python3 is needed for the hook tests")
		}
		t.Skip("no python3")
	}
	path := filepath.Join(t.TempDir(), "hook")
	if err := os.WriteFile(path, []byte("#!"+py+"\n"+body), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// The pre-spawn hook gets the user, options and config on stdin and its JSON output changes
// the config; failures, timeouts and bad output are clear errors.
func TestPreSpawnHook(t *testing.T) {
	hook := hookScript(t, `
import json, sys
d = json.load(sys.stdin)
if d["user"]["admin"]:
    print("{}")
elif d["user_options"].get("profile") == "broken":
    sys.stderr.write("no such profile: broken\n"); sys.exit(1)
elif d["user_options"].get("profile") == "garbage":
    print("this is not json")
elif d["user_options"].get("profile") == "slow":
    import time; time.sleep(20)
else:
    print(json.dumps({"mem_limit": "3G", "environment": {"HOOKED": d["user"]["name"] + ":" + d["server_name"] + ":" + d["config"]["environment"]["ROLE"] + ":" + ",".join(d["user"]["groups"])}}))
`)
	plugin := loadKind(t, "\npre_spawn_hook: ["+hook+"]\npre_spawn_hook_timeout: 2\n")
	p, err := spawner.NewSpawnPolicy(plugin)
	if err != nil {
		t.Fatal(err)
	}
	bob := spawner.User{Name: "bob", Groups: []string{"gpu"}}
	c := resolve(t, p, bob, map[string]any{"profile": "small"})
	if c.MemLimit != 3<<30 || c.Environment["HOOKED"] != "bob::student:gpu" || c.Environment["GPU"] != "1" || c.CPULimit != 1 {
		t.Errorf("after hook: mem %d env %v cpu %v", c.MemLimit, c.Environment, c.CPULimit)
	}
	if a := resolve(t, p, spawner.User{Name: "al", Admin: true}, nil); a.MemLimit != 8<<30 {
		t.Errorf("empty hook output changed the config: %d", a.MemLimit)
	}
	// Without the hook (re-adopting a running server), the declarative layers only.
	noHook, err := p.Resolve(t.Context(), bob, "", nil, false)
	if err != nil || noHook.(*kindConfig).MemLimit != 2<<30 {
		t.Errorf("withHook=false: %v, %v", noHook, err)
	}
	for profile, want := range map[string]string{
		"broken":  "no such profile: broken",
		"garbage": "not a JSON object",
		"slow":    "no answer within 2s",
	} {
		_, err := p.Resolve(t.Context(), bob, "", map[string]any{"profile": profile}, true)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), "pre_spawn_hook") {
			t.Errorf("profile %s: err = %v, want %q", profile, err, want)
		}
	}
}

// Sizes and durations read as upstream's config does.
func TestConfigValues(t *testing.T) {
	var c spawner.Config
	err := yaml.Unmarshal([]byte("mem_limit: 512M\nmem_guarantee: 1.5G\nstart_timeout: 90\nhttp_timeout: 1m30s\npoll_interval: 0.5\ncpu_limit: 2\n"), &c)
	if err != nil {
		t.Fatal(err)
	}
	if c.MemLimit != 512<<20 || c.MemGuarantee != 3<<29 || c.StartTimeout.D().Seconds() != 90 ||
		c.HTTPTimeout.D().Seconds() != 90 || c.PollInterval.D().Milliseconds() != 500 || c.CPULimit != 2 {
		t.Fatalf("%+v", c)
	}
	for _, bad := range []string{"mem_limit: 12Q", "mem_limit: -1G", "start_timeout: soon", "mem_limit: [1]"} {
		if err := yaml.Unmarshal([]byte(bad), &c); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	for in, want := range map[string]spawner.ByteSize{"1024": 1024, "1K": 1024, "2k": 2048, "1T": 1 << 40, "": 0} {
		if got, err := spawner.ParseByteSize(in); err != nil || got != want {
			t.Errorf("ParseByteSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	d := spawner.DefaultConfig()
	if err := d.Validate(); err != nil {
		t.Fatal(err)
	}
	d.Cmd = nil
	if err := d.Validate(); err == nil {
		t.Error("empty cmd accepted")
	}
}
