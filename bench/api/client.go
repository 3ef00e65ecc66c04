package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"sort"
	"strings"
	"time"
)

// apiClient talks to one hub's REST API with one token.
type apiClient struct {
	base  string // .../hub/api
	token string
	http  *http.Client
}

func newAPIClient(base, token string, conns int) *apiClient {
	tr := &http.Transport{
		MaxIdleConns:        conns * 2,
		MaxIdleConnsPerHost: conns * 2,
		IdleConnTimeout:     90 * time.Second,
		// Neither hub is asked to compress, so both do the same work per response.
		DisableCompression: true,
	}
	return &apiClient{base: base, token: token, http: &http.Client{Transport: tr, Timeout: 120 * time.Second}}
}

// do sends one request and decodes a JSON answer into out (if not nil); a status other than
// want is an error that quotes the body.
func (c *apiClient) do(ctx context.Context, method, path string, body any, want int, out any) error {
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			return err
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "token "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return fmt.Errorf("%s %s: read body: %w", method, path, err)
	}
	if resp.StatusCode != want {
		return fmt.Errorf("%s %s: status %s, want %d: %.300s", method, path, resp.Status, want, b)
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return fmt.Errorf("%s %s: decode: %w", method, path, err)
		}
	}
	return nil
}

// version returns the hub's GET /hub/api "version".
func (c *apiClient) version(ctx context.Context) (string, error) {
	var v struct {
		Version string `json:"version"`
	}
	err := c.do(ctx, http.MethodGet, "", nil, http.StatusOK, &v)
	return v.Version, err
}

// userName is the name of the i-th bench user (0-based).
func userName(i int) string { return fmt.Sprintf("user%05d", i) }

// adminName is the user whose generated token drives the load.
const adminName = "bench-admin"

// seed creates n users in batches through POST /hub/api/users (201 Created), plus the admin
// user, and returns how long it took.
func (c *apiClient) seed(ctx context.Context, n int) (time.Duration, error) {
	start := time.Now()
	const batch = 500
	for i := 0; i < n; i += batch {
		names := make([]string, 0, batch)
		for j := i; j < n && j < i+batch; j++ {
			names = append(names, userName(j))
		}
		if err := c.do(ctx, http.MethodPost, "/users", map[string]any{"usernames": names}, http.StatusCreated, nil); err != nil {
			return 0, fmt.Errorf("create users %s..: %w", names[0], err)
		}
	}
	if err := c.do(ctx, http.MethodPost, "/users/"+adminName, map[string]any{"admin": true}, http.StatusCreated, nil); err != nil {
		return 0, fmt.Errorf("create admin user: %w", err)
	}
	return time.Since(start), nil
}

// adminToken has the hub generate a token for the admin user (POST /users/{name}/tokens), so
// that both hubs verify a generated token, not a config-supplied one (bench/README.md, api step 3).
func (c *apiClient) adminToken(ctx context.Context) (string, error) {
	var t struct {
		Token string `json:"token"`
	}
	if err := c.do(ctx, http.MethodPost, "/users/"+adminName+"/tokens", map[string]any{"note": "gohub bench"}, http.StatusCreated, &t); err != nil {
		return "", fmt.Errorf("create admin token: %w", err)
	}
	if t.Token == "" {
		return "", fmt.Errorf("create admin token: answer has no token")
	}
	return t.Token, nil
}

// listAll pages through GET /users?limit=200&offset=k until a short page and returns how many
// users it saw and how long it took.
func (c *apiClient) listAll(ctx context.Context) (int, time.Duration, error) {
	start := time.Now()
	total := 0
	for offset := 0; ; offset += 200 {
		var page []json.RawMessage
		if err := c.do(ctx, http.MethodGet, fmt.Sprintf("/users?limit=200&offset=%d", offset), nil, http.StatusOK, &page); err != nil {
			return total, 0, err
		}
		total += len(page)
		if len(page) < 200 {
			return total, time.Since(start), nil
		}
	}
}

// userFields returns the sorted JSON keys of GET /users/{name}, to show where the two hubs'
// user models differ.
func (c *apiClient) userFields(ctx context.Context, name string) ([]string, error) {
	var m map[string]json.RawMessage
	if err := c.do(ctx, http.MethodGet, "/users/"+name, nil, http.StatusOK, &m); err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys, nil
}

// missing returns the elements of want not in have.
func missing(want, have []string) string {
	set := map[string]bool{}
	for _, h := range have {
		set[h] = true
	}
	var out []string
	for _, w := range want {
		if !set[w] {
			out = append(out, w)
		}
	}
	return strings.Join(out, ", ")
}
