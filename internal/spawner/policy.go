package spawner

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"math"
	"os/exec"
	"reflect"
	"slices"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"
)

// SpawnPolicy turns the loaded spawner config into the config of one start. Layers apply in
// this order, each over the one before:
//
//  1. the config as loaded (class sections, most specific class winning);
//  2. admin_overrides for admins, non_admin_overrides for everyone else;
//  3. group_overrides whose groups include one of the user's, in the sorted order of their keys
//     (upstream's rule);
//  4. user_overrides[user name];
//  5. the profile of profile_list that user_options["profile"] names (the default profile when
//     they name none), then the choice of each of its profile_options;
//  6. what pre_spawn_hook prints.
//
// The profile list itself is read after layer 4, so the layers may give groups or users other
// profiles. KubeSpawner applies a profile after pre_spawn_hook; here the hook comes last, so it
// sees the profile's result and may still change it.
//
// A layer is a mapping of trait names to values. Mappings (environment, …) are merged key by
// key, a null value removing the key; every other value replaces the one before. Unknown trait
// names are errors.
type SpawnPolicy struct {
	plugin Plugin
	common *Config
	// runHook runs the pre-spawn hook; tests may replace it.
	runHook func(ctx context.Context, cmd []string, timeout time.Duration, in []byte) ([]byte, error)
}

// NewSpawnPolicy checks every override layer of the plugin's config against its traits.
func NewSpawnPolicy(p Plugin) (*SpawnPolicy, error) {
	c, ok := p.Config.(interface{ Common() *Config })
	if !ok || reflect.ValueOf(p.Config).Kind() != reflect.Pointer {
		return nil, fmt.Errorf("spawner %s: config %T does not embed spawner.Config", p.Class, p.Config)
	}
	sp := &SpawnPolicy{plugin: p, common: c.Common(), runHook: runHook}
	base, err := toMap(p.Config)
	if err != nil {
		return nil, fmt.Errorf("spawner %s: %w", p.Class, err)
	}
	for _, l := range append([]layer{{"", nil}}, sp.allLayers()...) {
		m := mergeLayer(base, l.values)
		name := p.Class
		if l.name != "" {
			name += "." + l.name
		}
		if _, err := sp.decode(m); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		if err := sp.checkProfiles(m); err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
	}
	return sp, nil
}

// checkProfiles checks the profile_list of a trait map: the list itself, and every profile's
// and choice's overrides applied over m.
func (sp *SpawnPolicy) checkProfiles(m map[string]any) error {
	list, err := sp.profiles(m)
	if err != nil {
		return err
	}
	for _, p := range list {
		if _, err := sp.decode(mergeLayer(m, p.SpawnerOverride)); err != nil {
			return fmt.Errorf("profile_list.%s: %w", p.Slug, err)
		}
		for _, name := range p.SortedOptions() {
			o := p.ProfileOptions[name]
			for _, c := range o.SortedChoices() {
				over := mergeLayer(p.SpawnerOverride, o.Choices[c].SpawnerOverride)
				if _, err := sp.decode(mergeLayer(m, over)); err != nil {
					return fmt.Errorf("profile_list.%s.profile_options.%s.%s: %w", p.Slug, name, c, err)
				}
			}
		}
	}
	return nil
}

// profiles decodes a trait map and returns its profile_list, slugs filled in and checked.
func (sp *SpawnPolicy) profiles(m map[string]any) ([]Profile, error) {
	cfg, err := sp.decode(m)
	if err != nil {
		return nil, err
	}
	return normaliseProfiles(cfg.(interface{ Common() *Config }).Common().ProfileList)
}

// SpawnForm is what the spawn page offers one user before a start.
type SpawnForm struct {
	// OptionsForm is Spawner.options_form: admin-provided HTML, shown as it is.
	OptionsForm string
	// Profiles is Spawner.profile_list with slugs filled in.
	Profiles []Profile
}

// Empty is true when there is nothing to ask: the server starts without a form.
func (f SpawnForm) Empty() bool {
	return strings.TrimSpace(f.OptionsForm) == "" && len(f.Profiles) == 0
}

// Form returns the options_form and profile_list that apply to u, after the override layers.
func (sp *SpawnPolicy) Form(u User) (SpawnForm, error) {
	m, err := sp.layered(u)
	if err != nil {
		return SpawnForm{}, err
	}
	cfg, err := sp.decode(m)
	if err != nil {
		return SpawnForm{}, err
	}
	list, err := normaliseProfiles(cfg.(interface{ Common() *Config }).Common().ProfileList)
	if err != nil {
		return SpawnForm{}, err
	}
	return SpawnForm{OptionsForm: cfg.(interface{ Common() *Config }).Common().OptionsForm, Profiles: list}, nil
}

// CheckOptions reports whether options name a profile and profile option choices that exist
// for u (ErrBadRequest otherwise), before a start.
func (sp *SpawnPolicy) CheckOptions(u User, options map[string]any) error {
	m, err := sp.layered(u)
	if err != nil {
		return err
	}
	list, err := sp.profiles(m)
	if err != nil {
		return err
	}
	_, err = profileLayers(list, options)
	return err
}

// layered is the plugin config with the layers of u applied, as a trait map.
func (sp *SpawnPolicy) layered(u User) (map[string]any, error) {
	m, err := toMap(sp.plugin.Config)
	if err != nil {
		return nil, err
	}
	for _, l := range sp.layers(u) {
		m = mergeLayer(m, l.values)
	}
	return m, nil
}

// layer is one named set of overrides.
type layer struct {
	name   string
	values map[string]any
}

// allLayers lists every configured layer, for validation.
func (sp *SpawnPolicy) allLayers() []layer {
	c := sp.common
	ls := []layer{{"admin_overrides", c.AdminOverrides}, {"non_admin_overrides", c.NonAdminOverrides}}
	for _, k := range slices.Sorted(maps.Keys(c.GroupOverrides)) {
		ls = append(ls, layer{"group_overrides." + k, c.GroupOverrides[k].SpawnerOverride})
	}
	for _, k := range slices.Sorted(maps.Keys(c.UserOverrides)) {
		ls = append(ls, layer{"user_overrides." + k, c.UserOverrides[k]})
	}
	return ls
}

// layers lists the layers that apply to u, in order.
func (sp *SpawnPolicy) layers(u User) []layer {
	c := sp.common
	var ls []layer
	if u.Admin {
		ls = append(ls, layer{"admin_overrides", c.AdminOverrides})
	} else {
		ls = append(ls, layer{"non_admin_overrides", c.NonAdminOverrides})
	}
	for _, k := range slices.Sorted(maps.Keys(c.GroupOverrides)) {
		g := c.GroupOverrides[k]
		if slices.ContainsFunc(g.Groups, func(name string) bool { return slices.Contains(u.Groups, name) }) {
			ls = append(ls, layer{"group_overrides." + k, g.SpawnerOverride})
		}
	}
	if o, ok := c.UserOverrides[u.Name]; ok {
		ls = append(ls, layer{"user_overrides." + u.Name, o})
	}
	return ls
}

// HookInput is what pre_spawn_hook reads on stdin, as JSON.
type HookInput struct {
	User struct {
		Name   string   `json:"name"`
		Admin  bool     `json:"admin"`
		Groups []string `json:"groups"`
	} `json:"user"`
	// AuthState is the user's auth_state (with enable_auth_state), omitted when there is none.
	AuthState   map[string]any `json:"auth_state,omitempty"`
	ServerName  string         `json:"server_name"`
	UserOptions map[string]any `json:"user_options"`
	// Config is the spawner config after the declarative overrides, by trait name.
	Config map[string]any `json:"config"`
}

// Resolve returns the config for one start of u's server: a pointer of the plugin config's
// type. withHook false skips pre_spawn_hook and tolerates a profile that no longer exists
// (used when re-adopting a running server).
func (sp *SpawnPolicy) Resolve(ctx context.Context, u User, server string, options map[string]any, withHook bool) (any, error) {
	m, err := sp.layered(u)
	if err != nil {
		return nil, err
	}
	list, err := sp.profiles(m)
	if err != nil {
		return nil, err
	}
	pls, err := profileLayers(list, options)
	if err != nil && withHook {
		return nil, err
	}
	// Re-adopting a running server whose profile has since left the list: it runs already,
	// so it is kept, with the config of the layers before the profile.
	for _, l := range pls {
		m = mergeLayer(m, l.values)
	}
	if hook := sp.common.PreSpawnHook; withHook && len(hook) > 0 {
		var in HookInput
		in.User.Name, in.User.Admin, in.User.Groups = u.Name, u.Admin, u.Groups
		if in.User.Groups == nil {
			in.User.Groups = []string{}
		}
		in.ServerName, in.UserOptions, in.Config, in.AuthState = server, options, m, u.AuthState
		if in.UserOptions == nil {
			in.UserOptions = map[string]any{}
		}
		data, err := json.Marshal(in)
		if err != nil {
			return nil, fmt.Errorf("pre_spawn_hook: encode input: %w", err)
		}
		out, err := sp.runHook(ctx, hook, sp.common.PreSpawnHookTimeout.D(), data)
		if err != nil {
			return nil, err
		}
		changes, err := parseHookOutput(out)
		if err != nil {
			return nil, err
		}
		m = mergeLayer(m, changes)
		cfg, err := sp.decode(m)
		if err != nil {
			return nil, fmt.Errorf("pre_spawn_hook: %w", err)
		}
		return cfg, nil
	}
	return sp.decode(m)
}

// decode builds a fresh config of the plugin's type from a trait map, refusing unknown traits.
func (sp *SpawnPolicy) decode(m map[string]any) (any, error) {
	data, err := yaml.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("encode overrides: %w", err)
	}
	cfg := reflect.New(reflect.TypeOf(sp.plugin.Config).Elem()).Interface()
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil {
		return nil, fmt.Errorf("bad override: %s", strings.TrimPrefix(err.Error(), "yaml: "))
	}
	return cfg, nil
}

// toMap turns a config struct into a trait map through its YAML form.
func toMap(cfg any) (map[string]any, error) {
	data, err := yaml.Marshal(cfg)
	if err != nil {
		return nil, fmt.Errorf("encode config: %w", err)
	}
	m := map[string]any{}
	if err := yaml.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("decode config: %w", err)
	}
	return m, nil
}

// mergeLayer returns base with over applied: mappings merge recursively, null deletes, other
// values replace. base is not modified.
func mergeLayer(base, over map[string]any) map[string]any {
	out := maps.Clone(base)
	if out == nil {
		out = map[string]any{}
	}
	for k, v := range over {
		if v == nil {
			delete(out, k)
			continue
		}
		ov, oIsMap := asMap(v)
		bv, bIsMap := asMap(out[k])
		if oIsMap && bIsMap {
			out[k] = mergeLayer(bv, ov)
			continue
		}
		out[k] = normalise(v)
	}
	return out
}

// asMap reads a mapping value decoded from YAML or JSON.
func asMap(v any) (map[string]any, bool) {
	switch m := v.(type) {
	case map[string]any:
		return m, true
	case map[any]any:
		out := make(map[string]any, len(m))
		for k, e := range m {
			out[fmt.Sprint(k)] = e
		}
		return out, true
	}
	return nil, false
}

// normalise turns integral float64 values (from JSON) into int64 so they decode into integer
// traits, recursively.
func normalise(v any) any {
	switch x := v.(type) {
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int64(x)
		}
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = normalise(e)
		}
		return out
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = normalise(e)
		}
		return out
	}
	return v
}

// parseHookOutput reads the hook's stdout: a JSON object of trait overrides; empty output
// means no change.
func parseHookOutput(out []byte) (map[string]any, error) {
	if len(bytes.TrimSpace(out)) == 0 {
		return nil, nil
	}
	var m map[string]any
	if err := json.Unmarshal(out, &m); err != nil {
		return nil, fmt.Errorf("pre_spawn_hook: output is not a JSON object of trait overrides: %w", err)
	}
	return m, nil
}

// runHook runs cmd with in on stdin and returns its stdout, failing after timeout.
func runHook(ctx context.Context, cmd []string, timeout time.Duration, in []byte) ([]byte, error) {
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	c := exec.CommandContext(ctx, cmd[0], cmd[1:]...)
	c.Stdin = bytes.NewReader(in)
	c.WaitDelay = time.Second
	var stdout, stderr bytes.Buffer
	c.Stdout, c.Stderr = &stdout, &stderr
	err := c.Run()
	if ctx.Err() != nil && errors.Is(ctx.Err(), context.DeadlineExceeded) {
		return nil, fmt.Errorf("pre_spawn_hook %s: no answer within %s", cmd[0], timeout)
	}
	if err != nil {
		msg := strings.TrimSpace(stderr.String())
		if len(msg) > 500 {
			msg = msg[len(msg)-500:]
		}
		if msg != "" {
			return nil, fmt.Errorf("pre_spawn_hook %s: %w: %s", cmd[0], err, msg)
		}
		return nil, fmt.Errorf("pre_spawn_hook %s: %w", cmd[0], err)
	}
	return stdout.Bytes(), nil
}
