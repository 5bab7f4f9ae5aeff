#!/usr/bin/env bash
# Runs test binaries that scripts/test.sh built with `go test -c`, several at
# once, and prints what `go test -json` would: each binary's output through
# test2json, one package's whole stream at a time, as the package finishes.
# gotestsum reads it (--raw-command); scripts/test.sh is the only caller.
#
# Usage: scripts/test-binaries.sh LIST PARALLEL TIMEOUT [test flags...]
#
# LIST has one line per package: its import path, its directory and its
# test binary, separated by tabs, in the order to start them (the longest first, so that the
# last to start are short and the run does not end on one long package).
# Each binary runs in its package's directory with -test.v=test2json,
# -test.paniconexit0 and -test.timeout=TIMEOUT, as go test runs it. Test
# flags may be written as for go test (-run X, -short, -count=2); they are
# passed on with the test. prefix. Exits non-zero when a package fails.
set -uo pipefail

list=$1 parallel=$2 timeout=$3
shift 3
flags=()
for a in "$@"; do
  case "$a" in
    -v | -v=* | -test.v | -test.v=*) ;; # the JSON stream is always verbose
    -test.*) flags+=("$a") ;;
    -*) flags+=("-test.${a#-}") ;;
    *) flags+=("$a") ;;
  esac
done

# test2json is built next to the test binaries.
test2json=$(dirname "$(head -n1 "$list" | cut -f3)")/test2json
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# run_one IMPORTPATH DIR BINARY N runs one package's tests into a file of
# its own, then prints the file whole under a lock: lines of packages that
# finish together never interleave.
run_one() {
  local out="$work/$4.json" status=0
  (cd "$2" && exec "$test2json" -t -p "$1" "$3" -test.v=test2json -test.paniconexit0 \
    -test.timeout="$timeout" ${flags[@]+"${flags[@]}"}) >"$out" 2>&1 || status=$?
  flock "$work/lock" cat "$out"
  return "$status"
}

failed=0 running=0 n=0
while IFS=$'\t' read -r pkg dir bin; do
  if [ "$running" -ge "$parallel" ]; then
    wait -n || failed=1
    running=$((running - 1))
  fi
  n=$((n + 1))
  run_one "$pkg" "$dir" "$bin" "$n" &
  running=$((running + 1))
done <"$list"
while [ "$running" -gt 0 ]; do
  wait -n || failed=1
  running=$((running - 1))
done
exit "$failed"
