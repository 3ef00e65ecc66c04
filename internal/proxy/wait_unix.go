//go:build unix

package proxy

import (
	"errors"
	"io"
	"net"
	"sync"
	"syscall"
)

// readPooled reads from c into a buffer from pool that is taken only when data is there:
// the read runs inside the runtime poller's callback, and on EAGAIN the buffer goes back
// to the pool before the goroutine parks. An idle websocket thus holds no buffer, at the
// same syscall count as a plain Read. It returns the buffer holding n bytes (nil when n is
// 0); the caller puts it back.
func readPooled(c net.Conn, pool *sync.Pool) (*[]byte, int, error) {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return readPlain(c, pool) // TLS and other wrappers
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return readPlain(c, pool)
	}
	var bp *[]byte
	var n int
	var rerr error
	err = rc.Read(func(fd uintptr) bool {
		b := pool.Get().(*[]byte)
		for {
			m, e := syscall.Read(int(fd), *b)
			switch {
			case errors.Is(e, syscall.EINTR):
				continue
			case errors.Is(e, syscall.EAGAIN) || errors.Is(e, syscall.EWOULDBLOCK):
				pool.Put(b)
				return false // park until readable
			case e != nil:
				pool.Put(b)
				rerr = e
			case m == 0:
				pool.Put(b)
				rerr = io.EOF
			default:
				bp, n = b, m
			}
			return true
		}
	})
	if err != nil {
		return nil, 0, err // closed or past a deadline
	}
	return bp, n, rerr
}

// idleConnAlive reports whether an idle keep-alive connection is still open: nothing to
// read yet (EAGAIN). EOF, stray bytes or an error mean the target is done with it.
func idleConnAlive(c any) bool {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return true
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return false
	}
	alive := false
	var one [1]byte
	_ = rc.Control(func(fd uintptr) {
		_, _, e := syscall.Recvfrom(int(fd), one[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
		alive = errors.Is(e, syscall.EAGAIN) || errors.Is(e, syscall.EWOULDBLOCK)
	})
	return alive
}
