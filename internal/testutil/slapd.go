package testutil

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Debian's OpenLDAP server paths.
const (
	slapdBinary  = "/usr/sbin/slapd"
	slapaddBin   = "/usr/sbin/slapadd"
	slapdModules = "/usr/lib/ldap"
	slapdSchemas = "/etc/ldap/schema"
)

// SlapdOptions configure StartSlapd.
type SlapdOptions struct {
	// Suffix is the naming context; "dc=example,dc=org" when empty.
	Suffix string
	// LDIF is loaded with slapadd before the server starts. It must create the suffix entry
	// itself. Plain-text userPassword values work for simple binds.
	LDIF string
	// TLS makes the server offer StartTLS on the ldap:// port and listen on an ldaps:// port
	// too, with a certificate for 127.0.0.1 and localhost signed by a CA made for the test.
	TLS bool
	// CA signs the server certificate when TLS is set; nil makes a CA for this server. Servers
	// sharing a CA can stand in for one another (failover tests).
	CA *TestCA
}

// Slapd is a running OpenLDAP server started by StartSlapd.
type Slapd struct {
	// Host is "127.0.0.1"; Port the ldap:// port; TLSPort the ldaps:// port (0 without TLS).
	Host          string
	Port, TLSPort int
	// Suffix is the naming context; RootDN and RootPassword its all-powerful account.
	Suffix, RootDN, RootPassword string
	// CAFile is the PEM file of the test CA that signed the server certificate (TLS only);
	// CAPEM its contents.
	CAFile string
	CAPEM  []byte
	// Dir holds the config, database and logs.
	Dir string

	stop func()
}

// Stop stops the server before the test ends (to test what clients do when it goes away).
// Calling it again, or the test's own cleanup afterwards, does nothing.
func (s *Slapd) Stop() {
	if s.stop != nil {
		s.stop()
	}
}

// URL returns the ldap:// URL of the server.
func (s *Slapd) URL() string { return fmt.Sprintf("ldap://%s:%d", s.Host, s.Port) }

// StartSlapd starts Debian's slapd on 127.0.0.1 on a free port with a fresh slapd.conf and an
// MDB database in t.TempDir(), loads opts.LDIF with slapadd, waits until it accepts
// connections, and stops it when the test ends. Without slapd the test is skipped, or fails
// when CI=true. Passwords (userPassword) may be read only by their owner; everything else is
// readable by anyone, anonymous included. Unauthenticated binds (a DN with an empty password)
// succeed, as on permissive directories.
func StartSlapd(t testing.TB, opts SlapdOptions) *Slapd {
	t.Helper()
	for _, bin := range []string{slapdBinary, slapaddBin} {
		if _, err := os.Stat(bin); err != nil {
			msg := fmt.Sprintf("%s not found (Debian package slapd; scripts/install-deps.sh installs it)", bin)
			if os.Getenv("CI") == "true" {
				t.Fatal(msg)
			}
			t.Skip("skipping: " + msg)
		}
	}
	s := &Slapd{Host: "127.0.0.1", Suffix: opts.Suffix, Dir: t.TempDir()}
	if s.Suffix == "" {
		s.Suffix = "dc=example,dc=org"
	}
	s.RootDN = "cn=admin," + s.Suffix
	s.RootPassword = randomHex(t, 12)
	if err := os.Mkdir(filepath.Join(s.Dir, "data"), 0o700); err != nil {
		t.Fatal(err)
	}
	var tlsConf string
	if opts.TLS {
		tlsConf = s.writeCertificates(t, opts.CA)
	}
	conf := filepath.Join(s.Dir, "slapd.conf")
	if err := os.WriteFile(conf, []byte(s.config(tlsConf)), 0o600); err != nil {
		t.Fatal(err)
	}
	ldif := filepath.Join(s.Dir, "fixture.ldif")
	if err := os.WriteFile(ldif, []byte(opts.LDIF), 0o600); err != nil {
		t.Fatal(err)
	}
	if opts.LDIF != "" {
		out, err := exec.Command(slapaddBin, "-f", conf, "-l", ldif).CombinedOutput()
		if err != nil {
			t.Fatalf("slapadd: %v\n%s", err, out)
		}
	}
	var lastErr error
	// A free port found by listening can be taken before slapd binds it; try a few times.
	for range 5 {
		s.Port, s.TLSPort = slapdPort(t), 0
		if opts.TLS {
			s.TLSPort = slapdPort(t)
		}
		if lastErr = s.start(t, conf); lastErr == nil {
			return s
		}
	}
	t.Fatalf("slapd did not start: %v", lastErr)
	return nil
}

// config returns slapd.conf for the server.
func (s *Slapd) config(tlsConf string) string {
	var b strings.Builder
	for _, schema := range []string{"core", "cosine", "inetorgperson", "nis"} {
		fmt.Fprintf(&b, "include %s/%s.schema\n", slapdSchemas, schema)
	}
	fmt.Fprintf(&b, "pidfile %s\nargsfile %s\n", filepath.Join(s.Dir, "slapd.pid"), filepath.Join(s.Dir, "slapd.args"))
	fmt.Fprintf(&b, "modulepath %s\nmoduleload back_mdb\n", slapdModules)
	// Accept unauthenticated binds (a DN without a password) as some directories do, so tests
	// can show that a client never turns one into a login.
	b.WriteString("allow bind_anon_dn\n")
	b.WriteString(tlsConf)
	fmt.Fprintf(&b, "database mdb\nmaxsize 16777216\nsuffix %q\nrootdn %q\nrootpw %s\ndirectory %s\n",
		s.Suffix, s.RootDN, s.RootPassword, filepath.Join(s.Dir, "data"))
	b.WriteString("access to attrs=userPassword\n  by self read\n  by anonymous auth\n  by * none\n")
	b.WriteString("access to *\n  by * read\n")
	return b.String()
}

// start runs slapd in the foreground on the chosen ports and waits until it answers.
func (s *Slapd) start(t testing.TB, conf string) error {
	urls := s.URL() + "/"
	if s.TLSPort != 0 {
		urls += fmt.Sprintf(" ldaps://%s:%d/", s.Host, s.TLSPort)
	}
	logPath := filepath.Join(s.Dir, "slapd.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return err
	}
	defer logFile.Close()
	// -d keeps slapd in the foreground (and logs to stderr); 0 asks for no debug output beyond
	// what -s gives.
	cmd := exec.Command(slapdBinary, "-f", conf, "-h", urls, "-d", "0", "-s", "256")
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start slapd: %w", err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			_ = cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-exited:
			case <-time.After(5 * time.Second):
				_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
				<-exited
			}
		})
	}
	deadline := time.Now().Add(15 * time.Second)
	for {
		select {
		case err := <-exited:
			log, _ := os.ReadFile(logPath)
			return fmt.Errorf("slapd exited: %v\n%s", err, log)
		default:
		}
		if up(s.Host, s.Port) && (s.TLSPort == 0 || up(s.Host, s.TLSPort)) {
			s.stop = stop
			t.Cleanup(stop)
			return nil
		}
		if time.Now().After(deadline) {
			stop()
			log, _ := os.ReadFile(logPath)
			return fmt.Errorf("slapd did not accept connections within 15s\n%s", log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// up reports whether a TCP connection to host:port succeeds.
func up(host string, port int) bool {
	c, err := net.DialTimeout("tcp", net.JoinHostPort(host, strconv.Itoa(port)), time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// slapdPort returns a TCP port on 127.0.0.1 that was free a moment ago.
func slapdPort(t testing.TB) int {
	t.Helper()
	p, err := freePort()
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func randomHex(t testing.TB, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return fmt.Sprintf("%x", b)
}

// writeCertificates makes a test CA and a server certificate for 127.0.0.1 and localhost, writes
// them to s.Dir and returns the slapd.conf TLS lines.
func (s *Slapd) writeCertificates(t testing.TB, ca *TestCA) string {
	t.Helper()
	if ca == nil {
		var err error
		if ca, err = NewTestCA("gohub test CA"); err != nil {
			t.Fatal(err)
		}
	}
	certPEM, keyPEM, err := ca.Issue([]string{"localhost"}, []net.IP{net.ParseIP("127.0.0.1")})
	if err != nil {
		t.Fatal(err)
	}
	s.CAPEM = ca.CertPEM
	s.CAFile = filepath.Join(s.Dir, "ca.pem")
	cert, key := filepath.Join(s.Dir, "server.pem"), filepath.Join(s.Dir, "server.key")
	for path, data := range map[string][]byte{s.CAFile: ca.CertPEM, cert: certPEM, key: keyPEM} {
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	return fmt.Sprintf("TLSCACertificateFile %s\nTLSCertificateFile %s\nTLSCertificateKeyFile %s\n", s.CAFile, cert, key)
}

// TestCA is a certificate authority made for one test.
type TestCA struct {
	// CertPEM is the CA certificate, PEM-encoded; Pool holds it.
	CertPEM []byte
	Pool    *x509.CertPool
	cert    *x509.Certificate
	key     *ecdsa.PrivateKey
}

// NewTestCA creates a self-signed CA valid for a day.
func NewTestCA(name string) (*TestCA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: name},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &TestCA{CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), Pool: pool, cert: cert, key: key}, nil
}

// Issue returns a server certificate and its key (both PEM) for the given names and addresses.
func (ca *TestCA) Issue(dnsNames []string, ips []net.IP) (certPEM, keyPEM []byte, err error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	cn := "server"
	if len(dnsNames) > 0 {
		cn = dnsNames[0]
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: cn},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     dnsNames,
		IPAddresses:  ips,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return nil, nil, err
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, nil, err
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), nil
}

// TLSConfig returns a client configuration that trusts only the CA.
func (ca *TestCA) TLSConfig(serverName string) *tls.Config {
	return &tls.Config{RootCAs: ca.Pool, ServerName: serverName, MinVersion: tls.VersionTLS12}
}

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		panic(err)
	}
	return n
}
