package authstate

import (
	"context"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// SealedPrefix starts every secret a Sealer sealed; what follows is a Fernet token. A value
// without it is a secret stored in clear by an older gohub.
const SealedPrefix = "fernet:"

// Sealer encrypts the secrets authenticators keep in the hub database (Native's TOTP secrets)
// with the Fernet format of auth_state. The first key seals: JUPYTERHUB_CRYPT_KEY's first key
// when it is set, else a key derived from the hub's cookie secret (HKDF-SHA256), so a secret
// is never stored in clear even on a hub without JUPYTERHUB_CRYPT_KEY. Every key of
// JUPYTERHUB_CRYPT_KEY and the derived key open, so setting JUPYTERHUB_CRYPT_KEY later keeps
// the secrets sealed before readable. Replacing both the cookie secret and the keys makes them
// unreadable. Safe for concurrent use.
type Sealer struct{ c *Crypter }

// NewSealer builds the Sealer from JUPYTERHUB_CRYPT_KEY's value (may be "") and the cookie
// secret (must not be empty).
func NewSealer(cryptKey string, cookieSecret []byte) (*Sealer, error) {
	if len(cookieSecret) == 0 {
		return nil, errors.New("secret sealer: no cookie secret to derive a key from")
	}
	derived, err := hkdf.Key(sha256.New, cookieSecret, nil, "gohub secrets at rest v1", 32)
	if err != nil {
		return nil, fmt.Errorf("secret sealer: %w", err)
	}
	keys := hex.EncodeToString(derived)
	if strings.TrimSpace(cryptKey) != "" {
		keys = cryptKey + ";" + keys
	}
	c, err := New(keys)
	if err != nil {
		return nil, err
	}
	return &Sealer{c: c}, nil
}

// IsSealed reports whether a stored value was sealed (has SealedPrefix).
func IsSealed(v string) bool { return strings.HasPrefix(v, SealedPrefix) }

// Seal encrypts a secret; the result starts with SealedPrefix.
func (s *Sealer) Seal(ctx context.Context, secret string) (string, error) {
	tok, err := s.c.Encrypt(ctx, map[string]any{"secret": secret})
	if err != nil {
		return "", err
	}
	return SealedPrefix + string(tok), nil
}

// Open decrypts a value Seal returned; ErrDecrypt when no key opens it.
func (s *Sealer) Open(ctx context.Context, sealed string) (string, error) {
	tok, ok := strings.CutPrefix(sealed, SealedPrefix)
	if !ok {
		return "", errors.New("secret sealer: the value is not sealed")
	}
	m, err := s.c.Decrypt(ctx, []byte(tok))
	if err != nil {
		return "", err
	}
	v, ok := m["secret"].(string)
	if !ok {
		return "", ErrDecrypt
	}
	return v, nil
}
