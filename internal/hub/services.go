package hub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"gohub/internal/config"
	"gohub/internal/store"
)

// syncServices writes the services of the config into the database, with their admin role and
// their api_token, and removes config services that are no longer configured (protocol.md §5.5).
func syncServices(ctx context.Context, db *store.DB, services []config.Service, baseURL string, trustTokens bool, log *slog.Logger) error {
	seen := map[string]bool{}
	for _, s := range services {
		if s.Name == "" {
			return errors.New("JupyterHub.services: a service has no name")
		}
		if seen[s.Name] {
			return fmt.Errorf("JupyterHub.services: service %q is defined twice", s.Name)
		}
		seen[s.Name] = true
		if s.OAuthClientID != "" && !strings.HasPrefix(s.OAuthClientID, "service-") {
			return fmt.Errorf("JupyterHub.services: service %q: oauth_client_id must start with \"service-\"", s.Name)
		}
		if s.APIToken != "" && len(s.APIToken) < 8 {
			return fmt.Errorf("JupyterHub.services: service %q: api_token must be at least 8 characters", s.Name)
		}
		clientID, err := syncServiceClient(ctx, db, s, baseURL)
		if err != nil {
			return fmt.Errorf("service %q oauth client: %w", s.Name, err)
		}
		row, err := db.UpsertService(ctx, store.Service{
			Name:                     s.Name,
			Admin:                    s.Admin,
			URL:                      s.URL,
			OAuthClientID:            clientID,
			OAuthClientAllowedScopes: s.OAuthClientAllowedScopes,
			OAuthNoConfirm:           s.OAuthNoConfirm,
			Info:                     s.Info,
			Display:                  s.Display == nil || *s.Display,
			Command:                  s.Command,
			Cwd:                      s.Cwd,
			Environment:              s.Environment,
			User:                     s.User,
			FromConfig:               true,
		})
		if err != nil {
			return fmt.Errorf("service %q: %w", s.Name, err)
		}
		if s.Admin {
			err = db.GrantRole(ctx, "admin", store.KindService, s.Name)
		} else {
			err = db.RevokeRole(ctx, "admin", store.KindService, s.Name)
		}
		if err != nil {
			return fmt.Errorf("service %q admin role: %w", s.Name, err)
		}
		if s.APIToken != "" {
			if err := ensureServiceToken(ctx, db, row, s.APIToken, trustTokens); err != nil {
				return fmt.Errorf("service %q: %w", s.Name, err)
			}
		}
	}
	all, err := db.ListServices(ctx)
	if err != nil {
		return err
	}
	for _, s := range all {
		if s.FromConfig && !seen[s.Name] {
			log.Info("removing service no longer in the config", "service", s.Name)
			if err := db.DeleteService(ctx, s.Name); err != nil {
				return fmt.Errorf("remove service %q: %w", s.Name, err)
			}
		}
	}
	return nil
}

// ensureServiceToken stores a config-supplied token for the service unless it is there already.
// A token that already belongs to someone else is refused: two owners cannot share one secret.
func ensureServiceToken(ctx context.Context, db *store.DB, svc *store.Service, plain string, trust bool) error {
	tok, err := db.LookupToken(ctx, plain, time.Now())
	switch {
	case err == nil:
		if tok.ServiceID == nil || *tok.ServiceID != svc.ID {
			return errors.New("api_token is already in use by another owner")
		}
		return nil
	case !errors.Is(err, store.ErrNotFound):
		return err
	}
	// Tokens the hub did not generate get 16,384 SHA-512 rounds, as in JupyterHub (protocol.md §6.3);
	// trust_user_provided_tokens lowers that to one.
	rounds := store.SuppliedTokenRounds
	if trust {
		rounds = store.GeneratedTokenRounds
	}
	id := svc.ID
	_, err = db.CreateToken(ctx, store.NewToken{
		Plain: plain, Rounds: rounds, ServiceID: &id, Note: "from config", Scopes: []string{"inherit"},
	})
	return err
}

// syncServiceClient registers the OAuth client of a service that users reach through the hub
// (it has a url or an oauth_redirect_uri), as JupyterHub does: id "service-<name>" unless
// configured, secret the service's api_token (hashed), redirect <base>services/<name>/oauth_callback
// unless configured. A service without either gets no client and "" is returned.
func syncServiceClient(ctx context.Context, db *store.DB, s config.Service, baseURL string) (string, error) {
	if s.URL == "" && s.OAuthRedirectURI == "" {
		return "", nil
	}
	id := s.OAuthClientID
	if id == "" {
		id = "service-" + s.Name
	}
	redirect := s.OAuthRedirectURI
	if redirect == "" {
		redirect = baseURL + "services/" + s.Name + "/oauth_callback"
	}
	secret := ""
	if s.APIToken != "" {
		secret = store.HashToken(s.APIToken, store.SuppliedTokenRounds)
	}
	_, err := db.UpsertOAuthClient(ctx, store.OAuthClient{
		Identifier:    id,
		Description:   "Service " + s.Name,
		Secret:        secret,
		RedirectURI:   redirect,
		AllowedScopes: s.OAuthClientAllowedScopes,
	})
	return id, err
}
