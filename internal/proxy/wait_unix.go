//go:build unix

package proxy

import (
	"errors"
	"syscall"
)

// waitReadable blocks until c has data (or EOF/error) to read, without holding a buffer.
// It peeks one byte non-blockingly inside the runtime poller's callback: returning false
// on EAGAIN parks the goroutine until the socket is readable again.
func waitReadable(c any) error {
	sc, ok := c.(syscall.Conn)
	if !ok {
		return nil // TLS and other wrappers: just read
	}
	rc, err := sc.SyscallConn()
	if err != nil {
		return nil
	}
	var one [1]byte
	err = rc.Read(func(fd uintptr) bool {
		for {
			_, _, e := syscall.Recvfrom(int(fd), one[:], syscall.MSG_PEEK|syscall.MSG_DONTWAIT)
			if errors.Is(e, syscall.EINTR) {
				continue
			}
			// Data, EOF or a socket error all mean "read now": Read reports them.
			return !errors.Is(e, syscall.EAGAIN) && !errors.Is(e, syscall.EWOULDBLOCK)
		}
	})
	if err != nil {
		return err
	}
	return nil
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
