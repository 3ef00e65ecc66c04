package proxy

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// StandaloneOptions are configurable-http-proxy's command-line options (see Command).
type StandaloneOptions struct {
	IP, APIIP           string // listen addresses; "" for IP means every interface, as CHP
	Port, APIPort       int    // APIPort 0 means Port+1, as CHP
	Socket, APISocket   string // Unix socket paths instead of IP/port
	DefaultTarget       string // route "/" added at start
	ErrorTarget         string // GET {ErrorTarget}/{code}?url= for error pages
	ErrorPath           string // directory of {code}.html / error.html pages
	AuthToken           string // CONFIGPROXY_AUTH_TOKEN; required
	HostRouting         bool
	NoXForward          bool
	NoIncludePrefix     bool
	NoPrependPath       bool
	Insecure            bool          // skip TLS verification of targets
	Timeout             time.Duration // client request header timeout (CHP --timeout)
	ProxyTimeout        time.Duration // target response header timeout
	KeepAliveTimeout    time.Duration // idle keep-alive of client connections (default 5 s)
	BodyTimeout         time.Duration // longest pause in a request body (Server.BodyTimeout)
	WriteTimeout        time.Duration // longest a response may stay unread (Server.WriteTimeout)
	MaxConns            int           // client connections served at once (Server.MaxConns)
	SSLKey, SSLCert     string        // TLS for the public listener
	APISSLKey           string        // TLS for the API listener
	APISSLCert          string
	ClientSSLKey        string // client certificate towards targets
	ClientSSLCert       string
	ClientSSLCA         string
	CustomHeaders       http.Header // added to every proxied request
	PIDFile             string
	Logger              *slog.Logger
	Ready               func(public, api net.Addr) // called once both listeners are up
	ShutdownGracePeriod time.Duration
	// NetHTTPServer serves the public side with net/http's server instead of the proxy's
	// own connection loop (Server).
	NetHTTPServer bool
}

// RunStandalone runs the proxy and its API until ctx ends, like configurable-http-proxy. It
// refuses to run without an AuthToken.
func RunStandalone(ctx context.Context, o StandaloneOptions) error {
	log := o.Logger
	if log == nil {
		log = slog.Default()
	}
	if strings.TrimSpace(o.AuthToken) == "" {
		return errNoToken
	}
	table := NewRouteTable()
	if o.DefaultTarget != "" {
		rt, err := NewRoute("/", map[string]any{"target": o.DefaultTarget})
		if err != nil {
			return fmt.Errorf("--default-target: %w", err)
		}
		table.Add(rt)
	}
	transport := NewTransport(o.Insecure)
	if err := clientTLS(transport.TLSClientConfig, o); err != nil {
		return err
	}
	popts := Options{HostRouting: o.HostRouting, NoXForward: o.NoXForward, NoIncludePrefix: o.NoIncludePrefix,
		NoPrependPath: o.NoPrependPath, ErrorTarget: o.ErrorTarget, ProxyTimeout: o.ProxyTimeout,
		Transport: transport, Logger: log, Headers: o.CustomHeaders}
	if o.ErrorTarget == "" && o.ErrorPath != "" {
		popts.ErrorHandler = errorPageHandler(o.ErrorPath)
	}
	px := New(table, popts)
	defer px.Close()
	api := NewAPI(table, APIOptions{AuthToken: o.AuthToken, HostRouting: o.HostRouting, Logger: log})

	pubLn, err := listen(o.Socket, o.IP, o.Port)
	if err != nil {
		return fmt.Errorf("proxy listener: %w", err)
	}
	apiPort := o.APIPort
	if apiPort == 0 && o.Port != 0 {
		apiPort = o.Port + 1
	}
	apiIP := o.APIIP
	if apiIP == "" {
		apiIP = "localhost"
	}
	apiLn, err := listen(o.APISocket, apiIP, apiPort)
	if err != nil {
		pubLn.Close()
		return fmt.Errorf("API listener: %w", err)
	}
	keepAlive := o.KeepAliveTimeout
	if keepAlive <= 0 {
		keepAlive = 5 * time.Second
	}
	headerTimeout := o.Timeout
	if headerTimeout <= 0 {
		headerTimeout = time.Minute
	}
	errLog := slog.NewLogLogger(log.Handler(), slog.LevelDebug)
	var pub publicServer = &Server{Handler: px, IdleTimeout: keepAlive, HeaderTimeout: headerTimeout,
		BodyTimeout: o.BodyTimeout, WriteTimeout: o.WriteTimeout, MaxConns: o.MaxConns, Logger: log}
	if o.NetHTTPServer {
		pub = &http.Server{Handler: px, IdleTimeout: keepAlive, ReadHeaderTimeout: headerTimeout, ErrorLog: errLog}
	}
	apiSrv := &http.Server{Handler: api, ReadHeaderTimeout: 10 * time.Second, ErrorLog: errLog}
	if o.PIDFile != "" {
		if err := os.WriteFile(o.PIDFile, []byte(strconv.Itoa(os.Getpid())), 0o644); err != nil {
			return fmt.Errorf("--pid-file: %w", err)
		}
		defer os.Remove(o.PIDFile)
	}
	errc := make(chan error, 2)
	go func() { errc <- servePublic(pub, pubLn, o.SSLCert, o.SSLKey) }()
	go func() { errc <- serve(apiSrv, apiLn, o.APISSLCert, o.APISSLKey) }()
	log.Info("proxy listening", "addr", pubLn.Addr().String(), "api", apiLn.Addr().String())
	if o.Ready != nil {
		o.Ready(pubLn.Addr(), apiLn.Addr())
	}
	var runErr error
	select {
	case <-ctx.Done():
	case runErr = <-errc:
	}
	grace := o.ShutdownGracePeriod
	if grace <= 0 {
		grace = 5 * time.Second
	}
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	px.Close() // hijacked websockets are invisible to Shutdown
	_ = pub.Shutdown(sctx)
	_ = apiSrv.Shutdown(sctx)
	return runErr
}

// publicServer is Server or http.Server.
type publicServer interface {
	Serve(net.Listener) error
	Shutdown(context.Context) error
}

func servePublic(s publicServer, ln net.Listener, cert, key string) error {
	if hs, ok := s.(*http.Server); ok {
		return serve(hs, ln, cert, key)
	}
	if cert != "" {
		c, err := tls.LoadX509KeyPair(cert, key)
		if err != nil {
			return fmt.Errorf("--ssl-cert/--ssl-key: %w", err)
		}
		ln = tls.NewListener(ln, &tls.Config{Certificates: []tls.Certificate{c}, NextProtos: []string{"http/1.1"}})
	}
	if err := s.Serve(ln); err != nil {
		return fmt.Errorf("serve %s: %w", ln.Addr(), err)
	}
	return nil
}

func listen(socket, ip string, port int) (net.Listener, error) {
	if socket != "" {
		_ = os.Remove(socket)
		return net.Listen("unix", socket)
	}
	return net.Listen("tcp", net.JoinHostPort(ip, strconv.Itoa(port)))
}

func serve(s *http.Server, ln net.Listener, cert, key string) error {
	var err error
	if cert != "" {
		err = s.ServeTLS(ln, cert, key)
	} else {
		err = s.Serve(ln)
	}
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return fmt.Errorf("serve %s: %w", ln.Addr(), err)
}

func clientTLS(cfg *tls.Config, o StandaloneOptions) error {
	if o.ClientSSLCert != "" {
		c, err := tls.LoadX509KeyPair(o.ClientSSLCert, o.ClientSSLKey)
		if err != nil {
			return fmt.Errorf("--client-ssl-cert/--client-ssl-key: %w", err)
		}
		cfg.Certificates = []tls.Certificate{c}
	}
	if o.ClientSSLCA != "" {
		pem, err := os.ReadFile(o.ClientSSLCA)
		if err != nil {
			return fmt.Errorf("--client-ssl-ca: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return fmt.Errorf("--client-ssl-ca %s: no certificate found", o.ClientSSLCA)
		}
		cfg.RootCAs = pool
	}
	return nil
}

// errorPageHandler serves {dir}/{code}.html, else {dir}/error.html, else the built-in page,
// as CHP's --error-path.
func errorPageHandler(dir string) func(http.ResponseWriter, *http.Request, int) {
	return func(w http.ResponseWriter, _ *http.Request, code int) {
		for _, name := range []string{strconv.Itoa(code) + ".html", "error.html"} {
			if b, err := os.ReadFile(filepath.Join(dir, name)); err == nil {
				w.Header().Set("Content-Type", "text/html")
				w.WriteHeader(code)
				_, _ = w.Write(b)
				return
			}
		}
		writeDefaultError(w, code)
	}
}
