package proxy

import (
	"bufio"
	"net/http"
	"reflect"
	"strings"
	"testing"
)

// TestSimpleRequestParserMatchesReadRequest checks that the allocation-light parser gives
// what http.ReadRequest gives, and leaves everything unusual to it without consuming.
func TestSimpleRequestParserMatchesReadRequest(t *testing.T) {
	const next = "GET /next HTTP/1.1\r\nHost: n\r\n\r\n"
	cases := []struct {
		raw    string
		simple bool
	}{
		{"GET /user/a/api?x=1&y=%20 HTTP/1.1\r\nHost: hub.example:8000\r\nUser-Agent: t\r\nAccept: */*\r\n\r\n", true},
		{"GET /a%2Fb HTTP/1.1\r\nhost: h\r\nx-lower: a\r\nX-Dup: 1\r\nx-dup:  2 \t\r\nConnection: keep-alive, Close\r\n\r\n", true},
		{"DELETE / HTTP/1.1\r\nHost: \r\nConnection: X-Secret\r\nX-Secret: s\r\nCookie: a=b; c=d\r\n\r\n", true},
		{"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n", false},
		{"GET http://other/x HTTP/1.1\r\nHost: h\r\n\r\n", false},
		{"GET / HTTP/1.0\r\nHost: h\r\n\r\n", false},
		{"GET / HTTP/1.1\r\n\r\n", false},                                     // no Host: ReadRequest's error
		{"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", false},               // two Hosts
		{"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc", false}, // bodies
		{"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", false},
		{"GET / HTTP/1.1\r\nHost: h\r\nX-Fold: a\r\n b\r\n\r\n", false},
		{"GET / HTTP/1.1\r\nHost: h\r\nBad Key: v\r\n\r\n", false},
		{"GET / HTTP/1.1\r\nHost: h\r\nPragma: no-cache\r\n\r\n", false},
		{"GET / HTTP/1.1\r\nHost: h\r\nX: a\x00b\r\n\r\n", false},
		{"GET / HTTP/1.1\nHost: h\n\n", false},
		{"GET /\x7f HTTP/1.1\r\nHost: h\r\n\r\n", false},
	}
	for _, c := range cases {
		br := bufio.NewReaderSize(strings.NewReader(c.raw+next), 4096)
		_, _ = br.Peek(1)
		got, ok := readSimpleRequest(br)
		if ok != c.simple {
			t.Errorf("%q: simple=%v, want %v", c.raw, ok, c.simple)
			continue
		}
		if !ok {
			if br.Buffered() != len(c.raw+next) {
				t.Errorf("%q: consumed input without parsing", c.raw)
			}
			continue
		}
		want, err := http.ReadRequest(bufio.NewReader(strings.NewReader(c.raw)))
		if err != nil {
			t.Fatalf("%q: %v", c.raw, err)
		}
		if got.Method != want.Method || got.RequestURI != want.RequestURI || *got.URL != *want.URL ||
			got.Host != want.Host || got.Close != want.Close || got.ContentLength != want.ContentLength ||
			got.Body != want.Body || got.Proto != want.Proto || got.ProtoMinor != want.ProtoMinor ||
			!reflect.DeepEqual(got.Header, want.Header) {
			t.Errorf("%q:\n got %+v\nwant %+v", c.raw, got, want)
		}
		if rest, err := http.ReadRequest(br); err != nil || rest.URL.Path != "/next" {
			t.Errorf("%q: the next request does not follow: %v", c.raw, err)
		}
	}
}
