package native

import (
	"context"
	"errors"
	"fmt"

	"gohub/internal/auth"
	"gohub/internal/authstate"
	"gohub/internal/store"
)

// TOTP secrets are sealed at rest (authstate.Sealer: JUPYTERHUB_CRYPT_KEY, else a key derived
// from the cookie secret): a copy of the database does not hand out anyone's second factor.
// Secrets an older gohub stored in clear are sealed when the hub starts (UseDatabase) and, should
// one be left, when it is next read.

// sealerBox lets the hub's sealer sit behind an atomic pointer.
type sealerBox struct{ s auth.SecretSealer }

// UseSealer keeps the hub's secret sealer (auth.SecretKeeper).
func (a *Authenticator) UseSealer(s auth.SecretSealer) { a.sealer.Store(&sealerBox{s}) }

// secretSealer returns the sealer or an error when the hub gave none: a secret is never
// stored in clear.
func (a *Authenticator) secretSealer() (auth.SecretSealer, error) {
	b := a.sealer.Load()
	if b == nil || b.s == nil {
		return nil, errors.New("native: 2FA secrets need a lasting key to be encrypted with: set JUPYTERHUB_CRYPT_KEY, or keep the cookie secret (JupyterHub.cookie_secret_file, cookie_secret or JPY_COOKIE_SECRET)")
	}
	return b.s, nil
}

// sealOTP seals a new TOTP secret for storage.
func (a *Authenticator) sealOTP(ctx context.Context, secret string) (string, error) {
	s, err := a.secretSealer()
	if err != nil {
		return "", err
	}
	return s.Seal(ctx, secret)
}

// openOTP returns the TOTP secret of u, sealing a secret still stored in clear.
func (a *Authenticator) openOTP(ctx context.Context, db *store.DB, u *store.NativeUser) (string, error) {
	s, err := a.secretSealer()
	if err != nil {
		return "", err
	}
	if !authstate.IsSealed(u.OTPSecret) {
		if err := a.sealStored(ctx, db, s, u.Username, u.OTPSecret); err != nil {
			a.log.Error("native: sealing a 2FA secret stored in clear", "user", u.Username, "err", err)
		}
		return u.OTPSecret, nil
	}
	secret, err := s.Open(ctx, u.OTPSecret)
	if err != nil {
		return "", fmt.Errorf("2FA secret of %s: %w (were JUPYTERHUB_CRYPT_KEY and the cookie secret both replaced?)", u.Username, err)
	}
	return secret, nil
}

// sealStored replaces a clear secret in the database by its sealed form.
func (a *Authenticator) sealStored(ctx context.Context, db *store.DB, s auth.SecretSealer, name, clear string) error {
	sealed, err := s.Seal(ctx, clear)
	if err != nil {
		return err
	}
	_, err = db.ReplaceNativeOTPSecret(ctx, name, clear, sealed)
	return err
}

// sealClearSecrets seals every TOTP secret stored in clear (startup), and warns about sealed
// ones no key opens. Without a sealer (no lasting key) it refuses a hub that has or may get
// 2FA secrets (those users cannot pass 2FA until the key comes back). Nothing is lost: a
// secret is only replaced by its sealed form.
func (a *Authenticator) sealClearSecrets(ctx context.Context, db *store.DB) error {
	secrets, err := db.NativeOTPSecrets(ctx)
	if err != nil {
		return err
	}
	if len(secrets) == 0 && !a.cfg.Allow2FA {
		return nil
	}
	s, err := a.secretSealer()
	if err != nil {
		return err
	}
	sealed, unreadable := 0, 0
	for name, v := range secrets {
		if authstate.IsSealed(v) {
			if _, err := s.Open(ctx, v); err != nil {
				unreadable++
			}
			continue
		}
		if err := a.sealStored(ctx, db, s, name, v); err != nil {
			return fmt.Errorf("native: seal the 2FA secret of %s: %w", name, err)
		}
		sealed++
	}
	if sealed > 0 {
		if err := db.Checkpoint(ctx); err != nil {
			a.log.Warn("native: the write-ahead log may still hold 2FA secrets in clear until SQLite's next checkpoint", "err", err)
		}
		a.log.Warn("native: 2FA secrets stored in clear by an older version are now encrypted", "count", sealed)
	}
	if unreadable > 0 {
		a.log.Error("native: 2FA secrets that no key opens; those users cannot log in with 2FA until JUPYTERHUB_CRYPT_KEY or the cookie secret they were sealed with is back",
			"count", unreadable)
	}
	return nil
}
