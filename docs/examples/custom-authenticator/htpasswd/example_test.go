package htpasswd_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/crypto/bcrypt"

	"gohub/docs/examples/custom-authenticator/htpasswd"
	"gohub/internal/auth"
)

// Example builds the authenticator and the hub's login pipeline around it, as the registry
// does for a registered authenticator, and logs in.
func Example() {
	dir, _ := os.MkdirTemp("", "htpasswd")
	defer os.RemoveAll(dir)
	hash, _ := bcrypt.GenerateFromPassword([]byte("alice-password"), bcrypt.MinCost)
	path := filepath.Join(dir, "users.htpasswd")
	_ = os.WriteFile(path, []byte("alice:"+string(hash)+"\n"), 0o600)

	cfg := htpasswd.DefaultConfig()
	cfg.Path = path
	cfg.AllowedUsers = []string{"alice"} // a common Authenticator trait
	a, err := htpasswd.New(cfg)
	if err != nil {
		panic(err)
	}
	p, err := auth.NewPipeline(cfg.Config, a, nil, nil)
	if err != nil {
		panic(err)
	}
	ctx := context.Background()
	id, err := p.Login(ctx, auth.Credentials{Username: "Alice", Password: "alice-password"})
	fmt.Println(id.Name, err)
	_, err = p.Login(ctx, auth.Credentials{Username: "alice", Password: "guess"})
	fmt.Println(err)
	// Output:
	// alice <nil>
	// invalid username or password
}
