package local_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"gohub/internal/spawner"
	"gohub/internal/spawner/spawnertest"
)

// mem_limit and cpu_limit are enforced: through a cgroup made for the server when the machine
// lets the hub create one (v2, or v1 memory and cpu hierarchies), else mem_limit as RLIMIT_AS.
// The cgroup is removed when the server stops.
func TestLimitsEnforced(t *testing.T) {
	cfg := simpleConfig(t, "serve")
	mem, _ := spawner.ParseByteSize("256M")
	cfg.MemLimit, cfg.CPULimit = mem, 0.5
	h := newHarness(t, "simple", cfg, limits())
	kim := h.User("kim", false)
	if ready, err := h.M.Start(t.Context(), kim, "", nil); !ready || err != nil {
		t.Fatalf("Start = %v, %v", ready, err)
	}
	var who spawnertest.Whoami
	h.Get(kim, "", "whoami", &who)
	var env map[string]string
	h.Get(kim, "", "env", &env)
	if env["MEM_LIMIT"] != "268435456" || env["CPU_LIMIT"] != "0.5" {
		t.Errorf("MEM_LIMIT %q CPU_LIMIT %q", env["MEM_LIMIT"], env["CPU_LIMIT"])
	}

	groups := parseCgroups(who.Cgroup)
	var dirs []string
	checked := false
	if p, ok := groups[""]; ok && strings.Contains(p, "/gohub/") { // cgroup v2
		dir := filepath.Join("/sys/fs/cgroup", p)
		expectFile(t, filepath.Join(dir, "memory.max"), "268435456")
		expectFile(t, filepath.Join(dir, "cpu.max"), "50000 100000")
		dirs, checked = append(dirs, dir), true
	}
	if p, ok := groups["memory"]; ok && strings.Contains(p, "/gohub/") { // cgroup v1
		dir := filepath.Join("/sys/fs/cgroup/memory", p)
		expectFile(t, filepath.Join(dir, "memory.limit_in_bytes"), "268435456")
		dirs, checked = append(dirs, dir), true
		p, ok := groups["cpu"]
		if !ok || !strings.Contains(p, "/gohub/") {
			t.Errorf("memory cgroup made but no cpu cgroup: %v", groups)
		} else {
			dir := filepath.Join("/sys/fs/cgroup/cpu", p)
			expectFile(t, filepath.Join(dir, "cpu.cfs_quota_us"), "50000")
			dirs = append(dirs, dir)
		}
	}
	if !checked {
		if os.Geteuid() == 0 && os.Getenv("CI") == "true" {
			t.Errorf("root under CI but no cgroup was made: %v", groups)
		}
		if !strings.Contains(who.Limits, "Max address space         268435456") {
			t.Fatalf("no cgroup and no RLIMIT_AS: %s", who.Limits)
		}
		t.Log("no writable cgroup here; mem_limit enforced as RLIMIT_AS")
	}
	if stopped, err := h.M.Stop(t.Context(), kim, ""); !stopped || err != nil {
		t.Fatalf("Stop = %v, %v", stopped, err)
	}
	for _, d := range dirs {
		if _, err := os.Stat(d); !os.IsNotExist(err) {
			t.Errorf("cgroup %s left after stop (%v)", d, err)
		}
	}
}

// parseCgroups reads /proc/<pid>/cgroup: controller → path ("" is the v2 hierarchy).
func parseCgroups(s string) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(s), "\n") {
		parts := strings.SplitN(line, ":", 3)
		if len(parts) != 3 {
			continue
		}
		for _, c := range strings.Split(parts[1], ",") {
			out[c] = parts[2]
		}
	}
	return out
}

func expectFile(t *testing.T, path, want string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("read %s: %v", path, err)
		return
	}
	if got := strings.TrimSpace(string(b)); got != want {
		t.Errorf("%s = %q, want %q", path, got, want)
	}
}
