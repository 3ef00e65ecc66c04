package proxy

import (
	"bytes"
	"crypto/subtle"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// API serves configurable-http-proxy's REST API (GET/POST/DELETE /api/routes[/path]) over a
// RouteTable, with the same status codes and bodies.
type API struct {
	table       *RouteTable
	token       []byte
	hostRouting bool
	log         *slog.Logger
}

// APIOptions configure an API.
type APIOptions struct {
	// AuthToken is CONFIGPROXY_AUTH_TOKEN; empty means no authentication, as CHP.
	AuthToken string
	// HostRouting adds "host" (the first path segment) to the data of added routes, as CHP.
	HostRouting bool
	// Logger receives request logs; nil means slog.Default().
	Logger *slog.Logger
}

// maxRouteBody bounds a POST body.
const maxRouteBody = 1 << 20

// NewAPI returns the API handler for table.
func NewAPI(table *RouteTable, opts APIOptions) *API {
	a := &API{table: table, hostRouting: opts.HostRouting, log: opts.Logger}
	if opts.AuthToken != "" {
		a.token = []byte(opts.AuthToken)
	}
	if a.log == nil {
		a.log = slog.Default()
	}
	return a
}

// ServeHTTP dispatches /api/routes requests; any other path is 404.
func (a *API) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	raw := r.URL.EscapedPath()
	rest, ok := strings.CutPrefix(raw, "/api/routes")
	if !ok || (rest != "" && rest[0] != '/') {
		failText(w, http.StatusNotFound, "")
		return
	}
	path, err := url.PathUnescape(rest)
	if err != nil {
		failText(w, http.StatusBadRequest, "Bad path encoding")
		return
	}
	switch r.Method {
	case http.MethodGet, http.MethodPost, http.MethodDelete:
	default:
		failText(w, http.StatusMethodNotAllowed, "Method not supported")
		return
	}
	if !a.authorized(r) {
		a.log.Debug("rejecting proxy API request", "method", r.Method, "path", raw)
		w.WriteHeader(http.StatusForbidden)
		return
	}
	switch r.Method {
	case http.MethodGet:
		if path != "" && path != "/" {
			a.getRoute(w, path)
			return
		}
		a.getRoutes(w, r)
	case http.MethodPost:
		a.postRoute(w, r, path)
	case http.MethodDelete:
		a.deleteRoute(w, path)
	}
}

// authorized checks "Authorization: token <t>" in constant time; no token means open.
func (a *API) authorized(r *http.Request) bool {
	if a.token == nil {
		return true
	}
	f := strings.Fields(r.Header.Get("Authorization"))
	if len(f) < 2 || f[0] != "token" {
		return false
	}
	return subtle.ConstantTimeCompare([]byte(f[1]), a.token) == 1
}

func (a *API) getRoute(w http.ResponseWriter, path string) {
	rt := a.table.Get(path)
	if rt == nil {
		w.WriteHeader(http.StatusNotFound)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(rt.appendJSON(nil))
}

func (a *API) getRoutes(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	since := q.Get("inactiveSince")
	if since == "" {
		since = q.Get("inactive_since")
	}
	var cutoff time.Time
	if since != "" {
		t, err := ParseTimestamp(since)
		if err != nil {
			failText(w, http.StatusBadRequest, "Invalid datestamp '"+since+"' must be ISO8601.")
			return
		}
		cutoff = t
	}
	routes := a.table.Routes()
	if !cutoff.IsZero() {
		kept := routes[:0]
		for _, rt := range routes {
			if rt.LastActivity().Before(cutoff) {
				kept = append(kept, rt)
			}
		}
		routes = kept
	}
	// Unsorted, as CHP's: clients read an object. Sorting 10,000 keys would double the cost.
	b := make([]byte, 0, 64+len(routes)*160)
	b = append(b, '{')
	for i, rt := range routes {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, rt.Prefix)
		b = append(b, ':')
		b = rt.appendJSON(b)
	}
	b = append(b, '}')
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(b)
}

func (a *API) postRoute(w http.ResponseWriter, r *http.Request, path string) {
	if path == "" {
		path = "/"
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxRouteBody))
	if err != nil {
		failText(w, http.StatusBadRequest, "Body not readable: "+err.Error())
		return
	}
	var data map[string]any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber() // keep numbers verbatim
	if err := dec.Decode(&data); err != nil || dec.More() {
		if err == nil {
			err = fmt.Errorf("trailing data")
		}
		if _, isObj := err.(*json.UnmarshalTypeError); !isObj {
			failText(w, http.StatusBadRequest, "Body not valid JSON: "+err.Error())
			return
		}
	}
	if _, ok := data["target"].(string); !ok {
		failText(w, http.StatusBadRequest, "Must specify 'target' as string")
		return
	}
	clean := CleanPath(path)
	if a.hostRouting && clean != "/" {
		data["host"] = strings.Split(clean, "/")[1]
	}
	rt, err := NewRoute(clean, data)
	if err != nil {
		failText(w, http.StatusBadRequest, err.Error())
		return
	}
	a.table.Add(rt)
	a.log.Info("route added", "route", clean, "target", rt.Target.Redacted())
	w.WriteHeader(http.StatusCreated)
}

func (a *API) deleteRoute(w http.ResponseWriter, path string) {
	if a.table.Remove(path) {
		a.log.Info("route removed", "route", CleanPath(path))
		w.WriteHeader(http.StatusNoContent)
		return
	}
	w.WriteHeader(http.StatusNotFound)
}

// appendJSONString appends s as a JSON string; plain printable ASCII (every usual route
// key) is copied as is, anything else goes through encoding/json.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c >= 0x7f || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			js, _ := json.Marshal(s)
			return append(b, js...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// failText ends a request with a status and a plain-text message (the reason phrase when
// msg is empty), as CHP's API does.
func failText(w http.ResponseWriter, code int, msg string) {
	if msg == "" {
		msg = http.StatusText(code)
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(code)
	_, _ = io.WriteString(w, msg)
}

// timestampLayouts are the ISO 8601 forms accepted for inactive_since (as JavaScript's
// Date.parse does; forms without an offset are taken as UTC).
var timestampLayouts = []string{
	time.RFC3339Nano,
	"2006-01-02T15:04Z07:00",
	"2006-01-02T15:04:05.999999999",
	"2006-01-02T15:04",
	"2006-01-02",
	"2006-01",
	"2006",
	time.RFC1123,
	time.RFC1123Z,
}

// ParseTimestamp parses an ISO 8601 timestamp as CHP's inactive_since filter accepts it.
func ParseTimestamp(s string) (time.Time, error) {
	for _, l := range timestampLayouts {
		if t, err := time.Parse(l, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("parse timestamp %q: not ISO 8601", s)
}
