package oauth_test

import (
	"bytes"
	"log/slog"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"gohub/internal/authstate"
	"gohub/internal/config"
	"gohub/internal/hub"
)

// syncBuffer is a log sink safe for the hub's goroutines.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// With userdata_token_method: url the access token travels in the user info URL's query. When
// that request fails in transit (the connection drops), the error logged must not carry the
// URL's query, and so not the user's access token.
func TestAccessTokenNotLoggedWhenUserinfoFails(t *testing.T) {
	s := newStandIn(t, "/authorize", "/token")
	s.mux.HandleFunc("GET /userinfo", func(w http.ResponseWriter, r *http.Request) {
		conn, _, err := w.(http.Hijacker).Hijack()
		if err == nil {
			conn.Close()
		}
	})
	srv, handler := newHubServer(t)
	dir := t.TempDir()
	file, err := config.Parse("gohub_config.yaml", []byte(`
JupyterHub:
  authenticator_class: generic-oauth
  db_url: sqlite:///`+filepath.Join(dir, "hub.sqlite")+`
Authenticator:
  allow_all: true
GenericOAuthenticator:
  client_id: hub-client
  client_secret: hub-secret
  authorize_url: `+s.srv.URL+`/authorize
  token_url: `+s.srv.URL+`/token
  userdata_url: `+s.srv.URL+`/userinfo
  userdata_token_method: url
`))
	if err != nil {
		t.Fatal(err)
	}
	logs := &syncBuffer{}
	env := map[string]string{authstate.EnvKey: strings.Repeat("5a", 32), "JPY_COOKIE_SECRET": strings.Repeat("ab", 32)}
	h, err := hub.New(t.Context(), file, hub.Options{Getenv: func(k string) string { return env[k] },
		Logger: slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	handler.Store(h.Handler())

	s.as("ann")
	resp, body := get(t, browser(t), srv.URL+"/hub/oauth_login")
	if resp.StatusCode != http.StatusBadGateway {
		t.Fatalf("login with a failing user info endpoint: %d %s", resp.StatusCode, body)
	}
	s.mu.Lock()
	var issued []string
	for tok := range s.tokens {
		issued = append(issued, tok)
	}
	s.mu.Unlock()
	if len(issued) != 1 {
		t.Fatalf("tokens issued: %v", issued)
	}
	if out := logs.String(); strings.Contains(out, issued[0]) || !strings.Contains(out, "/userinfo") {
		t.Errorf("the log holds the access token %s (or not the failure):\n%s", issued[0], out)
	}
}
