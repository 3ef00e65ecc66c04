package main

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// latencies collects durations from many goroutines.
type latencies struct {
	mu sync.Mutex
	d  []time.Duration
}

func (l *latencies) add(d time.Duration) {
	l.mu.Lock()
	l.d = append(l.d, d)
	l.mu.Unlock()
}

// pct returns the p-th percentile (0–100).
func (l *latencies) pct(p float64) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	if len(l.d) == 0 {
		return 0
	}
	s := slices.Clone(l.d)
	slices.Sort(s)
	i := int(p / 100 * float64(len(s)-1))
	return s[i]
}

func (l *latencies) count() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.d)
}

var xsrfField = regexp.MustCompile(`name="_xsrf" value="([^"]+)"`)

// login does what a browser does: load the login page, post the form with its _xsrf token. It
// returns the POST's latency and status.
func login(ctx context.Context, base, user, pw string) (time.Duration, int, error) {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, Timeout: 2 * time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/hub/login", nil)
	resp, err := c.Do(req)
	if err != nil {
		return 0, 0, err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	m := xsrfField.FindSubmatch(body)
	if m == nil {
		return 0, 0, fmt.Errorf("no _xsrf on the login page (%d)", resp.StatusCode)
	}
	form := url.Values{"_xsrf": {string(m[1])}, "username": {user}, "password": {pw}}
	req, _ = http.NewRequestWithContext(ctx, "POST", base+"/hub/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	start := time.Now()
	resp, err = c.Do(req)
	d := time.Since(start)
	if err != nil {
		return d, 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return d, resp.StatusCode, nil
}

// loginResult counts logins by outcome.
type loginResult struct {
	lat              latencies
	ok, refused, err atomic.Int64
}

func (r *loginResult) record(d time.Duration, status int, err error) {
	switch {
	case err != nil:
		r.err.Add(1)
	case status == http.StatusFound:
		r.ok.Add(1)
		r.lat.add(d)
	default:
		r.refused.Add(1)
	}
}

// closedLoopLogins runs workers that log in back to back for d; it measures capacity.
func closedLoopLogins(ctx context.Context, base string, users, workers int, pw string, d time.Duration) *loginResult {
	res := &loginResult{}
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for ctx.Err() == nil {
				lat, status, err := login(ctx, base, userName(rng.IntN(users)), pw)
				if ctx.Err() != nil {
					return
				}
				res.record(lat, status, err)
			}
		})
	}
	wg.Wait()
	return res
}

// openLoopLogins starts rate logins per second for d regardless of how fast they finish, as
// real users arrive, and waits for them all.
func openLoopLogins(ctx context.Context, base string, users int, rate float64, pw string, d time.Duration) *loginResult {
	res := &loginResult{}
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer tick.Stop()
	end := time.After(d)
	rng := rand.New(rand.NewPCG(1, 2))
	for {
		select {
		case <-tick.C:
			name := userName(rng.IntN(users))
			wg.Go(func() { res.record(login(ctx, base, name, pw)) })
			continue
		case <-end:
		case <-ctx.Done():
		}
		break
	}
	wg.Wait()
	return res
}

// apiLoad runs workers that GET /hub/api/users/{name} back to back until stop is closed and
// records each latency; any non-200 answer is counted as an error. wait returns once every
// worker has stopped.
func apiLoad(ctx context.Context, base, token string, users, workers int, stop <-chan struct{}) (lat *latencies, errs *atomic.Int64, wait func()) {
	lat, errs = &latencies{}, &atomic.Int64{}
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: 1}}
			rng := rand.New(rand.NewPCG(uint64(w), 99))
			for {
				select {
				case <-stop:
					return
				default:
				}
				req, _ := http.NewRequestWithContext(ctx, "GET", base+"/hub/api/users/"+userName(rng.IntN(users)), nil)
				req.Header.Set("Authorization", "token "+token)
				start := time.Now()
				resp, err := c.Do(req)
				if err != nil {
					errs.Add(1)
					continue
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				lat.add(time.Since(start))
				if resp.StatusCode != 200 {
					if errs.Add(1) <= 3 {
						fmt.Fprintf(os.Stderr, "bench/login: GET %s: %s %.200s\n", req.URL.Path, resp.Status, body)
					}
				}
			}
		})
	}
	return lat, errs, wg.Wait
}
