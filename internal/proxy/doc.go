// Package proxy is gohub's built-in proxy: a route table, a reverse proxy for HTTP and
// websockets, configurable-http-proxy's REST API (server and client), and a standalone
// mode that replaces configurable-http-proxy (CHP) under JupyterHub.
//
// In the hub (the default, in-process proxy):
//
//	table := proxy.NewRouteTable()
//	px := proxy.New(table, proxy.Options{ErrorHandler: hub.renderProxyError})
//	table.Put("/", map[string]any{"target": hubURL, "hub": true, "jupyterhub": true})
//	table.Put("/user/alice", map[string]any{"target": "http://127.0.0.1:53121", "user": "alice",
//		"server_name": "", "jupyterhub": true})
//	srv := &http.Server{Handler: px}      // or &proxy.Server{Handler: px}
//	...
//	px.Close()                            // ends open websockets; Shutdown does not see them
//
// Route keys and data follow CHP (jupyterhub-protocol.md §3): keys are decoded paths with a
// leading and no trailing '/', matched by whole segments, longest first; data is kept as
// given; Route.LastActivity is what GET /api/routes reports. With proxy class
// "configurable-http-proxy" the hub drives an external CHP with CHPClient instead.
//
// `gohub proxy` is Command(): CHP's flags, its REST API (API) on --api-ip/--api-port, and the
// proxy on --ip/--port served by Server, a lean HTTP/1.1 connection loop.
//
// Differences from CHP, all deliberate: POST /api/routes checks the token before reading
// the body, and rejects a target that is not an http(s)/ws(s) URL with a host (400; CHP
// stores anything and fails at request time); repeated leading or trailing slashes in route
// keys are all trimmed; errors on websocket upgrades are answered with a complete HTTP
// response, not a bare status line; --storage-backend, metrics and redirect flags are
// accepted but have no effect (storage-backend is an error).
package proxy
