package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
)

// shownErr is a refusal with a message meant for the user, like auth.Rejection.
type shownErr struct{ msg string }

func (e *shownErr) Error() string       { return "refused: " + e.msg }
func (e *shownErr) UserMessage() string { return e.msg }

// messageAuth refuses every login; "short" gets a message for the form.
type messageAuth struct{}

func (messageAuth) Login(_ context.Context, _ *http.Request, username, _ string, _ url.Values) (string, *bool, error) {
	if username == "short" {
		return "", nil, fmt.Errorf("wrapped: %w", &shownErr{"Password too short! Please choose a password at least 7 characters long."})
	}
	return "", nil, errRefused
}
func (messageAuth) LoginForm() bool { return true }
func (messageAuth) AutoLogin() bool { return false }

func TestLoginShowsAuthenticatorMessage(t *testing.T) {
	b := newEnv(t, messageAuth{}).browser()
	r := b.login("", "short", "x")
	if r.StatusCode != 403 || !strings.Contains(r.body, "at least 7 characters") {
		t.Errorf("refusal with a message: %d, body lacks it:\n%s", r.StatusCode, r.body)
	}
	r = b.login("", "other", "x")
	if r.StatusCode != 403 || !strings.Contains(r.body, msgInvalidLogin) || strings.Contains(r.body, "too short") {
		t.Errorf("plain refusal: %d %s", r.StatusCode, r.body)
	}
}
