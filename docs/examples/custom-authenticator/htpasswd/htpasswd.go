// Package htpasswd is an example of a gohub authenticator written in Go: it checks passwords
// against an Apache-style htpasswd file of bcrypt hashes (`htpasswd -B`). It is not registered
// in the hub; docs/examples/custom-authenticator/README.md shows the one line that would do it.
//
// An authenticator package has three parts: a Config that embeds auth.Config inline (so the
// common Authenticator traits work), DefaultConfig, and New, which checks the config and
// returns a value with an Authenticate method. Policy (allowed, blocked and admin users,
// username normalisation) is the pipeline's job, not the authenticator's.
package htpasswd

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"strings"

	"golang.org/x/crypto/bcrypt"

	"gohub/internal/auth"
)

// Config is the HtpasswdAuthenticator section of the config file.
type Config struct {
	auth.Config `yaml:",inline"`
	// Path is the htpasswd file, read at startup.
	Path string `yaml:"path" help:"htpasswd file with bcrypt hashes (htpasswd -B); read at startup."`
}

// DefaultConfig returns the defaults: the common ones plus no file.
func DefaultConfig() *Config { return &Config{Config: auth.DefaultConfig()} }

// Authenticator holds the hashes by user name.
type Authenticator struct {
	hashes map[string][]byte
}

// New reads the file. An empty path is accepted so the registry's defaults check passes;
// nobody can log in then, and ConfigWarnings says so.
func New(cfg *Config) (*Authenticator, error) {
	a := &Authenticator{hashes: map[string][]byte{}}
	if cfg.Path == "" {
		return a, nil
	}
	data, err := os.ReadFile(cfg.Path)
	if err != nil {
		return nil, fmt.Errorf("htpasswd: %w", err)
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, hash, ok := strings.Cut(line, ":")
		if !ok || !strings.HasPrefix(hash, "$2") {
			return nil, fmt.Errorf("htpasswd %s:%d: want name:bcrypt-hash", cfg.Path, n)
		}
		a.hashes[strings.ToLower(name)] = []byte(hash)
	}
	return a, sc.Err()
}

// Authenticate checks the password of the (already normalised) name. A refusal wraps
// auth.ErrRejected; the pipeline logs the reason and shows the generic message.
func (a *Authenticator) Authenticate(_ context.Context, c auth.Credentials) (*auth.Identity, error) {
	hash, ok := a.hashes[c.Username]
	if !ok {
		// Spend the same time as for a known name, so timing does not reveal which exist.
		hash = dummyHash
	}
	if err := bcrypt.CompareHashAndPassword(hash, []byte(c.Password)); err != nil || !ok {
		return nil, fmt.Errorf("%w: unknown user or wrong password", auth.ErrRejected)
	}
	return &auth.Identity{Name: c.Username}, nil
}

// ConfigWarnings is an optional capability (auth.ConfigWarner), found by type assertion like
// every extra an authenticator may have (auth.AllowChecker, auth.UserAdder, auth.PageProvider…).
func (a *Authenticator) ConfigWarnings(auth.Config) []string {
	if len(a.hashes) == 0 {
		return []string{"HtpasswdAuthenticator: no users (set path): nobody can log in"}
	}
	return nil
}

var dummyHash = func() []byte {
	h, err := bcrypt.GenerateFromPassword([]byte("not a password"), bcrypt.DefaultCost)
	if err != nil {
		panic(errors.New("bcrypt: " + err.Error()))
	}
	return h
}()
