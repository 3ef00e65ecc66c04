package hub

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/hex"
	"net/http"
	"strings"

	"gohub/internal/forwarded"
)

// proxyPathMark starts the path segment that carries the proxy secret: with
// configurable-http-proxy, the hub route's target is http://<hub listener>/<mark><secret>, so
// CHP puts the segment in front of every hub request it forwards (it prepends the target's
// path). The hub strips it and believes that request's X-Forwarded-* (see package forwarded).
// Users' servers reach the hub listener directly but never see the target: it is known only
// to the hub, CHP's token-protected API and admins with the proxy scope.
const proxyPathMark = "_gohub_proxy_"

// newProxySecret returns a fresh secret for the hub route's target (one per hub process).
func newProxySecret() string {
	b := make([]byte, 24)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// hubRouteTarget is the target of the hub's own route in the proxy: the hub listener, with the
// proxy secret for configurable-http-proxy.
func (h *Hub) hubRouteTarget() string {
	if h.proxySecret == "" {
		return h.hubTarget
	}
	return h.hubTarget + "/" + proxyPathMark + h.proxySecret
}

// fromProxy serves the hub listener with configurable-http-proxy: a request whose path starts
// with the proxy secret's segment came through CHP; it is served without the segment and
// marked (forwarded.WithProxy). Everything else (users' servers calling the API, services) is
// served as it came, its forwarding headers not believed.
func (h *Hub) fromProxy(next http.Handler) http.Handler {
	mark := "/" + proxyPathMark
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rest, ok := strings.CutPrefix(r.URL.Path, mark)
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		secret, path, _ := strings.Cut(rest, "/")
		if subtle.ConstantTimeCompare([]byte(secret), []byte(h.proxySecret)) != 1 {
			http.NotFound(w, r)
			return
		}
		cut := len(mark) + len(secret)
		r2 := r.WithContext(forwarded.WithProxy(r.Context()))
		u := *r.URL
		u.Path = "/" + path
		if u.RawPath != "" && len(u.RawPath) >= cut {
			u.RawPath = u.RawPath[cut:]
		}
		r2.URL = &u
		if len(r.RequestURI) >= cut {
			r2.RequestURI = r.RequestURI[cut:]
		}
		next.ServeHTTP(w, r2)
	})
}

// secureCookies adds the Secure attribute to every cookie the hub sets in answer to a request
// that reached the hub over https, its own TLS or a trusted proxy's (forwarded.Trust), as
// JupyterHub does for https requests; public_url https sets it on every cookie anyway.
func secureCookies(trust *forwarded.Trust, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !trust.Client(r).HTTPS {
			next.ServeHTTP(w, r)
			return
		}
		next.ServeHTTP(&secureWriter{ResponseWriter: w}, r)
	})
}

// secureWriter marks the Set-Cookie headers Secure when the header is written.
type secureWriter struct {
	http.ResponseWriter
	done bool
}

func (s *secureWriter) mark() {
	if s.done {
		return
	}
	s.done = true
	h := s.ResponseWriter.Header()
	for i, c := range h["Set-Cookie"] {
		if !hasSecure(c) {
			h["Set-Cookie"][i] = c + "; Secure"
		}
	}
}

// hasSecure reports whether a Set-Cookie value has the Secure attribute, as net/http (and a
// browser, RFC 6265 §5.2) reads it: "Secure=1" counts, "\u00a0Secure" does not. A value it
// cannot parse is not Secure, so secureWriter adds the attribute.
func hasSecure(setCookie string) bool {
	c, err := http.ParseSetCookie(setCookie)
	return err == nil && c.Secure
}

func (s *secureWriter) WriteHeader(code int) {
	if code >= 200 { // an informational answer comes before the cookies are set
		s.mark()
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *secureWriter) Write(b []byte) (int, error) {
	s.mark()
	return s.ResponseWriter.Write(b)
}

// Unwrap lets http.ResponseController reach the connection (flushing, deadlines).
func (s *secureWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// Flush flushes, for handlers that look for http.Flusher (the event stream of spawn progress).
func (s *secureWriter) Flush() {
	s.mark()
	http.NewResponseController(s.ResponseWriter).Flush()
}
