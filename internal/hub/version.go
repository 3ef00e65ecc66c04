package hub

// Version is gohub's own version, set at build time with
// -ldflags "-X gohub/internal/hub.Version=...".
var Version = "0.1.0-dev"

// JupyterHubVersion is the JupyterHub release whose wire protocol gohub speaks. It is what
// X-JupyterHub-Version and GET /hub/api report: jupyterhub-singleuser parses it as PEP 440 and
// warns only on a major-version mismatch.
const JupyterHubVersion = "5.4.0"
