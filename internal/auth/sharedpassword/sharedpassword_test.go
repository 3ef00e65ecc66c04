package sharedpassword_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"go.yaml.in/yaml/v3"

	"gohub/internal/auth"
	"gohub/internal/auth/sharedpassword"
)

const (
	userPW  = "correct-horse"                           // 13 characters
	adminPW = "correct-horse-battery-staple-admin-0123" // 39 characters
	groupPW = "group-password-1"
)

func TestNewRefusesBadConfig(t *testing.T) {
	tests := []struct {
		name string
		cfg  func(*sharedpassword.Config)
		want string // part of the error; "" means accepted
	}{
		{name: "nothing set", cfg: func(*sharedpassword.Config) {}},
		{name: "user password only", cfg: func(c *sharedpassword.Config) { c.UserPassword = userPW }},
		{name: "both", cfg: func(c *sharedpassword.Config) { c.UserPassword, c.AdminPassword = userPW, adminPW }},
		{name: "admin password only", cfg: func(c *sharedpassword.Config) { c.AdminPassword = adminPW }},
		{name: "user password of 8", cfg: func(c *sharedpassword.Config) { c.UserPassword = "12345678" }},
		{name: "user password of 7", cfg: func(c *sharedpassword.Config) { c.UserPassword = "1234567" }, want: "at least 8"},
		{name: "user password of 7 characters in 14 bytes", cfg: func(c *sharedpassword.Config) { c.UserPassword = "ééééééé" }, want: "at least 8"},
		{name: "admin password of 31", cfg: func(c *sharedpassword.Config) { c.AdminPassword = strings.Repeat("a", 31) }, want: "at least 32"},
		{name: "same passwords", cfg: func(c *sharedpassword.Config) { c.UserPassword, c.AdminPassword = adminPW, adminPW }, want: "cannot be the same"},
		{name: "groups without manage_groups", cfg: func(c *sharedpassword.Config) {
			c.PasswordGroups = map[string][]string{groupPW: {"g"}}
		}, want: "manage_groups"},
		{name: "groups with manage_groups", cfg: func(c *sharedpassword.Config) {
			c.ManageGroups = true
			c.PasswordGroups = map[string][]string{groupPW: {"g"}}
		}},
		{name: "group password is the admin password", cfg: func(c *sharedpassword.Config) {
			c.ManageGroups, c.UserPassword, c.AdminPassword = true, userPW, adminPW
			c.PasswordGroups = map[string][]string{adminPW: {"g"}}
		}, want: "admin_password"},
		{name: "group password is the user password", cfg: func(c *sharedpassword.Config) {
			c.ManageGroups, c.UserPassword = true, userPW
			c.PasswordGroups = map[string][]string{userPW: {"g"}}
		}, want: "user_password"},
		{name: "empty group password", cfg: func(c *sharedpassword.Config) {
			c.ManageGroups = true
			c.PasswordGroups = map[string][]string{"": {"g"}}
		}, want: "empty"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := sharedpassword.DefaultConfig()
			tt.cfg(cfg)
			_, err := sharedpassword.New(cfg)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("New = %v, want an error about %q", err, tt.want)
			}
			for _, secret := range []string{userPW, adminPW, groupPW} {
				if strings.Contains(err.Error(), secret) {
					t.Errorf("the error repeats a password: %v", err)
				}
			}
		})
	}
}

func TestAuthenticate(t *testing.T) {
	cfg := sharedpassword.DefaultConfig()
	cfg.UserPassword, cfg.AdminPassword = userPW, adminPW
	cfg.ManageGroups = true
	cfg.PasswordGroups = map[string][]string{groupPW: {"physics", "staff"}}
	a, err := sharedpassword.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		c    auth.Credentials
		want *auth.Identity // nil: refused
	}{
		{name: "user with user password", c: auth.Credentials{Username: "alice", Password: userPW},
			want: &auth.Identity{Name: "alice", Admin: auth.Bool(false), Groups: []string{}}},
		{name: "user with wrong password", c: auth.Credentials{Username: "alice", Password: userPW + "x"}},
		{name: "user with empty password", c: auth.Credentials{Username: "alice"}},
		{name: "user with admin password", c: auth.Credentials{Username: "alice", Password: adminPW}},
		{name: "user with group password", c: auth.Credentials{Username: "alice", Password: groupPW},
			want: &auth.Identity{Name: "alice", Groups: []string{"physics", "staff"}}},
		{name: "admin with admin password", c: auth.Credentials{Username: "root", Password: adminPW, InAdminUsers: true},
			want: &auth.Identity{Name: "root", Admin: auth.Bool(true), Groups: []string{}}},
		{name: "admin with user password", c: auth.Credentials{Username: "root", Password: userPW, InAdminUsers: true}},
		{name: "admin with group password", c: auth.Credentials{Username: "root", Password: groupPW, InAdminUsers: true}},
		{name: "no username", c: auth.Credentials{Password: userPW}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := a.Authenticate(t.Context(), tt.c)
			if tt.want == nil {
				if !errors.Is(err, auth.ErrRejected) || id != nil {
					t.Fatalf("Authenticate = %+v, %v; want ErrRejected", id, err)
				}
				if strings.Contains(err.Error(), tt.c.Password) && tt.c.Password != "" {
					t.Errorf("the error repeats the password: %v", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, id); diff != "" {
				t.Errorf("identity (-want +got):\n%s", diff)
			}
		})
	}
}

// TestAdminNameNormalised is upstream's bug (README, Authenticators) not copied: typing an admin
// name with capitals and the user password must not log into the admin account.
func TestAdminNameNormalised(t *testing.T) {
	cfg := sharedpassword.DefaultConfig()
	if err := yaml.Unmarshal([]byte(`
user_password: `+userPW+`
admin_password: `+adminPW+`
admin_users: [Admin]
allow_all: true
failed_logins_before_lockout: 0 # several refusals in a row; throttling is tested in package auth
`), cfg); err != nil {
		t.Fatal(err)
	}
	a, err := sharedpassword.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	p, err := auth.NewPipeline(cfg.Config, a, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, typed := range []string{"Admin", "ADMIN", "admin", " admin "} {
		if id, err := p.Login(t.Context(), auth.Credentials{Username: typed, Password: userPW}); err != auth.ErrRejected {
			t.Errorf("Login(%q, user password) = %+v, %v; want ErrRejected", typed, id, err)
		}
	}
	id, err := p.Login(t.Context(), auth.Credentials{Username: "ADMIN", Password: adminPW})
	if err != nil || id.Name != "admin" || id.Admin == nil || !*id.Admin {
		t.Fatalf("Login(ADMIN, admin password) = %+v, %v; want admin as admin", id, err)
	}
	id, err = p.Login(t.Context(), auth.Credentials{Username: "Bob", Password: userPW})
	if err != nil || id.Name != "bob" || id.Admin == nil || *id.Admin {
		t.Fatalf("Login(Bob, user password) = %+v, %v; want bob, not admin", id, err)
	}
}

func TestWarnings(t *testing.T) {
	tests := []struct {
		name        string
		user, admin string
		admins      []string
		want        []string
	}{
		{name: "fine", user: userPW, admin: adminPW, admins: []string{"root"}},
		{name: "nothing set", want: []string{"nobody can log in"}},
		{name: "admin password, no admins", user: userPW, admin: adminPW, want: []string{"admin_users is not"}},
		{name: "admins, no admin password", user: userPW, admins: []string{"root"}, want: []string{"admin_password is not"}},
		{name: "no user password", admin: adminPW, admins: []string{"root"}, want: []string{"no non-admin user"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := sharedpassword.DefaultConfig()
			cfg.UserPassword, cfg.AdminPassword, cfg.AdminUsers = tt.user, tt.admin, tt.admins
			a, err := sharedpassword.New(cfg)
			if err != nil {
				t.Fatal(err)
			}
			got := a.ConfigWarnings(cfg.Config)
			if len(got) != len(tt.want) {
				t.Fatalf("warnings = %q, want %d", got, len(tt.want))
			}
			for i, w := range tt.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("warning %q lacks %q", got[i], w)
				}
			}
		})
	}
}
