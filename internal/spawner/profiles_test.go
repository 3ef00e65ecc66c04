package spawner_test

import (
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"gohub/internal/spawner"
)

const profilesYAML = `
profile_list:
  - display_name: Small (1 CPU)
    description: For reading and light work.
    spawner_override: {cpu_limit: 1, environment: {SIZE: small}}
  - display_name: Big
    slug: big
    default: true
    spawner_override: {cpu_limit: 8, mem_limit: 16G, args: [--big], environment: {SIZE: big, A: null}}
    profile_options:
      image:
        display_name: Image
        choices:
          plain: {display_name: Plain}
          gpu: {display_name: GPU, default: true, spawner_override: {image: gpu-image, environment: {GPU: "1"}}}
`

// A profile is picked by user_options.profile (the default one when none is named), its
// override applies after the declarative layers, then the chosen profile option's; unknown
// slugs and choices are bad requests.
func TestSpawnPolicyProfiles(t *testing.T) {
	p, err := spawner.NewSpawnPolicy(loadKind(t, profilesYAML))
	if err != nil {
		t.Fatal(err)
	}
	carol := spawner.User{Name: "carol"} // user_overrides give carol cpu_limit 4
	form, err := p.Form(carol)
	if err != nil {
		t.Fatal(err)
	}
	var slugs []string
	for _, pr := range form.Profiles {
		slugs = append(slugs, pr.Slug)
	}
	if diff := cmp.Diff([]string{"small-1-cpu", "big"}, slugs); diff != "" || form.Empty() {
		t.Errorf("slugs (-want +got):\n%s", diff)
	}
	if got := spawner.DefaultProfile(form.Profiles); got != "big" {
		t.Errorf("default profile %q", got)
	}

	type view struct {
		CPU   float64
		Mem   spawner.ByteSize
		Args  []string
		Env   map[string]string
		Image string
	}
	for _, c := range []struct {
		name string
		opts map[string]any
		want view
	}{
		{"no options: the default profile and choice", nil,
			view{8, 16 << 30, []string{"--big"}, map[string]string{"B": "base", "ROLE": "student", "SIZE": "big", "GPU": "1"}, "gpu-image"}},
		{"small, as a form posts it", map[string]any{"profile": []any{"small-1-cpu"}},
			view{1, 2 << 30, nil, map[string]string{"A": "base", "B": "base", "ROLE": "student", "SIZE": "small"}, "default-image"}},
		{"big with the plain image", map[string]any{"profile": "big", "image": "plain"},
			view{8, 16 << 30, []string{"--big"}, map[string]string{"B": "base", "ROLE": "student", "SIZE": "big"}, "default-image"}},
	} {
		cfg, err := p.Resolve(t.Context(), carol, "", c.opts, true)
		if err != nil {
			t.Errorf("%s: %v", c.name, err)
			continue
		}
		k := cfg.(*kindConfig)
		got := view{k.CPULimit, k.MemLimit, k.Args, k.Environment, k.Image}
		if diff := cmp.Diff(c.want, got, cmpopts.EquateEmpty()); diff != "" {
			t.Errorf("%s (-want +got):\n%s", c.name, diff)
		}
	}
	for opts, want := range map[*map[string]any]string{
		{"profile": "huge"}:                 `No such profile: "huge"`,
		{"profile": "big", "image": "tpu"}:  `No such choice for image in profile "big": "tpu"`,
		{"profile": []any{"big", "small"}}:  "must be a string",
		{"profile": map[string]any{"a": 1}}: "must be a string",
	} {
		_, err := p.Resolve(t.Context(), carol, "", *opts, true)
		if !errors.Is(err, spawner.ErrBadRequest) || !strings.Contains(err.Error(), want) {
			t.Errorf("%v: err = %v, want %q", *opts, err, want)
		}
		if err := p.CheckOptions(carol, *opts); !errors.Is(err, spawner.ErrBadRequest) {
			t.Errorf("CheckOptions(%v) = %v", *opts, err)
		}
	}
	if err := p.CheckOptions(carol, map[string]any{"profile": "big", "image": "plain"}); err != nil {
		t.Errorf("CheckOptions of good options: %v", err)
	}
	// A running server re-adopted after its profile left the list keeps running: without the
	// hook (re-adoption), the unknown profile is passed over.
	cfg, err := p.Resolve(t.Context(), carol, "", map[string]any{"profile": "gone"}, false)
	if err != nil || cfg.(*kindConfig).CPULimit != 4 {
		t.Errorf("re-adoption with a profile gone: %v, %v", cfg, err)
	}
}

// Broken profile lists are refused when the policy is built, naming the place.
func TestSpawnPolicyBadProfiles(t *testing.T) {
	for yml, want := range map[string]string{
		"\nprofile_list: [{slug: x}]\n":                                                                                                                          "display_name is required",
		"\nprofile_list: [{display_name: A}, {display_name: a}]\n":                                                                                               `slug "a" is used twice`,
		"\nprofile_list: [{display_name: A, default: true}, {display_name: B, default: true}]\n":                                                                 "more than one default profile",
		"\nprofile_list: [{display_name: A, spawner_override: {mem_limt: 1G}}]\n":                                                                                "profile_list.a",
		"\nprofile_list: [{display_name: A, profile_options: {img: {display_name: I, choices: {}}}}]\n":                                                          "needs at least one choice",
		"\nprofile_list: [{display_name: A, profile_options: {img: {display_name: I, choices: {x: {display_name: X, spawner_override: {cpu_limit: lots}}}}}}]\n": "profile_list.a.profile_options.img.x",
	} {
		_, err := spawner.NewSpawnPolicy(loadKind(t, yml))
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", strings.TrimSpace(yml), err, want)
		}
	}
}

func TestSlugify(t *testing.T) {
	for in, want := range map[string]string{"Small (1 CPU)": "small-1-cpu", "  GPU!!": "gpu", "ÄÖ": "", "a_b": "a-b"} {
		if got := spawner.Slugify(in); got != want {
			t.Errorf("Slugify(%q) = %q, want %q", in, got, want)
		}
	}
}
