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
# The tests run on two Go toolchains: the oldest release still supported
# upstream, which go.mod's go line names as the floor, and the newest. The
# go command fetches a toolchain it does not have from the Go module proxy
# (GOTOOLCHAIN). LTIKIT_TEST_TOOLCHAINS replaces the list, e.g. "local" for
# the machine's own Go only.
toolchains="${LTIKIT_TEST_TOOLCHAINS:-go1.26.8 go1.27.3}"
# gotestsum (from the Go module proxy) prints each package and each failing
# test as it finishes, and a summary line per run; the slowest tests are
# listed at the end of each run.
gotestsum_version=v1.13.0
gotestsum="$(go env GOPATH)/bin/gotestsum"
if ! "$gotestsum" --version 2>/dev/null | grep -q "${gotestsum_version#v}"; then
  log "installing gotestsum $gotestsum_version from the Go module proxy"
  go install "gotest.tools/gotestsum@$gotestsum_version"
fi
results="$(mktemp -d)"
trap 'cleanup; rm -rf "$results"' EXIT
for tc in $toolchains; do
  log "go test -race ($tc: $(GOTOOLCHAIN=$tc go version))"
  GOTOOLCHAIN=$tc "$gotestsum" --format pkgname-and-test-fails --format-hide-empty-pkg \
    --jsonfile "$results/$tc.json" -- -race -count=1 -timeout 20m "$@" ./...
  log "slowest tests ($tc, over 3s)"
  "$gotestsum" tool slowest --jsonfile "$results/$tc.json" --threshold 3s | head -15 || true
done
