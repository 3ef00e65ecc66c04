package web

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"gohub/internal/store"
)

// This file serves /hub/token: the user's API tokens and the OAuth clients they authorised,
// rendered from the store; static/token.js creates tokens (POST {hub}api/users/{me}/tokens
// with note, expires_in and scopes) and revokes them (DELETE .../tokens/{id}) with the page's
// _xsrf token, as JupyterHub's token page does.

// tokenPage is what token.html shows besides the layout.
type tokenPage struct {
	XSRF    string
	APIURL  string // {hub}api/
	JS      string
	Me      string
	Tokens  []tokenRow  // API tokens (the hub's own client), newest first
	Clients []clientRow // authorised OAuth clients, by name
}

// tokenRow is one API token.
type tokenRow struct {
	ID           string // "a<row id>", as the API names it
	Note         string
	Scopes       []string
	Created      timeText
	LastActivity timeText
	ExpiresAt    timeText
}

// clientRow is one OAuth client holding tokens of the user.
type clientRow struct {
	ClientID     string
	Name         string
	Scopes       []string
	Created      timeText // of its oldest token
	LastActivity timeText // of its most recent use
	TokenIDs     string   // space-separated "a<id>"s, all revoked together
}

// timeText is a time for a page: a machine-readable value and a short text; zero when unset.
type timeText struct {
	ISO  string
	Text string
}

func newTimeText(t *time.Time) timeText {
	if t == nil || t.IsZero() {
		return timeText{}
	}
	u := t.UTC()
	return timeText{ISO: u.Format(time.RFC3339), Text: u.Format("2006-01-02 15:04 UTC")}
}

// tokenPage answers GET /hub/token.
func (p *Pages) tokenPage(w http.ResponseWriter, r *http.Request) {
	u, ok := p.requireUser(w, r)
	if !ok {
		return
	}
	data := &tokenPage{
		XSRF:   p.XSRFToken(w, r, u),
		APIURL: p.hubPrefix + "api/",
		JS:     p.hubPrefix + "static/token.js?v=" + p.static.version("token.js"),
		Me:     u.Name,
	}
	var err error
	if data.Tokens, data.Clients, err = p.userTokens(r.Context(), u, time.Now()); err != nil {
		p.log.Error("token page", "user", u.Name, "err", err)
		p.Error(w, r, http.StatusInternalServerError, "")
		return
	}
	p.renderWith(w, http.StatusOK, "token.html", &view{Title: "Tokens", User: u}, data)
}

// userTokens splits u's unexpired tokens into API tokens and OAuth clients.
func (p *Pages) userTokens(ctx context.Context, u *store.User, now time.Time) ([]tokenRow, []clientRow, error) {
	tokens, err := p.d.Store.ListTokens(ctx, store.KindUser, u.ID)
	if err != nil {
		return nil, nil, fmt.Errorf("list tokens: %w", err)
	}
	// Newest first: ids grow with creation.
	slices.SortFunc(tokens, func(a, b *store.Token) int { return cmp.Compare(b.ID, a.ID) })
	var api []tokenRow
	clients := map[string]*clientRow{}
	var oldest, newest = map[string]time.Time{}, map[string]time.Time{}
	for _, t := range tokens {
		if t.ExpiresAt != nil && !t.ExpiresAt.After(now) {
			continue
		}
		id := "a" + strconv.FormatInt(t.ID, 10)
		if t.ClientID == "" || t.ClientID == store.HubClientID {
			api = append(api, tokenRow{ID: id, Note: t.Note, Scopes: shownScopes(t.Scopes), Created: newTimeText(&t.Created),
				LastActivity: newTimeText(t.LastActivity), ExpiresAt: newTimeText(t.ExpiresAt)})
			continue
		}
		c := clients[t.ClientID]
		if c == nil {
			c = &clientRow{ClientID: t.ClientID, Name: t.ClientID}
			if oc, err := p.d.Store.GetOAuthClient(ctx, t.ClientID); err == nil && oc.Description != "" {
				c.Name = oc.Description
			} else if err != nil && !errors.Is(err, store.ErrNotFound) {
				return nil, nil, fmt.Errorf("oauth client %s: %w", t.ClientID, err)
			}
			clients[t.ClientID] = c
		}
		c.TokenIDs = strings.TrimSpace(c.TokenIDs + " " + id)
		for _, s := range t.Scopes {
			if !slices.Contains(c.Scopes, s) {
				c.Scopes = append(c.Scopes, s)
			}
		}
		if o, ok := oldest[t.ClientID]; !ok || t.Created.Before(o) {
			oldest[t.ClientID] = t.Created
		}
		if t.LastActivity != nil && t.LastActivity.After(newest[t.ClientID]) {
			newest[t.ClientID] = *t.LastActivity
		}
	}
	var out []clientRow
	for id, c := range clients {
		o, n := oldest[id], newest[id]
		c.Created, c.LastActivity = newTimeText(&o), newTimeText(&n)
		slices.Sort(c.Scopes)
		out = append(out, *c)
	}
	slices.SortFunc(out, func(a, b clientRow) int { return strings.Compare(a.Name, b.Name) })
	return api, out, nil
}

// shownScopes is a token's raw scopes for the page: none (shown as "all of yours") for the
// inherit metascope of the default token role.
func shownScopes(raw []string) []string {
	if len(raw) == 1 && raw[0] == "inherit" {
		return nil
	}
	return raw
}
