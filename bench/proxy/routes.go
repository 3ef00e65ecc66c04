package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// routeResult is the 10,000-route scenario for one proxy.
type routeResult struct {
	name             string
	adds             result
	getAll           time.Duration
	getAllBytes      int
	rssBefore, rss   int
	openLoop         result
	random, single   result
	routes, rateGoal int
}

// randomRouteScript makes wrk request a random /user/uNNNNN/ of n routes.
const randomRouteScript = `math.randomseed(os.time())
request = function()
  return wrk.format(nil, string.format("/user/u%%05d/", math.random(0, %d)))
end
`

// benchRoutes adds c.routes routes through the proxy's API, lists them, then loads random
// routes open-loop at c.rate req/s and closed-loop with wrk.
func benchRoutes(ctx context.Context, c config, t *target, backendURL, dir string) (routeResult, error) {
	rr := routeResult{name: t.name, routes: c.routes, rateGoal: c.rate}
	rr.rssBefore = t.proc.rssKB()
	var err error
	if rr.adds, err = addRoutes(ctx, t.api, token, backendURL, c.routes); err != nil {
		return rr, err
	}
	rr.rss = t.proc.rssKB()
	if rr.getAll, rr.getAllBytes, err = getAll(ctx, t.api, token); err != nil {
		return rr, err
	}
	urls := make([]string, c.routes)
	for i := range urls {
		urls[i] = fmt.Sprintf("%s/user/u%05d/", t.url, i)
	}
	rr.openLoop = openLoop(ctx, urls, c.rate, c.duration)
	script := filepath.Join(dir, "random.lua")
	if err := os.WriteFile(script, []byte(fmt.Sprintf(randomRouteScript, c.routes-1)), 0o644); err != nil {
		return rr, err
	}
	if rr.random, err = runWrkScript(ctx, c.loadCPU, t.url+"/", script, c.conns, c.duration); err != nil {
		return rr, err
	}
	if rr.single, err = runWrk(ctx, c.loadCPU, t.url+"/user/u00000/", c.conns, c.duration); err != nil {
		return rr, err
	}
	fmt.Printf("routes %-6s adds %.0f/s (p99 %v), GET all %v (%d B), RSS %d→%d KB, open-loop p99 %v (errors %d), random %.0f vs single %.0f req/s\n",
		t.name, rr.adds.rate, rr.adds.p99, rr.getAll, rr.getAllBytes, rr.rssBefore, rr.rss, rr.openLoop.p99,
		rr.openLoop.errors, rr.random.rate, rr.single.rate)
	return rr, nil
}
