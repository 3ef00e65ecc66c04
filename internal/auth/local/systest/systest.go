// Package systest creates and removes real system users and groups for tests of the local
// authenticators. It needs root and the shadow tools (useradd, groupadd, chpasswd); without them
// a test is skipped, except under CI=true, where it fails.
package systest

import (
	"os"
	"os/exec"
	"os/user"
	"strings"
	"testing"
)

// Require skips (or, under CI=true, fails) t unless it runs as root with the given commands
// (useradd, userdel, groupadd, groupdel, chpasswd and usermod are always required).
func Require(t testing.TB, cmds ...string) {
	t.Helper()
	missing := func(why string) {
		if os.Getenv("CI") == "true" {
			t.Fatalf("system user tests need %s (CI=true)", why)
		}
		t.Skipf("system user tests need %s", why)
	}
	if os.Geteuid() != 0 {
		missing("root")
	}
	for _, c := range append([]string{"useradd", "userdel", "groupadd", "groupdel", "chpasswd", "usermod"}, cmds...) {
		if _, err := exec.LookPath(c); err != nil {
			missing(c)
		}
	}
}

// Run runs argv and fails t with its output if it fails.
func Run(t testing.TB, argv ...string) {
	t.Helper()
	out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v: %s", strings.Join(argv, " "), err, out)
	}
}

// Group creates a system group and removes it when the test ends.
func Group(t testing.TB, name string) {
	t.Helper()
	exec.Command("groupdel", name).Run() // left over by a killed run
	Run(t, "groupadd", name)
	t.Cleanup(func() { exec.Command("groupdel", name).Run() })
}

// User creates a system user with password (none if empty) and supplementary groups, and
// removes it (with its home) when the test ends.
func User(t testing.TB, name, password string, groups ...string) {
	t.Helper()
	Forget(t, name)
	argv := []string{"useradd", "--create-home", "--shell", "/bin/bash"}
	if len(groups) > 0 {
		argv = append(argv, "--groups", strings.Join(groups, ","))
	}
	Run(t, append(argv, name)...)
	if password != "" {
		SetPassword(t, name, password)
	}
}

// SetPassword sets a user's password with chpasswd.
func SetPassword(t testing.TB, name, password string) {
	t.Helper()
	cmd := exec.Command("chpasswd")
	cmd.Stdin = strings.NewReader(name + ":" + password + "\n")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("chpasswd %s: %v: %s", name, err, out)
	}
}

// Forget removes the user now if it exists (a leftover of a killed run) and again when the test
// ends, for users a test expects the code under test to create.
func Forget(t testing.TB, name string) {
	t.Helper()
	del := func() {
		if _, err := user.Lookup(name); err == nil {
			exec.Command("userdel", "--remove", name).Run()
		}
	}
	del()
	t.Cleanup(del)
}

// Exists reports whether the system user exists.
func Exists(name string) bool {
	_, err := user.Lookup(name)
	return err == nil
}

// PAMService installs /etc/pam.d/<name> with pam_unix (nodelay, so failures cost no 3 s) for
// auth and account, and removes it when the test ends.
func PAMService(t testing.TB, name string) {
	t.Helper()
	PAMServiceText(t, name, "# gohub tests: pam_unix without the failure delay\n"+
		"auth required pam_unix.so nodelay\n"+
		"account required pam_unix.so\n"+
		"session required pam_permit.so\n")
}

// PAMServiceText installs /etc/pam.d/<name> with the given stack and removes it when the test
// ends.
func PAMServiceText(t testing.TB, name, conf string) {
	t.Helper()
	path := "/etc/pam.d/" + name
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatalf("install PAM service %s: %v", name, err)
	}
	t.Cleanup(func() { os.Remove(path) })
}
