package pgtest

import (
	"context"
	"net"
	"net/url"
	"os"
	"testing"
	"time"
)

// EnvDSN names the variable that points the tests at a PostgreSQL database
// they may create schemas in.
const EnvDSN = "LTIKIT_TEST_POSTGRES_DSN"

// LocalDSN is the local cluster's default database, used outside CI when
// EnvDSN is unset.
const LocalDSN = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// Schema creates a schema named prefix plus 12 random hex digits, drops it
// when the test ends, and returns a DSN whose every connection uses it
// (search_path), so tests sharing one database never see each other's
// tables. conns is the most connections the test opens on the database at
// once; Schema reserves them first (see [Reserve]). A test's second schema
// takes conns 0 and reserves nothing: the first reservation counts its
// connections too. See the package documentation for when it fails or
// skips.
func Schema(t testing.TB, prefix string, conns int) string {
	t.Helper()
	return schema(t, prefix, conns, false)
}

// SchemaForDB is [Schema] for a test that opens its sessions through [DB]
// only: the reservation is made with [ReserveSessions].
func SchemaForDB(t testing.TB, prefix string, conns int) string {
	t.Helper()
	return schema(t, prefix, conns, true)
}

// schema is Schema, or SchemaForDB when sessionsOnly.
func schema(t testing.TB, prefix string, conns int, sessionsOnly bool) string {
	t.Helper()
	ci := os.Getenv("CI") == "true"
	dsn := os.Getenv(EnvDSN)
	if dsn == "" {
		if ci {
			t.Fatal(EnvDSN + " is not set and CI=true: the PostgreSQL tests must run")
		}
		dsn = LocalDSN
	}
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("%s is not a URL: %v", EnvDSN, err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := ping(ctx, dsn); err != nil {
		if ci || os.Getenv(EnvDSN) != "" {
			t.Fatalf("PostgreSQL at %s: %v", u.Redacted(), err)
		}
		t.Skipf("PostgreSQL is not reachable at %s (%v): set %s (CI=true fails instead)", u.Redacted(), err, EnvDSN)
	}
	// Reserved before the schema exists, the connections are released
	// after it is dropped (cleanups run last in, first out).
	if conns > 0 {
		reserveFor(t, dsn, conns, sessionsOnly)
	}
	return CreateSchema(t, dsn, prefix)
}

// UnreachableDSN returns dsn, a URL, pointed at a loopback port that
// nothing listens on (one the kernel just handed out and that was closed
// again), with connect_timeout=2: a database that does not answer, for
// the tests of failure paths. No connection reaches a server through it,
// so it needs no reservation.
func UnreachableDSN(t testing.TB, dsn string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("pgtest.UnreachableDSN: %v", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	u.Host = ln.Addr().String()
	ln.Close()
	q := u.Query()
	q.Set("connect_timeout", "2")
	u.RawQuery = q.Encode()
	return u.String()
}
