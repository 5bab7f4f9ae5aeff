package gormadapter_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"gorm.io/gorm"

	gormadapter "github.com/ltikit/ltikit/adapters/gorm"
	gormpostgres "github.com/ltikit/ltikit/adapters/gorm/postgres"
	gormsqlite "github.com/ltikit/ltikit/adapters/gorm/sqlite"
	"github.com/ltikit/ltikit/internal/pgtest"
)

// EnvPostgresDSN names the variable that points the tests at a PostgreSQL
// database they may create schemas in.
const EnvPostgresDSN = "LTIKIT_TEST_POSTGRES_DSN"

// defaultAdminDSN is tried outside CI when EnvPostgresDSN is unset; the
// tests then create a throwaway database and drop it at the end.
const defaultAdminDSN = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// pg is what TestMain found out about PostgreSQL.
var pg struct {
	dsn    string // database the tests create their schemas in
	skip   string // reason to skip PostgreSQL tests (outside CI only)
	fatal  string // reason to fail PostgreSQL tests (CI without a DSN)
	source string // where dsn came from, for messages
}

func TestMain(m *testing.M) {
	cleanup := setupPostgres()
	code := m.Run()
	runAtExit()
	cleanup()
	os.Exit(code)
}

func setupPostgres() (cleanup func()) {
	if dsn := os.Getenv(EnvPostgresDSN); dsn != "" {
		pg.dsn, pg.source = dsn, EnvPostgresDSN
		return func() {}
	}
	if os.Getenv("CI") == "true" {
		pg.fatal = EnvPostgresDSN + " is not set and CI=true: the PostgreSQL tests must run in CI"
		return func() {}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	admin, err := pgx.Connect(ctx, defaultAdminDSN)
	if err != nil {
		pg.skip = fmt.Sprintf("PostgreSQL is unreachable at %s (%v); set %s to run the PostgreSQL tests", defaultAdminDSN, err, EnvPostgresDSN)
		return func() {}
	}
	defer admin.Close(context.Background())
	name := "ltikit_test_" + randomHex(6)
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+name); err != nil {
		pg.skip = fmt.Sprintf("cannot create a test database at %s (%v); set %s", defaultAdminDSN, err, EnvPostgresDSN)
		return func() {}
	}
	u, _ := url.Parse(defaultAdminDSN)
	u.Path = "/" + name
	pg.dsn, pg.source = u.String(), "throwaway database "+name
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		c, err := pgx.Connect(ctx, defaultAdminDSN)
		if err != nil {
			fmt.Fprintf(os.Stderr, "gormadapter tests: cannot drop %s: %v\n", name, err)
			return
		}
		defer c.Close(ctx)
		if _, err := c.Exec(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			fmt.Fprintf(os.Stderr, "gormadapter tests: cannot drop %s: %v\n", name, err)
		}
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

// requirePostgres skips or fails tb as the environment demands, and
// returns the DSN of the test database otherwise.
func requirePostgres(tb testing.TB) string {
	tb.Helper()
	switch {
	case pg.fatal != "":
		tb.Fatal(pg.fatal)
	case pg.skip != "":
		tb.Skip(pg.skip)
	}
	return pg.dsn
}

// newPostgresSchema creates a schema of its own for tb in the test
// database, drops it when tb ends, and returns a DSN whose connections use
// it. Every pool opened on that DSN sees the same tables. The test may
// open its pools with gormpostgres.Open.
func newPostgresSchema(tb testing.TB) string {
	tb.Helper()
	admin := requirePostgres(tb)
	// Two pools at most run hard on one schema (two nodes), each of up
	// to MaxConns connections; reserved before the schema exists, they
	// are released after it is dropped.
	pgtest.Reserve(tb, admin, 2*gormpostgres.MaxConns+1)
	return pgtest.CreateSchema(tb, admin, "t_")
}

// newSessionsSchema is newPostgresSchema for a test whose pools all come
// from pgtest.DB (the backends' pools): its reservation may take over
// idle sessions an earlier test left (pgtest.ReserveSessions).
func newSessionsSchema(tb testing.TB) string {
	tb.Helper()
	admin := requirePostgres(tb)
	pgtest.ReserveSessions(tb, admin, 2*gormpostgres.MaxConns+1)
	return pgtest.CreateSchema(tb, admin, "t_")
}

// backend is one database kind the tests run against.
type backend struct {
	name string
	// newDatabase makes a fresh, empty database for tb and returns a
	// function that opens a new, independent pool on it (a "node").
	newDatabase func(tb testing.TB) (openPool func(tb testing.TB) *gorm.DB)
}

var backends = []backend{
	{name: "postgres", newDatabase: func(tb testing.TB) func(testing.TB) *gorm.DB {
		dsn := newSessionsSchema(tb)
		return func(tb testing.TB) *gorm.DB {
			tb.Helper()
			// A pool of gormpostgres.Open's size on sessions the test
			// process keeps between tests (pgtest.DB); the tests of
			// Open itself connect afresh (fault_test.go).
			db, err := gormpostgres.OpenDB(pgtest.DB(tb, dsn, gormpostgres.MaxConns))
			if err != nil {
				tb.Fatalf("gormpostgres.OpenDB: %v", err)
			}
			tb.Cleanup(func() { closeDB(db) })
			return db
		}
	}},
	{name: "sqlite", newDatabase: func(tb testing.TB) func(testing.TB) *gorm.DB {
		path := filepath.Join(tb.TempDir(), "ltikit.db")
		return func(tb testing.TB) *gorm.DB {
			tb.Helper()
			db, err := gormsqlite.Open(path)
			if err != nil {
				tb.Fatalf("gormsqlite.Open: %v", err)
			}
			tb.Cleanup(func() { closeDB(db) })
			return db
		}
	}},
}

func closeDB(db *gorm.DB) {
	if sqlDB, err := db.DB(); err == nil {
		sqlDB.Close()
	}
}

// migrated opens a fresh database of b, migrates it and returns the pool
// opener and a first pool.
func migrated(t testing.TB, b backend) (openPool func(testing.TB) *gorm.DB, db *gorm.DB) {
	t.Helper()
	openPool = b.newDatabase(t)
	db = openPool(t)
	if err := gormadapter.Migrate(context.Background(), db); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	return openPool, db
}

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock {
	return &clock{t: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Set(t time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func mustNew(t testing.TB, db *gorm.DB, opts ...gormadapter.Option) *gormadapter.Adapter {
	t.Helper()
	a, err := gormadapter.New(context.Background(), db, opts...)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return a
}

func newValue(tb testing.TB) string {
	return randomHex(16)
}
