package hub

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"gohub/internal/proxy"
)

// Router is the proxy as the hub drives it (protocol.md §3.3): routes in the hub's form, escaped as URLs
// are ("/user/a%20b/"; the proxies store the decoded key, see proxy.RouteKey) and with a
// trailing slash ("/user/alice/"), target an origin, data kept with the route. Every route the
// hub adds carries "jupyterhub": true; routes without it are someone else's and left alone.
type Router interface {
	AddRoute(ctx context.Context, routespec, target string, data map[string]any) error
	DeleteRoute(ctx context.Context, routespec string) error
	// Routes returns the hub's routes (those carrying "jupyterhub": true) by routespec.
	Routes(ctx context.Context) (map[string]RouteInfo, error)
}

// RouteInfo is one route as Routes reports it.
type RouteInfo struct {
	Target       string
	Data         map[string]any
	LastActivity time.Time
}

// routespecPath turns a hub routespec ("/user/a%20b/") into the proxy's route key
// ("/user/a b"); see proxy.RouteKey. A routespec that has no key (a bad escape, a dot
// segment) gives its cleaned self, which the routers then refuse to add.
func routespecPath(spec string) string {
	key, err := proxy.RouteKey(spec)
	if err != nil {
		return proxy.CleanPath(spec)
	}
	return key
}

// pathRoutespec turns a proxy route key back into the hub's form, escaped and with the
// trailing slash, as JupyterHub reads configurable-http-proxy's routes.
func pathRoutespec(p string) string { return proxy.Routespec(p) }

// canonicalRoutespec is spec as Routes reports it (its key, quoted back), so that the route
// check compares like with like even when base_url has characters routespecs escape.
func canonicalRoutespec(spec string) string { return pathRoutespec(routespecPath(spec)) }

// builtinRouter drives the in-process route table.
type builtinRouter struct{ table *proxy.RouteTable }

func (b builtinRouter) AddRoute(_ context.Context, spec, target string, data map[string]any) error {
	d := maps.Clone(data)
	if d == nil {
		d = map[string]any{}
	}
	d["target"] = target
	d["jupyterhub"] = true
	key, err := proxy.RouteKey(spec)
	if err != nil {
		return err
	}
	_, err = b.table.Put(key, d)
	return err
}

func (b builtinRouter) DeleteRoute(_ context.Context, spec string) error {
	b.table.Remove(routespecPath(spec))
	return nil
}

func (b builtinRouter) Routes(context.Context) (map[string]RouteInfo, error) {
	out := map[string]RouteInfo{}
	for p, r := range b.table.All() {
		data := r.Data()
		if data["jupyterhub"] != true {
			continue
		}
		out[pathRoutespec(p)] = RouteInfo{Target: r.Target.String(), Data: data, LastActivity: r.LastActivity()}
	}
	return out, nil
}

// chpRouter drives an external configurable-http-proxy over its REST API.
type chpRouter struct{ c *proxy.CHPClient }

func (c chpRouter) AddRoute(ctx context.Context, spec, target string, data map[string]any) error {
	d := maps.Clone(data)
	if d == nil {
		d = map[string]any{}
	}
	d["jupyterhub"] = true
	key, err := proxy.RouteKey(spec)
	if err != nil {
		return err
	}
	return c.c.AddRoute(ctx, key, target, d)
}

func (c chpRouter) DeleteRoute(ctx context.Context, spec string) error {
	key, err := proxy.RouteKey(spec)
	if err != nil {
		return err
	}
	return c.c.DeleteRoute(ctx, key)
}

func (c chpRouter) Routes(ctx context.Context) (map[string]RouteInfo, error) {
	all, err := c.c.GetRoutes(ctx, time.Time{})
	if err != nil {
		return nil, err
	}
	out := map[string]RouteInfo{}
	for p, r := range all {
		if r.Data["jupyterhub"] != true {
			continue
		}
		out[pathRoutespec(p)] = RouteInfo{Target: r.Target, Data: r.Data, LastActivity: r.LastActivity}
	}
	return out, nil
}

// CHPConfig is the ConfigurableHTTPProxy class: how the hub reaches (or starts) an external
// configurable-http-proxy when JupyterHub.proxy_class is configurable-http-proxy.
type CHPConfig struct {
	APIURL      string   `yaml:"api_url" help:"URL of the proxy's REST API."`
	AuthToken   string   `yaml:"auth_token" help:"Token for the proxy's REST API; CONFIGPROXY_AUTH_TOKEN if empty; generated when the hub starts the proxy."`
	ShouldStart bool     `yaml:"should_start" help:"Start the proxy as a child process; false connects to one that runs already (then auth_token or CONFIGPROXY_AUTH_TOKEN is required)."`
	Command     []string `yaml:"command" help:"The proxy command the hub starts."`
	Debug       bool     `yaml:"debug" help:"Run the proxy with --log-level debug."`

	hostRouting bool // JupyterHub.subdomain_host is set: start the proxy with --host-routing
}

// DefaultCHPConfig returns upstream's defaults.
func DefaultCHPConfig() *CHPConfig {
	return &CHPConfig{APIURL: "http://127.0.0.1:8001", ShouldStart: true, Command: []string{"configurable-http-proxy"}}
}

// chpProcess is a configurable-http-proxy the hub started and watches.
type chpProcess struct {
	cmd  *exec.Cmd
	done chan struct{}
	mu   sync.Mutex
}

// startCHP launches configurable-http-proxy with the flags JupyterHub passes (protocol.md §3.1) and
// waits up to 15 s for its API to answer.
func startCHP(ctx context.Context, cfg *CHPConfig, token, publicIP, publicPort, errorTarget, defaultTarget string, log *slog.Logger) (*chpProcess, error) {
	apiHost, apiPort, err := hostPortOf(cfg.APIURL)
	if err != nil {
		return nil, fmt.Errorf("ConfigurableHTTPProxy.api_url: %w", err)
	}
	if len(cfg.Command) == 0 {
		return nil, fmt.Errorf("ConfigurableHTTPProxy.command is empty")
	}
	args := append(cfg.Command[1:],
		"--ip", publicIP, "--port", publicPort,
		"--api-ip", apiHost, "--api-port", apiPort,
		"--error-target", errorTarget,
		"--default-target", defaultTarget)
	if cfg.Debug {
		args = append(args, "--log-level", "debug")
	}
	if cfg.hostRouting {
		args = append(args, "--host-routing")
	}
	cmd := exec.Command(cfg.Command[0], args...)
	cmd.Env = append(os.Environ(), "CONFIGPROXY_AUTH_TOKEN="+token)
	cmd.Stdout = os.Stderr
	cmd.Stderr = os.Stderr
	// The proxy dies with the hub, even a SIGKILLed one; the next hub starts a new proxy and
	// restores every route.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", cfg.Command[0], err)
	}
	p := &chpProcess{cmd: cmd, done: make(chan struct{})}
	go func() { cmd.Wait(); close(p.done) }()
	log.Info("started configurable-http-proxy", "pid", cmd.Process.Pid, "api_url", cfg.APIURL)
	deadline := time.Now().Add(15 * time.Second)
	client := &http.Client{Timeout: time.Second}
	for {
		req, _ := http.NewRequestWithContext(ctx, "GET", strings.TrimSuffix(cfg.APIURL, "/")+"/api/routes", nil)
		req.Header.Set("Authorization", "token "+token)
		resp, err := client.Do(req)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return p, nil
			}
		}
		select {
		case <-p.done:
			return nil, fmt.Errorf("configurable-http-proxy exited at start: %v", cmd.ProcessState)
		case <-ctx.Done():
			p.stop()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			p.stop()
			return nil, fmt.Errorf("configurable-http-proxy's API did not answer at %s within 15 s", cfg.APIURL)
		}
	}
}

// stop ends the proxy process.
func (p *chpProcess) stop() {
	if p == nil {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.cmd.Process.Signal(os.Interrupt)
	select {
	case <-p.done:
	case <-time.After(5 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
	}
}

// hostPortOf returns the host and port of an http(s) URL, with the scheme's default port.
func hostPortOf(raw string) (string, string, error) {
	u, err := url.Parse(raw)
	if err != nil {
		return "", "", err
	}
	if u.Host == "" {
		return "", "", fmt.Errorf("%q has no host", raw)
	}
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	return u.Hostname(), port, nil
}
