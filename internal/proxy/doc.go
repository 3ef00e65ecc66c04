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
// Route keys have one form everywhere, configurable-http-proxy's (CHP 5, lib/trie.js and
// configproxy.js): the decoded path, with a leading and no trailing '/' ("/user/a b"). Data is
// kept as given; Route.LastActivity is what GET /api/routes reports. With proxy class
// "configurable-http-proxy" the hub drives an external CHP with CHPClient instead.
//
//   - A routespec (JupyterHub's and the hub's name of a route) is the escaped URL prefix,
//     each name quoted as Python's quote(name, safe="@~"): "/user/a%20b/" for user "a b",
//     "/user/a%2520b/" for user "a%20b". RouteKey decodes it once ('%2F' included) into the
//     key; Routespec quotes a key back (safe "@/~"), as JupyterHub reads CHP's routes.
//   - The REST API takes the routespec in its path (POST /api/routes/user/a%20b), decodes it
//     once into the key, and reports keys decoded (GET /api/routes gives "/user/a b"), as
//     CHP does. CHPClient takes keys and quotes each segment once on the wire.
//   - A request is matched by its decoded path (url.ParseRequestURI's Path, '%2F' a '/'),
//     by whole segments, longest key first: "/user/a%20b/tree" is user "a b"'s, and
//     "/user/a%2520b/" is user "a%20b"'s, never "a b"'s. The request is forwarded with the
//     path as the client escaped it.
//   - Dot segments: a key with a "." or ".." segment is refused (400 on the API, an error
//     from RouteKey and CHPClient: CHP resolves dots in its API URL, so "/user/alice/.." would
//     be the route "/user"), and a request whose decoded path has one ("..", "%2e%2e",
//     "..%2F" included) matches no route: the proxy answers 400. Browsers resolve dots before
//     sending, so only hand-made requests have them. CHP instead resolves them (WHATWG URL
//     rules) for matching and forwards the unresolved path, so the route and the target may
//     disagree about whose path it is.
//   - A backslash is an ordinary character here, as in the key of a user named "a\b"; CHP,
//     following WHATWG, reads a raw '\' in a request as '/' (browsers send '/' for it
//     anyway, and "%5C" for the character).
//
// `gohub proxy` is Command(): CHP's flags, its REST API (API) on --api-ip/--api-port, and the
// proxy on --ip/--port served by Server, a lean HTTP/1.1 connection loop. It refuses to start
// without CONFIGPROXY_AUTH_TOKEN (CHP warns and serves an open API); JupyterHub always sets it
// for a proxy it starts.
//
// Differences from CHP, all deliberate: POST /api/routes checks the token before reading
// the body, and rejects a target that is not an http(s)/ws(s) URL with a host (400; CHP
// stores anything and fails at request time); repeated leading or trailing slashes in route
// keys are all trimmed; errors on websocket upgrades are answered with a complete HTTP
// response, not a bare status line; --storage-backend, metrics and redirect flags are
// accepted but have no effect (storage-backend is an error).
package proxy
