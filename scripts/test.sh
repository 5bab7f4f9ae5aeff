#!/usr/bin/env bash
# Runs the whole ltikit test suite: gofmt, go vet, staticcheck (installed
# from the Go module proxy when missing) and every package's tests (test
# binaries built with go test -c and kept between runs, see below), on the
# machine's Go, or with CI=true with the race detector on the oldest
# supported and the newest Go toolchain, against a real PostgreSQL and a
# real SQLite file. LTIKIT_TEST_RACE (below) turns the race detector on or
# off either way.
#
# PostgreSQL: if LTIKIT_TEST_POSTGRES_DSN is set, that database is used as is.
# Otherwise the script makes sure the local cluster runs (installing and
# starting it with Debian's packages when it can), creates a throwaway
# database, passes its DSN to the tests and drops it afterwards.
# With CI=true a missing database fails the run; it never skips.
# Redis: LTIKIT_TEST_REDIS_URL is used as is when set; otherwise Debian's
# redis-server is installed when missing and started on 127.0.0.1:6379 when
# nothing answers there (the fault and cluster tests start private servers
# of their own with the same binary). With CI=true a missing Redis fails.
# Chromium (for the browser tests) is installed with apt-get when missing.
# Arguments are test flags given to every package's tests, written as for
# go test: ./scripts/test.sh -run Conformance -short
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '== %s\n' "$*" >&2; }

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi; }

ensure_postgres() {
  if ! command -v pg_isready >/dev/null 2>&1; then
    log "PostgreSQL client tools missing; installing Debian's postgresql"
    as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null || return 1
  fi
  if pg_isready -h 127.0.0.1 -p 5432 -q; then return 0; fi
  log "PostgreSQL is down; starting the cluster"
  if command -v pg_ctlcluster >/dev/null 2>&1; then
    for v in $(ls /etc/postgresql 2>/dev/null); do
      as_root pg_ctlcluster --skip-systemctl-redirect "$v" main start || true
    done
  fi
  for _ in $(seq 1 30); do
    pg_isready -h 127.0.0.1 -p 5432 -q && return 0
    sleep 1
  done
  return 1
}

ensure_redis_binaries() {
  if ! command -v redis-server >/dev/null 2>&1 || ! command -v redis-cli >/dev/null 2>&1; then
    log "redis-server missing; installing Debian's redis-server"
    as_root apt-get update -qq && as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null || return 1
  fi
}

ensure_redis() {
  ensure_redis_binaries || return 1
  if redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG; then return 0; fi
  log "Redis is down; starting redis-server on 127.0.0.1:6379"
  redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no >/dev/null || return 1
  for _ in $(seq 1 30); do
    redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null | grep -q PONG && return 0
    sleep 1
  done
  return 1
}

# The race detector. CI (CI=true) builds every test with -race, so nothing
# lands with a data race the tests reach. Outside CI it is off by default:
# the same tests with the same sizes and assertions, in about two thirds
# of the CPU time (the detector costs some 90 CPU-seconds of a whole run on
# a 2-CPU machine). LTIKIT_TEST_RACE=1 turns it on, LTIKIT_TEST_RACE=0 off,
# either way.
if [ "${CI:-}" = "true" ]; then default_race=1; else default_race=0; fi
case "${LTIKIT_TEST_RACE:-$default_race}" in
  1) raceflag=-race ;;
  0) raceflag= ;;
  *) log "LTIKIT_TEST_RACE=${LTIKIT_TEST_RACE}: want 1 (race detector on) or 0 (off)"; exit 2 ;;
esac

created_db=""
cleanup() {
  if [ -n "$created_db" ]; then
    psql -h 127.0.0.1 -U postgres -d postgres -qc "DROP DATABASE IF EXISTS $created_db WITH (FORCE)" >/dev/null 2>&1 || true
  fi
}
trap cleanup EXIT

if [ -z "${LTIKIT_TEST_POSTGRES_DSN:-}" ]; then
  if ensure_postgres; then
    created_db="ltikit_test_$(date +%s)_$$"
    psql -h 127.0.0.1 -U postgres -d postgres -qc "CREATE DATABASE $created_db" >/dev/null
    export LTIKIT_TEST_POSTGRES_DSN="postgres://postgres@127.0.0.1:5432/$created_db?sslmode=disable"
    log "using throwaway database $created_db"
  elif [ "${CI:-}" = "true" ]; then
    log "PostgreSQL is not reachable and CI=true: failing"
    exit 1
  else
    log "PostgreSQL is not reachable: database tests will skip (they fail under CI=true)"
  fi
fi

if [ -n "${LTIKIT_TEST_REDIS_URL:-}" ]; then
  ensure_redis_binaries || { [ "${CI:-}" != "true" ] || { log "redis-server could not be installed and CI=true: failing"; exit 1; }; }
elif ensure_redis; then
  export LTIKIT_TEST_REDIS_URL="redis://127.0.0.1:6379/0"
  log "using Redis at $LTIKIT_TEST_REDIS_URL"
elif [ "${CI:-}" = "true" ]; then
  log "Redis is not reachable and CI=true: failing"
  exit 1
else
  log "Redis is not reachable: Redis tests will skip (they fail under CI=true)"
fi

# The browser tests of cmd/demo-tool need Debian's chromium.
if ! ./scripts/ensure-chromium.sh; then
  if [ "${CI:-}" = "true" ]; then
    log "chromium could not be installed and CI=true: failing"
    exit 1
  fi
  log "chromium is missing: the browser tests will skip (they fail under CI=true)"
fi

log "gofmt"
unformatted=$(gofmt -l $(git ls-files '*.go' 2>/dev/null || find . -name '*.go'))
if [ -n "$unformatted" ]; then printf 'gofmt would change:\n%s\n' "$unformatted" >&2; exit 1; fi
staticcheck_version=v0.8.2
staticcheck="$(go env GOPATH)/bin/staticcheck"
if ! "$staticcheck" -version 2>/dev/null | grep -q "${staticcheck_version#v}"; then
  log "installing staticcheck $staticcheck_version from the Go module proxy"
  go install "honnef.co/go/tools/cmd/staticcheck@$staticcheck_version"
fi
# go vet and staticcheck run side by side (each about a second on a warm
# cache, mostly on one CPU); either failing fails the run here.
log "go vet and staticcheck"
go vet ./... &
vet=$!
checks=0
"$staticcheck" ./... || checks=1
wait "$vet" || checks=1
[ "$checks" = 0 ] || exit 1
# CI (CI=true) runs the tests on two Go toolchains: the oldest release
# still supported upstream, which go.mod's go line names as the floor, and
# the newest. The go command fetches a toolchain it does not have from the
# Go module proxy (GOTOOLCHAIN). Outside CI one run on the machine's own Go
# ("local") is the default, the quick loop of a developer; the same tests,
# once. LTIKIT_TEST_TOOLCHAINS replaces the list either way, e.g.
# "go1.26.8 go1.27.3" for both outside CI.
if [ "${CI:-}" = "true" ]; then default_toolchains="go1.26.8 go1.27.3"; else default_toolchains="local"; fi
toolchains="${LTIKIT_TEST_TOOLCHAINS:-$default_toolchains}"
# gotestsum (from the Go module proxy) prints each package and each failing
# test as it finishes, and a summary line per run; the slowest tests are
# listed at the end of each run.
gotestsum_version=v1.13.0
gotestsum="$(go env GOPATH)/bin/gotestsum"
if ! "$gotestsum" --version 2>/dev/null | grep -q "${gotestsum_version#v}"; then
  log "installing gotestsum $gotestsum_version from the Go module proxy"
  go install "gotest.tools/gotestsum@$gotestsum_version"
fi
# Twice as many test binaries as CPUs run at once: the tests wait on
# browsers, databases and servers as well as compute. go test's default is
# one per CPU.
parallel=$(( $(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2) * 2 ))
# -race turns on checkptr, which checks every unsafe pointer conversion at
# run time. modernc.org/sqlite is SQLite's C translated to Go, unsafe
# pointer arithmetic throughout, and checkptr on it was a quarter of the
# CPU of the SQLite tests. It stays on for every other package (ltikit
# itself has no unsafe code); the race detector, when on (LTIKIT_TEST_RACE,
# above), covers every package.
gcflags='modernc.org/...=-d=checkptr=0'
# The test binaries are built with go test -c into a directory kept between
# runs (under the user's cache directory, one per checkout and toolchain).
# go test links every test binary on every run, about a CPU-second each
# with the race detector, a tenth of the whole run; go build's up-to-date
# check skips the link of a binary whose inputs have not changed. -s -w
# leaves out the symbol table and DWARF, which tests never read (stack
# traces and race reports come from the runtime's own tables), and makes
# each link about a quarter cheaper. go vet ran above, so go test's own vet
# pass is off. scripts/test-binaries.sh then runs the binaries, the
# longest packages of the last run first, and prints go test -json's
# stream for gotestsum.
bincache="${LTIKIT_TEST_BIN_CACHE:-${XDG_CACHE_HOME:-${HOME:-/tmp}/.cache}/ltikit/test-bin}/$(pwd -P | sha256sum | cut -c1-16)"
results="$(mktemp -d)"
trap 'cleanup; rm -rf "$results"' EXIT
# The slowest tests are listed after a failing run too (they are often why
# it failed: a timeout on a loaded machine); the script then fails.
failed=0
for tc in $toolchains; do
  log "go test${raceflag:+ $raceflag} ($tc: $(GOTOOLCHAIN=$tc go version))"
  # Race-built and plain binaries are kept apart: switching does not relink.
  bindir="$bincache/$tc${raceflag:+-race}"
  mkdir -p "$bindir"
  status=0
  # Binaries are named after the package's last path element; go test -c
  # refuses two packages with the same one, and the run fails here. Its
  # standard output only lists the packages without tests.
  if ! GOTOOLCHAIN=$tc go test -c ${raceflag:+"$raceflag"} -vet=off -ldflags='-s -w' -gcflags="$gcflags" -o "$bindir/" ./... >/dev/null ||
    ! GOTOOLCHAIN=$tc go build -o "$bindir/test2json" cmd/test2json; then
    log "building the tests failed on $tc"
    failed=1
    continue
  fi
  # Packages with tests, the longest of the last run first (unknown ones
  # count as long and keep go list's order): with several running at once,
  # the run then ends on short packages instead of waiting for a long one
  # started last.
  # Fields are tab-separated: a directory may hold spaces.
  GOTOOLCHAIN=$tc go list -f '{{if or .TestGoFiles .XTestGoFiles}}{{.ImportPath}}{{"\t"}}{{.Dir}}{{end}}' ./... |
    while IFS=$'\t' read -r pkg dir; do
      secs=$(awk -v p="$pkg" '$2 == p { print $1 }' "$bindir/elapsed.txt" 2>/dev/null || true)
      printf '%s\t%s\t%s\t%s\n' "${secs:-9999}" "$pkg" "$dir" "$bindir/${pkg##*/}.test"
    done | sort -s -t$'\t' -k1,1 -g -r | cut -f2- >"$results/$tc.list"
  "$gotestsum" --format pkgname-and-test-fails --format-hide-empty-pkg \
    --jsonfile "$results/$tc.json" --raw-command -- \
    ./scripts/test-binaries.sh "$results/$tc.list" "$parallel" 20m "$@" || status=$?
  # Each package's time, for the next run's order (a run of some tests
  # only would mislead it).
  [ "$#" -eq 0 ] && sed -n 's/.*"Action":"\(pass\|fail\)","Package":"\([^"]*\)","Elapsed":\([0-9.]*\)}$/\3 \2/p' \
    "$results/$tc.json" >"$bindir/elapsed.txt" || true
  log "slowest tests ($tc, over 3s)"
  "$gotestsum" tool slowest --jsonfile "$results/$tc.json" --threshold 3s | head -15 || true
  if [ "$status" != 0 ]; then
    log "go test failed on $tc (exit status $status)"
    failed=1
  fi
done
exit "$failed"
