package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// pinnedEnv marks a bench process that has already re-executed itself under taskset.
const pinnedEnv = "GOHUB_BENCH_PINNED"

// pinSelf re-executes the bench under `taskset -c 1` so that the load generator and the hubs
// (started on CPU 0 by hubCommand) do not compete for one core (bench/README.md). It returns
// false, and leaves the process as it is, when pinning is not possible here.
func pinSelf() (pinned bool, err error) {
	if os.Getenv(pinnedEnv) != "" {
		return true, nil
	}
	ts, err := exec.LookPath("taskset")
	if err != nil || runtime.NumCPU() < 2 {
		return false, nil
	}
	self, err := os.Executable()
	if err != nil {
		return false, fmt.Errorf("find own executable: %w", err)
	}
	args := append([]string{ts, "-c", "1", self}, os.Args[1:]...)
	env := append(os.Environ(), pinnedEnv+"=1")
	if err := syscall.Exec(ts, args, env); err != nil {
		return false, fmt.Errorf("re-exec under taskset: %w", err)
	}
	return true, nil // not reached
}

// hubCommand prefixes argv with `taskset -c 0` when pinning is on.
func hubCommand(pin bool, argv []string) []string {
	if !pin {
		return argv
	}
	return append([]string{"taskset", "-c", "0"}, argv...)
}

// freePorts returns n distinct free TCP ports on 127.0.0.1. The listeners are held until all
// ports are chosen, so the n ports differ; another program could still take one before the hub
// binds it, which the readiness check then reports.
func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("find a free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// process is a hub started in its own process group, so that Stop ends it and every child it
// started in that group.
type process struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
	log  *os.File
}

// startProcess runs argv in dir with its output appended to logPath.
func startProcess(argv []string, dir, logPath string, env []string) (*process, error) {
	lf, err := os.OpenFile(logPath, os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("open log: %w", err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = dir
	cmd.Stdout = lf
	cmd.Stderr = lf
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		lf.Close()
		return nil, fmt.Errorf("start %s: %w", argv[0], err)
	}
	p := &process{cmd: cmd, done: make(chan struct{}), log: lf}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// Stop sends SIGTERM to the process group, waits up to grace for the leader to exit, then
// sends SIGKILL to the group.
func (p *process) Stop(grace time.Duration) {
	pgid := p.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
	}
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	<-p.done
	p.log.Close()
}

// killPidFile ends the process whose pid is in path, if it still runs (JupyterHub starts CHP in
// a session of its own, out of reach of the process-group kill).
func killPidFile(path string) {
	b, err := os.ReadFile(path)
	if err != nil {
		return
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 1 {
		return
	}
	if syscall.Kill(pid, 0) != nil {
		return
	}
	_ = syscall.Kill(pid, syscall.SIGTERM)
	for range 50 {
		time.Sleep(100 * time.Millisecond)
		if syscall.Kill(pid, 0) != nil {
			return
		}
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
}

// waitReady polls url until it answers 200, the process exits, or timeout passes.
func waitReady(ctx context.Context, p *process, url string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c := &http.Client{Timeout: 2 * time.Second}
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := c.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-p.done:
			return fmt.Errorf("exited before answering %s: %v", url, p.err)
		case <-ctx.Done():
			if err == nil {
				err = errors.New("status " + resp.Status)
			}
			return fmt.Errorf("%s not ready after %s: %w", url, timeout, err)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
