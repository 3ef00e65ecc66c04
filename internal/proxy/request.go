package proxy

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"net/http"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
)

// The request parser of Server. It is stricter than net/http's server wherever the two could
// disagree about where a request ends (RFC 9112 §6.3, §11.2): everything net/http's server
// refuses is refused, and so are obs-fold, bare LF line ends, Content-Length together with
// Transfer-Encoding, Transfer-Encoding on HTTP/1.0, repeated Content-Length or Expect, empty
// header names, CONNECT and versions other than 1.0 and 1.1. What both accept parses to the same
// *http.Request (FuzzReadRequest and FuzzServerRequest compare them).

// requestError is a request Server refuses: the status it answers with, then it closes.
type requestError struct {
	status int
	reason string
}

func (e *requestError) Error() string { return e.reason }

func refuse(status int, reason string) error { return &requestError{status, reason} }

func badRequest(reason string) error { return refuse(http.StatusBadRequest, reason) }

// readRequest reads one request's head from br and returns the request with its body (not yet
// read) attached. afterPost skips up to four CR/LF bytes before the request line, as net/http's
// server does after a POST for old clients that end bodies with an extra CRLF. io.EOF means the
// client closed before sending anything.
func readRequest(br *bufio.Reader, afterPost bool) (*http.Request, error) {
	if afterPost {
		peek, _ := br.Peek(4)
		n := 0
		for n < len(peek) && (peek[n] == '\r' || peek[n] == '\n') {
			n++
		}
		_, _ = br.Discard(n)
	}
	head, err := readHead(br)
	if err != nil {
		return nil, err
	}
	return parseHead(head, br)
}

// readHead returns the request line and the header lines, each with its CRLF, and consumes them
// and the empty line after them. The usual head is already buffered whole and costs one string;
// a longer one is gathered line by line (the connection's connReader bounds its size).
func readHead(br *bufio.Reader) (string, error) {
	scanned := 0 // complete lines at the start of the buffer, checked already
	for {
		buf, _ := br.Peek(br.Buffered())
		for {
			i := bytes.IndexByte(buf[scanned:], '\n')
			if i < 0 {
				break
			}
			end := scanned + i
			if end == 0 || buf[end-1] != '\r' {
				return "", badRequest("line ends in a bare LF")
			}
			start := scanned
			scanned = end + 1
			if end-1 == start { // the empty line
				if start == 0 {
					return "", badRequest("empty request line")
				}
				s := string(buf[:start])
				_, _ = br.Discard(scanned)
				return s, nil
			}
		}
		if br.Buffered() == br.Size() {
			return readLongHead(br)
		}
		if _, err := br.Peek(br.Buffered() + 1); err != nil {
			if br.Buffered() > 0 && errors.Is(err, io.EOF) {
				return "", io.ErrUnexpectedEOF
			}
			return "", err
		}
	}
}

// readLongHead is readHead for a head larger than the buffer.
func readLongHead(br *bufio.Reader) (string, error) {
	acc := make([]byte, 0, 2*br.Size())
	start := 0 // where the current line starts in acc
	for {
		line, err := br.ReadSlice('\n')
		acc = append(acc, line...)
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err != nil {
			if errors.Is(err, io.EOF) {
				return "", io.ErrUnexpectedEOF
			}
			return "", err
		}
		n := len(acc)
		if n < 2 || acc[n-2] != '\r' {
			return "", badRequest("line ends in a bare LF")
		}
		if n-start == 2 {
			if start == 0 {
				return "", badRequest("empty request line")
			}
			return string(acc[:start]), nil
		}
		start = n
	}
}

// parseHead builds the request from its head (lines with CRLF, no final empty line) and
// attaches the body that follows in br.
func parseHead(head string, br *bufio.Reader) (*http.Request, error) {
	nl := strings.IndexByte(head, '\n')
	line, lines := head[:nl-1], head[nl+1:]
	method, rest, ok1 := strings.Cut(line, " ")
	target, proto, ok2 := strings.Cut(rest, " ")
	if !ok1 || !ok2 {
		return nil, badRequest("malformed request line")
	}
	if !validToken(method) {
		return nil, badRequest("invalid method")
	}
	req := &http.Request{Method: method, RequestURI: target, Proto: proto, ProtoMajor: 1}
	switch proto {
	case "HTTP/1.1":
		req.ProtoMinor = 1
	case "HTTP/1.0":
	default:
		if _, _, ok := http.ParseHTTPVersion(proto); ok {
			return nil, refuse(http.StatusHTTPVersionNotSupported, "unsupported protocol version")
		}
		return nil, badRequest("malformed HTTP version")
	}
	if method == http.MethodConnect {
		return nil, refuse(http.StatusMethodNotAllowed, "CONNECT is not supported")
	}
	u, err := url.ParseRequestURI(target)
	if err != nil {
		return nil, badRequest("invalid request target")
	}
	req.URL = u

	n := strings.Count(lines, "\n")
	h := make(http.Header, n)
	vals := make([]string, n) // one backing array for the (usually single) values
	for i := 0; len(lines) > 0; i++ {
		j := strings.IndexByte(lines, '\n')
		key, val, err := parseField(lines[:j-1])
		if err != nil {
			return nil, err
		}
		lines = lines[j+1:]
		vals[i] = val
		if old, dup := h[key]; dup {
			h[key] = append(old, val)
		} else {
			h[key] = vals[i : i+1 : i+1]
		}
	}
	req.Header = h

	hosts := h["Host"]
	delete(h, "Host")
	switch {
	case len(hosts) > 1:
		return nil, badRequest("too many Host headers")
	case len(hosts) == 0 && req.ProtoMinor == 1:
		return nil, badRequest("missing required Host header")
	case len(hosts) == 1 && !validHost(hosts[0]):
		return nil, badRequest("malformed Host header")
	}
	req.Host = u.Host
	if req.Host == "" && len(hosts) == 1 {
		req.Host = hosts[0]
	}
	if p := h["Pragma"]; len(p) > 0 && p[0] == "no-cache" {
		if _, ok := h["Cache-Control"]; !ok {
			h["Cache-Control"] = []string{"no-cache"}
		}
	}
	req.Close = wantsClose(req)
	if err := setBody(req, br); err != nil {
		return nil, err
	}
	if ex, ok := h["Expect"]; ok && (len(ex) > 1 || ex[0] != "" && !strings.EqualFold(ex[0], "100-continue")) {
		return nil, refuse(http.StatusExpectationFailed, "unsupported expectation")
	}
	return req, nil
}

// parseField splits one header line: a token, a colon right after it, a value of visible
// characters, spaces and tabs. Obs-fold lines (starting with a space) fail the token check.
func parseField(line string) (key, val string, err error) {
	colon := strings.IndexByte(line, ':')
	if colon < 0 {
		return "", "", badRequest("header line without a colon")
	}
	name := line[:colon]
	if !validToken(name) {
		return "", "", badRequest("invalid header name")
	}
	val = strings.Trim(line[colon+1:], " \t")
	for i := range len(val) {
		if c := val[i]; c < ' ' && c != '\t' || c == 0x7f {
			return "", "", badRequest("invalid header value")
		}
	}
	return http.CanonicalHeaderKey(name), val, nil
}

// wantsClose applies net/http's server rules: HTTP/1.1 closes on a "close" token, HTTP/1.0
// unless the first Connection header asks for keep-alive.
func wantsClose(req *http.Request) bool {
	conn := req.Header["Connection"]
	first := ""
	if len(conn) > 0 {
		first = conn[0]
	}
	if listHasToken(conn, "close") || hasToken(first, "close") {
		return true
	}
	if req.ProtoMinor == 0 {
		return !hasToken(first, "keep-alive")
	}
	return false
}

// setBody decides the request's framing (RFC 9112 §6.3) and attaches its body.
func setBody(req *http.Request, br *bufio.Reader) error {
	h := req.Header
	te, chunked := h["Transfer-Encoding"]
	cls, hasCL := h["Content-Length"]
	if chunked {
		delete(h, "Transfer-Encoding")
		switch {
		case req.ProtoMinor == 0:
			return badRequest("Transfer-Encoding in an HTTP/1.0 request")
		case len(te) != 1 || !strings.EqualFold(te[0], "chunked"):
			return refuse(http.StatusNotImplemented, "unsupported transfer encoding")
		case hasCL:
			return badRequest("Content-Length together with Transfer-Encoding")
		}
		req.TransferEncoding = []string{"chunked"}
		req.ContentLength = -1
		if tr, ok := h["Trailer"]; ok {
			delete(h, "Trailer")
			req.Trailer = http.Header{}
			for _, v := range tr {
				for k := range strings.SplitSeq(v, ",") {
					if k = strings.Trim(k, " \t"); k == "" {
						continue
					}
					k = http.CanonicalHeaderKey(k)
					if k == "Transfer-Encoding" || k == "Trailer" || k == "Content-Length" {
						return badRequest("bad trailer key")
					}
					req.Trailer[k] = nil
				}
			}
			if len(req.Trailer) == 0 {
				req.Trailer = nil
			}
		}
		req.Body = &reqBody{br: br, chunked: httputil.NewChunkedReader(br), req: req}
		return nil
	}
	if hasCL {
		if len(cls) > 1 {
			return badRequest("more than one Content-Length")
		}
		n, err := strconv.ParseUint(cls[0], 10, 63)
		if err != nil || cls[0] == "" {
			return badRequest("bad Content-Length")
		}
		req.ContentLength = int64(n)
	}
	if req.ContentLength == 0 {
		req.Body = http.NoBody
		return nil
	}
	req.Body = &reqBody{br: br, remain: req.ContentLength, req: req}
	return nil
}

// reqBody is a request body read straight from the connection's buffer. Its state tells the
// server whether the connection can carry another request: only after a clean end (io.EOF),
// never after an error.
type reqBody struct {
	br      *bufio.Reader
	chunked io.Reader // nil for a Content-Length body
	remain  int64     // Content-Length bytes not yet read
	req     *http.Request
	// onRead runs before the first read (it sends 100 Continue).
	onRead func()
	err    error // io.EOF after the whole body, trailers included; any other error is final
}

func (b *reqBody) Read(p []byte) (int, error) {
	if b.err != nil {
		return 0, b.err
	}
	if b.onRead != nil {
		b.onRead()
		b.onRead = nil
	}
	if b.chunked != nil {
		n, err := b.chunked.Read(p)
		if errors.Is(err, io.EOF) {
			if err = readTrailer(b.br, b.req); err == nil {
				err = io.EOF
			}
		}
		if err != nil {
			b.err = err
		}
		return n, err
	}
	if int64(len(p)) > b.remain {
		p = p[:b.remain]
	}
	n, err := b.br.Read(p)
	b.remain -= int64(n)
	switch {
	case b.remain == 0:
		err = io.EOF
	case errors.Is(err, io.EOF):
		err = io.ErrUnexpectedEOF
	}
	if err != nil {
		b.err = err
	}
	return n, err
}

// Close does nothing: the server reads what is left, or closes the connection.
func (b *reqBody) Close() error { return nil }

// maxTrailerBytes bounds the trailer section of a chunked body (net/http's bound is its 4 KiB
// read buffer).
const maxTrailerBytes = 4 << 10

// readTrailer reads the trailer section after the last chunk into req.Trailer.
func readTrailer(br *bufio.Reader, req *http.Request) error {
	var tr http.Header
	for budget := maxTrailerBytes; ; {
		line, err := br.ReadSlice('\n')
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return err
		}
		if budget -= len(line); budget < 0 {
			return errors.New("trailer section too long")
		}
		if len(line) < 2 || line[len(line)-2] != '\r' {
			return errors.New("trailer line ends in a bare LF")
		}
		if len(line) == 2 {
			break
		}
		k, v, err := parseField(string(line[:len(line)-2]))
		if err != nil {
			return err
		}
		if tr == nil {
			tr = http.Header{}
		}
		tr[k] = append(tr[k], v)
	}
	if req.Trailer == nil {
		req.Trailer = tr
	} else {
		for k, v := range tr {
			req.Trailer[k] = v
		}
	}
	return nil
}

// validToken reports whether s is an RFC 9110 token (method, header name).
func validToken(s string) bool {
	for i := range len(s) {
		if !tokenByte[s[i]] {
			return false
		}
	}
	return len(s) > 0
}

// validHost accepts the bytes net/http's server accepts in a Host header: those of reg-names,
// IP literals, ports and percent-encoding.
func validHost(h string) bool {
	for i := range len(h) {
		if !hostByte[h[i]] {
			return false
		}
	}
	return true
}

var tokenByte = byteSet("!#$%&'*+-.^_`|~")

var hostByte = byteSet("!$%&'()*+,-.:;=[]_~")

// byteSet is the ASCII letters and digits plus extra.
func byteSet(extra string) (t [256]bool) {
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	for c := 'a'; c <= 'z'; c++ {
		t[c], t[c-'a'+'A'] = true, true
	}
	for _, c := range extra {
		t[c] = true
	}
	return t
}

// hasToken reports whether v holds token (any case) between separators (space, tab, comma),
// as net/http's server checks Connection and Expect.
func hasToken(v, token string) bool {
	for i := 0; i+len(token) <= len(v); i++ {
		if (i == 0 || isTokenBoundary(v[i-1])) && strings.EqualFold(v[i:i+len(token)], token) &&
			(i+len(token) == len(v) || isTokenBoundary(v[i+len(token)])) {
			return true
		}
	}
	return false
}

func isTokenBoundary(c byte) bool { return c == ' ' || c == ',' || c == '\t' }

// listHasToken reports whether a comma-separated list header holds token (any case).
func listHasToken(vs []string, token string) bool {
	for _, v := range vs {
		for el := range strings.SplitSeq(v, ",") {
			if strings.EqualFold(strings.Trim(el, " \t"), token) {
				return true
			}
		}
	}
	return false
}
