//go:build cgo

package pam

import (
	"errors"
	"fmt"
	"log/slog"

	"github.com/msteinert/pam/v2"

	"gohub/internal/auth"
)

// available reports whether PAM can be used: always, in a cgo build.
func available() error { return nil }

// authenticate runs the auth stack (and the account stack when checkAccount) for user, answering
// hidden prompts with secrets in order, and returns the user name PAM ends with. Refusals wrap
// auth.ErrRejected; other errors (a broken service file) do not.
func authenticate(service, user string, secrets []string, checkAccount bool, log *slog.Logger) (string, error) {
	next := 0
	t, err := pam.StartFunc(service, user, func(s pam.Style, msg string) (string, error) {
		switch s {
		case pam.PromptEchoOff:
			if next >= len(secrets) {
				return "", errors.New("no more answers")
			}
			next++
			return secrets[next-1], nil
		case pam.PromptEchoOn:
			return user, nil
		case pam.ErrorMsg, pam.TextInfo:
			log.Debug("PAM message", "user", user, "msg", msg)
			return "", nil
		}
		return "", fmt.Errorf("unsupported PAM conversation style %d", s)
	})
	if err != nil {
		return "", fmt.Errorf("start PAM service %q: %w", service, err)
	}
	defer t.End()
	if err := t.Authenticate(0); err != nil {
		return "", refusal("authentication", err)
	}
	if checkAccount {
		if err := t.AcctMgmt(0); err != nil {
			return "", refusal("account check", err)
		}
	}
	// The stack may have rewritten the name (gitea does the same).
	name, err := t.GetItem(pam.User)
	if err != nil || name == "" {
		return user, nil
	}
	return name, nil
}

// refusal turns a PAM result into a refusal, except for errors that mean PAM itself is broken.
func refusal(step string, err error) error {
	var pe pam.Error
	if errors.As(err, &pe) {
		switch pe {
		case pam.ErrOpen, pam.ErrSymbol, pam.ErrService, pam.ErrSystem, pam.ErrBuf, pam.ErrAbort, pam.ErrModuleUnknown:
			return fmt.Errorf("PAM %s: %w", step, err)
		}
	}
	return fmt.Errorf("%w: PAM %s: %v", auth.ErrRejected, step, err)
}

// session opens (or closes) a PAM session for user in its own transaction, as pamela does.
func session(service, user string, open bool) error {
	t, err := pam.StartFunc(service, user, func(pam.Style, string) (string, error) { return "", nil })
	if err != nil {
		return fmt.Errorf("start PAM service %q: %w", service, err)
	}
	defer t.End()
	if open {
		if err := t.SetCred(pam.EstablishCred); err != nil {
			return fmt.Errorf("PAM setcred: %w", err)
		}
		return t.OpenSession(0)
	}
	if err := t.CloseSession(0); err != nil {
		return err
	}
	return t.SetCred(pam.DeleteCred)
}
