package local

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// cgroupRoot is where cgroup file systems are mounted; tests may change it.
var cgroupRoot = "/sys/fs/cgroup"

// limitResult says how a server's limits were applied, for its state and for cleanup.
type limitResult struct {
	// Cgroups are the directories made for the server, removed after it ends.
	Cgroups []string `json:"cgroups,omitempty"`
	// RlimitAS is the RLIMIT_AS set on the process, 0 if none.
	RlimitAS int64 `json:"rlimit_as,omitempty"`
}

// applyLimits enforces mem_limit and cpu_limit on a started process, as well as this machine
// allows:
//   - a cgroup for the server (cgroup v2 at /sys/fs/cgroup, else the v1 cpu and memory
//     hierarchies) with memory.max / memory.limit_in_bytes and cpu.max / cpu.cfs_quota_us,
//     when the hub may create cgroups (usually as root);
//   - otherwise, for mem_limit only, RLIMIT_AS on the process (virtual memory, per process: a
//     cruder bound, since it counts reservations and not the kernels the server starts).
//
// A limit that cannot be enforced is reported in notes, and the server runs without it, as
// upstream's LocalProcessSpawner always does.
func applyLimits(pid int, unit string, mem int64, cpu float64) (res limitResult, notes []string) {
	if mem <= 0 && cpu <= 0 {
		return res, nil
	}
	dirs, memDone, cpuDone, err := cgroupLimits(pid, unit, mem, cpu)
	res.Cgroups = dirs
	if err != nil {
		notes = append(notes, "cgroup: "+err.Error())
	}
	if mem > 0 && !memDone {
		lim := unix.Rlimit{Cur: uint64(mem), Max: uint64(mem)}
		if err := unix.Prlimit(pid, unix.RLIMIT_AS, &lim, nil); err != nil {
			notes = append(notes, fmt.Sprintf("mem_limit not enforced: prlimit RLIMIT_AS: %v", err))
		} else {
			res.RlimitAS = mem
		}
	}
	if cpu > 0 && !cpuDone {
		notes = append(notes, "cpu_limit not enforced: no writable cgroup cpu controller")
	}
	return res, notes
}

// cgroupLimits puts pid in a new cgroup with the limits, on cgroup v2 or v1.
func cgroupLimits(pid int, unit string, mem int64, cpu float64) (dirs []string, memDone, cpuDone bool, err error) {
	period := int64(100000)
	quota := int64(cpu * float64(period))
	if _, statErr := os.Stat(filepath.Join(cgroupRoot, "cgroup.controllers")); statErr == nil {
		parent := filepath.Join(cgroupRoot, "gohub")
		if err := os.MkdirAll(parent, 0o755); err != nil {
			return nil, false, false, err
		}
		// Controllers must be enabled in every ancestor's subtree_control; the root's are
		// usually on already, so enabling them in ours is enough.
		want := []string{}
		if mem > 0 {
			want = append(want, "+memory")
		}
		if cpu > 0 {
			want = append(want, "+cpu")
		}
		if err := write(filepath.Join(parent, "cgroup.subtree_control"), strings.Join(want, " ")); err != nil {
			return nil, false, false, err
		}
		dir := filepath.Join(parent, unit)
		if err := os.Mkdir(dir, 0o755); err != nil {
			return nil, false, false, err
		}
		dirs = []string{dir}
		if mem > 0 {
			if err := write(filepath.Join(dir, "memory.max"), strconv.FormatInt(mem, 10)); err != nil {
				return dirs, false, false, err
			}
		}
		if cpu > 0 {
			if err := write(filepath.Join(dir, "cpu.max"), fmt.Sprintf("%d %d", max(quota, 1000), period)); err != nil {
				return dirs, false, false, err
			}
		}
		if err := write(filepath.Join(dir, "cgroup.procs"), strconv.Itoa(pid)); err != nil {
			return dirs, false, false, err
		}
		return dirs, mem > 0, cpu > 0, nil
	}
	var errs []error
	if mem > 0 {
		dir, err := v1Group("memory", unit, pid, map[string]string{"memory.limit_in_bytes": strconv.FormatInt(mem, 10)})
		if dir != "" {
			dirs = append(dirs, dir)
		}
		memDone = err == nil
		errs = append(errs, err)
	}
	if cpu > 0 {
		dir, err := v1Group("cpu", unit, pid, map[string]string{
			"cpu.cfs_period_us": strconv.FormatInt(period, 10),
			"cpu.cfs_quota_us":  strconv.FormatInt(max(quota, 1000), 10),
		})
		if dir != "" {
			dirs = append(dirs, dir)
		}
		cpuDone = err == nil
		errs = append(errs, err)
	}
	return dirs, memDone, cpuDone, errors.Join(errs...)
}

// v1Group makes a cgroup v1 group under controller, writes the settings (in a fixed order:
// period before quota) and moves pid into it.
func v1Group(controller, unit string, pid int, settings map[string]string) (string, error) {
	base := filepath.Join(cgroupRoot, controller)
	if _, err := os.Stat(filepath.Join(base, "cgroup.procs")); err != nil {
		return "", fmt.Errorf("no cgroup v1 %s hierarchy at %s", controller, base)
	}
	dir := filepath.Join(base, "gohub", unit)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	for _, k := range []string{"memory.limit_in_bytes", "cpu.cfs_period_us", "cpu.cfs_quota_us"} {
		if v, ok := settings[k]; ok {
			if err := write(filepath.Join(dir, k), v); err != nil {
				return dir, err
			}
		}
	}
	if err := write(filepath.Join(dir, "cgroup.procs"), strconv.Itoa(pid)); err != nil {
		return dir, err
	}
	return dir, nil
}

// removeCgroups removes a server's cgroups once its processes are gone; errors are ignored
// (a group still holding a process cannot be removed and is left for the next try).
func removeCgroups(dirs []string) {
	for _, d := range dirs {
		if strings.HasPrefix(d, cgroupRoot+"/") {
			os.Remove(d)
		}
	}
}

func write(path, value string) error {
	if err := os.WriteFile(path, []byte(value), 0o644); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// cgroupUnit names a server's cgroup: only safe characters, unique by pid.
func cgroupUnit(user, server string, pid int) string {
	clean := func(s string) string {
		return strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_' {
				return r
			}
			return '_'
		}, s)
	}
	u := "server-" + clean(user)
	if server != "" {
		u += "-" + clean(server)
	}
	return u + "-" + strconv.Itoa(pid)
}
