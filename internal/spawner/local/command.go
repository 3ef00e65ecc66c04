package local

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"gohub/internal/spawner"
)

// command returns the argv of a server: cmd + args, wrapped in shell_cmd if set. Nothing is
// added: --allow-root in particular only comes from the admin's args.
func command(cfg *Config) []string {
	argv := append(slices.Clone(cfg.Cmd), cfg.Args...)
	if len(cfg.ShellCmd) > 0 {
		quoted := make([]string, len(argv))
		for i, a := range argv {
			quoted[i] = shellQuote(a)
		}
		argv = append(slices.Clone(cfg.ShellCmd), strings.Join(quoted, " "))
	}
	return argv
}

// shellQuote quotes s for a POSIX shell, as Python's shlex.quote does.
func shellQuote(s string) string {
	if s == "" {
		return "''"
	}
	safe := true
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("@%+=:,./-_", r)) {
			safe = false
			break
		}
	}
	if safe {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'"'"'`) + "'"
}

// lookPath finds an executable as Popen does when given an environment: a name with a slash is
// used as is, others are searched in the server's PATH (the hub's PATH when it has none).
func lookPath(name, path string) (string, error) {
	if strings.Contains(name, "/") {
		if err := executable(name); err != nil {
			return "", fmt.Errorf("command %s: %w", name, err)
		}
		return name, nil
	}
	if path == "" {
		path = os.Getenv("PATH")
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, name)
		if executable(p) == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("command %s not found in PATH=%s", name, path)
}

func executable(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	if fi.IsDir() || fi.Mode()&0o111 == 0 {
		return fmt.Errorf("%s is not an executable file", p)
	}
	return nil
}

// envList turns an environment map into KEY=value lines, sorted.
func envList(env map[string]string) []string {
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	sort.Strings(out)
	return out
}

// ExpandDir expands a directory setting for a user: {username}, a leading ~ (the home), and a
// relative path (taken from the home, as Jupyter does).
func ExpandDir(dir, user, home string) string {
	if dir == "" {
		return ""
	}
	dir = spawner.ExpandUser(dir, user)
	switch {
	case dir == "~":
		return home
	case strings.HasPrefix(dir, "~/"):
		return filepath.Join(home, dir[2:])
	case !filepath.IsAbs(dir) && home != "":
		return filepath.Join(home, dir)
	}
	return dir
}

// workDir is the server's working directory: notebook_dir if it is a directory, else the home
// directory if it is one, else /.
func workDir(notebookDir, home string) string {
	for _, d := range []string{notebookDir, home} {
		if d == "" {
			continue
		}
		if fi, err := os.Stat(d); err == nil && fi.IsDir() {
			return d
		}
	}
	return "/"
}

// freePort asks the kernel for a free TCP port on ip.
func freePort(ip string) (int, error) {
	host := ip
	if host == "" {
		host = "127.0.0.1"
	}
	l, err := net.Listen("tcp", net.JoinHostPort(host, "0"))
	if err != nil {
		return 0, fmt.Errorf("find a free port on %s: %w", host, err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
