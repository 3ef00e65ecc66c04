package session

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"strconv"
	"strings"
	"time"
)

// Tornado's "secure cookie" version 2 (protocol.md §4.1), the form JupyterHub signs its login cookie
// and _xsrf token with:
//
//	2|1:0|<len>:<unix ts>|<len>:<name>|<len>:<std base64 of value>|<hex hmac-sha256 of all before>
//
// The key version field is written as 0 and ignored on reading, as tornado does with a single
// secret. Lengths are byte counts in decimal.

// signV2 returns the signed form of value for cookie name, stamped at ts.
func signV2(secret []byte, name, value string, ts time.Time) string {
	var b strings.Builder
	b.WriteString("2|")
	writeField(&b, "0")
	writeField(&b, strconv.FormatInt(ts.Unix(), 10))
	writeField(&b, name)
	writeField(&b, base64.StdEncoding.EncodeToString([]byte(value)))
	toSign := b.String()
	return toSign + signature(secret, toSign)
}

// writeField writes one "<len>:<field>|".
func writeField(b *strings.Builder, s string) {
	b.WriteString(strconv.Itoa(len(s)))
	b.WriteByte(':')
	b.WriteString(s)
	b.WriteByte('|')
}

// signature is the lowercase hex HMAC-SHA256 tornado appends.
func signature(secret []byte, s string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(s))
	return hex.EncodeToString(m.Sum(nil))
}

// verifyV2 checks a signed value for name: well-formed, signature right (constant time), name
// equal, stamped no earlier than now-maxAge. It returns the decoded value.
func verifyV2(secret []byte, name, signed string, maxAge time.Duration, now time.Time) (string, bool) {
	rest, ok := strings.CutPrefix(signed, "2|")
	if !ok {
		return "", false
	}
	fields := make([]string, 4) // key version, timestamp, name, value
	for i := range fields {
		fields[i], rest, ok = consumeField(rest)
		if !ok {
			return "", false
		}
	}
	sig := rest
	toSign := signed[:len(signed)-len(sig)]
	want := signature(secret, toSign)
	if !hmac.Equal([]byte(sig), []byte(want)) {
		return "", false
	}
	if fields[2] != name {
		return "", false
	}
	// Key version and timestamp are plain decimal (tornado reads both with int()); ParseUint
	// takes no sign, space or underscore.
	if _, err := strconv.ParseUint(fields[0], 10, 64); err != nil {
		return "", false
	}
	ts, err := strconv.ParseUint(fields[1], 10, 63)
	if err != nil {
		return "", false
	}
	if int64(ts) < now.Add(-maxAge).Unix() {
		return "", false
	}
	// Go's decoder skips CR and LF; the value is base64 as written, without them.
	if strings.ContainsAny(fields[3], "\r\n") {
		return "", false
	}
	value, err := base64.StdEncoding.DecodeString(fields[3])
	if err != nil {
		return "", false
	}
	return string(value), true
}

// consumeField reads "<len>:<field>|" from the front of s; len is decimal digits (leading
// zeros allowed, as tornado's int() takes them).
func consumeField(s string) (field, rest string, ok bool) {
	lenText, after, found := strings.Cut(s, ":")
	if !found {
		return "", "", false
	}
	n, err := strconv.ParseUint(lenText, 10, 64)
	if err != nil || n >= uint64(len(after)) || after[n] != '|' {
		return "", "", false
	}
	return after[:n], after[n+1:], true
}
