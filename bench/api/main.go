// Command api benchmarks the JupyterHub REST API of gohub against Python JupyterHub (Debian's
// `jupyterhub` package) side by side on this machine: bench/README.md, api.
//
// It starts each hub on 127.0.0.1 with SQLite in a temporary directory, creates the same users
// through each API, has each hub generate an admin token (so both verify a generated token),
// then runs a closed-loop load generator on GET /hub/api/users/{name} and
// GET /hub/api/users?limit=200 and prints req/s, p99 and the gohub/JupyterHub ratio. With
// -cold it instead restarts each hub over 10,000 users and times the first full listing against
// a second one. With -admin it walks the user list page by page as gohub's /hub/admin page does
// and prints per-page latency. Everything it starts is stopped at the end.
//
//	go run ./bench/api [-users 1000] [-duration 10s] [-concurrency 16] [-rounds 3]
//	                   [-only jupyterhub|gohub] [-cold] [-admin]
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

// options are the command-line flags.
type options struct {
	users       int
	duration    time.Duration
	warmup      time.Duration
	concurrency int
	rounds      int
	only        string
	cold        bool
	admin       bool
	pin         bool
	keep        bool
	jupyterhub  string
	chp         string
	gohub       string
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "bench/api:", err)
		os.Exit(1)
	}
}

func parseFlags() options {
	var o options
	flag.IntVar(&o.users, "users", 1000, "users to create in each hub (default 10000 with -cold and -admin)")
	flag.DurationVar(&o.duration, "duration", 10*time.Second, "measured time per run")
	flag.DurationVar(&o.warmup, "warmup", 2*time.Second, "unrecorded load before each run")
	flag.IntVar(&o.concurrency, "concurrency", 16, "concurrent closed-loop workers (keep-alive connections)")
	flag.IntVar(&o.rounds, "rounds", 3, "interleaved runs per endpoint and hub; the table shows medians")
	flag.StringVar(&o.only, "only", "", "run one side only: jupyterhub or gohub")
	flag.BoolVar(&o.cold, "cold", false, "instead of the load runs: restart each hub and time the first full listing against a second one")
	flag.BoolVar(&o.admin, "admin", false, "instead of the load runs: walk every page of the user list as /hub/admin does and print per-page latency")
	flag.BoolVar(&o.pin, "pin", true, "with taskset and 2+ CPUs: hubs on CPU 0, load generator on CPU 1")
	flag.BoolVar(&o.keep, "keep", false, "keep the temporary directory (configs, databases, logs)")
	flag.StringVar(&o.jupyterhub, "jupyterhub", "", "jupyterhub command (default: from PATH)")
	flag.StringVar(&o.chp, "chp", "", "configurable-http-proxy command (default: from PATH)")
	flag.StringVar(&o.gohub, "gohub", "", "gohub binary (default: go build ./cmd/gohub)")
	flag.Parse()
	usersSet := false
	flag.Visit(func(f *flag.Flag) { usersSet = usersSet || f.Name == "users" })
	if (o.cold || o.admin) && !usersSet {
		o.users = 10000
	}
	return o
}

func run() error {
	o := parseFlags()
	if o.only != "" && o.only != "jupyterhub" && o.only != "gohub" {
		return fmt.Errorf("-only must be jupyterhub or gohub, not %q", o.only)
	}
	if o.users < 1 || o.concurrency < 1 || o.rounds < 1 {
		return errors.New("-users, -concurrency and -rounds must be at least 1")
	}
	if o.pin {
		pinned, err := pinSelf()
		if err != nil {
			return err
		}
		o.pin = pinned
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	tmp, err := os.MkdirTemp("", "gohub-bench-api-")
	if err != nil {
		return err
	}
	if o.keep {
		fmt.Fprintln(os.Stderr, "keeping", tmp)
	} else {
		defer os.RemoveAll(tmp)
	}

	hubs, err := prepare(ctx, o, tmp)
	for _, h := range hubs {
		defer h.Stop()
	}
	if err != nil {
		return err
	}
	sides := make([]*side, 0, len(hubs))
	for _, h := range hubs {
		s, err := bootstrap(ctx, h, o)
		if err != nil {
			return err
		}
		sides = append(sides, s)
	}
	printFieldDiff(ctx, sides)
	if o.cold {
		return coldRuns(ctx, o, sides)
	}
	if o.admin {
		return adminRuns(ctx, o, sides)
	}
	return loadRuns(ctx, o, sides)
}

// prepare writes each selected hub's config into its own directory under tmp.
func prepare(ctx context.Context, o options, tmp string) ([]*hub, error) {
	var hubs []*hub
	if o.only != "gohub" {
		jh, err := findCommand(o.jupyterhub, "jupyterhub")
		if err != nil {
			return hubs, err
		}
		chp, err := findCommand(o.chp, "configurable-http-proxy")
		if err != nil {
			return hubs, err
		}
		if out, err := exec.CommandContext(ctx, chp, "--version").CombinedOutput(); err != nil {
			return hubs, fmt.Errorf("%s does not run (scripts/install-deps.sh bench installs CHP from npm): %w\n%s", chp, err, out)
		}
		dir := filepath.Join(tmp, "jupyterhub")
		if err := os.Mkdir(dir, 0o700); err != nil {
			return hubs, err
		}
		h, err := newJupyterHub(dir, jh, chp, o.pin)
		if err != nil {
			return hubs, err
		}
		hubs = append(hubs, h)
	}
	if o.only != "jupyterhub" {
		dir := filepath.Join(tmp, "gohub")
		if err := os.Mkdir(dir, 0o700); err != nil {
			return hubs, err
		}
		bin := o.gohub
		if bin == "" {
			fmt.Fprintln(os.Stderr, "building ./cmd/gohub ...")
			var err error
			if bin, err = buildGohub(ctx, dir); err != nil {
				return hubs, err
			}
		}
		h, err := newGohub(dir, bin, o.pin)
		if err != nil {
			return hubs, err
		}
		hubs = append(hubs, h)
	}
	return hubs, nil
}

// side is a started, seeded hub with a client that carries the hub-generated admin token.
type side struct {
	hub     *hub
	version string
	client  *apiClient
}

// bootstrap starts h, creates the users with the config token, and mints the admin token.
func bootstrap(ctx context.Context, h *hub, o options) (*side, error) {
	t0 := time.Now()
	if err := h.Start(ctx); err != nil {
		return nil, err
	}
	boot := newAPIClient(h.APIURL, h.ServiceToken, 4)
	v, err := boot.version(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", h.Name, err)
	}
	fmt.Fprintf(os.Stderr, "%s %s ready in %s; creating %d users ...\n", h.Name, v, time.Since(t0).Round(time.Millisecond), o.users)
	took, err := boot.seed(ctx, o.users)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", h.Name, err)
	}
	tok, err := boot.adminToken(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", h.Name, err)
	}
	fmt.Fprintf(os.Stderr, "%s: %d users created in %s (%.0f users/s)\n", h.Name, o.users+1, took.Round(time.Millisecond), float64(o.users+1)/took.Seconds())
	return &side{hub: h, version: v, client: newAPIClient(h.APIURL, tok, o.concurrency)}, nil
}

// printFieldDiff says which user-model fields one hub has and the other lacks.
func printFieldDiff(ctx context.Context, sides []*side) {
	if len(sides) != 2 {
		return
	}
	a, errA := sides[0].client.userFields(ctx, userName(0))
	b, errB := sides[1].client.userFields(ctx, userName(0))
	if errA != nil || errB != nil {
		fmt.Fprintln(os.Stderr, "user model check:", errors.Join(errA, errB))
		return
	}
	if m := missing(a, b); m != "" {
		fmt.Printf("note: %s's user model lacks fields %s has: %s\n", sides[1].hub.Name, sides[0].hub.Name, m)
	}
	if m := missing(b, a); m != "" {
		fmt.Printf("note: %s's user model has extra fields: %s\n", sides[1].hub.Name, m)
	}
}

// loadRuns runs every endpoint against every hub, interleaved, o.rounds times, and prints the
// medians.
func loadRuns(ctx context.Context, o options, sides []*side) error {
	eps := endpoints(o.users)
	res := make([][][]result, len(eps)) // [endpoint][side][round]
	for e := range eps {
		res[e] = make([][]result, len(sides))
	}
	rng := rand.New(rand.NewPCG(1, 2))
	for round := range o.rounds {
		for e, ep := range eps {
			for s, sd := range sides {
				if err := preflight(ctx, sd.client, ep, rng); err != nil {
					return fmt.Errorf("%s: %s: %w", sd.hub.Name, ep.Name, err)
				}
				r := runLoad(ctx, sd.client, ep, o.concurrency, o.warmup, o.duration)
				if ctx.Err() != nil {
					return ctx.Err()
				}
				fmt.Fprintf(os.Stderr, "round %d/%d  %-30s %-10s %9.0f req/s  p50 %-9s p99 %-9s errors %d\n",
					round+1, o.rounds, ep.Name, sd.hub.Name, r.RPS(), r.Quantile(0.50).Round(10*time.Microsecond),
					r.Quantile(0.99).Round(10*time.Microsecond), r.Errors)
				if r.Errors > 0 {
					fmt.Fprintf(os.Stderr, "  first error: %s\n", r.FirstErr)
				}
				res[e][s] = append(res[e][s], r)
			}
		}
	}
	printLoadTable(os.Stdout, o, sides, eps, res)
	return nil
}

// coldRuns restarts each hub and times two full listings.
func coldRuns(ctx context.Context, o options, sides []*side) error {
	fmt.Printf("\nFirst full listing after a restart, %d users (pages of 200, one client)\n", o.users+1)
	fmt.Printf("%-12s %-10s %14s %14s %14s %12s\n", "hub", "version", "restart→ready", "first listing", "second", "first/second")
	for _, sd := range sides {
		sd.hub.Stop()
		t0 := time.Now()
		if err := sd.hub.Start(ctx); err != nil {
			return err
		}
		ready := time.Since(t0)
		n1, first, err := sd.client.listAll(ctx)
		if err != nil {
			return fmt.Errorf("%s: %w", sd.hub.Name, err)
		}
		n2, second, err := sd.client.listAll(ctx)
		if err != nil {
			return fmt.Errorf("%s: %w", sd.hub.Name, err)
		}
		if n1 != o.users+1 || n2 != n1 {
			return fmt.Errorf("%s: listings saw %d and %d users, want %d", sd.hub.Name, n1, n2, o.users+1)
		}
		fmt.Printf("%-12s %-10s %14s %14s %14s %11.1f×\n", sd.hub.Name, sd.version, ready.Round(time.Millisecond),
			first.Round(time.Millisecond), second.Round(time.Millisecond), first.Seconds()/second.Seconds())
	}
	fmt.Println("target (issue acceptance): the first full listing after a restart is as fast as later ones (bench/README.md, api: ≤ 2×)")
	return nil
}

// median returns the median of xs (xs is reordered).
func median[T float64 | time.Duration](xs []T) T {
	if len(xs) == 0 {
		return 0
	}
	slices.Sort(xs)
	return xs[len(xs)/2]
}

// machine describes the CPU for the table header.
func machine() string {
	b, _ := os.ReadFile("/proc/cpuinfo")
	model, cpus := "unknown CPU", 0
	for _, l := range strings.Split(string(b), "\n") {
		k, v, _ := strings.Cut(l, ":")
		switch strings.TrimSpace(k) {
		case "processor":
			cpus++
		case "model name":
			model = strings.TrimSpace(v)
		}
	}
	return fmt.Sprintf("%s, %d CPUs", model, cpus)
}
