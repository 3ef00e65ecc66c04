package auth

import (
	"slices"
	"sync"
)

// nameLists is the part of the policy a config reload may change: the three name lists
// (normalised) and the two allow flags. A Pipeline holds one behind an atomic pointer.
type nameLists struct {
	admins, allowed, blocked map[string]bool
	allowAll, allowExisting  bool
	raw                      Config // the lists as configured, for Config()
}

// newLists normalises and validates the lists of a resolved cfg (AllowAll and
// AllowExistingUsers set).
func (u *usernames) newLists(cfg Config) (*nameLists, error) {
	l := &nameLists{allowAll: boolOr(cfg.AllowAll, false), allowExisting: boolOr(cfg.AllowExistingUsers, false)}
	var err error
	if l.admins, err = u.list("admin_users", cfg.AdminUsers); err != nil {
		return nil, err
	}
	if l.allowed, err = u.list("allowed_users", cfg.AllowedUsers); err != nil {
		return nil, err
	}
	if l.blocked, err = u.list("blocked_users", cfg.BlockedUsers); err != nil {
		return nil, err
	}
	l.raw.AdminUsers = slices.Clone(cfg.AdminUsers)
	l.raw.AllowedUsers = slices.Clone(cfg.AllowedUsers)
	l.raw.BlockedUsers = slices.Clone(cfg.BlockedUsers)
	return l, nil
}

// nameSet is a set of names that changes while the hub runs: the users blocked by an admin
// through the REST API, the accounts created through an invitation. Every login reads it.
type nameSet struct {
	mu sync.RWMutex
	m  map[string]bool
}

func (b *nameSet) has(name string) bool {
	b.mu.RLock()
	defer b.mu.RUnlock()
	return b.m[name]
}

func (b *nameSet) set(names []string) {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	b.mu.Lock()
	b.m = m
	b.mu.Unlock()
}

func (b *nameSet) add(name string) {
	b.mu.Lock()
	if b.m == nil {
		b.m = map[string]bool{}
	}
	b.m[name] = true
	b.mu.Unlock()
}

func (b *nameSet) remove(name string) {
	b.mu.Lock()
	delete(b.m, name)
	b.mu.Unlock()
}

// blockedBy says why name is blocked ("" when it is not), for the login log.
func (p *Pipeline) blockedBy(l *nameLists, name string) string {
	switch {
	case l.blocked[name]:
		return "user is in blocked_users"
	case p.blocks.has(name):
		return "user is blocked by an admin"
	}
	return ""
}

// SetBlocked replaces the set of users blocked at run time (the hub loads it from the database
// at startup). Names must be normalised hub names.
func (p *Pipeline) SetBlocked(names []string) { p.blocks.set(names) }

// Block adds a normalised name to the users blocked at run time: logins of that name are
// refused as for blocked_users. The hub persists the block and revokes the user's access.
func (p *Pipeline) Block(name string) { p.blocks.add(name) }

// Unblock removes a normalised name from the users blocked at run time (blocked_users still
// applies).
func (p *Pipeline) Unblock(name string) { p.blocks.remove(name) }

// SetInvited replaces the set of accounts created through an invitation (the hub loads it
// from the database at startup). An invited name is allowed like one in allowed_users.
func (p *Pipeline) SetInvited(names []string) { p.invited.set(names) }

// Invite allows a normalised name as an invited account (see SetInvited).
func (p *Pipeline) Invite(name string) { p.invited.add(name) }

// ListChanges is what a ReloadLists changed, as normalised names, each list sorted.
type ListChanges struct {
	// Blocked are names newly in blocked_users; Unblocked names no longer in it.
	Blocked, Unblocked []string
	// AdminsAdded and AdminsRemoved are the changes to admin_users.
	AdminsAdded, AdminsRemoved []string
	// AllowedAdded and AllowedRemoved are the changes to allowed_users.
	AllowedAdded, AllowedRemoved []string
	// AllowAllChanged and AllowExistingChanged report a change of either flag.
	AllowAllChanged, AllowExistingChanged bool
}

// Empty reports whether nothing changed.
func (c ListChanges) Empty() bool {
	return len(c.Blocked)+len(c.Unblocked)+len(c.AdminsAdded)+len(c.AdminsRemoved)+
		len(c.AllowedAdded)+len(c.AllowedRemoved) == 0 && !c.AllowAllChanged && !c.AllowExistingChanged
}

// ReloadLists replaces admin_users, allowed_users, blocked_users, allow_all and
// allow_existing_users with those of cfg (a freshly read config; dynamic defaults are resolved
// as at startup) and reports what changed. Every other setting keeps its startup value. A bad
// list is an error and changes nothing. Logins that started before see the old lists. What the
// changes mean for users already logged in is the hub's business (it revokes them).
func (p *Pipeline) ReloadLists(cfg Config) (ListChanges, error) {
	cfg = cloneConfig(cfg)
	if r, ok := p.auth.(DefaultResolver); ok {
		r.ResolveDefaults(&cfg)
	}
	cfg.AllowAll = Bool(boolOr(cfg.AllowAll, false))
	cfg.AllowExistingUsers = Bool(boolOr(cfg.AllowExistingUsers, len(cfg.AllowedUsers) > 0))
	next, err := p.names.newLists(cfg)
	if err != nil {
		return ListChanges{}, err
	}
	old := p.lists.Swap(next)
	ch := ListChanges{
		AllowAllChanged:      old.allowAll != next.allowAll,
		AllowExistingChanged: old.allowExisting != next.allowExisting,
	}
	ch.Blocked, ch.Unblocked = diffSets(old.blocked, next.blocked)
	ch.AdminsAdded, ch.AdminsRemoved = diffSets(old.admins, next.admins)
	ch.AllowedAdded, ch.AllowedRemoved = diffSets(old.allowed, next.allowed)
	if !ch.Empty() {
		p.log.Info("authenticator lists reloaded", "blocked", ch.Blocked, "unblocked", ch.Unblocked,
			"admins_added", ch.AdminsAdded, "admins_removed", ch.AdminsRemoved,
			"allowed_added", ch.AllowedAdded, "allowed_removed", ch.AllowedRemoved,
			"allow_all", next.allowAll, "allow_existing_users", next.allowExisting)
	}
	return ch, nil
}

// diffSets returns the sorted names only in b (added) and only in a (removed).
func diffSets(a, b map[string]bool) (added, removed []string) {
	for n := range b {
		if !a[n] {
			added = append(added, n)
		}
	}
	for n := range a {
		if !b[n] {
			removed = append(removed, n)
		}
	}
	slices.Sort(added)
	slices.Sort(removed)
	return added, removed
}
