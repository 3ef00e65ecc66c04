package config

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// CookieSecretEnv is the environment variable JupyterHub reads the cookie secret from.
const CookieSecretEnv = "JPY_COOKIE_SECRET"

// minSecretBytes is the shortest cookie secret accepted (upstream generates 32 bytes).
const minSecretBytes = 32

// CookieSecret returns the secret that signs login cookies, looked up as JupyterHub does: the
// cookie_secret trait (hex), else the JPY_COOKIE_SECRET environment variable (hex), else the
// file secretFile (hex text), which is created with 32 random bytes and mode 0600 when it does
// not exist. env is os.Getenv in production. A leading "~/" in secretFile is the home directory.
// With no secret configured and an empty secretFile, a random secret is made and not stored,
// so logins do not survive a restart.
//
// Differences from upstream, deliberate: every source must give at least 32 bytes, and the file
// is refused when its group or others have any access (upstream refuses only access by others).
// Errors never contain the secret.
func CookieSecret(cfgSecret, secretFile string, env func(string) string) ([]byte, error) {
	if cfgSecret != "" {
		b, err := decodeSecret(cfgSecret)
		if err != nil {
			return nil, fmt.Errorf("JupyterHub.cookie_secret: %w", err)
		}
		return b, nil
	}
	if env != nil {
		if v := env(CookieSecretEnv); v != "" {
			b, err := decodeSecret(v)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", CookieSecretEnv, err)
			}
			return b, nil
		}
	}
	if secretFile == "" {
		b := make([]byte, minSecretBytes)
		rand.Read(b)
		return b, nil
	}
	path, err := expandHome(secretFile)
	if err != nil {
		return nil, err
	}
	b, err := readSecretFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return createSecretFile(path)
	}
	return b, err
}

// readSecretFile reads an existing cookie secret file, refusing one others may read.
func readSecretFile(path string) ([]byte, error) {
	st, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !st.Mode().IsRegular() {
		return nil, fmt.Errorf("cookie secret file %s is not a regular file", path)
	}
	if perm := st.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("cookie secret file %s is accessible to group or others (mode %04o); refusing to use it: run chmod 600 %s", path, perm, path)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read cookie secret file: %w", err)
	}
	b, err := decodeSecret(string(data))
	if err != nil {
		return nil, fmt.Errorf("cookie secret file %s: %w", path, err)
	}
	return b, nil
}

// createSecretFile writes a new random secret, hex-encoded, to a new file with mode 0600.
func createSecretFile(path string) ([]byte, error) {
	b := make([]byte, minSecretBytes)
	rand.Read(b)
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrExist) {
			// Another process created it in the meantime: use theirs.
			return readSecretFile(path)
		}
		return nil, fmt.Errorf("create cookie secret file: %w", err)
	}
	if _, err := f.WriteString(hex.EncodeToString(b) + "\n"); err != nil {
		f.Close()
		os.Remove(path)
		return nil, fmt.Errorf("write cookie secret file %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return nil, fmt.Errorf("write cookie secret file %s: %w", path, err)
	}
	return b, nil
}

// expandHome replaces a leading "~/" by the home directory, as upstream's expanduser does.
func expandHome(p string) (string, error) {
	if p != "~" && !strings.HasPrefix(p, "~/") {
		return p, nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("cookie secret file %s: %w", p, err)
	}
	return filepath.Join(home, strings.TrimPrefix(p, "~")), nil
}
