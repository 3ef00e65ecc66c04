package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"runtime/pprof"
	"strings"
	"time"

	"github.com/coder/websocket"

	"gohub/internal/proxy"
)

// The bench binary re-executes itself in these modes, so every program under test but CHP
// and nginx is built from this one main.

// runBackend serves the fast backend: "Hello, World!" on any path, a websocket echo on
// paths ending in /ws.
func runBackend(addr string) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("backend listen: %w", err)
	}
	hello := []byte("Hello, World!")
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/ws") {
			echo(w, r)
			return
		}
		w.Header().Set("Content-Type", "text/plain")
		_, _ = w.Write(hello)
	})
	return (&http.Server{Handler: h}).Serve(ln)
}

func echo(w http.ResponseWriter, r *http.Request) {
	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{CompressionMode: websocket.CompressionDisabled})
	if err != nil {
		return
	}
	defer c.CloseNow()
	c.SetReadLimit(1 << 20)
	ctx := context.Background()
	for {
		typ, rd, err := c.Reader(ctx)
		if err != nil {
			return
		}
		wr, err := c.Writer(ctx, typ)
		if err != nil {
			return
		}
		if _, err := io.Copy(wr, rd); err != nil {
			return
		}
		if err := wr.Close(); err != nil {
			return
		}
	}
}

// runGohubProxy runs `gohub proxy` with CHP's flags (the same code as cmd/gohub's).
// With GOHUB_BENCH_CPUPROFILE=file it writes a CPU profile of its first 8 seconds.
func runGohubProxy(args []string) error {
	if path := os.Getenv("GOHUB_BENCH_CPUPROFILE"); path != "" {
		f, err := os.Create(path)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		time.AfterFunc(8*time.Second, func() { pprof.StopCPUProfile(); f.Close() })
	}
	cmd := proxy.Command()
	cmd.SetArgs(args)
	cmd.SetErr(os.Stderr)
	return cmd.Execute()
}
