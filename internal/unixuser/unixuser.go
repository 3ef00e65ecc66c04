// Package unixuser answers the one question the spawner and the login pipeline both ask about a
// name: is it a system account? A system account is a UNIX user whose uid is below the first
// uid given to people (UID_MIN of /etc/login.defs, 1000 when the file does not say), or 0.
// root, daemon, postgres and www-data are system accounts; a server started as one of them, or
// a name chosen at sign-up that maps onto one, would hand a stranger that account.
package unixuser

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"os/user"
	"strconv"
	"strings"
)

// LoginDefs is the file UID_MIN is read from.
const LoginDefs = "/etc/login.defs"

// FallbackUIDMin is the minimum uid when login.defs is missing or does not set UID_MIN (the
// shadow-utils default).
const FallbackUIDMin = 1000

// UIDMin reads UID_MIN from a login.defs file: FallbackUIDMin when the file does not exist or
// has no UID_MIN line; an error when the file cannot be read or the value is not a number.
func UIDMin(path string) (uint32, error) {
	f, err := os.Open(path)
	if errors.Is(err, os.ErrNotExist) {
		return FallbackUIDMin, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read UID_MIN: %w", err)
	}
	defer f.Close()
	v, err := parseUIDMin(f)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	return v, nil
}

// parseUIDMin finds the UID_MIN setting: a line "UID_MIN <number>" (blanks around and between
// the two words; '#' starts a comment line). The last one wins, as shadow-utils reads it. Only
// plain decimal is accepted: shadow-utils would read "0x3e8" as hex and "01750" as octal, so
// such a value is an error rather than a guess.
func parseUIDMin(r io.Reader) (uint32, error) {
	v := uint32(FallbackUIDMin)
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 1<<20)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 2 || f[0] != "UID_MIN" {
			continue
		}
		n, err := strconv.ParseUint(f[1], 10, 32)
		if err != nil || len(f[1]) > 1 && f[1][0] == '0' {
			return 0, fmt.Errorf("UID_MIN %q is not a decimal uid", f[1])
		}
		v = uint32(n)
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return v, nil
}

// DefaultUIDMin is UID_MIN of /etc/login.defs, FallbackUIDMin when it cannot be read (the
// error says why; callers log it).
func DefaultUIDMin() (uint32, error) {
	v, err := UIDMin(LoginDefs)
	if err != nil {
		return FallbackUIDMin, err
	}
	return v, nil
}

// UID looks a user up (NSS with cgo, /etc/passwd without) and returns its uid; found is false
// for a name that is no UNIX user.
func UID(name string) (uid uint32, found bool, err error) {
	u, err := user.Lookup(name)
	if err != nil {
		var unknown user.UnknownUserError
		if errors.As(err, &unknown) {
			return 0, false, nil
		}
		return 0, false, fmt.Errorf("look up system user %q: %w", name, err)
	}
	n, err := strconv.ParseUint(u.Uid, 10, 32)
	if err != nil {
		return 0, false, fmt.Errorf("system user %q: uid %q: %w", name, u.Uid, err)
	}
	return uint32(n), true, nil
}

// IsSystem reports whether uid belongs to a system account for the minimum min: 0 always,
// and every uid below min.
func IsSystem(uid, min uint32) bool { return uid == 0 || uid < min }

// SystemAccount reports whether name is a UNIX user whose uid is a system one for min.
func SystemAccount(name string, min uint32) (bool, error) {
	uid, found, err := UID(name)
	if err != nil || !found {
		return false, err
	}
	return IsSystem(uid, min), nil
}
