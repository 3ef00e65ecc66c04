package spawner

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"
)

// readiness checks that a launched server answers HTTP (protocol.md §2.1 step 6).
type readiness struct {
	client *http.Client
}

func newReadiness() *readiness {
	return &readiness{client: &http.Client{
		// A redirect is an answer: the server is up.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Transport: &http.Transport{
			// Every check is one request to a server the hub will not call again directly.
			DisableKeepAlives: true,
			Proxy:             nil,
		},
	}}
}

func (r *readiness) close() { r.client.CloseIdleConnections() }

// errExited is returned by wait when the server process ended before it answered.
type errExited struct{ st Status }

func (e *errExited) Error() string {
	why := e.st.Reason
	if why == "" {
		why = fmt.Sprintf("exit status %d", e.st.ExitCode)
	}
	return fmt.Sprintf("server process ended (%s) before it answered; the server's logs may say why", why)
}

// wait GETs url until the answer has a status below 500, with exponential backoff, for up to
// timeout. Between tries it polls the spawner, so a server that died fails at once. It returns
// the X-JupyterHub-Version header of the answer.
func (r *readiness) wait(ctx context.Context, url string, timeout time.Duration, sp Spawner) (string, error) {
	deadline := time.Now().Add(timeout)
	ctx, cancel := context.WithDeadline(ctx, deadline)
	defer cancel()
	delay := 50 * time.Millisecond
	var last error
	for {
		version, err := r.try(ctx, url)
		if err == nil {
			return version, nil
		}
		last = err
		if st, perr := sp.Poll(ctx); perr == nil && !st.Running {
			return "", &errExited{st: st}
		}
		select {
		case <-ctx.Done():
			if time.Now().Before(deadline) {
				return "", ctx.Err()
			}
			return "", fmt.Errorf("server at %s did not answer within %s (last error: %v)", url, timeout, last)
		case <-time.After(delay):
		}
		delay = min(delay*3/2, time.Second)
	}
}

// try makes one request; any status under 500 counts as up.
func (r *readiness) try(ctx context.Context, url string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	resp, err := r.client.Do(req)
	if err != nil {
		return "", err
	}
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	if resp.StatusCode >= 500 {
		return "", fmt.Errorf("status %d", resp.StatusCode)
	}
	return resp.Header.Get("X-JupyterHub-Version"), nil
}
