package local

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"strings"
	"time"
)

// account is a system user as the spawner needs it.
type account struct {
	name   string
	uid    uint32
	gid    uint32
	groups []uint32 // supplementary groups
	home   string
	shell  string
}

// lookupAccount finds a system user through os/user (NSS when built with cgo) and its login
// shell through getent or /etc/passwd, which os/user does not report.
func lookupAccount(name string) (*account, error) {
	u, err := user.Lookup(name)
	if err != nil {
		return nil, fmt.Errorf("system user %q: %w (LocalProcessSpawner runs each server as the system user of the same name)", name, err)
	}
	uid, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("system user %q: uid %q: %w", name, u.Uid, err)
	}
	gid, err := strconv.ParseUint(u.Gid, 10, 32)
	if err != nil {
		return nil, fmt.Errorf("system user %q: gid %q: %w", name, u.Gid, err)
	}
	a := &account{name: name, uid: uint32(uid), gid: uint32(gid), home: u.HomeDir, shell: loginShell(name)}
	gids, err := u.GroupIds()
	if err != nil {
		return nil, fmt.Errorf("system user %q: groups: %w", name, err)
	}
	for _, g := range gids {
		n, err := strconv.ParseUint(g, 10, 32)
		if err == nil {
			a.groups = append(a.groups, uint32(n))
		}
	}
	return a, nil
}

// currentAccount is the hub's own user.
func currentAccount() (*account, error) {
	u, err := user.Current()
	if err != nil {
		return nil, fmt.Errorf("hub's own user: %w", err)
	}
	return &account{name: u.Username, uid: uint32(os.Getuid()), gid: uint32(os.Getgid()), home: u.HomeDir}, nil
}

// loginShell returns the shell field of the user's passwd entry, "" if unknown.
func loginShell(name string) string {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "getent", "passwd", name).Output(); err == nil {
		if sh, ok := passwdShell(string(bytes.TrimSpace(out)), name); ok {
			return sh
		}
	}
	f, err := os.Open("/etc/passwd")
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if sh, ok := passwdShell(sc.Text(), name); ok {
			return sh
		}
	}
	return ""
}

// passwdShell reads the shell of a passwd line if it is name's.
func passwdShell(line, name string) (string, bool) {
	f := strings.Split(line, ":")
	if len(f) != 7 || f[0] != name {
		return "", false
	}
	return f[6], true
}
