package testutil

import (
	"crypto/tls"
	"crypto/x509"
	"net"
	"strconv"
	"testing"
)

// TestStartSlapd: the server starts with an LDIF loaded and, with TLS, presents
// a certificate for 127.0.0.1 signed by the CA it hands out.
func TestStartSlapd(t *testing.T) {
	s := StartSlapd(t, SlapdOptions{TLS: true, LDIF: `dn: dc=example,dc=org
objectClass: dcObject
objectClass: organization
dc: example
o: Example
`})
	if s.Port == 0 || s.TLSPort == 0 || s.CAFile == "" || len(s.CAPEM) == 0 {
		t.Fatalf("server %+v", s)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(s.CAPEM) {
		t.Fatal("CAPEM holds no certificate")
	}
	conn, err := tls.Dial("tcp", net.JoinHostPort(s.Host, strconv.Itoa(s.TLSPort)), &tls.Config{RootCAs: pool, ServerName: "127.0.0.1"})
	if err != nil {
		t.Fatalf("LDAPS handshake with the test CA: %v", err)
	}
	conn.Close()
	if _, err := tls.Dial("tcp", net.JoinHostPort(s.Host, strconv.Itoa(s.TLSPort)), &tls.Config{ServerName: "127.0.0.1"}); err == nil {
		t.Error("the server certificate verified without the test CA")
	}
}
