#!/usr/bin/env bash
# Runs every check of `make test`: go vet, the gofmt check, `go test -race` for the packages with
# concurrency (RACE_PKGS, a regular expression over import paths; default: everything under
# gohub/internal/) and plain `go test` for the rest, each with TEST_TIMEOUT (these replay every
# fuzzer's seed corpus), then a short run of every fuzzer, TEST_FUZZTIME each (default 10s; 0
# skips it). Every step runs even
# when an earlier one fails, so one run shows every problem; the exit status is non-zero if any
# step failed. Under CI=true test results are never taken from the cache.
set -uo pipefail
cd "$(dirname "$0")/.."
command -v go >/dev/null || export PATH=$PATH:/usr/local/go/bin

timeout=${TEST_TIMEOUT:-12m}
# Browser tests write their screenshots here (test artifacts: look at them after a run).
export GOHUB_SCREENSHOTS=${GOHUB_SCREENSHOTS:-$PWD/bin/test-artifacts/screenshots}
race_re=${RACE_PKGS:-^gohub/internal/}
count=()
[ "${CI:-}" = true ] && count=(-count=1)

failed=()
step() {
  local name=$1; shift
  local start=$SECONDS
  echo "==> $name"
  if ! "$@"; then failed+=("$name"); fi
  echo "    ($name: $((SECONDS - start)) s)"
}

gofmt_check() {
  local out
  out=$(find . -name '*.go' -not -path './.git/*' -print0 | xargs -0 gofmt -l) || return 1
  [ -z "$out" ] && return 0
  echo "not gofmt'd (run gofmt -w):"; echo "$out"; return 1
}

pkgs=$(go list -e ./...)
race_pkgs=$(grep -E "$race_re" <<<"$pkgs" || true)
plain_pkgs=$(grep -vE "$race_re" <<<"$pkgs" || true)

step "go vet ./..." go vet ./...
step "gofmt -l" gofmt_check
if [ -n "$race_pkgs" ]; then
  # shellcheck disable=SC2086 # one package per word
  step "go test -race" go test -race "${count[@]}" -timeout "$timeout" $race_pkgs
fi
if [ -n "$plain_pkgs" ]; then
  # shellcheck disable=SC2086
  step "go test" go test "${count[@]}" -timeout "$timeout" $plain_pkgs
fi

fuzztime=${TEST_FUZZTIME:-10s}
if [ "$fuzztime" != 0 ]; then
  step "fuzzers ($fuzztime each)" env FUZZTIME="$fuzztime" scripts/fuzz.sh
fi

echo
if [ ${#failed[@]} -gt 0 ]; then
  printf 'make test: FAILED: %s\n' "$(IFS=,; echo "${failed[*]}")"
  exit 1
fi
echo "make test: all checks passed"
