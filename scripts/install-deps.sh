#!/usr/bin/env bash
# Installs the real components gohub runs with and is tested against, from Debian and npm only
# (nothing is downloaded at run time). Idempotent: what is already installed and working is left
# alone, and `apt-get update` runs only when a Debian package is missing.
#
#   scripts/install-deps.sh run     what `make run` needs: jupyterhub-singleuser (Debian jupyterhub,
#                                   python3-nbclassic)
#   scripts/install-deps.sh bench   what bench/ drives: the above + configurable-http-proxy 5 (npm)
#   scripts/install-deps.sh test    everything the test suite drives: the above + PostgreSQL,
#                                   slapd + ldap-utils, Chromium, libpam0g-dev, nginx, wrk
#
# Root (or sudo) is needed only when something is missing.
set -euo pipefail
mode=${1:-test}

debs_run=(jupyterhub python3-nbclassic)
debs_bench=("${debs_run[@]}")
debs_test=("${debs_run[@]}" postgresql slapd ldap-utils chromium libpam0g-dev nginx wrk procps python3-gdbm)
chp_major=5

case "$mode" in
  run) debs=("${debs_run[@]}"); want_chp=false ;;
  bench) debs=("${debs_bench[@]}"); want_chp=true ;;
  test) debs=("${debs_test[@]}"); want_chp=true ;;
  *) echo "usage: $0 run|bench|test" >&2; exit 2 ;;
esac

SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
say() { echo "install-deps: $*" >&2; }

# Debian's npm is needed only when the machine has no npm (its nodejs would then come along).
if $want_chp && ! command -v npm >/dev/null 2>&1; then
  debs+=(npm)
fi

missing=()
for p in "${debs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  say "installing from Debian: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Wait for a concurrent apt/dpkg run instead of failing on its lock.
  apt_opts=(-q -o DPkg::Lock::Timeout=600)
  $SUDO apt-get "${apt_opts[@]}" update
  $SUDO apt-get "${apt_opts[@]}" install -y --no-install-recommends "${missing[@]}"
fi

# configurable-http-proxy: Debian's node-configurable-http-proxy (pulled in by jupyterhub) is 4.5
# and does not start under a Node.js that is not Debian's own (it cannot find its modules), so the
# npm release goes into /usr/local, which comes before /usr on PATH.
chp_ok() {
  local v
  v=$(/usr/local/bin/configurable-http-proxy --version 2>/dev/null) || return 1
  [ "${v%%.*}" = "$chp_major" ]
}
if $want_chp && ! chp_ok; then
  say "installing configurable-http-proxy@$chp_major from npm into /usr/local"
  $SUDO npm install -g --prefix /usr/local --no-audit --no-fund --loglevel=error "configurable-http-proxy@$chp_major"
  chp_ok || { say "configurable-http-proxy@$chp_major does not run after install"; exit 1; }
fi

# Check that the commands the project calls are there and run.
command -v jupyterhub-singleuser >/dev/null || { say "jupyterhub-singleuser not found after install"; exit 1; }
if [ "$mode" = test ]; then
  for c in chromium slapd ldapadd; do
    command -v "$c" >/dev/null 2>&1 || [ -x "/usr/sbin/$c" ] || { say "$c not found after install"; exit 1; }
  done
  ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || { say "PostgreSQL's initdb not found after install"; exit 1; }
fi
say "$mode dependencies are in place"
