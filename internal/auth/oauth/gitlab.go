package oauth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	"golang.org/x/oauth2"
)

// GitLabConfig is the GitLabOAuthenticator class: gitlab.com or a self-hosted GitLab.
type GitLabConfig struct {
	Config `yaml:",inline"`

	GitLabURL         string   `yaml:"gitlab_url" help:"GitLab's URL: https://gitlab.com or your own instance (env GITLAB_URL, or GITLAB_HOST)."`
	GitLabAPIVersion  string   `yaml:"gitlab_api_version" help:"Version of GitLab's REST API (env GITLAB_API_VERSION)."`
	GitLabAPI         string   `yaml:"gitlab_api" help:"GitLab's REST API URL; <gitlab_url>/api/v<gitlab_api_version> when empty."`
	AllowedGroups     []string `yaml:"allowed_gitlab_groups" help:"Allow members of these GitLab groups (full paths, e.g. org/team); the membership check needs scope read_api."`
	AllowedProjectIDs []int64  `yaml:"allowed_project_ids" help:"Allow members of these projects with at least Developer access (level 30); needs scope read_api."`
}

// DefaultGitLabConfig returns upstream's defaults for GitLabOAuthenticator.
func DefaultGitLabConfig() *GitLabConfig {
	c := &GitLabConfig{Config: *DefaultConfig(), GitLabAPIVersion: "4"}
	c.LoginService = "GitLab"
	c.UsernameClaim = "username"
	return c
}

// NewGitLab validates cfg and builds the GitLab authenticator.
func NewGitLab(cfg *GitLabConfig, log *slog.Logger) (*Authenticator, error) {
	fromEnv(&cfg.GitLabURL, "GITLAB_URL")
	if cfg.GitLabURL == "" {
		if host := getenv("GITLAB_HOST"); host != "" {
			if !strings.Contains(host, "://") {
				host = "https://" + host
			}
			cfg.GitLabURL = host
		}
	}
	cfg.GitLabURL = strings.TrimSuffix(cmpOr(cfg.GitLabURL, "https://gitlab.com"), "/")
	if u, err := url.Parse(cfg.GitLabURL); err != nil || u.Host == "" {
		return nil, fmt.Errorf("gitlab_url: %q is not a URL", cfg.GitLabURL)
	}
	if v := getenv("GITLAB_API_VERSION"); v != "" && cfg.GitLabAPIVersion == "4" {
		cfg.GitLabAPIVersion = v
	}
	cfg.GitLabAPI = strings.TrimSuffix(cmpOr(cfg.GitLabAPI, cfg.GitLabURL+"/api/v"+cmpOr(cfg.GitLabAPIVersion, "4")), "/")
	c := &cfg.Config
	c.AuthorizeURL = cmpOr(c.AuthorizeURL, cfg.GitLabURL+"/oauth/authorize")
	c.TokenURL = cmpOr(c.TokenURL, cfg.GitLabURL+"/oauth/token")
	c.UserdataURL = cmpOr(c.UserdataURL, cfg.GitLabAPI+"/user")
	c.loginServiceFromEnv("GitLab")
	if err := c.resolve("GITLAB_CLIENT_ID", "GITLAB_CLIENT_SECRET"); err != nil {
		return nil, err
	}
	return newAuthenticator(c, &gitlab{cfg: cfg}, "GitLabOAuthenticator", log)
}

// gitlab is GitLab's part: group and project membership.
type gitlab struct{ cfg *GitLabConfig }

func (*gitlab) userKey() string { return "gitlab_user" }
func (*gitlab) enrich(context.Context, *Authenticator, *oauth2.Token, map[string]any, map[string]any) error {
	return nil
}

// developerAccess is GitLab's access level of a Developer.
const developerAccess = 30

func (g *gitlab) allowed(ctx context.Context, a *Authenticator, name string, state map[string]any) (bool, error) {
	user, _ := state["gitlab_user"].(map[string]any)
	uid, ok := number(user["id"])
	if !ok {
		return false, nil
	}
	token, _ := state["access_token"].(string)
	for _, group := range g.cfg.AllowedGroups {
		// members/all includes members inherited from parent groups; 200 means a member.
		target := fmt.Sprintf("%s/groups/%s/members/all/%d", g.cfg.GitLabAPI, url.PathEscape(group), uid)
		ok, err := g.member(ctx, a, target, token, 0)
		if err != nil || ok {
			if ok {
				a.log.Info("gitlab: allowed by group membership", "user", name, "group", group)
			}
			return ok, err
		}
	}
	for _, project := range g.cfg.AllowedProjectIDs {
		target := fmt.Sprintf("%s/projects/%d/members/all/%d", g.cfg.GitLabAPI, project, uid)
		ok, err := g.member(ctx, a, target, token, developerAccess)
		if err != nil || ok {
			if ok {
				a.log.Info("gitlab: allowed by project membership", "user", name, "project", project)
			}
			return ok, err
		}
	}
	return false, nil
}

// member asks GitLab for one membership: 200 with at least minLevel access is a member, a 4xx
// is not, anything else is an error.
func (g *gitlab) member(ctx context.Context, a *Authenticator, target, token string, minLevel int64) (bool, error) {
	var m map[string]any
	err := a.getJSON(ctx, target, token, &m)
	var se *statusError
	switch {
	case err == nil:
		level, _ := number(m["access_level"])
		return level >= minLevel, nil
	case errors.As(err, &se) && se.code < 500:
		return false, nil
	}
	return false, err
}
