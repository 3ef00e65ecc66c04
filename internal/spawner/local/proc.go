package local

import (
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
)

// procInfo is what /proc/<pid>/stat says about a process.
type procInfo struct {
	state     byte   // R, S, D, Z, T, …
	startTime uint64 // clock ticks after boot (field 22)
}

// readProc reads /proc/<pid>/stat; os.ErrNotExist when the process is gone.
func readProc(pid int) (procInfo, error) {
	data, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		if errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ESRCH) {
			return procInfo{}, os.ErrNotExist
		}
		return procInfo{}, err
	}
	// The command name (field 2) is in parentheses and may hold spaces or parentheses itself:
	// the fields after it start after the last ')'.
	s := string(data)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return procInfo{}, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	fields := strings.Fields(s[i+1:])
	// fields[0] is field 3 (state); field 22 (starttime) is fields[19].
	if len(fields) < 20 || len(fields[0]) != 1 {
		return procInfo{}, fmt.Errorf("/proc/%d/stat: unexpected format", pid)
	}
	st, err := strconv.ParseUint(fields[19], 10, 64)
	if err != nil {
		return procInfo{}, fmt.Errorf("/proc/%d/stat: start time: %w", pid, err)
	}
	return procInfo{state: fields[0][0], startTime: st}, nil
}

// bootID identifies the running kernel, so a saved pid is never matched after a reboot.
func bootID() string {
	data, err := os.ReadFile("/proc/sys/kernel/random/boot_id")
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(data))
}

// identity is how a server's process is recognised again after a hub restart.
type identity struct {
	PID       int    `json:"pid"`
	StartTime uint64 `json:"start_time,omitempty"`
	BootID    string `json:"boot_id,omitempty"`
}

// alive reports whether the process is still the one that was started: it exists, is not a
// zombie, and has the same start time and boot id (a reused pid is another process).
func (id identity) alive() (bool, error) {
	if id.PID <= 0 {
		return false, nil
	}
	if id.BootID != "" && id.BootID != bootID() {
		return false, nil
	}
	info, err := readProc(id.PID)
	if errors.Is(err, os.ErrNotExist) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	if info.state == 'Z' || info.state == 'X' {
		// A hub running as pid 1 (in a container) inherits its old servers when restarted:
		// reap the zombie if it is ours; for anyone else's this fails harmlessly.
		var ws syscall.WaitStatus
		syscall.Wait4(id.PID, &ws, syscall.WNOHANG, nil)
		return false, nil
	}
	if id.StartTime != 0 && info.startTime != id.StartTime {
		return false, nil
	}
	// kill(pid, 0) as upstream does: ESRCH means gone; EPERM means it exists but is not ours
	// to signal (a hub that is not root polling another user's server).
	switch err := syscall.Kill(id.PID, 0); {
	case err == nil, errors.Is(err, syscall.EPERM):
		return true, nil
	case errors.Is(err, syscall.ESRCH):
		return false, nil
	default:
		return false, fmt.Errorf("signal 0 to %d: %w", id.PID, err)
	}
}

// signal sends sig to the process group the server leads (it was started in its own
// session), falling back to the process alone. ESRCH is no error.
func (id identity) signal(sig syscall.Signal) error {
	if id.PID <= 1 {
		// kill(0) or kill(-1) would signal the hub's own group or every process.
		return fmt.Errorf("refusing to signal pid %d", id.PID)
	}
	err := syscall.Kill(-id.PID, sig)
	if errors.Is(err, syscall.ESRCH) {
		err = syscall.Kill(id.PID, sig)
	}
	if err != nil && !errors.Is(err, syscall.ESRCH) {
		return fmt.Errorf("send %s to process %d: %w", sig, id.PID, err)
	}
	return nil
}

// exitReason describes how a waited-for process ended.
func exitReason(ps *os.ProcessState) (code int, reason string) {
	if ps == nil {
		return 0, ""
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal()), "killed by signal " + strconv.Itoa(int(ws.Signal())) + " (" + ws.Signal().String() + ")"
	}
	return ps.ExitCode(), "exit status " + strconv.Itoa(ps.ExitCode())
}
