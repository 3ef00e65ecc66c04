#!/usr/bin/env bash
# Starts a built gohub for a newcomer: writes a small config into a run directory, prints the
# URL and how to log in, then runs `gohub serve` in the foreground (Ctrl-C stops it).
#   scripts/run.sh BINARY RUN_DIR URL AUTHENTICATOR [SPAWNER]
# The database (SQLite) and the cookie secret stay in RUN_DIR between runs; `make clean` removes them.
set -euo pipefail
bin=$(realpath "$1"); dir=$2; url=$3; authenticator=$4; spawner=${5:-localprocess}

case "$authenticator" in
  dummy) login="log in as any user name with any password" ;;
  null) login="nobody can log in (the null authenticator); use the API with a token from 'gohub token'" ;;
  shared-password) login="log in as any user name with the shared password set in $dir/gohub_config.yaml" ;;
  firstuse) login="log in with a new user name and a password of your choice; that password is then that user's" ;;
  *) login="log in as the $authenticator authenticator expects (see README.md)" ;;
esac

mkdir -p "$dir"
cat > "$dir/gohub_config.yaml" <<YAML
# Written by 'make run' (scripts/run.sh) on every run: edit the Makefile's RUN_* variables instead.
JupyterHub:
  bind_url: $url
  authenticator_class: "$authenticator"
  spawner_class: "$spawner"
  db_url: sqlite:///gohub.sqlite
Authenticator:
  admin_users: [admin]
YAML
# The simple spawner runs every server as the hub's own user; Jupyter refuses root without
# --allow-root, and the spawner never adds it by itself.
if [ "$spawner" = simple ] && [ "$(id -u)" = 0 ]; then
  printf 'Spawner:\n  args: [--allow-root]\n' >> "$dir/gohub_config.yaml"
fi

cat <<MSG

  gohub is starting at $url/
  To log in: $login.
  The user "admin" is an administrator.
  Config: $dir/gohub_config.yaml    Stop: Ctrl-C

MSG
cd "$dir"
# make run's database is a scratch one: bring it to the binary's schema instead of stopping.
"$bin" upgrade-db -f gohub_config.yaml >/dev/null
exec "$bin" serve -f gohub_config.yaml
