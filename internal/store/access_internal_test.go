package store

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestAccountLinkStoredHashed: the table holds the secret's digest, never the secret.
func TestAccountLinkStoredHashed(t *testing.T) {
	ctx := context.Background()
	db, err := Open(ctx, "sqlite:///"+filepath.Join(t.TempDir(), "h.sqlite"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	secret := "plain-secret-0123456789"
	if _, err := db.CreateAccountLink(ctx, NewAccountLink{Plain: secret, Kind: LinkReset, Username: "alice",
		ExpiresAt: time.Now().Add(time.Hour)}); err != nil {
		t.Fatal(err)
	}
	var hashed string
	if err := db.sql.QueryRowContext(ctx, `SELECT hashed FROM account_links`).Scan(&hashed); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(hashed, secret) || hashed != linkDigest(secret) || len(hashed) != 64 {
		t.Errorf("stored %q for the secret", hashed)
	}
}
