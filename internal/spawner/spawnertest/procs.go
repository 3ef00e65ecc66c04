package spawnertest

import (
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Proc is a running process started for a hub user.
type Proc struct {
	PID int
	UID int // real uid
}

// ServerProcesses lists the running processes whose environment says they are a server of the
// hub user name (JUPYTERHUB_USER=name), with the uid each runs as. Tests use it to prove that
// nothing was started for a user a spawn was refused to.
func ServerProcesses(name string) []Proc {
	want := []byte("JUPYTERHUB_USER=" + name)
	dirs, _ := filepath.Glob("/proc/[0-9]*")
	var out []Proc
	for _, d := range dirs {
		env, err := os.ReadFile(filepath.Join(d, "environ"))
		if err != nil || !hasEntry(env, want) {
			continue
		}
		status, err := os.ReadFile(filepath.Join(d, "status"))
		if err != nil {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(d))
		out = append(out, Proc{PID: pid, UID: statusUID(string(status))})
	}
	return out
}

// hasEntry reports whether a NUL-separated environ block holds entry exactly.
func hasEntry(environ, entry []byte) bool {
	for _, kv := range bytes.Split(environ, []byte{0}) {
		if bytes.Equal(kv, entry) {
			return true
		}
	}
	return false
}

// statusUID is the real uid of a /proc/PID/status text, -1 if absent.
func statusUID(status string) int {
	for _, line := range strings.Split(status, "\n") {
		if rest, ok := strings.CutPrefix(line, "Uid:"); ok {
			if f := strings.Fields(rest); len(f) > 0 {
				if n, err := strconv.Atoi(f[0]); err == nil {
					return n
				}
			}
		}
	}
	return -1
}
