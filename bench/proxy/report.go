package main

import (
	"fmt"
	"runtime"
	"slices"
	"strings"
	"time"
)

// report renders the results as markdown tables.
type report struct {
	cfg     config
	targets []*target
	routes  []routeResult
}

// median returns the run with the median rate and the median p99 of the runs.
func median(rs []result) result {
	if len(rs) == 0 {
		return result{}
	}
	rates := make([]float64, len(rs))
	p99s := make([]time.Duration, len(rs))
	cpus := make([]time.Duration, len(rs))
	var errs int64
	for i, r := range rs {
		rates[i], p99s[i], cpus[i] = r.rate, r.p99, cpuPerReq(r)
		errs += r.errors
	}
	slices.Sort(rates)
	slices.Sort(p99s)
	slices.Sort(cpus)
	// cpu carries the median CPU per request, with requests = 1.
	return result{rate: rates[len(rates)/2], p99: p99s[len(p99s)/2], errors: errs, cpu: cpus[len(cpus)/2], requests: 1}
}

func (r *report) find(name string) *target {
	for _, t := range r.targets {
		if t.name == name {
			return t
		}
	}
	return nil
}

func ratio(a, b float64) string {
	if b == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f", a/b)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

func (r *report) String() string {
	var b strings.Builder
	c := r.cfg
	fmt.Fprintf(&b, "\n## Results (%s, %d CPUs, %s, wrk 1 thread × %d conns, %v runs, %d rounds, pinned=%v)\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 UTC"), runtime.NumCPU(), runtime.Version(), c.conns,
		c.duration, c.rounds, c.pin)
	direct, chp := r.find("direct"), r.find("chp")
	dm := median(direct.http)
	var cm result
	if chp != nil {
		cm = median(chp.http)
	}
	b.WriteString("### HTTP (\"Hello, World!\" backend), medians\n\n")
	b.WriteString("| path | req/s | p99 | % of direct | × CHP | proxy CPU per request | non-2xx/socket errors |\n|---|---|---|---|---|---|---|\n")
	for _, t := range r.targets {
		m := median(t.http)
		cpu := "—"
		if m.cpu > 0 {
			cpu = fmt.Sprintf("%.1f µs", float64(m.cpu)/float64(time.Microsecond))
		}
		fmt.Fprintf(&b, "| %s | %.0f | %s | %.0f %% | %s | %s | %d |\n", t.name, m.rate, ms(m.p99),
			100*m.rate/dm.rate, ratio(m.rate, cm.rate), cpu, m.errors)
	}
	b.WriteString("\n### Websockets\n\n")
	fmt.Fprintf(&b, "| path | echo round trips/s (%d conns, 128 B) | echo p99 | × CHP | proxy CPU per round trip | upgrades/s | × CHP | RSS per idle websocket (N=%d) |\n|---|---|---|---|---|---|---|---|\n",
		c.conns, c.idle)
	for _, t := range r.targets {
		idle := "—"
		if t.proc != nil {
			idle = fmt.Sprintf("%.1f KB", t.idleKB)
		}
		var ce, cu float64
		if chp != nil {
			ce, cu = chp.echo.rate, chp.upgrades.rate
		}
		cpu := "—"
		if d := cpuPerReq(t.echo); d > 0 {
			cpu = fmt.Sprintf("%.1f µs", float64(d)/float64(time.Microsecond))
		}
		fmt.Fprintf(&b, "| %s | %.0f | %s | %s | %s | %.0f | %s | %s |\n", t.name, t.echo.rate, ms(t.echo.p99),
			ratio(t.echo.rate, ce), cpu, t.upgrades.rate, ratio(t.upgrades.rate, cu), idle)
	}
	if len(r.routes) > 0 {
		fmt.Fprintf(&b, "\n### %d routes\n\n", r.routes[0].routes)
		b.WriteString("| proxy | adds/s through the API (sequential) | add p50 / p99 | GET /api/routes | RSS per route | p99 at " +
			fmt.Sprint(c.rate) + " req/s open-loop, random routes (errors) | random-route req/s | single-route req/s | random / single |\n|---|---|---|---|---|---|---|---|---|\n")
		for _, rr := range r.routes {
			perRoute := float64(rr.rss-rr.rssBefore) * 1024 / float64(rr.routes)
			fmt.Fprintf(&b, "| %s | %.0f | %s / %s | %s (%d KB) | %.0f B | %s (%d) | %.0f | %.0f | %.0f %% |\n",
				rr.name, rr.adds.rate, ms(rr.adds.p50), ms(rr.adds.p99), ms(rr.getAll), rr.getAllBytes/1024, perRoute,
				ms(rr.openLoop.p99), rr.openLoop.errors, rr.random.rate, rr.single.rate, 100*rr.random.rate/rr.single.rate)
		}
	}
	return b.String()
}
