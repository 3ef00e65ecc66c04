package web

import (
	"html/template"
	"net/http"
	"net/url"
	"strings"

	"gohub/internal/spawner"
)

// profileFieldPrefix starts the form field of a profile option: profile-option-{slug}--{name},
// as KubeSpawner's form names it, so each profile's choices are separate fields.
const profileFieldPrefix = "profile-option-"

// spawnFormView is the spawn page's form: the profile list and the admin's options_form.
type spawnFormView struct {
	// Action is where the form posts: the page's own URL (its escaped path), query kept (next).
	Action      string
	Owner       string
	Name        string // "" for the default server
	Profiles    []profileView
	OptionsForm template.HTML
	Error       string
}

// profileView is one profile on the spawn page.
type profileView struct {
	Slug        string
	DisplayName string
	Description string
	Checked     bool
	Options     []profileOptionView
}

// profileOptionView is one profile option: a select of its choices.
type profileOptionView struct {
	Field       string // form field name
	ID          string // element id
	DisplayName string
	Choices     []profileChoiceView
}

type profileChoiceView struct {
	Slug        string
	DisplayName string
	Selected    bool
}

// profileField is the form field of a profile option.
func profileField(slug, option string) string {
	return profileFieldPrefix + slug + "--" + option
}

// spawnFormFor builds the form view; posted (nil on GET) keeps the user's choices when the form
// is shown again with an error.
func (p *Pages) spawnFormFor(r *http.Request, t *target, f spawner.SpawnForm, posted url.Values) *spawnFormView {
	v := &spawnFormView{Action: r.URL.EscapedPath(), Owner: t.owner.Name, Name: t.server,
		OptionsForm: template.HTML(f.OptionsForm)} // admin-provided HTML, shown as upstream does
	if r.URL.RawQuery != "" {
		v.Action += "?" + r.URL.RawQuery
	}
	chosen := spawner.DefaultProfile(f.Profiles)
	if s := posted.Get(spawner.ProfileKey); s != "" {
		chosen = s
	}
	for _, pr := range f.Profiles {
		pv := profileView{Slug: pr.Slug, DisplayName: pr.DisplayName, Description: pr.Description, Checked: pr.Slug == chosen}
		for _, name := range pr.SortedOptions() {
			o := pr.ProfileOptions[name]
			field := profileField(pr.Slug, name)
			ov := profileOptionView{Field: field, ID: field, DisplayName: o.DisplayName}
			if ov.DisplayName == "" {
				ov.DisplayName = name
			}
			sel := o.DefaultChoice()
			if s := posted.Get(field); s != "" {
				sel = s
			}
			for _, c := range o.SortedChoices() {
				dn := o.Choices[c].DisplayName
				if dn == "" {
					dn = c
				}
				ov.Choices = append(ov.Choices, profileChoiceView{Slug: c, DisplayName: dn, Selected: c == sel})
			}
			pv.Options = append(pv.Options, ov)
		}
		v.Profiles = append(v.Profiles, pv)
	}
	return v
}

// renderSpawnForm shows the spawn page's form.
func (p *Pages) renderSpawnForm(w http.ResponseWriter, r *http.Request, t *target, f spawner.SpawnForm, posted url.Values, status int, msg string) {
	fv := p.spawnFormFor(r, t, f, posted)
	fv.Error = msg
	title := "Start your server"
	if t.server != "" {
		title = "Start server " + t.server
	}
	v := &view{Title: title, User: t.caller, XSRF: p.XSRFToken(w, r, t.caller), SpawnForm: fv}
	p.render(w, status, "spawn.html", v)
}

// optionsFromForm turns a posted spawn form into user_options as upstream's options_from_form
// with KubeSpawner's profiles: every field but _xsrf becomes an option, a string when it has one
// value and a list of strings when repeated; with a profile chosen, the fields of that profile's
// options become {option name: choice} and those of other profiles are dropped.
func optionsFromForm(form url.Values) map[string]any {
	options := map[string]any{}
	profile := form.Get(spawner.ProfileKey)
	for k, vs := range form {
		if k == "_xsrf" || len(vs) == 0 {
			continue
		}
		if profile != "" && strings.HasPrefix(k, profileFieldPrefix) {
			if name, ok := strings.CutPrefix(k, profileFieldPrefix+profile+"--"); ok && name != "" {
				options[name] = vs[0]
			}
			continue
		}
		if len(vs) == 1 {
			options[k] = vs[0]
			continue
		}
		list := make([]any, len(vs))
		for i, v := range vs {
			list[i] = v
		}
		options[k] = list
	}
	if len(options) == 0 {
		return nil
	}
	return options
}
