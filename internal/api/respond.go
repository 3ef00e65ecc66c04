package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"gohub/internal/rbac"
	"gohub/internal/store"
)

// maxBody is the largest request body accepted (413 beyond it).
const maxBody = 1 << 20

// httpError is an error with the status and message the client sees.
type httpError struct {
	status int
	msg    string
}

func (e *httpError) Error() string { return fmt.Sprintf("%d: %s", e.status, e.msg) }

// errorf builds an httpError; an empty message becomes the reason phrase.
func errorf(status int, format string, args ...any) error {
	msg := format
	if len(args) > 0 {
		msg = fmt.Sprintf(format, args...)
	}
	return &httpError{status: status, msg: msg}
}

// Messages JupyterHub clients recognise (protocol.md §0.5).
var (
	errNoCredentials = &httpError{http.StatusForbidden, "Missing or invalid credentials."}
	errNoAccess      = &httpError{http.StatusNotFound, "No access to resources or resources not found"}
	errXSRF          = &httpError{http.StatusForbidden, "'_xsrf' argument missing or invalid (cookie-authenticated requests need it)"}
)

// errScopes is the 403 for a caller lacking every one of the required scopes.
func errScopes(required []string) error {
	return &httpError{http.StatusForbidden,
		"Action is not authorized with current scopes; requires any of " + pyList(required)}
}

// pyList formats names as a Python list repr, as JupyterHub's messages do.
func pyList(names []string) string {
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = "'" + n + "'"
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// statusOf maps an error to the HTTP status and message sent: the one place where store and
// rbac sentinel errors become replies.
func statusOf(err error) (int, string) {
	var he *httpError
	var mbe *http.MaxBytesError
	switch {
	case errors.As(err, &he):
		return he.status, he.msg
	case errors.As(err, &mbe):
		return http.StatusRequestEntityTooLarge, fmt.Sprintf("Request body larger than %d bytes", maxBody)
	case errors.Is(err, store.ErrNotFound):
		return http.StatusNotFound, ""
	case errors.Is(err, store.ErrExists):
		return http.StatusConflict, ""
	case errors.Is(err, rbac.ErrUnknownScope), errors.Is(err, rbac.ErrBadFilter):
		return http.StatusBadRequest, err.Error()
	}
	return http.StatusInternalServerError, ""
}

// fail writes err as a JSON error body {"status", "message"}.
func (a *API) fail(w http.ResponseWriter, r *http.Request, err error) {
	status, msg := statusOf(err)
	if status >= 500 {
		a.log.Error("api request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	} else {
		a.log.Debug("api request refused", "method", r.Method, "path", r.URL.Path, "status", status, "msg", msg)
	}
	if msg == "" {
		msg = http.StatusText(status)
	}
	j := getJW()
	defer putJW(j)
	j.b = append(j.b, `{"status":`...)
	j.b = strconv.AppendInt(j.b, int64(status), 10)
	j.b = append(j.b, `,"message":`...)
	j.str(msg)
	j.b = append(j.b, '}')
	writeBody(w, status, j.b)
}

// writeBody sends a JSON body.
func writeBody(w http.ResponseWriter, status int, body []byte) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	w.Write(body)
}

// writeJSON encodes v with encoding/json (for small replies; models use jw).
func writeJSON(w http.ResponseWriter, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode reply: %w", err)
	}
	writeBody(w, status, b)
	return nil
}

// writeEmpty sends a reply without a body.
func writeEmpty(w http.ResponseWriter, status int) {
	w.WriteHeader(status)
}

// readBody decodes a JSON request body of at most maxBody bytes into a generic value (numbers
// as json.Number); nil when the body is empty. Malformed JSON is a 400, too large a 413.
func readBody(w http.ResponseWriter, r *http.Request) (any, error) {
	if r.Body == nil || r.Body == http.NoBody {
		return nil, nil
	}
	if r.ContentLength > maxBody {
		return nil, &http.MaxBytesError{Limit: maxBody}
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, err
		}
		return nil, errorf(http.StatusBadRequest, "reading request body: %v", err)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, nil
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, errorf(http.StatusBadRequest, "Invalid JSON in body of request: %v", err)
	}
	if dec.More() {
		return nil, errorf(http.StatusBadRequest, "Invalid JSON in body of request: trailing data after the JSON value")
	}
	return v, nil
}

// readObject is readBody for endpoints whose body must be a JSON object (or empty: nil map).
func readObject(w http.ResponseWriter, r *http.Request) (map[string]any, error) {
	v, err := readBody(w, r)
	if err != nil || v == nil {
		return nil, err
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, errorf(http.StatusBadRequest, "Body must be a JSON object, not %s", jsonType(v))
	}
	return m, nil
}

// jsonType names the JSON type of a decoded value for error messages.
func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case bool:
		return "a boolean"
	case json.Number:
		return "a number"
	case string:
		return "a string"
	case []any:
		return "a list"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

// checkKeys refuses keys outside allowed (400 naming them).
func checkKeys(m map[string]any, what string, allowed ...string) error {
	var bad []string
	for k := range m {
		ok := false
		for _, a := range allowed {
			if k == a {
				ok = true
				break
			}
		}
		if !ok {
			bad = append(bad, k)
		}
	}
	if len(bad) > 0 {
		sortStrings(bad)
		return errorf(http.StatusBadRequest, "Invalid %s keys: %s (allowed: %s)", what, strings.Join(bad, ", "), strings.Join(allowed, ", "))
	}
	return nil
}

// boolField reads an optional boolean; present=false when absent.
func boolField(m map[string]any, key, what string) (val, present bool, err error) {
	v, ok := m[key]
	if !ok {
		return false, false, nil
	}
	b, ok := v.(bool)
	if !ok {
		return false, true, errorf(http.StatusBadRequest, "%s.%s must be a boolean, not %s", what, key, jsonType(v))
	}
	return b, true, nil
}

// stringField reads an optional string.
func stringField(m map[string]any, key, what string) (val string, present bool, err error) {
	v, ok := m[key]
	if !ok {
		return "", false, nil
	}
	s, ok := v.(string)
	if !ok {
		return "", true, errorf(http.StatusBadRequest, "%s.%s must be a string, not %s", what, key, jsonType(v))
	}
	return s, true, nil
}

// stringList reads an optional list of strings.
func stringList(m map[string]any, key, what string) (val []string, present bool, err error) {
	v, ok := m[key]
	if !ok {
		return nil, false, nil
	}
	l, ok := v.([]any)
	if !ok {
		return nil, true, errorf(http.StatusBadRequest, "%s.%s must be a list of strings, not %s", what, key, jsonType(v))
	}
	out := make([]string, 0, len(l))
	for _, e := range l {
		s, ok := e.(string)
		if !ok {
			return nil, true, errorf(http.StatusBadRequest, "%s.%s must be a list of strings, found %s", what, key, jsonType(e))
		}
		out = append(out, s)
	}
	return out, true, nil
}

// objectField reads an optional JSON object.
func objectField(m map[string]any, key, what string) (val map[string]any, present bool, err error) {
	v, ok := m[key]
	if !ok {
		return nil, false, nil
	}
	o, ok := v.(map[string]any)
	if !ok {
		return nil, true, errorf(http.StatusBadRequest, "%s.%s must be an object, not %s", what, key, jsonType(v))
	}
	return o, true, nil
}

var jwPool = sync.Pool{New: func() any { return &jw{b: make([]byte, 0, 4096)} }}

func getJW() *jw { j := jwPool.Get().(*jw); j.b = j.b[:0]; return j }

func putJW(j *jw) {
	if cap(j.b) <= 1<<20 {
		jwPool.Put(j)
	}
}
