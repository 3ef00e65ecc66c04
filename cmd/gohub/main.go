// Command gohub is JupyterHub rebuilt in Go: one binary that logs users in, spawns their
// Jupyter servers and proxies to them. See README.md.
package main

import (
	"fmt"
	"os"
)

func main() {
	if err := newRoot().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "gohub:", err)
		os.Exit(1)
	}
}
