//go:build !cgo

package pam

import (
	"errors"
	"log/slog"
)

// errNoPAM is what every PAM call fails with in a CGO_ENABLED=0 build.
var errNoPAM = errors.New("PAM support not compiled in (CGO_ENABLED=0); rebuild with cgo and libpam0g-dev, or choose another authenticator_class")

func available() error { return errNoPAM }

func authenticate(string, string, []string, bool, *slog.Logger) (string, error) {
	return "", errNoPAM
}

func session(string, string, bool) error { return errNoPAM }
