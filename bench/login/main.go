// Command login measures gohub's password logins (issue 4, bench/login):
//
//  1. capacity: logins per second through POST /hub/login with FirstUse's default hash
//     parameters (bcrypt cost 12) and with argon2id at OWASP's parameters, printed with those
//     parameters;
//  2. isolation: the p99 of GET /hub/api/users/{name} while -rate logins per second arrive (open
//     loop), against the same p99 with no logins. The target is p99 < 50 ms: hashing runs with
//     bounded concurrency and never blocks other requests (JupyterHub's authenticators hash
//     bcrypt 12 on the hub's only thread, ~210 ms during which the whole hub stalls).
//
// The hub is the login page and REST API of internal/web and internal/api with the FirstUse
// authenticator, assembled in this process as internal/hub assembles them, on 127.0.0.1.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime"
	"text/tabwriter"
	"time"

	"gohub/internal/auth/firstuse"
	"gohub/internal/auth/password"
)

const benchPassword = "bench-password-1"

func main() {
	users := flag.Int("users", 200, "users with a FirstUse password")
	duration := flag.Duration("duration", 10*time.Second, "measured time per run")
	rate := flag.Float64("rate", 20, "logins per second arriving during the isolation run")
	apiWorkers := flag.Int("api-workers", 4, "closed-loop workers on GET /hub/api/users/{name}")
	workers := flag.Int("workers", 2*runtime.GOMAXPROCS(0), "closed-loop login workers in the capacity runs")
	only := flag.String("only", "", "run only 'capacity' or 'isolation'")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	if err := run(ctx, *users, *duration, *rate, *apiWorkers, *workers, *only); err != nil {
		fmt.Fprintln(os.Stderr, "bench/login:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, users int, d time.Duration, rate float64, apiWorkers, workers int, only string) error {
	fmt.Printf("bench/login: %d CPUs (GOMAXPROCS %d), %d users, %v per run\n\n", runtime.NumCPU(), runtime.GOMAXPROCS(0), users, d)
	if only == "" || only == "capacity" {
		tw := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "hash (new and stored)\thashes at once\tlogins/s\tlogin p50\tlogin p99\trefused\terrors\t")
		for _, alg := range []string{password.Bcrypt, password.Argon2id} {
			cfg := firstuse.DefaultConfig()
			cfg.PasswordHash = alg
			h, err := newHub(ctx, cfg, users)
			if err != nil {
				return err
			}
			res := closedLoopLogins(ctx, h.url, users, workers, benchPassword, d)
			fmt.Fprintf(tw, "%s\t%d\t%.1f\t%v\t%v\t%d\t%d\t\n", h.auth.Hasher().Describe(), h.auth.Hasher().Concurrency(),
				float64(res.ok.Load())/d.Seconds(), ms(res.lat.pct(50)), ms(res.lat.pct(99)), res.refused.Load(), res.err.Load())
			h.close()
		}
		tw.Flush()
		fmt.Println()
	}
	if only == "" || only == "isolation" {
		h, err := newHub(ctx, firstuse.DefaultConfig(), users)
		if err != nil {
			return err
		}
		defer h.close()
		fmt.Printf("isolation: %s, %d hashes at once, %d API workers\n", h.auth.Hasher().Describe(), h.auth.Hasher().Concurrency(), apiWorkers)

		base := apiRun(ctx, h, users, apiWorkers, d, nil)
		fmt.Printf("  GET /hub/api/users/{name}, no logins:        %s\n", base)
		var logins *loginResult
		under := apiRun(ctx, h, users, apiWorkers, d, func() { logins = openLoopLogins(ctx, h.url, users, rate, benchPassword, d) })
		fmt.Printf("  GET /hub/api/users/{name}, %4.0f logins/s:     %s\n", rate, under)
		fmt.Printf("  logins: %d ok (p50 %v, p99 %v), %d refused (hub busy), %d errors\n",
			logins.ok.Load(), ms(logins.lat.pct(50)), ms(logins.lat.pct(99)), logins.refused.Load(), logins.err.Load())
		verdict := "PASS"
		if under.p99 >= 50*time.Millisecond || under.errs > 0 {
			verdict = "FAIL"
		}
		fmt.Printf("  target p99 < 50 ms under logins: %s (p99 %v)\n", verdict, ms(under.p99))
	}
	return nil
}

// newHub starts a hub with n users whose password is benchPassword.
func newHub(ctx context.Context, cfg *firstuse.Config, n int) (*benchHub, error) {
	dir, err := os.MkdirTemp("", "gohub-bench-login-")
	if err != nil {
		return nil, err
	}
	h, err := startHub(ctx, dir, cfg)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	if err := h.addUsers(ctx, n, benchPassword); err != nil {
		h.close()
		return nil, err
	}
	return h, nil
}

// apiStats summarises one API run.
type apiStats struct {
	n             int
	rps           float64
	p50, p99, max time.Duration
	errs          int64
}

func (s apiStats) String() string {
	return fmt.Sprintf("%7.0f req/s  p50 %-8v p99 %-8v max %-8v errors %d", s.rps, ms(s.p50), ms(s.p99), ms(s.max), s.errs)
}

// apiRun loads the API for d; during, if set, runs alongside and is waited for.
func apiRun(ctx context.Context, h *benchHub, users, workers int, d time.Duration, during func()) apiStats {
	stop := make(chan struct{})
	lat, errs, wait := apiLoad(ctx, h.url, h.token, users, workers, stop)
	start := time.Now()
	if during != nil {
		during()
	} else {
		select {
		case <-time.After(d):
		case <-ctx.Done():
		}
	}
	close(stop)
	wait()
	el := time.Since(start)
	return apiStats{n: lat.count(), rps: float64(lat.count()) / el.Seconds(), p50: lat.pct(50), p99: lat.pct(99), max: lat.pct(100), errs: errs.Load()}
}

// ms rounds a duration for the table.
func ms(d time.Duration) time.Duration {
	switch {
	case d > 100*time.Millisecond:
		return d.Round(time.Millisecond)
	case d > time.Millisecond:
		return d.Round(10 * time.Microsecond)
	}
	return d.Round(time.Microsecond)
}
