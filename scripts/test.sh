#!/usr/bin/env bash
# Runs the whole ltikit test suite: gofmt, go vet, staticcheck (installed
# from the Go module proxy when missing) and go test -race on every package,
# on the oldest supported and the newest Go toolchain, against a real
# PostgreSQL and a real SQLite file.
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
log "go vet"
go vet ./...
log "staticcheck"
staticcheck_version=v0.8.2
staticcheck="$(go env GOPATH)/bin/staticcheck"
if ! "$staticcheck" -version 2>/dev/null | grep -q "${staticcheck_version#v}"; then
  log "installing staticcheck $staticcheck_version from the Go module proxy"
  go install "honnef.co/go/tools/cmd/staticcheck@$staticcheck_version"
fi
"$staticcheck" ./...
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
# Most of the tests' time is waiting (browsers, databases, servers that
# time out), so twice as many test binaries as CPUs run at once; go test's
# default is one per CPU.
parallel=$(( $(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2) * 2 ))
# -race turns on checkptr, which checks every unsafe pointer conversion at
# run time. modernc.org/sqlite is SQLite's C translated to Go, unsafe
# pointer arithmetic throughout, and checkptr on it was a quarter of the
# CPU of the SQLite tests. It stays on for every other package (ltikit
# itself has no unsafe code), and the race detector stays on for all.
gcflags='modernc.org/...=-d=checkptr=0'
results="$(mktemp -d)"
trap 'cleanup; rm -rf "$results"' EXIT
# The slowest tests are listed after a failing run too (they are often why
# it failed: a timeout on a loaded machine); the script then fails.
failed=0
for tc in $toolchains; do
  log "go test -race ($tc: $(GOTOOLCHAIN=$tc go version))"
  status=0
  GOTOOLCHAIN=$tc "$gotestsum" --format pkgname-and-test-fails --format-hide-empty-pkg \
    --jsonfile "$results/$tc.json" -- -race -gcflags="$gcflags" -count=1 -p "$parallel" -timeout 20m "$@" ./... || status=$?
  log "slowest tests ($tc, over 3s)"
  "$gotestsum" tool slowest --jsonfile "$results/$tc.json" --threshold 3s | head -15 || true
  if [ "$status" != 0 ]; then
    log "go test failed on $tc (exit status $status)"
    failed=1
  fi
done
exit "$failed"
