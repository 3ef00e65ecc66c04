package auth

import (
	"fmt"
	"log/slog"
	"sync"

	"gohub/internal/unixuser"
)

// SelfNamed is an authenticator where people choose their own user name, so nothing ties the
// name to a person: FirstUse (the first password claims a name), Native (sign-up), Dummy and
// SharedPassword (any name goes). SelfNamed returns true for them. The pipeline refuses names
// of system accounts (root, daemon, postgres: a UNIX user with uid 0 or a uid below UID_MIN of
// /etc/login.defs) at their logins, Native at sign-up, and multi for such a source's final
// (prefixed) name, so a stranger never holds a hub account that LocalProcessSpawner would run
// as that system user. PAM and other authenticators that check who a person is do not need it
// (the spawner's min_uid still refuses to run a server as a system account).
type SelfNamed interface {
	SelfNamed() bool
}

// IsSelfNamed reports whether a lets people choose their own name (SelfNamed).
func IsSelfNamed(a Authenticator) bool {
	s, ok := a.(SelfNamed)
	return ok && s.SelfNamed()
}

// systemUIDMin is UID_MIN of /etc/login.defs (the fallback 1000 when it cannot be read), read
// once: NewPipeline reads it at startup.
var systemUIDMin = sync.OnceValues(unixuser.DefaultUIDMin)

// readSystemUIDMin reads UID_MIN now and logs an unreadable file.
func readSystemUIDMin(log *slog.Logger) {
	if v, err := systemUIDMin(); err != nil {
		log.Warn("cannot read UID_MIN; system accounts are the uids below the fallback", "err", err, "uid_min", v)
	}
}

// RefuseSystemAccount returns a *Rejection when name is a system account (see SelfNamed), nil
// when it is not, and another error when the account database could not be read.
func RefuseSystemAccount(name string) error {
	min, _ := systemUIDMin()
	sys, err := unixuser.SystemAccount(name, min)
	if err != nil {
		return err
	}
	if sys {
		return Reject(fmt.Sprintf("The name %s belongs to a system account of this machine and cannot be used to sign in here. Please choose another name.", name))
	}
	return nil
}
