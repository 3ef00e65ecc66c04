//go:build !unix

package proxy

import (
	"net"
	"sync"
)

// readPooled reads with a pooled buffer; without the poller trick of the unix version the
// buffer is held while the connection is idle.
func readPooled(c net.Conn, pool *sync.Pool) (*[]byte, int, error) { return readPlain(c, pool) }

// idleProbe cannot peek here: bytes a target sent on an idle connection are found by the
// pool only when already buffered.
type idleProbe struct{}

func newIdleProbe(net.Conn) *idleProbe { return nil }

func (*idleProbe) quiet() bool { return true }
