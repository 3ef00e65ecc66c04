package oauth

import (
	"testing"
	"time"
	"unicode/utf8"
)

// FuzzStateCookie checks the oauthenticator-state cookie: any value not sealed by this codec
// is refused without a panic; a sealed state opens to itself until it expires and not once
// one character of it is changed; the URL state carries the id and no other.
func FuzzStateCookie(f *testing.F) {
	f.Add("", "id", "/hub/home", int64(60), 3)
	f.Add("AAAAAAAAAAAAAAAA", "a", "", int64(-1), 0)
	f.Add("eyJpZCI6IngifQ", "x", "//evil.example", int64(3600), 17)
	f.Add("!!", "\x00", "\xff", int64(0), 1)
	c, err := newStateCodec()
	if err != nil {
		f.Fatal(err)
	}
	now := time.Unix(1700000000, 0)
	f.Fuzz(func(t *testing.T, raw, id, next string, ttl int64, pos int) {
		if st, err := c.open(raw, now); err == nil {
			t.Fatalf("open(%q) = %+v", raw, st)
		}
		if id == "" || !utf8.ValidString(id) || !utf8.ValidString(next) {
			return
		}
		st := &loginState{ID: id, Next: next, Redirect: "http://127.0.0.1/hub/oauth_callback", Expires: now.Unix() + ttl%7200}
		v := c.seal(st)
		got, err := c.open(v, now)
		switch {
		case st.Expires < now.Unix():
			if err == nil {
				t.Fatalf("expired state %+v opened", st)
			}
		case err != nil || *got != *st:
			t.Fatalf("state %+v opened as %+v, %v", st, got, err)
		}
		// Any one character changed, but the last (its spare bits may decode alike).
		i := uint(pos) % uint(len(v)-1)
		for _, b := range []byte{'A', '_', '-', '='} {
			if v[i] == b {
				continue
			}
			bad := v[:i] + string(b) + v[i+1:]
			if st, err := c.open(bad, now); err == nil {
				t.Fatalf("changed cookie %q opened as %+v", bad, st)
			}
		}
		if !sameState(urlState(id), id) {
			t.Fatalf("urlState(%q) does not carry it", id)
		}
		if sameState(urlState(id), id+"x") {
			t.Fatalf("urlState(%q) matches %q", id, id+"x")
		}
	})
}
