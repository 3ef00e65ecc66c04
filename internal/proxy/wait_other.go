//go:build !unix

package proxy

// waitReadable is a no-op where the peek trick is unavailable: the relay then holds a
// buffer while it waits.
func waitReadable(any) error { return nil }

// idleConnAlive cannot peek here; a dead connection is found on use instead.
func idleConnAlive(any) bool { return true }
