package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"
)

// endpoint is one GET the load generator repeats; path picks a request path for each call and
// check validates an answer to that path (run on a sample before each load run).
type endpoint struct {
	Name   string
	Target float64 // required gohub/JupyterHub req/s ratio
	path   func(rng *rand.Rand) string
	check  func(path string, body []byte) error
}

// endpoints are the two API calls of bench/README.md, api, over users user00000..user{n-1}.
func endpoints(n int) []endpoint {
	return []endpoint{
		{
			Name:   "GET /hub/api/users/{name}",
			Target: 20,
			path:   func(r *rand.Rand) string { return "/users/" + userName(r.IntN(n)) },
			check: func(path string, body []byte) error {
				var u struct {
					Name string `json:"name"`
				}
				if err := json.Unmarshal(body, &u); err != nil {
					return err
				}
				if want := strings.TrimPrefix(path, "/users/"); u.Name != want {
					return fmt.Errorf("asked for %s, got user %q", want, u.Name)
				}
				return nil
			},
		},
		{
			Name:   "GET /hub/api/users?limit=200",
			Target: 30,
			path: func(r *rand.Rand) string {
				return fmt.Sprintf("/users?limit=200&offset=%d", r.IntN(max(n-200, 0)+1))
			},
			check: func(path string, body []byte) error {
				var page []struct {
					Name string `json:"name"`
				}
				if err := json.Unmarshal(body, &page); err != nil {
					return err
				}
				// n bench users plus bench-admin: a page at offset <= n-200 is always full.
				if want := min(200, n+1); len(page) != want {
					return fmt.Errorf("got %d users, want %d", len(page), want)
				}
				for _, u := range page {
					if u.Name == "" {
						return errors.New("a user without a name")
					}
				}
				return nil
			},
		},
	}
}

// result is what one closed-loop run measured.
type result struct {
	OK       int
	Errors   int
	Bytes    int64 // response bodies of the successful requests
	Elapsed  time.Duration
	lat      []time.Duration // sorted
	FirstErr string
}

// RPS is successful requests per second.
func (r result) RPS() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.OK) / r.Elapsed.Seconds()
}

// Quantile returns the q-quantile (0..1) of the successful requests' latencies.
func (r result) Quantile(q float64) time.Duration {
	if len(r.lat) == 0 {
		return 0
	}
	i := int(q*float64(len(r.lat))+0.5) - 1
	return r.lat[min(max(i, 0), len(r.lat)-1)]
}

// runLoad runs a closed loop: conc workers, each sending its next request as soon as the last
// one's body is read, over keep-alive connections, for warmup (not recorded) then duration.
func runLoad(ctx context.Context, c *apiClient, ep endpoint, conc int, warmup, duration time.Duration) result {
	type workerResult struct {
		ok, errs int
		bytes    int64
		lat      []time.Duration
		firstErr string
	}
	start := time.Now()
	measureFrom := start.Add(warmup)
	stop := measureFrom.Add(duration)
	out := make([]workerResult, conc)
	var wg sync.WaitGroup
	for w := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(uint64(w), uint64(start.UnixNano())))
			wr := &out[w]
			wr.lat = make([]time.Duration, 0, 1<<14)
			for ctx.Err() == nil {
				t0 := time.Now()
				if !t0.Before(stop) {
					return
				}
				n, err := getOnce(ctx, c, ep.path(rng))
				t1 := time.Now()
				if t0.Before(measureFrom) || t1.After(stop) {
					continue
				}
				if err != nil {
					wr.errs++
					if wr.firstErr == "" {
						wr.firstErr = err.Error()
					}
					continue
				}
				wr.ok++
				wr.bytes += n
				wr.lat = append(wr.lat, t1.Sub(t0))
			}
		}()
	}
	wg.Wait()
	var r result
	r.Elapsed = duration
	for _, wr := range out {
		r.OK += wr.ok
		r.Errors += wr.errs
		r.Bytes += wr.bytes
		r.lat = append(r.lat, wr.lat...)
		if r.FirstErr == "" {
			r.FirstErr = wr.firstErr
		}
	}
	slices.Sort(r.lat)
	return r
}

// getOnce sends one authenticated GET and reads the whole body; anything but 200 is an error.
// It returns the body's length.
func getOnce(ctx context.Context, c *apiClient, path string) (int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.base+path, nil)
	if err != nil {
		return 0, err
	}
	req.Header.Set("Authorization", "token "+c.token)
	resp, err := c.http.Do(req)
	if err != nil {
		return 0, err
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		return n, err
	}
	if resp.StatusCode != http.StatusOK {
		return n, fmt.Errorf("%s: status %s", path, resp.Status)
	}
	return n, nil
}

// preflight sends a few requests of ep and checks each answer, so a hub that answers fast but
// wrong is caught before it is measured.
func preflight(ctx context.Context, c *apiClient, ep endpoint, rng *rand.Rand) error {
	for range 5 {
		path := ep.path(rng)
		var body json.RawMessage
		if err := c.do(ctx, http.MethodGet, path, nil, http.StatusOK, &body); err != nil {
			return err
		}
		if err := ep.check(path, body); err != nil {
			return fmt.Errorf("GET %s: wrong answer: %w", path, err)
		}
	}
	return nil
}
