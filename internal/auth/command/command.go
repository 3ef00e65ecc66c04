// Package command is an authenticator that asks a program of the site's choosing: for every
// login it runs the configured command (an argv, never through a shell), writes the login form
// to its standard input as JSON and reads the verdict from its standard output. A site writes
// its own check in any language, where upstream JupyterHub would subclass Authenticator in
// Python.
//
// The protocol (see the README and docs/examples/command-authenticator):
//
//	stdin:  {"username": "alice", "typed_username": "Alice", "password": "…",
//	         "fields": {"otp": "123456"}, "remote_addr": "192.0.2.7"}
//	stdout: {"name": "alice", "admin": false, "groups": ["staff"], "auth_state": {…}}
//	   or:  {"refused": true, "message": "optional text for the login form"}
//
// Exit status 0 with a "name" accepts the login; "admin", "groups" and "auth_state" are
// optional (null or absent: no change); the message of a refusal, if any, is shown on the
// login form. A non-zero exit status, a timeout, output that is not exactly one such JSON
// object, or more than max_output_bytes of it also refuses the login, and the reason is logged
// as a warning, since it means the program is broken. The program runs in its own process group, which is
// killed when the time is up.
package command

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"

	"gohub/internal/auth"
	"gohub/internal/config"
)

// Config is the CommandAuthenticator section.
type Config struct {
	auth.Config `yaml:",inline"`

	Command        []string          `yaml:"command" help:"Program and arguments run for every login (no shell); it reads the login as JSON on stdin and answers on stdout."`
	Timeout        float64           `yaml:"timeout" help:"Seconds the command may run before its process group is killed and the login refused."`
	MaxOutputBytes int               `yaml:"max_output_bytes" help:"Largest answer (stdout) accepted, in bytes; more refuses the login."`
	Environment    map[string]string `yaml:"environment" help:"Environment variables of the command; it gets only these plus PATH and LANG from the hub, never the hub's secrets."`
	MaxConcurrent  int               `yaml:"max_concurrent" help:"Commands running at once; a login that finds none free within a second is refused as busy."`
}

// DefaultConfig returns the defaults: no command, so nobody can log in until one is set.
func DefaultConfig() *Config {
	return &Config{Config: auth.DefaultConfig(), Timeout: 10, MaxOutputBytes: 64 << 10, MaxConcurrent: 16}
}

// Validate checks the section once the config file is read: a command must be set.
func (c *Config) Validate() error {
	if len(c.Command) == 0 || strings.TrimSpace(c.Command[0]) == "" {
		return config.Invalid("command", "must name the program to run, e.g. [/usr/local/bin/check-login]")
	}
	return c.check()
}

func (c *Config) check() error {
	var errs []error
	if c.Timeout <= 0 {
		errs = append(errs, config.Invalid("timeout", "must be more than 0 seconds"))
	}
	if c.MaxOutputBytes <= 0 {
		errs = append(errs, config.Invalid("max_output_bytes", "must be more than 0"))
	}
	if c.MaxConcurrent <= 0 {
		errs = append(errs, config.Invalid("max_concurrent", "must be more than 0"))
	}
	for k := range c.Environment {
		if k == "" || strings.ContainsAny(k, "=\x00") {
			errs = append(errs, config.Invalid("environment", "%q is not a variable name", k))
		}
	}
	return errors.Join(errs...)
}

// Authenticator runs the command for every login. It is safe for concurrent use.
type Authenticator struct {
	argv    []string
	env     []string
	timeout time.Duration
	max     int
	slots   chan struct{}
	log     *slog.Logger
}

// busyWait is how long a login waits for a free slot (max_concurrent) before it is refused.
const busyWait = time.Second

// Busy is the message of a login refused because max_concurrent commands are running.
const Busy = "Too many logins at once; please try again in a moment."

// New checks cfg and returns the authenticator. The program must exist and be executable; an
// empty command is accepted (nobody can log in, and ConfigWarnings says so).
func New(cfg *Config, log *slog.Logger) (*Authenticator, error) {
	if cfg == nil {
		return nil, errors.New("command: no config")
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	if err := cfg.check(); err != nil {
		return nil, err
	}
	a := &Authenticator{
		argv:    append([]string(nil), cfg.Command...),
		timeout: time.Duration(cfg.Timeout * float64(time.Second)),
		max:     cfg.MaxOutputBytes,
		slots:   make(chan struct{}, cfg.MaxConcurrent),
		log:     log.With("authenticator", "command"),
		// Never nil: exec gives a nil Env the hub's whole environment, secrets included.
		env: []string{},
	}
	if len(a.argv) > 0 {
		path, err := exec.LookPath(a.argv[0])
		if err != nil {
			return nil, fmt.Errorf("command: %w", err)
		}
		a.argv[0] = path
	}
	for _, k := range []string{"PATH", "LANG"} {
		if v, ok := os.LookupEnv(k); ok {
			a.env = append(a.env, k+"="+v)
		}
	}
	for k, v := range cfg.Environment {
		a.env = append(a.env, k+"="+v)
	}
	return a, nil
}

// ConfigWarnings reports a missing command.
func (a *Authenticator) ConfigWarnings(auth.Config) []string {
	if len(a.argv) == 0 {
		return []string{"CommandAuthenticator.command is not set: nobody can log in"}
	}
	return nil
}

// request is what the command reads on stdin.
type request struct {
	Username      string            `json:"username"`
	TypedUsername string            `json:"typed_username"`
	Password      string            `json:"password"`
	Fields        map[string]string `json:"fields"`
	RemoteAddr    string            `json:"remote_addr,omitempty"`
}

// answer is what the command writes on stdout.
type answer struct {
	Name      *string        `json:"name"`
	Admin     *bool          `json:"admin"`
	Groups    *[]string      `json:"groups"`
	AuthState map[string]any `json:"auth_state"`
	Refused   bool           `json:"refused"`
	Message   string         `json:"message"`
}

// Authenticate runs the command and reads its verdict.
func (a *Authenticator) Authenticate(ctx context.Context, c auth.Credentials) (*auth.Identity, error) {
	if len(a.argv) == 0 {
		return nil, errors.New("CommandAuthenticator.command is not set")
	}
	req := request{Username: c.Username, TypedUsername: c.Typed, Password: c.Password, Fields: map[string]string{}}
	for k, v := range c.Form {
		if k != "username" && k != "password" && k != "_xsrf" && len(v) > 0 {
			req.Fields[k] = v[0]
		}
	}
	req.RemoteAddr = c.ClientAddr
	input, err := json.Marshal(req)
	if err != nil {
		return nil, err
	}
	// A flood of logins must not become a flood of processes.
	wait := time.NewTimer(busyWait)
	defer wait.Stop()
	select {
	case a.slots <- struct{}{}:
		defer func() { <-a.slots }()
	case <-wait.C:
		a.log.Warn("login refused: max_concurrent commands are already running", "max_concurrent", cap(a.slots))
		return nil, auth.Reject(Busy)
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	out, err := a.run(ctx, input)
	if err != nil {
		return nil, err
	}
	return a.parse(out)
}

// run starts the command in its own process group, feeds it input and returns its stdout. Every
// failure is a refusal with the reason (the pipeline logs it), and a warning here, since it
// usually means the program is broken rather than the password wrong.
func (a *Authenticator) run(parent context.Context, input []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(parent, a.timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, a.argv[0], a.argv[1:]...)
	cmd.Env = a.env
	cmd.Stdin = bytes.NewReader(input)
	stdout := &cappedBuffer{max: a.max, overflow: cancel}
	stderr := &cappedBuffer{max: 4 << 10}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	// Descendants that keep stdout open must not hold the login past the kill.
	cmd.WaitDelay = time.Second
	start := time.Now()
	err := cmd.Run()
	if cmd.Process != nil {
		// Whatever the program left behind in its group goes too.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
	var reason string
	switch {
	case stdout.overflowed:
		reason = fmt.Sprintf("the command wrote more than max_output_bytes (%d bytes)", a.max)
	case parent.Err() != nil:
		// The login itself was given up (client gone, the pipeline's own deadline).
		return nil, fmt.Errorf("command authenticator: %w", parent.Err())
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		reason = fmt.Sprintf("the command did not answer within %s and was killed (after %s)", a.timeout, time.Since(start).Round(time.Millisecond))
	case err != nil:
		// Not a way to say no: Python exits with 1 on an uncaught exception, and a broken
		// check must be visible in the log.
		reason = fmt.Sprintf("the command failed: %v", err)
	default:
		return stdout.Bytes(), nil
	}
	a.log.Warn("login refused: command authenticator failed", "reason", reason, "stderr", lastLine(stderr.String()))
	return nil, fmt.Errorf("%w: %s", auth.ErrRejected, reason)
}

// parse reads the answer: exactly one JSON object with known keys.
func (a *Authenticator) parse(out []byte) (*auth.Identity, error) {
	garbage := func(format string, args ...any) (*auth.Identity, error) {
		reason := fmt.Sprintf(format, args...)
		// The output itself is not logged: it may hold a token meant for auth_state.
		a.log.Warn("login refused: command authenticator answered garbage", "reason", reason, "output_bytes", len(out))
		return nil, fmt.Errorf("%w: %s", auth.ErrRejected, reason)
	}
	dec := json.NewDecoder(bytes.NewReader(out))
	dec.DisallowUnknownFields()
	var ans answer
	if err := dec.Decode(&ans); err != nil {
		if errors.Is(err, io.EOF) {
			return garbage("the command wrote nothing")
		}
		return garbage("the command's output is not the expected JSON object: %v", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return garbage("the command wrote more than one JSON value")
	}
	if ans.Refused {
		if ans.Name != nil {
			return garbage("the answer has both refused and name")
		}
		if msg := strings.TrimSpace(ans.Message); msg != "" {
			return nil, auth.Reject(msg)
		}
		return nil, fmt.Errorf("%w: the command refused", auth.ErrRejected)
	}
	if ans.Name == nil || strings.TrimSpace(*ans.Name) == "" {
		return garbage(`the answer has neither a "name" nor "refused": true`)
	}
	id := &auth.Identity{Name: *ans.Name, Admin: ans.Admin, AuthState: ans.AuthState}
	if ans.Groups != nil {
		id.Groups = append([]string{}, *ans.Groups...)
	}
	return id, nil
}

// cappedBuffer keeps at most max bytes; past that it records the overflow and calls overflow
// (which kills the command), and claims to have written everything so the copy does not fail
// first with a less clear error. It deliberately has no ReadFrom (an embedded bytes.Buffer
// would give it one, and io.Copy would go around Write and the cap).
type cappedBuffer struct {
	buf        bytes.Buffer
	max        int
	overflowed bool
	overflow   func()
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	if room := b.max - b.buf.Len(); len(p) > room {
		if room > 0 {
			b.buf.Write(p[:room])
		}
		if !b.overflowed && b.overflow != nil {
			b.overflow()
		}
		b.overflowed = true
		return len(p), nil
	}
	return b.buf.Write(p)
}

// Bytes returns what was kept.
func (b *cappedBuffer) Bytes() []byte { return b.buf.Bytes() }

// String returns what was kept.
func (b *cappedBuffer) String() string { return b.buf.String() }

// lastLine is a short excerpt of the command's stderr for the log: its last line, where
// interpreters put the error.
func lastLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		s = "… " + s[i+1:]
	}
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
