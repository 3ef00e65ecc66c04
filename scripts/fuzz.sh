#!/usr/bin/env bash
# Runs every Go fuzzer of the repository (each FuzzXxx in a _test.go file, found anew on every
# run, so fuzzers added later need no list) for FUZZTIME each (go test -fuzztime: a duration such
# as 10s or 5m, or a count such as 1000x). Fuzzers run one after the other; every one runs even
# when an earlier one fails, and the exit status is non-zero if any failed. A failing input is
# saved under the package's testdata/fuzz/FuzzXxx/, where plain `go test` replays it from then on.
# FUZZ_PKGS, a regular expression over import paths, limits the packages (default: all).
set -uo pipefail
cd "$(dirname "$0")/.."
command -v go >/dev/null || export PATH=$PATH:/usr/local/go/bin

fuzztime=${FUZZTIME:-3m}
pkg_re=${FUZZ_PKGS:-.}

# fuzz_one runs one fuzzer. Go's fuzzing engine sometimes ends a run at -fuzztime with a bare
# "context deadline exceeded" failure and no failing input (a worker was cut mid-input): that is
# not a finding, so such a run is repeated once; a second one, or any run that wrote a failing
# input, fails.
fuzz_one() {
  local name=$1 dir=$2 out try
  out=$(mktemp)
  for try in 1 2; do
    if go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" "$dir" 2>&1 | tee "$out"; then
      rm -f "$out"; return 0
    fi
    if [ "$try" = 2 ] || grep -q 'Failing input written' "$out" || ! grep -q 'context deadline exceeded' "$out"; then
      break
    fi
    echo "fuzz: $name ended at its deadline without a failing input (a fuzzing engine hiccup); once more"
  done
  rm -f "$out"
  return 1
}

# Packages whose tests declare a fuzzer, then their fuzzers as `go test -list` reports them.
dirs=$(grep -rlE --include='*_test.go' '^func Fuzz[A-Z0-9_]' . | xargs -r -n1 dirname | sort -u)
failed=()
total=0
for dir in $dirs; do
  pkg=$(go list "$dir") || { failed+=("$dir (go list)"); continue; }
  grep -qE "$pkg_re" <<<"$pkg" || continue
  names=$(go test -list '^Fuzz' "$dir" | grep '^Fuzz') || { failed+=("$pkg (go test -list)"); continue; }
  for name in $names; do
    echo "==> $pkg $name ($fuzztime)"
    start=$SECONDS
    if ! fuzz_one "$name" "$dir"; then
      failed+=("$pkg.$name")
    fi
    total=$((total + SECONDS - start))
  done
done

echo
echo "fuzzing took $total s in all"
if [ ${#failed[@]} -gt 0 ]; then
  printf 'fuzz: FAILED: %s\n' "$(IFS=,; echo "${failed[*]}")"
  exit 1
fi
echo "fuzz: no fuzzer found a problem"
