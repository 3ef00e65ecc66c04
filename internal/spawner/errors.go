package spawner

import (
	"errors"
	"fmt"
	"time"

	"gohub/internal/store"
)

// Errors of Manager.Start, Stop and Progress. The REST API maps ErrBadRequest (and every error
// wrapping it) to 400, *LimitError to 429 with Retry-After, ErrNotFound to 404; anything else is
// a failed spawn (500).
var (
	// ErrBadRequest is wrapped by every refusal the caller caused (400).
	ErrBadRequest = errors.New("bad request")
	// ErrNamedServersDisabled: a named server was asked for without allow_named_servers.
	ErrNamedServersDisabled = &msgError{"Named servers are not enabled.", ErrBadRequest}
	// ErrNamedServerLimit: creating the server would pass named_server_limit_per_user.
	ErrNamedServerLimit = &msgError{"named server limit reached", ErrBadRequest}
	// ErrAlreadyRunning: start of a server that is running.
	ErrAlreadyRunning = &msgError{"server is already running", ErrBadRequest}
	// ErrPending: the server is busy with another action (stop) that must finish first.
	ErrPending = &msgError{"server has an action pending", ErrBadRequest}
	// ErrNotStarting: the progress of a server that is neither starting, ready nor failed.
	ErrNotStarting = &msgError{"not starting", ErrBadRequest}
	// ErrNotFound: the user has no server of that name. It also matches store.ErrNotFound.
	ErrNotFound = &msgError{"no such server", store.ErrNotFound}
	// ErrClosed: the manager was closed.
	ErrClosed = errors.New("spawner manager is closed")
)

// LimitError is a start refused by concurrent_spawn_limit or active_server_limit (429).
type LimitError struct {
	// Message is shown to the user.
	Message string
	// RetryAfter is the Retry-After the reply carries.
	RetryAfter time.Duration
}

// Error returns the message.
func (e *LimitError) Error() string { return e.Message }

// logName is upstream's name for a server in messages: "alice" or "alice:gpu".
func logName(user, server string) string {
	if server == "" {
		return user
	}
	return user + ":" + server
}

// withMsg returns an error that shows a formatted message but matches sentinel.
func withMsg(sentinel error, format string, args ...any) error {
	return &msgError{msg: fmt.Sprintf(format, args...), err: sentinel}
}

// msgError shows msg but matches err with errors.Is.
type msgError struct {
	msg string
	err error
}

func (e *msgError) Error() string { return e.msg }
func (e *msgError) Unwrap() error { return e.err }
