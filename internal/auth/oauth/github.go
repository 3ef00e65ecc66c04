package oauth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"slices"
	"strings"

	"golang.org/x/oauth2"
)

// GitHubConfig is the GitHubOAuthenticator class: github.com or a GitHub Enterprise Server.
type GitHubConfig struct {
	Config `yaml:",inline"`

	GitHubURL string `yaml:"github_url" help:"GitHub's URL: https://github.com, or your GitHub Enterprise host (env GITHUB_URL, or GITHUB_HOST with GITHUB_HTTP)."`
	GitHubAPI string `yaml:"github_api" help:"GitHub's REST API: https://api.github.com for github.com, <github_url>/api/v3 for Enterprise."`
	// AllowedOrganizations are "org" or "org:team" entries.
	AllowedOrganizations     []string `yaml:"allowed_organizations" help:"Allow members of these organisations (org) or teams (org:team); private membership needs scope read:org."`
	PopulateTeamsInAuthState bool     `yaml:"populate_teams_in_auth_state" help:"Store the user's teams in auth_state.teams (needs scope read:org); with manage_groups they become groups named org:team."`
}

// DefaultGitHubConfig returns upstream's defaults for GitHubOAuthenticator.
func DefaultGitHubConfig() *GitHubConfig {
	c := &GitHubConfig{Config: *DefaultConfig()}
	c.LoginService = "GitHub"
	c.UsernameClaim = "login"
	return c
}

// NewGitHub validates cfg and builds the GitHub authenticator.
func NewGitHub(cfg *GitHubConfig, log *slog.Logger) (*Authenticator, error) {
	fromEnv(&cfg.GitHubURL, "GITHUB_URL")
	if cfg.GitHubURL == "" {
		if host := getenv("GITHUB_HOST"); host != "" {
			scheme := cmpOr(getenv("GITHUB_HTTP"), "https")
			if scheme == "true" || scheme == "1" {
				scheme = "http"
			}
			cfg.GitHubURL = scheme + "://" + host
		}
	}
	cfg.GitHubURL = strings.TrimSuffix(cmpOr(cfg.GitHubURL, "https://github.com"), "/")
	if u, err := url.Parse(cfg.GitHubURL); err != nil || u.Host == "" {
		return nil, fmt.Errorf("github_url: %q is not a URL", cfg.GitHubURL)
	}
	if cfg.GitHubAPI == "" {
		if cfg.GitHubURL == "https://github.com" {
			cfg.GitHubAPI = "https://api.github.com"
		} else {
			cfg.GitHubAPI = cfg.GitHubURL + "/api/v3"
		}
	}
	cfg.GitHubAPI = strings.TrimSuffix(cfg.GitHubAPI, "/")
	c := &cfg.Config
	c.AuthorizeURL = cmpOr(c.AuthorizeURL, cfg.GitHubURL+"/login/oauth/authorize")
	c.TokenURL = cmpOr(c.TokenURL, cfg.GitHubURL+"/login/oauth/access_token")
	c.UserdataURL = cmpOr(c.UserdataURL, cfg.GitHubAPI+"/user")
	for _, o := range cfg.AllowedOrganizations {
		org, team, _ := strings.Cut(o, ":")
		if org == "" || strings.Contains(team, ":") {
			return nil, fmt.Errorf("allowed_organizations: %q is not org or org:team", o)
		}
	}
	c.loginServiceFromEnv("GitHub")
	if err := c.resolve("GITHUB_CLIENT_ID", "GITHUB_CLIENT_SECRET"); err != nil {
		return nil, err
	}
	return newAuthenticator(c, &github{cfg: cfg}, "GitHubOAuthenticator", log)
}

// github is GitHub's part of the flow: primary email, teams and organisation membership.
type github struct{ cfg *GitHubConfig }

func (*github) userKey() string { return "github_user" }

func (g *github) enrich(ctx context.Context, a *Authenticator, tok *oauth2.Token, info, state map[string]any) error {
	// GitHub hides a private email in /user; with scope user or user:email the primary one is
	// in /user/emails.
	if email, _ := info["email"].(string); email == "" && (slices.Contains(a.cfg.Scope, "user") || slices.Contains(a.cfg.Scope, "user:email")) {
		var emails []struct {
			Email    string `json:"email"`
			Primary  bool   `json:"primary"`
			Verified bool   `json:"verified"`
		}
		if err := a.getJSON(ctx, g.cfg.GitHubAPI+"/user/emails", tok.AccessToken, &emails); err != nil {
			a.log.Warn("github: cannot read the user's emails", "err", err)
		}
		for _, e := range emails {
			if e.Primary {
				info["email"] = e.Email
			}
		}
	}
	if g.cfg.PopulateTeamsInAuthState {
		teams, err := g.teams(ctx, a, tok.AccessToken)
		if err != nil {
			return err
		}
		state["teams"] = teams
	}
	return nil
}

// groups implements grouper: with populate_teams_in_auth_state the user's teams, named
// org:team-slug as allowed_organizations names them.
func (g *github) groups(state map[string]any) ([]string, bool) {
	teams, ok := state["teams"].([]any)
	if !ok {
		return nil, false
	}
	out := []string{}
	for _, t := range teams {
		team, _ := t.(map[string]any)
		org, _ := team["organization"].(map[string]any)
		login, _ := org["login"].(string)
		slug, _ := team["slug"].(string)
		if login != "" && slug != "" {
			out = append(out, login+":"+slug)
		}
	}
	return out, true
}

// teams lists the user's teams, following GitHub's pagination.
func (g *github) teams(ctx context.Context, a *Authenticator, token string) ([]any, error) {
	var all []any
	next := g.cfg.GitHubAPI + "/user/teams?per_page=100"
	for page := 0; next != "" && page < 50; page++ {
		var teams []any
		h, err := a.get(ctx, next, token, &teams)
		if err != nil {
			return nil, fmt.Errorf("github teams: %w", err)
		}
		all = append(all, teams...)
		next = nextLink(h.Get("Link"))
	}
	return all, nil
}

// nextLink finds rel="next" in a Link header.
func nextLink(h string) string {
	for _, part := range strings.Split(h, ",") {
		target, params, ok := strings.Cut(part, ";")
		if ok && strings.Contains(params, `rel="next"`) {
			return strings.Trim(strings.TrimSpace(target), "<>")
		}
	}
	return ""
}

func (g *github) allowed(ctx context.Context, a *Authenticator, name string, state map[string]any) (bool, error) {
	if len(g.cfg.AllowedOrganizations) == 0 {
		return false, nil
	}
	user, _ := state["github_user"].(map[string]any)
	login, _ := user["login"].(string)
	token, _ := state["access_token"].(string)
	if login == "" {
		return false, nil
	}
	for _, o := range g.cfg.AllowedOrganizations {
		org, team, hasTeam := strings.Cut(o, ":")
		target := g.cfg.GitHubAPI + "/orgs/" + url.PathEscape(org) + "/members/" + url.PathEscape(login)
		if hasTeam {
			target = g.cfg.GitHubAPI + "/orgs/" + url.PathEscape(org) + "/teams/" + url.PathEscape(team) + "/members/" + url.PathEscape(login)
		}
		// 204 means a member; 302 (public membership only) and 404 do not.
		err := a.getJSON(ctx, target, token, nil)
		var se *statusError
		switch {
		case err == nil:
			a.log.Info("github: allowed by membership", "user", name, "of", o)
			return true, nil
		case errors.As(err, &se) && se.code < 500:
			continue
		default:
			return false, err
		}
	}
	return false, nil
}
