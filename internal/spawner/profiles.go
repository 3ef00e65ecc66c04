package spawner

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// Profile is one entry of Spawner.profile_list: a named set of trait overrides a user picks on
// the spawn page, in KubeSpawner's shape with spawner_override in place of
// kubespawner_override. Its slug goes into user_options as {"profile": slug}; the start then
// applies its spawner_override (and those of the chosen profile_options) over the config.
type Profile struct {
	DisplayName     string                   `yaml:"display_name" help:"Name shown on the spawn page."`
	Slug            string                   `yaml:"slug,omitempty" help:"Identifier in user_options; derived from display_name when empty."`
	Description     string                   `yaml:"description,omitempty" help:"Text shown under the name (plain text)."`
	Default         bool                     `yaml:"default,omitempty" help:"Preselected, and used when user_options name no profile; else the first profile is."`
	SpawnerOverride map[string]any           `yaml:"spawner_override,omitempty" help:"Spawner traits this profile changes, merged as group_overrides are."`
	ProfileOptions  map[string]ProfileOption `yaml:"profile_options,omitempty" help:"Further choices within the profile, by option name."`
}

// ProfileOption is one further choice within a profile: the user picks one of its choices, and
// user_options carry {option name: choice slug}.
type ProfileOption struct {
	DisplayName string                   `yaml:"display_name" help:"Label of the choice on the spawn page."`
	Choices     map[string]ProfileChoice `yaml:"choices" help:"The choices, by slug; shown in the order of their slugs."`
}

// ProfileChoice is one value of a ProfileOption.
type ProfileChoice struct {
	DisplayName     string         `yaml:"display_name" help:"Name shown on the spawn page."`
	Default         bool           `yaml:"default,omitempty" help:"Preselected, and used when user_options do not name a choice; else the first is."`
	SpawnerOverride map[string]any `yaml:"spawner_override,omitempty" help:"Spawner traits this choice changes, applied after the profile's."`
}

// ProfileKey is the user_options key naming the chosen profile.
const ProfileKey = "profile"

// SortedChoices returns the option's choice slugs in the order the spawn page lists them.
func (o ProfileOption) SortedChoices() []string { return slices.Sorted(maps.Keys(o.Choices)) }

// SortedOptions returns the profile's option names in the order the spawn page lists them.
func (p Profile) SortedOptions() []string { return slices.Sorted(maps.Keys(p.ProfileOptions)) }

// DefaultChoice is the slug of the choice used when none is named: the one marked default,
// else the first.
func (o ProfileOption) DefaultChoice() string {
	keys := o.SortedChoices()
	for _, k := range keys {
		if o.Choices[k].Default {
			return k
		}
	}
	if len(keys) == 0 {
		return ""
	}
	return keys[0]
}

// Slugify derives a profile slug from its display name as KubeSpawner does in spirit: lower
// case, every run of other characters than a–z and 0–9 one hyphen.
func Slugify(name string) string {
	var b strings.Builder
	dash := false
	for _, r := range strings.ToLower(name) {
		if 'a' <= r && r <= 'z' || '0' <= r && r <= '9' {
			if dash && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			dash = false
			continue
		}
		dash = true
	}
	return b.String()
}

// normaliseProfiles fills in derived slugs and checks the list: names and slugs present,
// slugs unique, at most one default profile and one default choice per option.
func normaliseProfiles(list []Profile) ([]Profile, error) {
	out := slices.Clone(list)
	seen := map[string]bool{}
	defaults := 0
	for i := range out {
		p := &out[i]
		if p.DisplayName == "" {
			return nil, fmt.Errorf("profile_list[%d]: display_name is required", i)
		}
		if p.Slug == "" {
			p.Slug = Slugify(p.DisplayName)
		}
		if p.Slug == "" {
			return nil, fmt.Errorf("profile_list[%d]: give it a slug (%q yields none)", i, p.DisplayName)
		}
		if seen[p.Slug] {
			return nil, fmt.Errorf("profile_list[%d]: slug %q is used twice", i, p.Slug)
		}
		seen[p.Slug] = true
		if p.Default {
			defaults++
		}
		for _, name := range p.SortedOptions() {
			o := p.ProfileOptions[name]
			if len(o.Choices) == 0 {
				return nil, fmt.Errorf("profile_list[%d].profile_options.%s: needs at least one choice", i, name)
			}
			if name == ProfileKey {
				return nil, fmt.Errorf("profile_list[%d].profile_options: %q is reserved for the profile itself", i, name)
			}
			n := 0
			for _, c := range o.Choices {
				if c.Default {
					n++
				}
			}
			if n > 1 {
				return nil, fmt.Errorf("profile_list[%d].profile_options.%s: more than one default choice", i, name)
			}
		}
	}
	if defaults > 1 {
		return nil, fmt.Errorf("profile_list: more than one default profile")
	}
	return out, nil
}

// DefaultProfile is the slug used when user_options name no profile: the one marked default,
// else the first; "" for an empty list. list must be normalised (slugs filled in).
func DefaultProfile(list []Profile) string {
	for _, p := range list {
		if p.Default {
			return p.Slug
		}
	}
	if len(list) == 0 {
		return ""
	}
	return list[0].Slug
}

// optionString reads a user_options value that should be one string: a string, or a list of
// exactly one string (as a raw form post has it).
func optionString(v any) (string, bool) {
	switch x := v.(type) {
	case string:
		return x, true
	case []any:
		if len(x) == 1 {
			s, ok := x[0].(string)
			return s, ok
		}
	case []string:
		if len(x) == 1 {
			return x[0], true
		}
	}
	return "", false
}

// profileLayers picks the profile of options from list (normalised) and returns the overrides
// it brings: the profile's, then each profile option's chosen one. No profile_list, no layers.
// A profile or choice that does not exist is ErrBadRequest.
func profileLayers(list []Profile, options map[string]any) ([]layer, error) {
	if len(list) == 0 {
		return nil, nil
	}
	slug := DefaultProfile(list)
	if v, ok := options[ProfileKey]; ok && v != nil {
		s, ok := optionString(v)
		if !ok {
			return nil, withMsg(ErrBadRequest, "user_options.profile must be a string")
		}
		slug = s
	}
	i := slices.IndexFunc(list, func(p Profile) bool { return p.Slug == slug })
	if i < 0 {
		return nil, withMsg(ErrBadRequest, "No such profile: %q", slug)
	}
	p := list[i]
	ls := []layer{{"profile_list." + p.Slug, p.SpawnerOverride}}
	for _, name := range p.SortedOptions() {
		o := p.ProfileOptions[name]
		choice := o.DefaultChoice()
		if v, ok := options[name]; ok && v != nil {
			s, ok := optionString(v)
			if !ok {
				return nil, withMsg(ErrBadRequest, "user_options.%s must be a string", name)
			}
			choice = s
		}
		c, ok := o.Choices[choice]
		if !ok {
			return nil, withMsg(ErrBadRequest, "No such choice for %s in profile %q: %q", name, p.Slug, choice)
		}
		ls = append(ls, layer{"profile_list." + p.Slug + ".profile_options." + name + "." + choice, c.SpawnerOverride})
	}
	return ls, nil
}
