package proxy

import (
	"context"
	"fmt"
	"html"
	"io"
	"net/http"
	"net/url"
	"strconv"
)

// fail answers a proxy error (404: no route, 503: target unreachable) the way CHP does:
// through the ErrorHandler hook, else the error target's page with the original status,
// else a small built-in page.
func (p *Proxy) fail(w http.ResponseWriter, r *http.Request, code int, cause error) {
	if cause != nil {
		p.log.Warn("proxy error", "status", code, "method", r.Method, "path", r.URL.Path, "err", cause)
	}
	if p.opts.ErrorHandler != nil {
		p.opts.ErrorHandler(w, r, code)
		return
	}
	if p.errorBase != "" && p.relayErrorPage(r.Context(), w, r, code) {
		return
	}
	writeDefaultError(w, code)
}

// relayErrorPage fetches GET {error_target}/{code}?url=<escaped request URI> and relays its
// body and content type with the original status. It reports false when the error target
// itself failed, so the caller can fall back.
func (p *Proxy) relayErrorPage(ctx context.Context, w http.ResponseWriter, r *http.Request, code int) bool {
	u := p.errorBase + strconv.Itoa(code) + "?url=" + url.QueryEscape(r.RequestURI)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		p.log.Error("build error-target request", "err", err)
		return false
	}
	resp, err := p.errClient.Do(req)
	if err != nil {
		p.log.Error("fetch error page", "status", code, "err", err)
		return false
	}
	defer resp.Body.Close()
	for _, k := range []string{"Content-Type", "Content-Encoding"} {
		if v := resp.Header.Get(k); v != "" {
			w.Header().Set(k, v)
		}
	}
	w.WriteHeader(code)
	_, _ = io.Copy(w, resp.Body)
	return true
}

// writeDefaultError writes a minimal HTML error page.
func writeDefaultError(w http.ResponseWriter, code int) {
	msg := map[int]string{
		http.StatusNotFound:           "No route matches this URL.",
		http.StatusServiceUnavailable: "The server behind this URL is not responding.",
		http.StatusBadGateway:         "The server behind this URL sent an invalid response.",
	}[code]
	title := fmt.Sprintf("%d: %s", code, http.StatusText(code))
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(code)
	_, _ = fmt.Fprintf(w, "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>%s</title></head>\n"+
		"<body><h1>%s</h1><p>%s</p><hr><p>gohub proxy</p></body></html>\n",
		html.EscapeString(title), html.EscapeString(title), html.EscapeString(msg))
}
