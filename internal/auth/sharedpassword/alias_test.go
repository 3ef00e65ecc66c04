package sharedpassword

import (
	"strings"
	"testing"
)

// TestSharedPasswordAlias: shared_password is user_password under another name, with the same
// rules, and conflicting values are refused.
func TestSharedPasswordAlias(t *testing.T) {
	cfg := DefaultConfig()
	cfg.SharedPassword = "short"
	if _, err := New(cfg); err == nil || !strings.Contains(err.Error(), "at least 8") {
		t.Errorf("short shared_password: %v", err)
	}
	cfg = DefaultConfig()
	cfg.SharedPassword = "workshop-2026"
	if _, err := New(cfg); err != nil || cfg.UserPassword != "workshop-2026" {
		t.Errorf("shared_password not taken as user_password: %v %q", err, cfg.UserPassword)
	}
	cfg = DefaultConfig()
	cfg.SharedPassword, cfg.UserPassword = "workshop-2026", "another-one-here"
	if _, err := New(cfg); err == nil {
		t.Errorf("conflicting shared_password and user_password accepted")
	}
}
