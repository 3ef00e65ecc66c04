package session

import (
	"encoding/base64"
	"math/big"
	"strconv"
	"strings"
	"testing"
	"time"
)

// refVerifyV2 is a plain reading of tornado's _decode_signed_value_v2, written independently of
// verifyV2: "2|" then four "<len>:<field>|" (len decimal digits; the byte after the field must
// be '|', anything else is malformed), the rest is the signature over everything before it;
// key version and timestamp are decimal integers; the name must match; the timestamp must not
// be older than maxAge; the value is standard padded base64.
func refVerifyV2(secret []byte, name, signed string, maxAge time.Duration, now time.Time) (string, bool) {
	if !strings.HasPrefix(signed, "2|") {
		return "", false
	}
	rest := signed[2:]
	var fields []string
	for range 4 {
		i := strings.Index(rest, ":")
		if i < 0 || !allDigits(rest[:i]) {
			return "", false
		}
		n, ok := new(big.Int).SetString(rest[:i], 10)
		body := rest[i+1:]
		if !ok || n.Cmp(big.NewInt(int64(len(body)))) >= 0 {
			return "", false
		}
		k := int(n.Int64())
		if body[k] != '|' {
			return "", false
		}
		fields = append(fields, body[:k])
		rest = body[k+1:]
	}
	toSign := signed[:len(signed)-len(rest)]
	if rest != signature(secret, toSign) {
		return "", false
	}
	if !allDigits(fields[0]) || !allDigits(fields[1]) || fields[2] != name {
		return "", false
	}
	ts, err := strconv.ParseInt(fields[1], 10, 64)
	if err != nil || ts < now.Add(-maxAge).Unix() {
		return "", false
	}
	for _, c := range fields[3] {
		if !strings.ContainsRune("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=", c) {
			return "", false
		}
	}
	v, err := base64.StdEncoding.DecodeString(fields[3])
	if err != nil {
		return "", false
	}
	return string(v), true
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// FuzzSignedCookie checks verifyV2 three ways: every value signV2 signs verifies to itself
// (and not under another name, when too old, or with a changed signature); on arbitrary input
// and on arbitrary input given a valid signature it agrees with refVerifyV2; it never accepts
// what is not signed with the secret.
func FuzzSignedCookie(f *testing.F) {
	f.Add(vectorLogin, LoginCookie, "v", int64(0))
	f.Add("2|1:0|1:1|1:n|0:|", "n", "", int64(-1))
	f.Add("2|1:0|10:1700000000|1:n|4:dg==|", "n", "\x00\xff", int64(1))
	f.Add("2|+1:0|10:1700000000|1:n|4:dg==|", "n", "x", int64(2))
	f.Add("2|1:0|10:+700000000|1:n|4:dg==|", "n", "x", int64(3))
	f.Add("2|1:x|10:1700000000|1:n|4:dg==|", "n", "x", int64(4))
	f.Add("2|0000000001:0|10:1700000000|1:n|4:dg==|", "n", "x", int64(5))
	f.Add("2|1:0|10:1700000000|1:n|5:dg\n==|", "n", "x", int64(6))
	f.Add("2|1:0|10:1700000000|1:n|4:dg==x|", "n", "x", int64(7))
	f.Add("2|-0:|1:0|10:1700000000|1:n|4:dg==|", "n", "x", int64(8))
	now := fixedNow
	secret := testSecret
	maxAge := DefaultMaxAge
	f.Fuzz(func(t *testing.T, raw, name, value string, age int64) {
		// (b) differential, on the input as given and on it signed (raw is then the part the
		// signature covers, so field-level quirks reach the checks past the signature).
		for _, s := range []string{raw, raw + signature(secret, raw)} {
			got, gotOK := verifyV2(secret, name, s, maxAge, now)
			want, wantOK := refVerifyV2(secret, name, s, maxAge, now)
			if got != want || gotOK != wantOK {
				t.Fatalf("verifyV2(%q, %q) = %q, %v; reference %q, %v", name, s, got, gotOK, want, wantOK)
			}
		}
		// (c) nothing verifies under another secret.
		if _, ok := verifyV2([]byte("another secret"), name, raw+signature(secret, raw), maxAge, now); ok {
			t.Fatalf("accepted %q under another secret", raw)
		}

		// (a) round trip, at an age in [-maxAge, 2*maxAge].
		span := int64(3 * maxAge / time.Second)
		off := age % span
		if off < 0 {
			off += span
		}
		ts := now.Add(-time.Duration(off)*time.Second + maxAge)
		signed := signV2(secret, name, value, ts)
		got, ok := verifyV2(secret, name, signed, maxAge, now)
		fresh := ts.Unix() >= now.Add(-maxAge).Unix()
		if ok != fresh || (ok && got != value) {
			t.Fatalf("signV2(%q, %q, %v) verifies to %q, %v; fresh %v", name, value, ts, got, ok, fresh)
		}
		if !fresh {
			return
		}
		// (c) not under another name, nor with any one byte of the signature changed.
		if _, ok := verifyV2(secret, name+"x", signed, maxAge, now); ok {
			t.Fatalf("%q verifies for name %q", signed, name+"x")
		}
		i := len(signed) - 1 - int(uint64(age)%64)
		for _, b := range []byte{'0', 'f', 'F', '|'} {
			if signed[i] == b {
				continue
			}
			bad := signed[:i] + string(b) + signed[i+1:]
			if _, ok := verifyV2(secret, name, bad, maxAge, now); ok {
				t.Fatalf("%q verifies with a changed signature", bad)
			}
		}
	})
}
