//go:build !cgo

package pam_test

import (
	"strings"
	"testing"

	"gohub/internal/auth/pam"
)

func TestStubRefusesToStart(t *testing.T) {
	_, err := pam.New(pam.DefaultConfig(), nil)
	if err == nil || !strings.Contains(err.Error(), "PAM support not compiled in") {
		t.Errorf("New without cgo = %v", err)
	}
}
