// Command proxy benchmarks gohub's built-in proxy against a direct connection,
// configurable-http-proxy and nginx (bench/README.md, proxy): HTTP req/s and p99,
// websocket echo and upgrade rates, memory per idle websocket, and a 10,000-route table.
//
//	go run ./bench/proxy [-duration 5s] [-rounds 3] [-idle 2000] [-routes 10000] [-pin]
//
// Everything listens on 127.0.0.1; every process started is killed at the end.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"
)

type config struct {
	duration        time.Duration
	rounds, conns   int
	idle, routes    int
	rate            int
	pin             bool
	skip            string
	timeout         time.Duration
	out             string
	loadCPU, sutCPU int
}

// target is one way to reach the backend.
type target struct {
	name     string
	url      string // http://127.0.0.1:port
	api      string // CHP-style API, if any
	proc     *proc  // the proxy process (nil for direct)
	http     []result
	echo     result
	upgrades result
	idleKB   float64
}

const token = "bench-token"

func main() {
	if len(os.Args) > 1 {
		switch os.Args[1] {
		case "backend":
			exitOn(runBackend(os.Args[2]))
			return
		case "gohub-proxy":
			exitOn(runGohubProxy(os.Args[2:]))
			return
		}
	}
	var c config
	flag.DurationVar(&c.duration, "duration", 5*time.Second, "length of each HTTP/websocket load run")
	flag.IntVar(&c.rounds, "rounds", 3, "HTTP rounds per target (interleaved; medians reported)")
	flag.IntVar(&c.conns, "conns", 32, "concurrent connections for HTTP and websocket echo")
	flag.IntVar(&c.idle, "idle", 2000, "idle websockets for the memory measurement")
	flag.IntVar(&c.routes, "routes", 10000, "routes for the route-table scenario")
	flag.IntVar(&c.rate, "rate", 1000, "open-loop request rate over random routes")
	flag.BoolVar(&c.pin, "pin", false, "pin load generators to CPU 1 and programs under test to CPU 0")
	flag.StringVar(&c.skip, "skip", "", "comma list of targets to skip: chp, nginx")
	flag.DurationVar(&c.timeout, "timeout", 15*time.Minute, "bound on the whole run")
	flag.StringVar(&c.out, "out", "", "also write the report (markdown) to this file")
	flag.Parse()
	c.loadCPU, c.sutCPU = -1, -1
	if c.pin {
		c.loadCPU, c.sutCPU = 1, 0
		// The websocket clients run in this process: keep them on the load CPU too.
		if out, err := exec.Command("taskset", "-a", "-p", "-c", "1", fmt.Sprint(os.Getpid())).CombinedOutput(); err != nil {
			exitOn(fmt.Errorf("pin the bench to CPU 1: %w: %s", err, out))
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	exitOn(run(ctx, c))
}

func exitOn(err error) {
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench/proxy:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, c config) error {
	if _, err := exec.LookPath("wrk"); err != nil {
		return fmt.Errorf("wrk is needed (apt-get install wrk): %w", err)
	}
	dir, err := os.MkdirTemp("", "gohub-bench-proxy-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	self, err := os.Executable()
	if err != nil {
		return err
	}
	ports, err := freePorts(6)
	if err != nil {
		return err
	}
	backendAddr := fmt.Sprintf("127.0.0.1:%d", ports[0])
	backendURL := "http://" + backendAddr
	var procs []*proc
	defer func() {
		for _, p := range procs {
			p.stop()
		}
	}()
	be, err := start(ctx, "backend", c.sutCPU, filepath.Join(dir, "backend.log"), nil,
		[]string{self, "backend", backendAddr}, backendAddr)
	if err != nil {
		return err
	}
	procs = append(procs, be)
	targets := []*target{{name: "direct", url: backendURL}}

	chpArgs := func(port, api int) []string {
		return []string{"--ip", "127.0.0.1", "--port", fmt.Sprint(port), "--api-ip", "127.0.0.1",
			"--api-port", fmt.Sprint(api), "--default-target", backendURL, "--log-level", "error"}
	}
	env := []string{"CONFIGPROXY_AUTH_TOKEN=" + token}
	gh, err := start(ctx, "gohub proxy", c.sutCPU, filepath.Join(dir, "gohub.log"), env,
		append([]string{self, "gohub-proxy"}, chpArgs(ports[1], ports[2])...),
		fmt.Sprintf("127.0.0.1:%d", ports[1]), fmt.Sprintf("127.0.0.1:%d", ports[2]))
	if err != nil {
		return err
	}
	procs = append(procs, gh)
	targets = append(targets, &target{name: "gohub", url: fmt.Sprintf("http://127.0.0.1:%d", ports[1]),
		api: fmt.Sprintf("http://127.0.0.1:%d", ports[2]), proc: gh})

	if chp, err := exec.LookPath("configurable-http-proxy"); err == nil && !skipped(c, "chp") {
		p, err := start(ctx, "configurable-http-proxy", c.sutCPU, filepath.Join(dir, "chp.log"), env,
			append([]string{chp}, chpArgs(ports[3], ports[4])...),
			fmt.Sprintf("127.0.0.1:%d", ports[3]), fmt.Sprintf("127.0.0.1:%d", ports[4]))
		if err != nil {
			return err
		}
		procs = append(procs, p)
		targets = append(targets, &target{name: "chp", url: fmt.Sprintf("http://127.0.0.1:%d", ports[3]),
			api: fmt.Sprintf("http://127.0.0.1:%d", ports[4]), proc: p})
	} else {
		fmt.Println("configurable-http-proxy not found or skipped: no CHP column")
	}
	if ng, err := exec.LookPath("nginx"); err == nil && !skipped(c, "nginx") {
		conf, err := nginxConf(dir, ports[5], ports[0])
		if err != nil {
			return err
		}
		p, err := start(ctx, "nginx", c.sutCPU, filepath.Join(dir, "nginx.out"), nil,
			[]string{ng, "-c", conf, "-p", dir}, fmt.Sprintf("127.0.0.1:%d", ports[5]))
		if err != nil {
			return err
		}
		pid := p.cmd.Process.Pid
		p.pids = func() []int { return append([]int{pid}, childPids(pid)...) }
		procs = append(procs, p)
		targets = append(targets, &target{name: "nginx", url: fmt.Sprintf("http://127.0.0.1:%d", ports[5]), proc: p})
	} else {
		fmt.Println("nginx not found or skipped: no nginx column")
	}
	for _, t := range targets {
		if err := httpOK(t.url + "/"); err != nil {
			return fmt.Errorf("%s does not answer: %w", t.name, err)
		}
	}
	rep := &report{cfg: c, targets: targets}
	// Memory first, while every proxy is fresh: a heap grown by earlier load would absorb
	// new sockets and hide their cost.
	if err := benchIdle(ctx, c, targets); err != nil {
		return err
	}
	if err := benchHTTP(ctx, c, targets); err != nil {
		return err
	}
	if err := benchWebsockets(ctx, c, targets); err != nil {
		return err
	}
	for _, t := range targets {
		if t.api == "" {
			continue
		}
		rs, err := benchRoutes(ctx, c, t, backendURL, dir)
		if err != nil {
			return fmt.Errorf("%s routes: %w", t.name, err)
		}
		rep.routes = append(rep.routes, rs)
	}
	text := rep.String()
	fmt.Print(text)
	if c.out != "" {
		return os.WriteFile(c.out, []byte(text), 0o644)
	}
	return nil
}

func skipped(c config, name string) bool {
	return slices.Contains(strings.Split(c.skip, ","), name)
}

// benchHTTP runs wrk against every target, rounds times, interleaved.
func benchHTTP(ctx context.Context, c config, targets []*target) error {
	for _, t := range targets {
		fmt.Printf("warm-up %s\n", t.name)
		if _, err := runWrk(ctx, c.loadCPU, t.url+"/", c.conns, time.Second); err != nil {
			return err
		}
	}
	for round := range c.rounds {
		for _, t := range targets {
			var cpu0 time.Duration
			if t.proc != nil {
				cpu0 = t.proc.cpuTime()
			}
			r, err := runWrk(ctx, c.loadCPU, t.url+"/", c.conns, c.duration)
			if err != nil {
				return err
			}
			if t.proc != nil {
				r.cpu = t.proc.cpuTime() - cpu0
			}
			fmt.Printf("http round %d %-7s %8.0f req/s  p99 %v  errors %d  cpu/req %v\n", round+1, t.name, r.rate,
				r.p99, r.errors, cpuPerReq(r))
			t.http = append(t.http, r)
		}
	}
	return nil
}

// benchWebsockets measures echo round trips, upgrades and memory per idle websocket.
func benchWebsockets(ctx context.Context, c config, targets []*target) error {
	for _, t := range targets {
		ws := "ws" + strings.TrimPrefix(t.url, "http") + "/ws"
		var cpu0 time.Duration
		if t.proc != nil {
			cpu0 = t.proc.cpuTime()
		}
		r, err := wsEcho(ctx, ws, c.conns, c.duration)
		if err != nil {
			return fmt.Errorf("%s echo: %w", t.name, err)
		}
		if t.proc != nil {
			r.cpu = t.proc.cpuTime() - cpu0
			r.requests = int64(r.rate * c.duration.Seconds())
		}
		t.echo = r
		t.upgrades = wsUpgrades(ctx, ws, 16, c.duration/2)
		fmt.Printf("ws %-7s echo %8.0f/s p99 %v cpu/round trip %v; upgrades %6.0f/s (errors %d)\n", t.name,
			r.rate, r.p99, cpuPerReq(r), t.upgrades.rate, t.upgrades.errors)
	}
	return nil
}

// benchIdle measures the RSS growth of each proxy while c.idle websockets are open.
func benchIdle(ctx context.Context, c config, targets []*target) error {
	for _, t := range targets {
		if t.proc == nil || c.idle == 0 {
			continue
		}
		ws := "ws" + strings.TrimPrefix(t.url, "http") + "/ws"
		// One websocket first, so code paths and pools are warm and not counted per socket.
		warm, err := openIdle(ctx, ws, 1)
		if err != nil {
			return fmt.Errorf("%s: %w", t.name, err)
		}
		time.Sleep(500 * time.Millisecond)
		before := t.proc.rssKB()
		conns, err := openIdle(ctx, ws, c.idle)
		if err != nil {
			closeAll(warm)
			return fmt.Errorf("%s: %w", t.name, err)
		}
		time.Sleep(2 * time.Second)
		after := t.proc.rssKB()
		closeAll(conns)
		closeAll(warm)
		t.idleKB = float64(after-before) / float64(c.idle)
		fmt.Printf("ws %-7s %d idle websockets: RSS %d → %d KB, %.1f KB each\n", t.name, c.idle, before, after, t.idleKB)
		time.Sleep(time.Second)
	}
	return nil
}

// cpuPerReq is the proxy's CPU time per request in a run (0 when unknown).
func cpuPerReq(r result) time.Duration {
	if r.requests == 0 || r.cpu == 0 {
		return 0
	}
	return r.cpu / time.Duration(r.requests)
}
