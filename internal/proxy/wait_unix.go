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

// idleProbe checks an idle keep-alive connection for a close or bytes sent by the target.
// The raw connection and the callback are made once per connection, so a check costs one
// non-blocking recv(MSG_PEEK) and no allocation.
type idleProbe struct {
	rc   syscall.RawConn
	peek func(fd uintptr)
	ok   bool
	one  [1]byte
}

func newIdleProbe(c net.Conn) *idleProbe {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	p := &idleProbe{rc: rc}
	p.peek = p.recvPeek
	return p
}

func (p *idleProbe) recvPeek(fd uintptr) {
	_, _, e := syscall.Recvfrom(int(fd), p.one[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
	p.ok = e == syscall.EAGAIN || e == syscall.EWOULDBLOCK
}

// quiet reports whether the connection is open with nothing to read (EAGAIN). EOF, bytes
// or an error mean it must not carry another request. Without a probe it reports true.
func (p *idleProbe) quiet() bool {
	if p == nil {
		return true
	}
	p.ok = false
	if err := p.rc.Control(p.peek); err != nil {
		return false
	}
	return p.ok
}
