package rbac

import "strings"

// ScopeDescription describes one raw scope for the OAuth confirmation page (§1.9).
type ScopeDescription struct {
	Scope       string `json:"scope"`
	Description string `json:"description"`
	// Filter is "" (all resources), "only you", "users in group G", or "<kind> <value>".
	Filter string `json:"filter"`
}

// DescribeRaw describes raw scopes (as requested or stored, placeholders allowed) for the user
// called username, in the given order. Unknown scopes are left out.
func (c *Catalog) DescribeRaw(raw []string, username string) []ScopeDescription {
	out := make([]ScopeDescription, 0, len(raw))
	for _, r := range raw {
		base, filter, _ := strings.Cut(r, "!")
		def, ok := c.defs[base]
		if !ok {
			continue
		}
		kind, value, hasValue := strings.Cut(filter, "=")
		text := ""
		switch {
		case filter == "":
		case kind == kindUser && (!hasValue || value == username):
			text = "only you"
		case kind == kindGroup:
			text = "users in group " + value
		case !hasValue:
			text = "your " + kind // !server / !service placeholders: the issuing client's
		default:
			text = kind + " " + value
		}
		out = append(out, ScopeDescription{Scope: base, Description: def.description, Filter: text})
	}
	return out
}
