package local

import (
	"context"
	"errors"
	"fmt"
	"os/user"
	"slices"

	"gohub/internal/auth"
)

// InGroups reports whether the system user name belongs to any of groups, primary group
// included (getgrouplist with cgo). A group that does not exist is logged and skipped, as
// upstream does; a missing user is not in any group.
func (a *Accounts) InGroups(name string, groups []string) (bool, error) {
	if len(groups) == 0 {
		return false, nil
	}
	u, err := a.lookup(name)
	if err != nil {
		var unknown user.UnknownUserError
		if errors.As(err, &unknown) {
			return false, nil
		}
		return false, fmt.Errorf("look up system user %q: %w", name, err)
	}
	ids, err := u.GroupIds()
	if err != nil {
		return false, fmt.Errorf("groups of system user %q: %w", name, err)
	}
	for _, g := range groups {
		grp, err := user.LookupGroup(g)
		if err != nil {
			var unknown user.UnknownGroupError
			if errors.As(err, &unknown) {
				a.log.Warn("allowed/admin group does not exist on the system; skipped", "group", g)
				continue
			}
			return false, fmt.Errorf("look up group %q: %w", g, err)
		}
		if slices.Contains(ids, grp.Gid) {
			return true, nil
		}
	}
	return false, nil
}

// CheckAllowed is the allowed_groups rule (auth.AllowChecker): members of any of them may log
// in, in addition to the base rules. A lookup error is logged and counts as "not allowed by
// this rule" rather than failing the login (upstream answers 500).
func (a *Accounts) CheckAllowed(_ context.Context, name string, _ *auth.Identity) (bool, error) {
	ok, err := a.InGroups(name, a.allowedGroups)
	if err != nil {
		a.log.Warn("allowed_groups check failed", "user", name, "err", err)
		return false, nil
	}
	return ok, nil
}

// HasAllowedGroups reports whether allowed_groups is set, for startup warnings.
func (a *Accounts) HasAllowedGroups() bool { return len(a.allowedGroups) > 0 }
