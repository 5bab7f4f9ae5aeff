package pgtest

import (
	"context"
	"database/sql"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
)

// leaveIdle runs a test that reserves n connections with SchemaForDB and
// holds n sessions of a DB pool at once, and returns its DSN, the
// server's address and the sessions' server processes, idle once it ends.
func leaveIdle(t *testing.T, prefix string, n int) (dsn, addr string, pids []int) {
	t.Helper()
	t.Run("leaves idle sessions", func(t *testing.T) {
		dsn = SchemaForDB(t, prefix, n)
		addr = addrOf(mustParse(t, dsn))
		pids = backendPIDs(t, DB(t, dsn, n), n)
	})
	if t.Failed() {
		t.FailNow()
	}
	return dsn, addr, pids
}

// withoutSchema is a schema DSN (a URL) without its search_path.
func withoutSchema(t *testing.T, dsn string) string {
	t.Helper()
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	q.Del("search_path")
	u.RawQuery = q.Encode()
	return u.String()
}

// backendPIDs holds n connections of db at once and returns their server
// processes.
func backendPIDs(t *testing.T, db *sql.DB, n int) []int {
	t.Helper()
	var pids []int
	var conns []*sql.Conn
	for range n {
		c, err := db.Conn(t.Context())
		if err != nil {
			t.Fatal(err)
		}
		conns = append(conns, c)
		var pid int
		if err := c.QueryRowContext(t.Context(), "SELECT pg_backend_pid()").Scan(&pid); err != nil {
			t.Fatal(err)
		}
		pids = append(pids, pid)
	}
	for _, c := range conns {
		c.Close()
	}
	slices.Sort(pids)
	return pids
}

// live counts which of pids are server processes still connected.
func live(t *testing.T, dsn string, pids []int) int {
	t.Helper()
	p, err := admin(withoutSchema(t, dsn))
	if err != nil {
		t.Fatal(err)
	}
	var n int
	if err := p.QueryRow(t.Context(), "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY($1)", pids).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// privateBudget gives t reservations of its own, in a directory no other
// process counts: a test that checks what is kept for idle sessions would
// otherwise depend on how many connections the tests of other packages
// hold at that moment (a reservation for idle sessions that does not fit
// at once closes them instead). The few sessions such a test opens stay
// within Headroom.
func privateBudget(t *testing.T) {
	t.Setenv("TMPDIR", t.TempDir())
}

// TestDBResetsLentSession: a session that a pool of one schema used and
// left full of state serves the next pool, on another schema, as a new
// session would: the other schema, default settings, no temporary table,
// advisory lock, LISTEN or prepared statement, and pgx prepares its
// statements afresh.
func TestDBResetsLentSession(t *testing.T) {
	dsn1 := SchemaForDB(t, "pgtest_lend_", 1)
	dsn2 := CreateSchema(t, withoutSchema(t, dsn1), "pgtest_lend_")
	ctx := t.Context()
	const stmt = "SELECT $1::int + 1"

	db1 := DB(t, dsn1, 1)
	c1, err := db1.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var pid1, sum int
	var schema1 string
	if err := c1.QueryRowContext(ctx, "SELECT pg_backend_pid(), current_schema()").Scan(&pid1, &schema1); err != nil {
		t.Fatal(err)
	}
	if want := mustParse(t, dsn1).RuntimeParams["search_path"]; schema1 != want {
		t.Errorf("first pool: current_schema() = %q, want %q", schema1, want)
	}
	for _, q := range []string{
		"SET statement_timeout = '1234ms'",
		"CREATE TEMP TABLE leftover (x int)",
		"SELECT pg_advisory_lock(4242)",
		"LISTEN leftover_channel",
	} {
		if _, err := c1.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if err := c1.QueryRowContext(ctx, stmt, 1).Scan(&sum); err != nil || sum != 2 {
		t.Fatalf("%s: %d, %v", stmt, sum, err)
	}
	c1.Close()
	db1.Close()

	db2 := DB(t, dsn2, 1)
	var pid2 int
	var schema2, timeout string
	var temp, locks, listens, prepared int
	if err := db2.QueryRowContext(ctx, `SELECT pg_backend_pid(), current_schema(), current_setting('statement_timeout'),
		(SELECT count(*) FROM pg_class WHERE relname = 'leftover' AND relpersistence = 't'),
		(SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()),
		(SELECT count(*) FROM pg_listening_channels()),
		(SELECT count(*) FROM pg_prepared_statements WHERE statement = $1)`, stmt).
		Scan(&pid2, &schema2, &timeout, &temp, &locks, &listens, &prepared); err != nil {
		t.Fatal(err)
	}
	if pid2 != pid1 {
		t.Fatalf("the second pool's session is server process %d, not the first pool's %d: nothing was lent", pid2, pid1)
	}
	if want := mustParse(t, dsn2).RuntimeParams["search_path"]; schema2 != want {
		t.Errorf("second pool: current_schema() = %q, want %q", schema2, want)
	}
	if timeout != "0" {
		t.Errorf("statement_timeout = %q after the lend, want the default 0", timeout)
	}
	if temp != 0 || locks != 0 || listens != 0 || prepared != 0 {
		t.Errorf("left over after the lend: %d temporary tables, %d advisory locks, %d LISTENs, %d prepared statements", temp, locks, listens, prepared)
	}
	// pgx forgot its statement: it prepares it again instead of naming
	// one the server no longer has.
	if err := db2.QueryRowContext(ctx, stmt, 2).Scan(&sum); err != nil || sum != 3 {
		t.Fatalf("%s on the lent session: %d, %v", stmt, sum, err)
	}
}

func mustParse(t *testing.T, dsn string) *pgx.ConnConfig {
	t.Helper()
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// TestDBKeepsSessionsForTheNextTest: the sessions of a test that ended
// serve the next test that reserves with ReserveSessions, under a
// reservation of their own meanwhile; sessions nobody takes are closed
// after keepFor, and the reservation goes with them.
func TestDBKeepsSessionsForTheNextTest(t *testing.T) {
	privateBudget(t)
	defer func(d time.Duration) { keepFor = d }(keepFor)
	keepFor = 300 * time.Millisecond
	const n = 3
	dsn, addr, first := leaveIdle(t, "pgtest_keep_", n)
	if got := keptConns(addr); got != n {
		t.Fatalf("after the first test: %d connections kept for idle sessions, want %d", got, n)
	}
	t.Run("second", func(t *testing.T) {
		dsn := SchemaForDB(t, "pgtest_keep_", n)
		if got := keptConns(addr); got != 0 {
			t.Errorf("the second test's reservation left %d kept: it should have taken them over", got)
		}
		if second := backendPIDs(t, DB(t, dsn, n), n); !slices.Equal(second, first) {
			t.Errorf("the second test's sessions are server processes %v, the first's %v: none was kept", second, first)
		}
	})
	if got := keptConns(addr); got != n {
		t.Fatalf("after the second test: %d connections kept, want %d", got, n)
	}
	deadline := time.Now().Add(10 * time.Second)
	for keptConns(addr) != 0 || live(t, dsn, first) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%v after keepFor: %d kept, %d of the sessions still open", time.Since(deadline.Add(-10*time.Second)), keptConns(addr), live(t, dsn, first))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestDropKept: a test about to wait on other processes first has its own
// process give back what it kept, and close the idle sessions that
// covered.
func TestDropKept(t *testing.T) {
	privateBudget(t)
	const n = 2
	dsn, addr, pids := leaveIdle(t, "pgtest_drop_", n)
	if got := keptConns(addr); got != n {
		t.Fatalf("%d connections kept, want %d", got, n)
	}
	dropKept(addr)
	if got := keptConns(addr); got != 0 {
		t.Errorf("%d connections kept after dropKept", got)
	}
	deadline := time.Now().Add(10 * time.Second)
	for live(t, dsn, pids) != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d of the idle sessions still open after dropKept", live(t, dsn, pids))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestDBOtherDatabase: a pool on a database other than the one whose
// sessions the process lends connects afresh, on that database and
// schema.
func TestDBOtherDatabase(t *testing.T) {
	first := SchemaForDB(t, "pgtest_first_", 2)
	DB(t, first, 1).Close() // the process now lends sessions of first's database
	base := withoutSchema(t, first)
	p, err := admin(base)
	if err != nil {
		t.Fatal(err)
	}
	name := "pgtest_other_" + strconv.FormatInt(time.Now().UnixNano(), 36)
	if _, err := p.Exec(t.Context(), "CREATE DATABASE "+name); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if _, err := p.Exec(context.Background(), "DROP DATABASE "+name+" WITH (FORCE)"); err != nil {
			t.Error(err)
		}
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	u.Path = "/" + name
	other := CreateSchema(t, u.String(), "pgtest_other_")
	db := DB(t, other, 1)
	var database, schema string
	if err := db.QueryRowContext(t.Context(), "SELECT current_database(), current_schema()").Scan(&database, &schema); err != nil {
		t.Fatal(err)
	}
	if want := mustParse(t, other).RuntimeParams["search_path"]; database != name || schema != want {
		t.Errorf("the pool is on %s.%s, want %s.%s", database, schema, name, want)
	}
}

// TestDBWithoutReservation: DB refuses a test that reserved nothing, and a
// DSN that names no schema.
func TestDBWithoutReservation(t *testing.T) {
	for _, tc := range []struct {
		name  string
		conns int                 // Schema's reservation
		dsn   func(string) string // of Schema's DSN
		want  string
	}{
		{"no reservation", 0, func(d string) string { return d }, "holds no PostgreSQL reservation"},
		{"no schema", 1, func(d string) string { return withoutSchema(t, d) }, "names no schema"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dsn := tc.dsn(Schema(t, "pgtest_refuse_", tc.conns))
			fatal := fatalOf(t, t.Name(), func(tb testing.TB) { DB(tb, dsn, 1) })
			if !strings.Contains(fatal, tc.want) {
				t.Fatalf("DB failed the test with %q, want a message with %q", fatal, tc.want)
			}
		})
	}
}

// keptConns is how many connections this process keeps reserved at addr
// for idle sessions.
func keptConns(addr string) int {
	sessions.Lock()
	defer sessions.Unlock()
	if s := sessions.byAddr[addr]; s != nil {
		return s.keptConns()
	}
	return 0
}
