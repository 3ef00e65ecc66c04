//go:build !unix

package proxy

import (
	"net"
	"sync"
)

// readPooled reads with a pooled buffer; without the poller trick of the unix version the
// buffer is held while the connection is idle.
func readPooled(c net.Conn, pool *sync.Pool) (*[]byte, int, error) { return readPlain(c, pool) }

// idleConnAlive cannot peek here; a dead connection is found on use instead.
func idleConnAlive(any) bool { return true }
