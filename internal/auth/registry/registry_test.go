package registry_test

import (
	"reflect"
	"strings"
	"testing"

	"gohub/internal/auth"
	"gohub/internal/auth/dummy"
	"gohub/internal/auth/null"
	"gohub/internal/auth/registry"
	"gohub/internal/auth/sharedpassword"
)

func TestLookup(t *testing.T) {
	tests := map[string]string{
		"dummy":                                 "DummyAuthenticator",
		"DummyAuthenticator":                    "DummyAuthenticator",
		"jupyterhub.auth.DummyAuthenticator":    "DummyAuthenticator",
		"jupyterhub.auth:DummyAuthenticator":    "DummyAuthenticator",
		"dummyauthenticator.DummyAuthenticator": "DummyAuthenticator",
		" Dummy ":                               "DummyAuthenticator",
		"null":                                  "NullAuthenticator",
		"jupyterhub.auth.NullAuthenticator":     "NullAuthenticator",
		"shared-password":                       "SharedPasswordAuthenticator",
		"pam":                                   "PAMAuthenticator",
		"firstuse":                              "FirstUseAuthenticator",
		"firstuseauthenticator.FirstUseAuthenticator": "FirstUseAuthenticator",
		"default":                          "PAMAuthenticator",
		"jupyterhub.auth.PAMAuthenticator": "PAMAuthenticator",
		"jupyterhub.authenticators.shared.SharedPasswordAuthenticator": "SharedPasswordAuthenticator",
		"generic-oauth": "GenericOAuthenticator",
		"generic":       "GenericOAuthenticator",
		"oauthenticator.generic.GenericOAuthenticator": "GenericOAuthenticator",
		"github": "GitHubOAuthenticator",
		"oauthenticator.github.GitHubOAuthenticator": "GitHubOAuthenticator",
		"gitlab": "GitLabOAuthenticator",
		"google": "GoogleOAuthenticator",
		"oauthenticator.google.GoogleOAuthenticator": "GoogleOAuthenticator",
		"azuread": "AzureAdOAuthenticator",
		"oauthenticator.azuread.AzureAdOAuthenticator": "AzureAdOAuthenticator",
		"ldap":                                "LDAPAuthenticator",
		"command":                             "CommandAuthenticator",
		"ldapauthenticator.LDAPAuthenticator": "LDAPAuthenticator",
		"local-github":                        "LocalGitHubOAuthenticator",
		"oauthenticator.github.LocalGitHubOAuthenticator": "LocalGitHubOAuthenticator",
		"oauthenticator.LocalGitHubOAuthenticator":        "LocalGitHubOAuthenticator",
		"local-gitlab":  "LocalGitLabOAuthenticator",
		"local-google":  "LocalGoogleOAuthenticator",
		"local-azuread": "LocalAzureAdOAuthenticator",
		"oauthenticator.azuread:LocalAzureAdOAuthenticator": "LocalAzureAdOAuthenticator",
		"local-generic-oauth":                               "LocalGenericOAuthenticator",
		"oauthenticator.generic.LocalGenericOAuthenticator": "LocalGenericOAuthenticator",
		"local-ldap": "LocalLDAPAuthenticator",
		"ldapauthenticator.LocalLDAPAuthenticator": "LocalLDAPAuthenticator",
	}
	for name, class := range tests {
		e, ok := registry.Lookup(name)
		if !ok || e.Class != class {
			t.Errorf("Lookup(%q) = %q, %v; want %s", name, e.Class, ok, class)
		}
	}
	for _, name := range []string{"", "dumm", "Authenticator", "pam-ish"} {
		if e, ok := registry.Lookup(name); ok {
			t.Errorf("Lookup(%q) found %s", name, e.Class)
		}
	}
	if got := registry.Names(); got != "dummy, null, firstuse, pam, native, command, ldap, shared-password, generic-oauth, github, gitlab, google, azuread, local-generic-oauth, local-github, local-gitlab, local-google, local-azuread, local-ldap, local-native, local-command, multi" {
		t.Errorf("Names() = %q", got)
	}
}

func TestEntries(t *testing.T) {
	seen := map[string]string{}
	for _, e := range registry.Entries {
		if len(e.Names) == 0 || e.Class == "" || e.NewConfig == nil || e.New == nil {
			t.Errorf("incomplete entry %+v", e)
			continue
		}
		if len(e.Parents) == 0 || e.Parents[0] != registry.Common.Class {
			t.Errorf("%s: parents %q do not start with Authenticator", e.Class, e.Parents)
		}
		for _, n := range append([]string{e.Class}, e.Names...) {
			key := strings.ToLower(n)
			if other, dup := seen[key]; dup && other != e.Class {
				t.Errorf("name %q is used by %s and %s", n, other, e.Class)
			}
			seen[key] = e.Class
		}
		t.Run(e.Class, func(t *testing.T) {
			cfg := e.NewConfig()
			a, common, err := e.New(cfg, nil)
			if err != nil {
				t.Fatalf("New with defaults: %v", err)
			}
			if a == nil || common == nil {
				t.Fatal("New returned nil")
			}
			// The common part is the config's own embedded struct, not a copy.
			common.AdminUsers = []string{"probe"}
			if got := reflect.ValueOf(cfg).Elem().FieldByName("AdminUsers").Interface().([]string); len(got) != 1 {
				t.Error("the returned *auth.Config is not the config's embedded Config")
			}
			if _, err := auth.NewPipeline(*common, a, nil, nil); err != nil {
				t.Errorf("NewPipeline: %v", err)
			}
			if _, _, err := e.New(struct{}{}, nil); err == nil {
				t.Error("New accepted a config of the wrong type")
			}
			checkTags(t, reflect.TypeOf(cfg).Elem())
		})
	}
	checkTags(t, reflect.TypeOf(registry.Common.NewConfig()).Elem())
}

// checkTags makes sure every config field has a yaml name and a one-line help text, for
// generate-config.
func checkTags(t *testing.T, typ reflect.Type) {
	t.Helper()
	for i := range typ.NumField() {
		f := typ.Field(i)
		y := f.Tag.Get("yaml")
		if f.Anonymous {
			if y != ",inline" {
				t.Errorf("%s.%s: embedded config without yaml:\",inline\"", typ, f.Name)
			}
			checkTags(t, f.Type)
			continue
		}
		if y == "" || strings.ToLower(y) != y {
			t.Errorf("%s.%s: yaml name %q", typ, f.Name, y)
		}
		if h := f.Tag.Get("help"); h == "" || strings.Contains(h, "\n") {
			t.Errorf("%s.%s: help %q must be one non-empty line", typ, f.Name, h)
		}
	}
}

func TestBuildErrors(t *testing.T) {
	e, _ := registry.Lookup("shared-password")
	cfg := e.NewConfig().(*sharedpassword.Config)
	cfg.UserPassword = "short"
	if _, _, err := e.New(cfg, nil); err == nil || !strings.Contains(err.Error(), "at least 8") {
		t.Errorf("New(short password) = %v", err)
	}
	d, _ := registry.Lookup("dummy")
	if _, ok := d.NewConfig().(*dummy.Config); !ok {
		t.Error("dummy NewConfig is not *dummy.Config")
	}
	n, _ := registry.Lookup("null")
	if _, ok := n.NewConfig().(*null.Config); !ok {
		t.Error("null NewConfig is not *null.Config")
	}
}
