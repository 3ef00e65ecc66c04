// Package local holds the spawners that run single-user servers as local processes:
// LocalProcessSpawner ("localprocess", the default), which runs each server as the system user
// of the same name, and SimpleLocalProcessSpawner ("simple"), which runs every server as the
// hub's own user with a per-user HOME (demos and tests).
//
// A server is started in its own session (so its process group holds its kernels), with
// spawner.Config's cmd and args, exactly the environment of protocol.md §2.2 plus USER, HOME and SHELL,
// and cwd notebook_dir (if it is a directory) or the home directory. Its state is its pid with
// the process's start time and the kernel's boot id, so a restarted hub recognises the process
// and never mistakes a reused pid for it. Stop signals the process group: SIGINT (only if
// interrupt_timeout > 0), SIGTERM, then SIGKILL, waiting the configured time after each.
//
// Limits: mem_limit and cpu_limit go into a cgroup made for the server (cgroup v2, or the v1
// memory and cpu hierarchies) when the hub can create one, usually as root. Without a writable
// cgroup, mem_limit becomes RLIMIT_AS of the server process (virtual memory, per process) and
// cpu_limit is not enforced; a warning says so. MEM_LIMIT and CPU_LIMIT are exported either way.
//
// A server never runs as a system account: LocalProcessSpawner refuses a user whose system
// account has uid 0 or a uid below min_uid (UID_MIN of /etc/login.defs by default), so a hub
// where people choose their own names (firstuse, native sign-up) cannot be made to run a
// stranger's notebook as root, daemon or postgres. The spawner never adds --allow-root: a
// server as root (only possible with the simple spawner and a hub running as root) needs it in
// args, written there by the admin.
package local

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"gohub/internal/spawner"
	"gohub/internal/unixuser"
)

// factory makes the Spawners of one configuration.
type factory struct {
	cfg    *Config
	simple *SimpleConfig // set for SimpleLocalProcessSpawner
	log    *slog.Logger
}

// New validates a LocalProcessSpawner config and returns its factory.
func New(cfg *Config, log *slog.Logger) (spawner.Factory, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log = orDiscard(log)
	if _, err := unixuser.DefaultUIDMin(); err != nil {
		log.Warn("LocalProcessSpawner: cannot read UID_MIN; min_uid defaults to the fallback", "err", err, "min_uid", cfg.MinUID)
	}
	return &factory{cfg: cfg, log: log}, nil
}

// NewSimple validates a SimpleLocalProcessSpawner config and returns its factory.
func NewSimple(cfg *SimpleConfig, log *slog.Logger) (spawner.Factory, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	return &factory{cfg: &cfg.Config, simple: cfg, log: orDiscard(log)}, nil
}

func orDiscard(log *slog.Logger) *slog.Logger {
	if log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return log
}

// Common returns the Spawner traits of the factory's config.
func (f *factory) Common() *spawner.Config { return &f.cfg.Config }

// NewSpawner makes the Spawner of one server from its saved state (nil for a new server).
func (f *factory) NewSpawner(state json.RawMessage) (spawner.Spawner, error) {
	s := &Spawner{f: f}
	if len(state) > 0 && string(state) != "null" {
		if err := json.Unmarshal(state, &s.st); err != nil {
			return nil, fmt.Errorf("local spawner state: %w", err)
		}
	}
	return s, nil
}

// state is what a Spawner saves: upstream's {"pid": N} plus how to recognise the process and
// the cgroups to remove after it.
type state struct {
	identity
	limitResult
}

// Spawner runs one server as a local process. Its methods may be called concurrently.
type Spawner struct {
	f *factory

	mu     sync.Mutex
	st     state
	exited chan struct{}    // closed when the process started here has been waited for
	ps     *os.ProcessState // set before exited closes
}

// Start launches the server process.
func (s *Spawner) Start(ctx context.Context, req *spawner.Request) (string, error) {
	cfg := s.f.cfg
	acct, home, err := s.account(req.User.Name)
	if err != nil {
		return "", err
	}
	port := cfg.Port
	if port == 0 {
		if port, err = freePort(cfg.IP); err != nil {
			return "", err
		}
	}
	env := req.Env(cfg.IP, port)
	env["USER"] = req.User.Name
	if s.f.simple != nil {
		env["HOME"], env["SHELL"] = home, "/bin/bash"
	} else {
		if home != "" {
			env["HOME"] = home
		}
		if acct.shell != "" {
			env["SHELL"] = acct.shell
		}
	}
	argv := command(cfg)
	path, err := lookPath(argv[0], env["PATH"])
	if err != nil {
		return "", err
	}
	cmd := &exec.Cmd{
		Path:   path,
		Args:   argv,
		Env:    envList(env),
		Dir:    workDir(ExpandDir(cfg.NotebookDir, req.User.Name, home), home),
		Stdout: os.Stdout,
		Stderr: os.Stderr,
		SysProcAttr: &syscall.SysProcAttr{
			Setsid: true,
		},
	}
	if os.Geteuid() == 0 {
		cmd.SysProcAttr.Credential = &syscall.Credential{Uid: acct.uid, Gid: acct.gid, Groups: acct.groups}
	}
	if err := cmd.Start(); err != nil {
		if errors.Is(err, os.ErrPermission) {
			return "", fmt.Errorf("permission denied running %s: can %s read and run it? %w", path, acct.name, err)
		}
		return "", fmt.Errorf("run %s as %s: %w", path, acct.name, err)
	}
	pid := cmd.Process.Pid
	id := identity{PID: pid, BootID: bootID()}
	if info, err := readProc(pid); err == nil {
		id.StartTime = info.startTime
	}
	lim, notes := applyLimits(pid, cgroupUnit(req.User.Name, req.ServerName, pid), int64(cfg.MemLimit), cfg.CPULimit)
	for _, n := range notes {
		s.f.log.Warn("server limits", "user", req.User.Name, "server", req.ServerName, "note", n)
	}
	exited := make(chan struct{})
	s.mu.Lock()
	s.st, s.exited, s.ps = state{identity: id, limitResult: lim}, exited, nil
	s.mu.Unlock()
	go func() {
		cmd.Wait()
		s.mu.Lock()
		s.ps = cmd.ProcessState
		s.mu.Unlock()
		close(exited)
	}()
	s.f.log.Info("started server process", "user", req.User.Name, "server", req.ServerName,
		"pid", pid, "system_user", acct.name, "cmd", strings.Join(argv, " "))
	req.ReportProgress(spawner.Event{Progress: 50, Message: fmt.Sprintf("Started %s (pid %d)", filepath.Base(argv[0]), pid)})
	host := cfg.IP
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "127.0.0.1"
	}
	return "http://" + net.JoinHostPort(host, strconv.Itoa(port)), nil
}

// account returns the system user the server runs as and its home directory.
func (s *Spawner) account(name string) (*account, string, error) {
	if s.f.simple != nil {
		acct, err := currentAccount()
		if err != nil {
			return nil, "", err
		}
		home := spawner.ExpandUser(s.f.simple.HomeDirTemplate, name)
		if err := os.MkdirAll(home, 0o755); err != nil {
			return nil, "", fmt.Errorf("home directory of %s: %w", name, err)
		}
		return acct, home, nil
	}
	acct, err := lookupAccount(name)
	if err != nil {
		return nil, "", err
	}
	if unixuser.IsSystem(acct.uid, uint32(s.f.cfg.MinUID)) {
		return nil, "", fmt.Errorf("refusing to start a server as system user %s (uid %d): servers run only as uid %d or above (LocalProcessSpawner.min_uid)",
			name, acct.uid, max(s.f.cfg.MinUID, 1))
	}
	if euid := os.Geteuid(); euid != 0 && uint32(euid) != acct.uid {
		return nil, "", fmt.Errorf("cannot start a server as system user %s: the hub runs as uid %d, not root", name, euid)
	}
	return acct, acct.home, nil
}

// Poll reports whether the process is still running.
func (s *Spawner) Poll(ctx context.Context) (spawner.Status, error) {
	s.mu.Lock()
	exited, id := s.exited, s.st.identity
	s.mu.Unlock()
	if exited != nil {
		select {
		case <-exited:
			s.mu.Lock()
			code, reason := exitReason(s.ps)
			s.mu.Unlock()
			return spawner.Status{ExitCode: code, Reason: reason}, nil
		default:
			return spawner.Status{Running: true}, nil
		}
	}
	alive, err := id.alive()
	if err != nil {
		return spawner.Status{}, err
	}
	if !alive {
		return spawner.Status{Reason: "process gone"}, nil
	}
	return spawner.Status{Running: true}, nil
}

// Stop ends the process: SIGINT (if interrupt_timeout > 0 and not now), SIGTERM, SIGKILL, each
// to the process group, waiting the configured time after each.
func (s *Spawner) Stop(ctx context.Context, now bool) error {
	cfg := s.f.cfg
	s.mu.Lock()
	id, dirs := s.st.identity, s.st.Cgroups
	s.mu.Unlock()
	if id.PID <= 1 {
		return nil // never started (or nonsense state): nothing to signal
	}
	steps := []struct {
		sig  syscall.Signal
		wait time.Duration
	}{{syscall.SIGINT, cfg.InterruptTimeout.D()}, {syscall.SIGTERM, cfg.TermTimeout.D()}, {syscall.SIGKILL, cfg.KillTimeout.D()}}
	if now {
		steps = steps[1:]
	}
	var err error
	for _, step := range steps {
		if !s.running(ctx) {
			break
		}
		if step.wait <= 0 && step.sig != syscall.SIGKILL {
			continue
		}
		if err = id.signal(step.sig); err != nil {
			break
		}
		s.waitForDeath(ctx, max(step.wait, 100*time.Millisecond))
	}
	if err == nil && s.running(ctx) {
		err = fmt.Errorf("process %d did not end after SIGKILL", id.PID)
	}
	if err != nil {
		return err
	}
	// The leader is gone: end whatever else is left in its group (kernels that ignored SIGTERM).
	syscall.Kill(-id.PID, syscall.SIGKILL)
	removeCgroups(dirs)
	s.mu.Lock()
	s.st = state{}
	s.mu.Unlock()
	return nil
}

// running polls, counting a failed poll as running.
func (s *Spawner) running(ctx context.Context) bool {
	st, err := s.Poll(ctx)
	return err != nil || st.Running
}

// waitForDeath waits until the process ended, d passed or ctx ended.
func (s *Spawner) waitForDeath(ctx context.Context, d time.Duration) {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) && ctx.Err() == nil {
		if !s.running(ctx) {
			return
		}
		s.mu.Lock()
		exited := s.exited
		s.mu.Unlock()
		select {
		case <-exited: // nil for a restored process: never ready, the timer decides
		case <-time.After(50 * time.Millisecond):
		case <-ctx.Done():
		}
	}
}

// State returns {"pid": N, "start_time": …, "boot_id": …} (and cgroups), nil when stopped.
func (s *Spawner) State() json.RawMessage {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.st.PID == 0 {
		return nil
	}
	b, err := json.Marshal(s.st)
	if err != nil {
		return nil
	}
	return b
}
