package oauth_test

import (
	"log/slog"
	"os"
	"testing"
)

// TestMain quiets the example OpenID provider, which logs every request through the default
// slog logger (this test binary's only); its warnings and errors still show.
func TestMain(m *testing.M) {
	slog.SetDefault(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})))
	os.Exit(m.Run())
}
