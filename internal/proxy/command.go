package proxy

import (
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Command returns `gohub proxy`: the built-in proxy alone, with configurable-http-proxy's
// flags and REST API, so it can replace configurable-http-proxy under JupyterHub. The API
// token comes from CONFIGPROXY_AUTH_TOKEN, which is required (unlike CHP, which runs an open
// API without it). Unknown flags are errors.
func Command() *cobra.Command {
	var o StandaloneOptions
	var logLevel string
	var timeoutMS, proxyTimeoutMS, keepAliveMS, bodyTimeoutMS, writeTimeoutMS int
	var headers []string
	var ignored struct {
		sslCA, sslProtocol, sslCiphers, sslDH, apiSSLCA, metricsIP, metricsSocket, storage, protoRewrite    string
		sslReqCert, sslRejectUnauth, sslRC4, apiReqCert, apiRejectUnauth, clientReqCert, clientRejectUnauth bool
		autoRewrite, changeOrigin                                                                           bool
		metricsPort, redirectPort, redirectTo                                                               int
	}
	cmd := &cobra.Command{
		Use:   "proxy",
		Short: "Run the built-in proxy alone, a drop-in replacement for configurable-http-proxy",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			level, err := parseLevel(logLevel)
			if err != nil {
				return err
			}
			o.Logger = slog.New(slog.NewTextHandler(cmd.ErrOrStderr(), &slog.HandlerOptions{Level: level}))
			o.AuthToken = os.Getenv("CONFIGPROXY_AUTH_TOKEN")
			if strings.TrimSpace(o.AuthToken) == "" {
				return errNoToken
			}
			o.Timeout = time.Duration(timeoutMS) * time.Millisecond
			o.ProxyTimeout = time.Duration(proxyTimeoutMS) * time.Millisecond
			o.KeepAliveTimeout = time.Duration(keepAliveMS) * time.Millisecond
			o.BodyTimeout = time.Duration(bodyTimeoutMS) * time.Millisecond
			o.WriteTimeout = time.Duration(writeTimeoutMS) * time.Millisecond
			if len(headers) > 0 {
				o.CustomHeaders = http.Header{}
				for _, h := range headers {
					k, v, ok := strings.Cut(h, ":")
					if !ok {
						return fmt.Errorf("--custom-header %q: want key:value", h)
					}
					o.CustomHeaders.Add(strings.TrimSpace(k), strings.TrimSpace(v))
				}
			}
			if ignored.storage != "" {
				return fmt.Errorf("--storage-backend is not supported (routes are kept in memory)")
			}
			cmd.Flags().Visit(func(f *pflag.Flag) {
				if unsupported[f.Name] {
					o.Logger.Warn("flag accepted for compatibility but has no effect", "flag", "--"+f.Name)
				}
			})
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			return RunStandalone(ctx, o)
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.IP, "ip", "", "public-facing IP of the proxy")
	f.IntVar(&o.Port, "port", 8000, "public-facing port of the proxy")
	f.StringVar(&o.Socket, "socket", "", "Unix socket for the proxy (instead of --ip/--port)")
	f.StringVar(&o.APIIP, "api-ip", "localhost", "inward-facing IP for API requests")
	f.IntVar(&o.APIPort, "api-port", 0, "inward-facing port for API requests (default --port+1)")
	f.StringVar(&o.APISocket, "api-socket", "", "Unix socket for the API (instead of --api-ip/--api-port)")
	f.StringVar(&o.SSLKey, "ssl-key", "", "TLS key of the public listener")
	f.StringVar(&o.SSLCert, "ssl-cert", "", "TLS certificate of the public listener")
	f.StringVar(&o.APISSLKey, "api-ssl-key", "", "TLS key of the API listener")
	f.StringVar(&o.APISSLCert, "api-ssl-cert", "", "TLS certificate of the API listener")
	f.StringVar(&o.ClientSSLKey, "client-ssl-key", "", "TLS client key towards targets")
	f.StringVar(&o.ClientSSLCert, "client-ssl-cert", "", "TLS client certificate towards targets")
	f.StringVar(&o.ClientSSLCA, "client-ssl-ca", "", "CA bundle to verify targets")
	f.StringVar(&o.DefaultTarget, "default-target", "", "default proxy target (proto://host[:port])")
	f.StringVar(&o.ErrorTarget, "error-target", "", "server for error pages: GET {target}/{code}?url=...")
	f.StringVar(&o.ErrorPath, "error-path", "", "directory of {code}.html error pages")
	f.StringVar(&o.PIDFile, "pid-file", "", "write the PID to this file")
	f.BoolVar(&o.NoXForward, "no-x-forward", false, "don't add X-Forwarded-* headers")
	f.BoolVar(&o.NoPrependPath, "no-prepend-path", false, "don't prepend target paths")
	f.BoolVar(&o.NoIncludePrefix, "no-include-prefix", false, "strip the routing prefix from proxied paths")
	f.BoolVar(&o.HostRouting, "host-routing", false, "use the host as the first path segment of routes")
	f.BoolVar(&o.Insecure, "insecure", false, "don't verify target TLS certificates")
	f.StringArrayVar(&headers, "custom-header", nil, "header key:value added to proxied requests (repeatable)")
	f.StringVar(&logLevel, "log-level", "info", "log level (debug, info, warn, error)")
	f.IntVar(&timeoutMS, "timeout", 0, "ms a client may take to send request headers")
	f.IntVar(&proxyTimeoutMS, "proxy-timeout", 0, "ms to wait for a target's response headers")
	f.IntVar(&keepAliveMS, "keep-alive-timeout", 5000, "ms a keep-alive client connection may idle")
	f.IntVar(&bodyTimeoutMS, "body-timeout", int(DefaultBodyTimeout/time.Millisecond),
		"ms a client may pause while sending a request body (gohub addition)")
	f.IntVar(&writeTimeoutMS, "write-timeout", int(DefaultWriteTimeout/time.Millisecond),
		"ms a client may leave a response unread (gohub addition)")
	f.IntVar(&o.MaxConns, "max-connections", DefaultMaxConns,
		"client connections served at once; beyond it idle ones are closed or new ones get 503 (gohub addition)")
	f.BoolVar(&o.NetHTTPServer, "net-http-server", false, "serve with net/http's server (comparison)")
	_ = f.MarkHidden("net-http-server")
	f.StringVar(&ignored.storage, "storage-backend", "", "not supported")
	f.StringVar(&ignored.sslCA, "ssl-ca", "", "accepted, no effect")
	f.BoolVar(&ignored.sslReqCert, "ssl-request-cert", false, "accepted, no effect")
	f.BoolVar(&ignored.sslRejectUnauth, "ssl-reject-unauthorized", false, "accepted, no effect")
	f.StringVar(&ignored.sslProtocol, "ssl-protocol", "", "accepted, no effect")
	f.StringVar(&ignored.sslCiphers, "ssl-ciphers", "", "accepted, no effect")
	f.BoolVar(&ignored.sslRC4, "ssl-allow-rc4", false, "accepted, no effect")
	f.StringVar(&ignored.sslDH, "ssl-dhparam", "", "accepted, no effect")
	f.StringVar(&ignored.apiSSLCA, "api-ssl-ca", "", "accepted, no effect")
	f.BoolVar(&ignored.apiReqCert, "api-ssl-request-cert", false, "accepted, no effect")
	f.BoolVar(&ignored.apiRejectUnauth, "api-ssl-reject-unauthorized", false, "accepted, no effect")
	f.BoolVar(&ignored.clientReqCert, "client-ssl-request-cert", false, "accepted, no effect")
	f.BoolVar(&ignored.clientRejectUnauth, "client-ssl-reject-unauthorized", false, "accepted, no effect")
	f.BoolVar(&ignored.autoRewrite, "auto-rewrite", false, "accepted, no effect")
	f.BoolVar(&ignored.changeOrigin, "change-origin", false, "accepted, no effect")
	f.StringVar(&ignored.protoRewrite, "protocol-rewrite", "", "accepted, no effect")
	f.StringVar(&ignored.metricsIP, "metrics-ip", "", "accepted, no effect")
	f.IntVar(&ignored.metricsPort, "metrics-port", 0, "accepted, no effect")
	f.StringVar(&ignored.metricsSocket, "metrics-socket", "", "accepted, no effect")
	f.IntVar(&ignored.redirectPort, "redirect-port", 0, "accepted, no effect")
	f.IntVar(&ignored.redirectTo, "redirect-to", 0, "accepted, no effect")
	return cmd
}

// errNoToken is why `gohub proxy` does not start without a token. configurable-http-proxy
// warns and serves its route API to anyone; anyone who can reach the API could then route
// every URL to a server of theirs.
var errNoToken = errors.New("CONFIGPROXY_AUTH_TOKEN is not set: without it anyone who can reach the API " +
	"(--api-ip, --api-port) could add and delete routes. Set it to a secret, such as the output of " +
	"`openssl rand -hex 32`, and give the same value to the hub (JupyterHub sets it for a proxy it starts)")

// unsupported lists CHP flags that are parsed but change nothing here.
var unsupported = map[string]bool{
	"ssl-ca": true, "ssl-request-cert": true, "ssl-reject-unauthorized": true, "ssl-protocol": true,
	"ssl-ciphers": true, "ssl-allow-rc4": true, "ssl-dhparam": true, "api-ssl-ca": true,
	"api-ssl-request-cert": true, "api-ssl-reject-unauthorized": true, "client-ssl-request-cert": true,
	"client-ssl-reject-unauthorized": true, "auto-rewrite": true, "change-origin": true,
	"protocol-rewrite": true, "metrics-ip": true, "metrics-port": true, "metrics-socket": true,
	"redirect-port": true, "redirect-to": true,
}

func parseLevel(s string) (slog.Level, error) {
	switch strings.ToLower(s) {
	case "debug":
		return slog.LevelDebug, nil
	case "info", "":
		return slog.LevelInfo, nil
	case "warn", "warning":
		return slog.LevelWarn, nil
	case "error":
		return slog.LevelError, nil
	}
	return 0, fmt.Errorf("--log-level %q: want debug, info, warn or error", s)
}
