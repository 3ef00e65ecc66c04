package api

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
)

// refusingPolicy is a username policy whose authenticator refuses to prepare some users, as
// LocalAuthenticator does when it cannot create the system user.
type refusingPolicy struct {
	UsernamePolicy
	mu      sync.Mutex
	added   []string
	deleted []string
}

func (p *refusingPolicy) AddUser(_ context.Context, name string) error {
	if strings.HasPrefix(name, "refuse") {
		return errors.New("useradd failed")
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.added = append(p.added, name)
	return nil
}

func (p *refusingPolicy) DeleteUser(_ context.Context, name string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.deleted = append(p.deleted, name)
	return nil
}

// TestAuthenticatorPreparesAPIUsers: users created through the API are first prepared by the
// authenticator; a refusal is 400 and creates nobody; deleting tells the authenticator.
func TestAuthenticatorPreparesAPIUsers(t *testing.T) {
	pol := &refusingPolicy{}
	h := newTestHubWith(t, hubOptions{deps: func(d *Deps) { pol.UsernamePolicy = d.Users; d.Users = pol }})

	before := h.snapshot()
	if r := h.do(callAdmin, "POST", "/hub/api/users", map[string]any{"usernames": []string{"dora", "refuse-me"}}); r.status != http.StatusBadRequest {
		t.Fatalf("bulk create with a refused name: %d %s", r.status, r.body)
	}
	if r := h.do(callAdmin, "POST", "/hub/api/users/refuse-too", nil); r.status != http.StatusBadRequest || !strings.Contains(string(r.body), "Failed to create user") {
		t.Fatalf("single create refused: %d %s", r.status, r.body)
	}
	if after := h.snapshot(); after != before {
		t.Errorf("a refused create changed the database")
	}
	if r := h.do(callAdmin, "POST", "/hub/api/users/erin", nil); r.status != http.StatusCreated {
		t.Fatalf("create erin: %d %s", r.status, r.body)
	}
	if r := h.do(callAdmin, "DELETE", "/hub/api/users/erin", nil); r.status != http.StatusNoContent {
		t.Fatalf("delete erin: %d %s", r.status, r.body)
	}
	pol.mu.Lock()
	defer pol.mu.Unlock()
	if !contains(pol.added, "erin") || !contains(pol.deleted, "erin") {
		t.Errorf("authenticator saw added=%v deleted=%v, want erin in both", pol.added, pol.deleted)
	}
}
