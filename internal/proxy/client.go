package proxy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"time"

	"gohub/internal/naming"
)

// CHPClient drives a configurable-http-proxy (or `gohub proxy`) through its REST API, as
// JupyterHub's ConfigurableHTTPProxy class does: requests are retried with exponential
// backoff for RetryFor on connection errors and 5xx answers, at most MaxConcurrent at once.
type CHPClient struct {
	apiURL  string // without trailing '/'
	token   string
	http    *http.Client
	sem     chan struct{}
	log     *slog.Logger
	retryIn time.Duration
}

// CHPClientOptions configure a CHPClient; zero values take JupyterHub's defaults.
type CHPClientOptions struct {
	// HTTPClient replaces the default client (10 s timeout per request).
	HTTPClient *http.Client
	// MaxConcurrent bounds in-flight requests (default 10).
	MaxConcurrent int
	// RetryFor is how long a failing request is retried (default 30 s).
	RetryFor time.Duration
	// Logger receives retry and ignored-404 logs; nil means slog.Default().
	Logger *slog.Logger
}

// APIError is a non-retryable answer from the proxy API.
type APIError struct {
	Method, Path string
	Status       int
	Body         string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("proxy API %s %s: %d %s", e.Method, e.Path, e.Status, e.Body)
}

// ProxyRoute is one route as the proxy API reports it.
type ProxyRoute struct {
	// Target is the route's target URL.
	Target string
	// LastActivity is the proxy's last_activity (zero if absent or unparsable).
	LastActivity time.Time
	// Data is every field of the route as returned, target and last_activity included.
	Data map[string]any
}

// NewCHPClient returns a client of the proxy API at apiURL (e.g. http://127.0.0.1:8001),
// authenticating with token (CONFIGPROXY_AUTH_TOKEN; empty sends none).
func NewCHPClient(apiURL, token string, opts CHPClientOptions) *CHPClient {
	c := &CHPClient{apiURL: strings.TrimSuffix(apiURL, "/"), token: token, http: opts.HTTPClient,
		log: opts.Logger, retryIn: opts.RetryFor}
	if c.http == nil {
		c.http = &http.Client{Timeout: 10 * time.Second, Transport: NewTransport(false)}
	}
	n := opts.MaxConcurrent
	if n <= 0 {
		n = 10
	}
	c.sem = make(chan struct{}, n)
	if c.log == nil {
		c.log = slog.Default()
	}
	if c.retryIn <= 0 {
		c.retryIn = 30 * time.Second
	}
	return c
}

// routesURL is the API URL of a route key ("/user/a b"), each segment quoted as JupyterHub's
// routespecs are (quote(segment, safe="@~")): the proxy decodes it once, back to the key. A
// key with a "." or ".." segment is refused: configurable-http-proxy would resolve the dots in
// the API URL and act on another route ("/user/alice/.." is "/user").
func (c *CHPClient) routesURL(key string) (string, error) {
	key = CleanPath(key)
	if err := checkKey(key); err != nil {
		return "", err
	}
	if key == "/" {
		return c.apiURL + "/api/routes/", nil
	}
	segs := strings.Split(key[1:], "/")
	for i, s := range segs {
		segs[i] = naming.Escape(s)
	}
	return c.apiURL + "/api/routes/" + strings.Join(segs, "/"), nil
}

// AddRoute adds or replaces the route at path (a route key: decoded, "/user/a b", not a
// routespec; see RouteKey) with target and extra data (not modified).
func (c *CHPClient) AddRoute(ctx context.Context, path, target string, data map[string]any) error {
	body := make(map[string]any, len(data)+1)
	for k, v := range data {
		body[k] = v
	}
	body["target"] = target
	js, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("add route %q: encode: %w", path, err)
	}
	u, err := c.routesURL(path)
	if err != nil {
		return fmt.Errorf("add route: %w", err)
	}
	_, err = c.do(ctx, http.MethodPost, u, js)
	if err != nil {
		return fmt.Errorf("add route %q: %w", path, err)
	}
	return nil
}

// DeleteRoute removes the route at path; a 404 (already gone) is logged and ignored.
func (c *CHPClient) DeleteRoute(ctx context.Context, path string) error {
	u, err := c.routesURL(path)
	if err != nil {
		return fmt.Errorf("delete route: %w", err)
	}
	_, err = c.do(ctx, http.MethodDelete, u, nil)
	var ae *APIError
	if errors.As(err, &ae) && ae.Status == http.StatusNotFound {
		c.log.Info("proxy route already gone", "route", path)
		return nil
	}
	if err != nil {
		return fmt.Errorf("delete route %q: %w", path, err)
	}
	return nil
}

// GetRoutes returns every route by route key (decoded, as the proxy reports it). With a non-zero inactiveSince only routes
// idle since then are returned.
func (c *CHPClient) GetRoutes(ctx context.Context, inactiveSince time.Time) (map[string]ProxyRoute, error) {
	u := c.apiURL + "/api/routes"
	if !inactiveSince.IsZero() {
		u += "?inactive_since=" + url.QueryEscape(inactiveSince.UTC().Format(isoMillis))
	}
	body, err := c.do(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, fmt.Errorf("get routes: %w", err)
	}
	var raw map[string]map[string]any
	if err := json.Unmarshal(body, &raw); err != nil {
		return nil, fmt.Errorf("get routes: decode: %w", err)
	}
	out := make(map[string]ProxyRoute, len(raw))
	for k, d := range raw {
		r := ProxyRoute{Data: d}
		r.Target, _ = d["target"].(string)
		if s, ok := d["last_activity"].(string); ok {
			r.LastActivity, _ = ParseTimestamp(s)
		}
		out[k] = r
	}
	return out, nil
}

// do sends one request, retrying connection errors and 5xx with backoff until RetryFor.
func (c *CHPClient) do(ctx context.Context, method, u string, body []byte) ([]byte, error) {
	select {
	case c.sem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	defer func() { <-c.sem }()
	deadline := time.Now().Add(c.retryIn)
	wait := 200 * time.Millisecond
	for {
		b, retry, err := c.once(ctx, method, u, body)
		if !retry || time.Now().Add(wait).After(deadline) {
			return b, err
		}
		c.log.Warn("proxy API request failed, retrying", "method", method, "url", redactURL(u),
			"err", err, "wait", wait)
		jitter := time.Duration(rand.Int64N(int64(wait)/2 + 1))
		t := time.NewTimer(wait/2 + jitter)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("%w (last error: %w)", ctx.Err(), err)
		}
		wait = min(wait*2, 5*time.Second)
	}
}

// once sends a single request; retry reports whether the failure is worth retrying.
func (c *CHPClient) once(ctx context.Context, method, u string, body []byte) ([]byte, bool, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, false, fmt.Errorf("build request: %w", err)
	}
	if c.token != "" {
		req.Header.Set("Authorization", "token "+c.token)
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, ctx.Err() == nil, fmt.Errorf("%s %s: %w", method, redactURL(u), err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, true, fmt.Errorf("%s %s: read body: %w", method, redactURL(u), err)
	}
	if resp.StatusCode >= 300 {
		msg := string(b)
		if len(msg) > 200 {
			msg = msg[:200]
		}
		return nil, resp.StatusCode >= 500,
			&APIError{Method: method, Path: redactURL(u), Status: resp.StatusCode, Body: msg}
	}
	return b, false, nil
}

// redactURL drops the query and any userinfo from u for logs.
func redactURL(u string) string {
	p, err := url.Parse(u)
	if err != nil {
		return "<bad url>"
	}
	p.RawQuery = ""
	p.User = nil
	return p.String()
}
