#!/usr/bin/env bash
# Installs the real components gohub runs with and is tested against, from Debian and npm.
# Idempotent: a package already present is not fetched again.
#   scripts/install-deps.sh run    what `make run` needs (jupyterhub-singleuser)
#   scripts/install-deps.sh test   everything the test suite drives
set -euo pipefail
mode=${1:-test}

debs_run=(jupyterhub python3-nbclassic)
debs_test=(jupyterhub python3-nbclassic postgresql slapd ldap-utils chromium libpam0g-dev nginx wrk procps)

case "$mode" in
  run) debs=("${debs_run[@]}") ;;
  test) debs=("${debs_test[@]}") ;;
  *) echo "usage: $0 run|test" >&2; exit 2 ;;
esac

missing=()
for p in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

if [ "$mode" = test ] && ! command -v configurable-http-proxy >/dev/null 2>&1; then
  npm install -g --no-audit --no-fund configurable-http-proxy
fi
