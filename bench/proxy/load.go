package main

import (
	"bytes"
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"
)

// result is one measurement: a rate and its latency percentiles.
type result struct {
	rate     float64 // per second
	p50, p99 time.Duration
	errors   int64
	requests int64         // requests completed (wrk)
	cpu      time.Duration // CPU used by the program under test meanwhile
}

var (
	wrkRPS = regexp.MustCompile(`Requests/sec:\s+([0-9.]+)`)
	wrkP99 = regexp.MustCompile(`\s99%\s+([0-9.]+)(us|ms|s)`)
	wrkP50 = regexp.MustCompile(`\s50%\s+([0-9.]+)(us|ms|s)`)
	wrkErr = regexp.MustCompile(`Non-2xx or 3xx responses:\s+([0-9]+)`)
	wrkN   = regexp.MustCompile(`([0-9]+) requests in`)
)

// runWrk drives url closed-loop with wrk (1 thread, conns connections) for d.
func runWrk(ctx context.Context, cpu int, url string, conns int, d time.Duration) (result, error) {
	return runWrkScript(ctx, cpu, url, "", conns, d)
}

// runWrkScript is runWrk with a wrk Lua script (none when script is "").
func runWrkScript(ctx context.Context, cpu int, url, script string, conns int, d time.Duration) (result, error) {
	argv := []string{"wrk", "-t1", "-c" + strconv.Itoa(conns), "-d" + fmt.Sprintf("%.0fs", d.Seconds()), "--latency"}
	if script != "" {
		argv = append(argv, "-s", script)
	}
	argv = append(argv, url)
	if cpu >= 0 {
		argv = append([]string{"taskset", "-c", strconv.Itoa(cpu)}, argv...)
	}
	out, err := exec.CommandContext(ctx, argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		return result{}, fmt.Errorf("wrk %s: %w\n%s", url, err, out)
	}
	var r result
	m := wrkRPS.FindSubmatch(out)
	if m == nil {
		return result{}, fmt.Errorf("wrk output has no Requests/sec:\n%s", out)
	}
	r.rate, _ = strconv.ParseFloat(string(m[1]), 64)
	r.p99 = wrkDuration(wrkP99.FindSubmatch(out))
	r.p50 = wrkDuration(wrkP50.FindSubmatch(out))
	if m := wrkN.FindSubmatch(out); m != nil {
		r.requests, _ = strconv.ParseInt(string(m[1]), 10, 64)
	}
	if m := wrkErr.FindSubmatch(out); m != nil {
		r.errors, _ = strconv.ParseInt(string(m[1]), 10, 64)
	}
	if bytes.Contains(out, []byte("Socket errors")) {
		r.errors++
	}
	return r, nil
}

func wrkDuration(m [][]byte) time.Duration {
	if m == nil {
		return 0
	}
	v, _ := strconv.ParseFloat(string(m[1]), 64)
	unit := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second}[string(m[2])]
	return time.Duration(v * float64(unit))
}

func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	slices.Sort(ds)
	return ds[min(len(ds)-1, int(float64(len(ds))*p))]
}

func dialWS(ctx context.Context, url string) (*websocket.Conn, error) {
	c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{CompressionMode: websocket.CompressionDisabled})
	return c, err
}

// wsEcho runs conns websocket clients in ping-pong with 128-byte messages for d.
func wsEcho(ctx context.Context, url string, conns int, d time.Duration) (result, error) {
	cs := make([]*websocket.Conn, conns)
	for i := range cs {
		c, err := dialWS(ctx, url)
		if err != nil {
			return result{}, fmt.Errorf("dial %s: %w", url, err)
		}
		defer c.CloseNow()
		cs[i] = c
	}
	msg := bytes.Repeat([]byte("x"), 128)
	lats := make([][]time.Duration, conns)
	var errs atomic.Int64
	end := time.Now().Add(d)
	var wg sync.WaitGroup
	for i, c := range cs {
		wg.Go(func() {
			for time.Now().Before(end) {
				t0 := time.Now()
				if err := c.Write(ctx, websocket.MessageBinary, msg); err != nil {
					errs.Add(1)
					return
				}
				if _, _, err := c.Read(ctx); err != nil {
					errs.Add(1)
					return
				}
				lats[i] = append(lats[i], time.Since(t0))
			}
		})
	}
	wg.Wait()
	all := slices.Concat(lats...)
	return result{rate: float64(len(all)) / d.Seconds(), p50: percentile(all, .5), p99: percentile(all, .99),
		errors: errs.Load()}, nil
}

// wsUpgrades opens and closes websockets from conc goroutines for d.
func wsUpgrades(ctx context.Context, url string, conc int, d time.Duration) result {
	var n, errs atomic.Int64
	end := time.Now().Add(d)
	var wg sync.WaitGroup
	for range conc {
		wg.Go(func() {
			for time.Now().Before(end) {
				c, err := dialWS(ctx, url)
				if err != nil {
					errs.Add(1)
					time.Sleep(time.Millisecond)
					continue
				}
				n.Add(1)
				c.CloseNow()
			}
		})
	}
	wg.Wait()
	return result{rate: float64(n.Load()) / d.Seconds(), errors: errs.Load()}
}

// openIdle opens n websockets, 64 at a time, and returns them (the caller closes them).
func openIdle(ctx context.Context, url string, n int) ([]*websocket.Conn, error) {
	out := make([]*websocket.Conn, n)
	var mu sync.Mutex
	var firstErr error
	sem := make(chan struct{}, 64)
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			c, err := dialWS(ctx, url)
			mu.Lock()
			defer mu.Unlock()
			if err != nil && firstErr == nil {
				firstErr = err
			}
			out[i] = c
		})
	}
	wg.Wait()
	if firstErr != nil {
		closeAll(out)
		return nil, fmt.Errorf("open %d idle websockets: %w", n, firstErr)
	}
	return out, nil
}

func closeAll(cs []*websocket.Conn) {
	for _, c := range cs {
		if c != nil {
			c.CloseNow()
		}
	}
}

// openLoop sends rate requests/s for d to random URLs, each on its own schedule slot, and
// measures latency from the slot (so queueing is not hidden).
func openLoop(ctx context.Context, urls []string, rate int, d time.Duration) result {
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		MaxIdleConnsPerHost: 512, DisableCompression: true,
		DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext}}
	defer client.CloseIdleConnections()
	total := int(float64(rate) * d.Seconds())
	interval := time.Second / time.Duration(rate)
	lats := make([]time.Duration, total)
	var errs atomic.Int64
	start := time.Now()
	var wg sync.WaitGroup
	for i := range total {
		slot := start.Add(time.Duration(i) * interval)
		time.Sleep(time.Until(slot))
		if ctx.Err() != nil {
			break
		}
		u := urls[rand.IntN(len(urls))]
		wg.Go(func() {
			resp, err := client.Get(u)
			if err != nil {
				errs.Add(1)
				lats[i] = 10 * time.Second
				return
			}
			var buf [512]byte
			for {
				if _, err := resp.Body.Read(buf[:]); err != nil {
					break
				}
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				errs.Add(1)
			}
			lats[i] = time.Since(slot)
		})
	}
	wg.Wait()
	return result{rate: float64(total) / time.Since(start).Seconds(), p50: percentile(lats, .5),
		p99: percentile(lats, .99), errors: errs.Load()}
}

// addRoutes POSTs n routes /user/uNNNNN sequentially through a CHP API and reports adds/s.
func addRoutes(ctx context.Context, api, token, target string, n int) (result, error) {
	client := &http.Client{Timeout: 10 * time.Second}
	lats := make([]time.Duration, 0, n)
	start := time.Now()
	for i := range n {
		body := fmt.Sprintf(`{"target":%q,"user":"u%05d","server_name":"","jupyterhub":true}`, target, i)
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, fmt.Sprintf("%s/api/routes/user/u%05d", api, i),
			strings.NewReader(body))
		req.Header.Set("Authorization", "token "+token)
		t0 := time.Now()
		resp, err := client.Do(req)
		if err != nil {
			return result{}, fmt.Errorf("add route %d: %w", i, err)
		}
		resp.Body.Close()
		if resp.StatusCode != 201 {
			return result{}, fmt.Errorf("add route %d: %s", i, resp.Status)
		}
		lats = append(lats, time.Since(t0))
	}
	el := time.Since(start)
	return result{rate: float64(n) / el.Seconds(), p50: percentile(lats, .5), p99: percentile(lats, .99)}, nil
}

// getAll times GET /api/routes (median of 5).
func getAll(ctx context.Context, api, token string) (time.Duration, int, error) {
	var ds []time.Duration
	size := 0
	for range 5 {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, api+"/api/routes", nil)
		req.Header.Set("Authorization", "token "+token)
		t0 := time.Now()
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return 0, 0, err
		}
		var buf bytes.Buffer
		_, _ = buf.ReadFrom(resp.Body)
		resp.Body.Close()
		ds = append(ds, time.Since(t0))
		size = buf.Len()
	}
	return percentile(ds, .5), size, nil
}
