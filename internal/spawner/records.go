package spawner

import (
	"context"
	"errors"
	"fmt"

	"gohub/internal/store"
)

// Remove deletes a stopped named server's record (DELETE with {"remove": true}, after Stop):
// the spawners row and what the manager remembers of it. ErrBadRequest for the default
// server or a server that is not stopped; ErrNotFound if there is no such server.
func (m *Manager) Remove(ctx context.Context, u User, name string) error {
	if name == "" {
		return withMsg(ErrBadRequest, "Cannot delete the default server")
	}
	row, err := m.opts.DB.GetSpawner(ctx, u.ID, name)
	if errors.Is(err, store.ErrNotFound) {
		return ErrNotFound
	}
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	k := serverKey{u.Name, name}
	if s := m.servers[k]; s != nil && (s.ready || s.pending != "") {
		return withMsg(ErrPending, "%s is not stopped", logName(u.Name, name))
	}
	if err := m.opts.DB.DeleteSpawner(ctx, row.ID); err != nil && !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("remove %s: %w", logName(u.Name, name), err)
	}
	delete(m.servers, k)
	return nil
}

// Rename gives a stopped named server a new name (6.0 PATCH): the spawners row and the
// manager's record move together. ErrBadRequest if the server is not stopped or either name is
// the default; ErrNotFound if there is no such server; store.ErrExists if the new name is
// taken. The caller validates the new name's syntax.
func (m *Manager) Rename(ctx context.Context, u User, from, to string) error {
	if from == "" || to == "" {
		return withMsg(ErrBadRequest, "the default server cannot be renamed")
	}
	row, err := m.opts.DB.GetSpawner(ctx, u.ID, from)
	if errors.Is(err, store.ErrNotFound) {
		return ErrNotFound
	}
	if err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, k := range []serverKey{{u.Name, from}, {u.Name, to}} {
		if s := m.servers[k]; s != nil && (s.ready || s.pending != "") {
			return withMsg(ErrPending, "%s is not stopped", logName(u.Name, k.name))
		}
	}
	if err := m.opts.DB.RenameSpawner(ctx, row.ID, to); err != nil {
		return fmt.Errorf("rename %s to %s: %w", logName(u.Name, from), to, err)
	}
	if s := m.servers[serverKey{u.Name, from}]; s != nil {
		delete(m.servers, serverKey{u.Name, from})
		s.name = to
		m.servers[serverKey{u.Name, to}] = s
	}
	return nil
}

// ForgetUser drops what the manager remembers of a user's stopped servers (last failures),
// after the user was deleted. ErrPending if one of them is still active: stop them first.
func (m *Manager) ForgetUser(name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, s := range m.servers {
		if k.user == name && (s.ready || s.pending != "") {
			return withMsg(ErrPending, "%s is not stopped", logName(name, k.name))
		}
	}
	for k := range m.servers {
		if k.user == name {
			delete(m.servers, k)
		}
	}
	return nil
}

// RenameUser moves what the manager remembers of a user's servers to a new name, when the
// user is renamed. ErrPending if one of the user's servers is active: its URL, token and
// OAuth client carry the old name, so it must be stopped first.
func (m *Manager) RenameUser(from, to string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, s := range m.servers {
		if k.user == from && (s.ready || s.pending != "") {
			return withMsg(ErrPending, "%s is not stopped", logName(from, k.name))
		}
	}
	for k, s := range m.servers {
		if k.user == from {
			delete(m.servers, k)
			s.user.Name = to
			m.servers[serverKey{to, k.name}] = s
		}
	}
	return nil
}
