// Package registry is the one table of gohub's authenticators: the names
// `JupyterHub.authenticator_class` accepts, the config section of each, and how to build it.
// Adding an authenticator is one line in Entries. The table lives here, not in package auth,
// because auth cannot import its plug-ins without an import cycle.
package registry

import (
	"fmt"
	"log/slog"
	"strings"

	"gohub/internal/auth"
	"gohub/internal/auth/command"
	"gohub/internal/auth/dummy"
	"gohub/internal/auth/firstuse"
	"gohub/internal/auth/ldap"
	"gohub/internal/auth/local"
	"gohub/internal/auth/multi"
	"gohub/internal/auth/localvariant"
	"gohub/internal/auth/native"
	"gohub/internal/auth/null"
	"gohub/internal/auth/oauth"
	"gohub/internal/auth/pam"
	"gohub/internal/auth/sharedpassword"
)

// Entry describes one authenticator class.
type Entry struct {
	// Names are what authenticator_class accepts for it: upstream's entry-point name first, then
	// the class name and the Python import paths upstream configs use.
	Names []string
	// Class is the config section name, upstream's class name ("DummyAuthenticator").
	Class string
	// Parents are the config sections it inherits from, most general first (["Authenticator"]);
	// the most specific section wins, as with traitlets.
	Parents []string
	// Mixins are further config sections it inherits from, after Parents (LocalAuthenticator
	// for the Local* variants); see config.Class.Mixins.
	Mixins []string
	// Refused are traits of those sections that do not apply to it, with the reason ("Section.key"
	// → message); see config.Class.Refused.
	Refused map[string]string
	// NewConfig returns a pointer to the class's config struct filled with its defaults.
	NewConfig func() any
	// New validates a config made by NewConfig (and filled from the file) and builds the
	// authenticator; it also returns the common part of the config, for auth.NewPipeline.
	New func(cfg any, log *slog.Logger) (auth.Authenticator, *auth.Config, error)
}

// Entries lists every authenticator, one line each.
var Entries = []Entry{
	entry([]string{"dummy", "DummyAuthenticator", "jupyterhub.auth.DummyAuthenticator", "dummyauthenticator.DummyAuthenticator"}, "DummyAuthenticator", dummy.DefaultConfig, dummy.New),
	entry([]string{"null", "NullAuthenticator", "jupyterhub.auth.NullAuthenticator"}, "NullAuthenticator", null.DefaultConfig, null.New),
	entryLog([]string{"firstuse", "firstuseauthenticator", "FirstUseAuthenticator", "firstuseauthenticator.FirstUseAuthenticator", "firstuseauthenticator.firstuseauthenticator.FirstUseAuthenticator"}, "FirstUseAuthenticator", firstuse.DefaultConfig, firstuse.New, Common.Class, Local.Class),
	entryLog([]string{"pam", "default", "PAMAuthenticator", "jupyterhub.auth.PAMAuthenticator"}, "PAMAuthenticator", pam.DefaultConfig, pam.New, Common.Class, Local.Class),
	entryLog([]string{"native", "nativeauthenticator", "NativeAuthenticator", "nativeauthenticator.NativeAuthenticator", "nativeauthenticator.nativeauthenticator.NativeAuthenticator"}, "NativeAuthenticator", native.DefaultConfig, native.New),
	entryLog([]string{"command", "CommandAuthenticator"}, "CommandAuthenticator", command.DefaultConfig, command.New),
	entryLog([]string{"ldap", "LDAPAuthenticator", "ldapauthenticator.LDAPAuthenticator", "ldapauthenticator.ldapauthenticator.LDAPAuthenticator"}, "LDAPAuthenticator", ldap.DefaultConfig, ldap.New),
	entry([]string{"shared-password", "SharedPasswordAuthenticator", "jupyterhub.authenticators.shared.SharedPasswordAuthenticator"}, "SharedPasswordAuthenticator", sharedpassword.DefaultConfig, sharedpassword.New),
	entryLog([]string{"generic-oauth", "generic", "GenericOAuthenticator", "oauthenticator.generic.GenericOAuthenticator", "oauthenticator.GenericOAuthenticator"}, "GenericOAuthenticator", oauth.DefaultGenericConfig, oauth.NewGeneric, Common.Class, OAuth.Class),
	entryLog([]string{"github", "GitHubOAuthenticator", "oauthenticator.github.GitHubOAuthenticator", "oauthenticator.GitHubOAuthenticator"}, "GitHubOAuthenticator", oauth.DefaultGitHubConfig, oauth.NewGitHub, Common.Class, OAuth.Class),
	entryLog([]string{"gitlab", "GitLabOAuthenticator", "oauthenticator.gitlab.GitLabOAuthenticator", "oauthenticator.GitLabOAuthenticator"}, "GitLabOAuthenticator", oauth.DefaultGitLabConfig, oauth.NewGitLab, Common.Class, OAuth.Class),
	entryLog([]string{"google", "GoogleOAuthenticator", "oauthenticator.google.GoogleOAuthenticator", "oauthenticator.GoogleOAuthenticator"}, "GoogleOAuthenticator", oauth.DefaultGoogleConfig, oauth.NewGoogle, Common.Class, OAuth.Class),
	entryLog([]string{"azuread", "AzureAdOAuthenticator", "oauthenticator.azuread.AzureAdOAuthenticator", "oauthenticator.AzureAdOAuthenticator"}, "AzureAdOAuthenticator", oauth.DefaultAzureADConfig, oauth.NewAzureAD, Common.Class, OAuth.Class),
	// The Local* variants: the class above plus LocalAuthenticator (package localvariant).
	withLocal(entryLog([]string{"local-generic-oauth", "LocalGenericOAuthenticator", "oauthenticator.generic.LocalGenericOAuthenticator", "oauthenticator.LocalGenericOAuthenticator"}, "LocalGenericOAuthenticator", localvariant.DefaultGenericConfig, localvariant.NewGeneric, Common.Class, OAuth.Class, "GenericOAuthenticator"), oauthGroups),
	withLocal(entryLog([]string{"local-github", "LocalGitHubOAuthenticator", "oauthenticator.github.LocalGitHubOAuthenticator", "oauthenticator.LocalGitHubOAuthenticator"}, "LocalGitHubOAuthenticator", localvariant.DefaultGitHubConfig, localvariant.NewGitHub, Common.Class, OAuth.Class, "GitHubOAuthenticator"), oauthGroups),
	withLocal(entryLog([]string{"local-gitlab", "LocalGitLabOAuthenticator", "oauthenticator.gitlab.LocalGitLabOAuthenticator", "oauthenticator.LocalGitLabOAuthenticator"}, "LocalGitLabOAuthenticator", localvariant.DefaultGitLabConfig, localvariant.NewGitLab, Common.Class, OAuth.Class, "GitLabOAuthenticator"), oauthGroups),
	withLocal(entryLog([]string{"local-google", "LocalGoogleOAuthenticator", "oauthenticator.google.LocalGoogleOAuthenticator", "oauthenticator.LocalGoogleOAuthenticator"}, "LocalGoogleOAuthenticator", localvariant.DefaultGoogleConfig, localvariant.NewGoogle, Common.Class, OAuth.Class, "GoogleOAuthenticator"), oauthGroups),
	withLocal(entryLog([]string{"local-azuread", "LocalAzureAdOAuthenticator", "oauthenticator.azuread.LocalAzureAdOAuthenticator", "oauthenticator.LocalAzureAdOAuthenticator"}, "LocalAzureAdOAuthenticator", localvariant.DefaultAzureADConfig, localvariant.NewAzureAD, Common.Class, OAuth.Class, "AzureAdOAuthenticator"), oauthGroups),
	withLocal(entryLog([]string{"local-ldap", "LocalLDAPAuthenticator", "ldapauthenticator.LocalLDAPAuthenticator", "ldapauthenticator.ldapauthenticator.LocalLDAPAuthenticator"}, "LocalLDAPAuthenticator", localvariant.DefaultLDAPConfig, localvariant.NewLDAP, Common.Class, "LDAPAuthenticator"), "allowed_groups in LocalLDAPAuthenticator are LDAP group DNs (LDAPAuthenticator.allowed_groups)"),
	withLocal(entryLog([]string{"local-native", "LocalNativeAuthenticator"}, "LocalNativeAuthenticator", localvariant.DefaultNativeConfig, localvariant.NewNative, Common.Class, "NativeAuthenticator"), "UNIX groups are allowed_system_groups in every Local* variant of an authenticator whose users are not UNIX users"),
	withLocal(entryLog([]string{"local-command", "LocalCommandAuthenticator"}, "LocalCommandAuthenticator", localvariant.DefaultCommandConfig, localvariant.NewCommand, Common.Class, "CommandAuthenticator"), "UNIX groups are allowed_system_groups in every Local* variant of an authenticator whose users are not UNIX users"),
}

// oauthGroups is why LocalAuthenticator.allowed_groups does not apply to a Local* OAuth class.
const oauthGroups = "allowed_groups in the Local* OAuth classes are the provider's groups (OAuthenticator.allowed_groups, with manage_groups)"

// withLocal makes e a Local* variant: it also inherits LocalAuthenticator's section (applied
// after its parents', as traitlets orders LocalX(LocalAuthenticator, X)), except
// LocalAuthenticator.allowed_groups, for the reason why; UNIX groups are e's
// allowed_system_groups.
func withLocal(e Entry, why string) Entry {
	e.Mixins = []string{Local.Class}
	e.Refused = map[string]string{
		Local.Class + ".allowed_groups": fmt.Sprintf("%s; set %s.allowed_system_groups for UNIX groups", why, e.Class),
	}
	return e
}

// init adds MultiAuthenticator, whose sources are built from the other entries: it is appended
// here rather than listed in Entries, which would make Entries depend on itself.
func init() {
	Entries = append(Entries, entryLog([]string{"multi", "MultiAuthenticator"}, multi.ClassName, multi.DefaultConfig, multi.New))
	multi.SetClasses(func(name string) (multi.Class, bool) {
		e, ok := Lookup(name)
		if !ok {
			return multi.Class{}, false
		}
		return multi.Class{Name: e.Names[0], Section: e.Class, NewConfig: e.NewConfig, New: e.New}, true
	})
}

// Common is the base `Authenticator` class: its section applies to every authenticator. It has
// no Names (it cannot be selected) and no New.
var Common = Entry{
	Class:     "Authenticator",
	NewConfig: func() any { c := auth.DefaultConfig(); return &c },
}

// Local is upstream's LocalAuthenticator: a section (create_system_users, add_user_cmd,
// allowed_groups, uids) that PAM and FirstUse inherit. It cannot be selected itself.
var Local = Entry{
	Class:     "LocalAuthenticator",
	Parents:   []string{Common.Class},
	NewConfig: func() any { return local.DefaultConfig() },
}

// OAuth is upstream's OAuthenticator: the section (client_id, scope, …) every OAuth provider
// inherits. It cannot be selected itself.
var OAuth = Entry{
	Class:     "OAuthenticator",
	Parents:   []string{Common.Class},
	NewConfig: func() any { return oauth.DefaultConfig() },
}

// Bases are the config sections that are not authenticators but that authenticators inherit
// from, parents first: the hub's config schema lists them before Entries.
func Bases() []Entry { return []Entry{Common, Local, OAuth} }

// configPtr is what every authenticator's config pointer is: it embeds auth.Config, which gives
// it the promoted Common method.
type configPtr[C any] interface {
	*C
	Common() *auth.Config
}

// entry builds a table row from an authenticator package's DefaultConfig and New. parents are
// the config sections it inherits from, most general first; none means ["Authenticator"].
func entry[C any, P configPtr[C], A auth.Authenticator](names []string, class string, defaults func() P, open func(P) (A, error), parents ...string) Entry {
	return entryLog(names, class, defaults, func(c P, _ *slog.Logger) (A, error) { return open(c) }, parents...)
}

// entryLog is entry for an authenticator whose New also takes the hub's logger.
func entryLog[C any, P configPtr[C], A auth.Authenticator](names []string, class string, defaults func() P, open func(P, *slog.Logger) (A, error), parents ...string) Entry {
	if len(parents) == 0 {
		parents = []string{Common.Class}
	}
	return Entry{
		Names:     names,
		Class:     class,
		Parents:   parents,
		NewConfig: func() any { return defaults() },
		New: func(cfg any, log *slog.Logger) (auth.Authenticator, *auth.Config, error) {
			c, ok := cfg.(P)
			if !ok || c == nil {
				return nil, nil, fmt.Errorf("%s: config is %T, want %T", class, cfg, P(nil))
			}
			if log == nil {
				log = slog.New(slog.DiscardHandler)
			}
			a, err := open(c, log)
			if err != nil {
				return nil, nil, err
			}
			return a, c.Common(), nil
		},
	}
}

// Lookup finds the entry for an authenticator_class value: an entry-point name, a class name or
// an import path ("jupyterhub.auth:DummyAuthenticator" is read as "jupyterhub.auth.DummyAuthenticator").
// Case does not matter.
func Lookup(name string) (Entry, bool) {
	name = strings.ReplaceAll(strings.TrimSpace(name), ":", ".")
	for _, e := range Entries {
		for _, n := range e.Names {
			if strings.EqualFold(n, name) {
				return e, true
			}
		}
	}
	return Entry{}, false
}

// Names lists the entry-point name of every authenticator, comma-separated, for error messages.
func Names() string {
	names := make([]string, 0, len(Entries))
	for _, e := range Entries {
		names = append(names, e.Names[0])
	}
	return strings.Join(names, ", ")
}
