package api

import (
	"encoding/json"
	"slices"
	"strconv"
	"time"
	"unicode/utf8"
)

// jw appends JSON to a byte slice. Models are written with it rather than encoding/json on maps:
// listing 200 users is the hub's hottest read, and key presence depends on the caller's scopes.
type jw struct {
	b []byte
}

const hexDigits = "0123456789abcdef"

// str appends s as a JSON string. Invalid UTF-8 becomes U+FFFD; U+2028/2029 are escaped.
func (j *jw) str(s string) {
	b := append(j.b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hexDigits[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	j.b = append(b, '"')
}

// key appends `"k":`, preceded by a comma unless it opens the object. k must need no escaping.
func (j *jw) key(k string) {
	if n := len(j.b); n > 0 && j.b[n-1] != '{' {
		j.b = append(j.b, ',')
	}
	j.b = append(j.b, '"')
	j.b = append(j.b, k...)
	j.b = append(j.b, '"', ':')
}

// keyStr appends a key that may need escaping (a user or server name).
func (j *jw) keyStr(k string) {
	if n := len(j.b); n > 0 && j.b[n-1] != '{' {
		j.b = append(j.b, ',')
	}
	j.str(k)
	j.b = append(j.b, ':')
}

func (j *jw) open()  { j.b = append(j.b, '{') }
func (j *jw) close() { j.b = append(j.b, '}') }
func (j *jw) null()  { j.b = append(j.b, "null"...) }

// comma separates array elements: call before every element but the first.
func (j *jw) comma() { j.b = append(j.b, ',') }

func (j *jw) boolean(v bool) { j.b = strconv.AppendBool(j.b, v) }
func (j *jw) int(v int64)    { j.b = strconv.AppendInt(j.b, v, 10) }

// strOrNull writes null for "".
func (j *jw) strOrNull(s string) {
	if s == "" {
		j.null()
		return
	}
	j.str(s)
}

// strs appends a JSON array of strings (never null).
func (j *jw) strs(v []string) {
	j.b = append(j.b, '[')
	for i, s := range v {
		if i > 0 {
			j.b = append(j.b, ',')
		}
		j.str(s)
	}
	j.b = append(j.b, ']')
}

// sortedStrs is strs of a sorted copy.
func (j *jw) sortedStrs(v []string) {
	if !slices.IsSorted(v) {
		v = slices.Sorted(slices.Values(v))
	}
	j.strs(v)
}

// time appends a timestamp (§0.3) or null.
func (j *jw) time(t *time.Time) {
	if t == nil || t.IsZero() {
		j.null()
		return
	}
	j.b = append(j.b, '"')
	j.b = appendTimestamp(j.b, *t)
	j.b = append(j.b, '"')
}

// raw appends stored JSON, or def when it is empty or not valid JSON.
func (j *jw) raw(v json.RawMessage, def string) {
	if len(v) == 0 || string(v) == "null" || !json.Valid(v) {
		j.b = append(j.b, def...)
		return
	}
	j.b = append(j.b, v...)
}

// value appends any Go value through encoding/json (rare, small values such as properties).
func (j *jw) value(v any) {
	b, err := json.Marshal(v)
	if err != nil {
		j.null()
		return
	}
	j.b = append(j.b, b...)
}

// appendTimestamp writes t as JupyterHub does (Python isoformat of naive UTC plus "Z"):
// microseconds only when non-zero.
func appendTimestamp(b []byte, t time.Time) []byte {
	t = t.UTC().Truncate(time.Microsecond)
	if t.Nanosecond() == 0 {
		b = t.AppendFormat(b, "2006-01-02T15:04:05")
	} else {
		b = t.AppendFormat(b, "2006-01-02T15:04:05.000000")
	}
	return append(b, 'Z')
}

// formatTimestamp is appendTimestamp as a string.
func formatTimestamp(t time.Time) string { return string(appendTimestamp(nil, t)) }

// parseTimestamp reads an ISO 8601 timestamp leniently (with or without offset or "Z", with
// "T" or a space, with or without fractional seconds); naive values are UTC.
func parseTimestamp(s string) (time.Time, bool) {
	layouts := []string{
		time.RFC3339Nano,
		"2006-01-02T15:04:05.999999999",
		"2006-01-02 15:04:05.999999999Z07:00",
		"2006-01-02 15:04:05.999999999",
		"2006-01-02T15:04Z07:00",
		"2006-01-02T15:04",
		"2006-01-02",
	}
	for _, l := range layouts {
		if t, err := time.Parse(l, s); err == nil {
			return t.UTC(), true
		}
	}
	return time.Time{}, false
}

// FormatTime writes t as JupyterHub does (protocol.md §0.3): naive UTC ISO 8601 with a Z, microseconds
// only when non-zero.
func FormatTime(t time.Time) string { return formatTimestamp(t) }
