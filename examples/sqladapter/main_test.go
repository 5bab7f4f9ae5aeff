package sqladapter_test

import (
	"context"
	"database/sql"
	"sync"
	"testing"
	"time"

	"github.com/ltikit/ltikit/examples/sqladapter"
	"github.com/ltikit/ltikit/internal/pgtest"
	"github.com/ltikit/ltikit/nonce"
)

// newDatabase creates a throwaway PostgreSQL schema for tb (internal/pgtest:
// LTIKIT_TEST_POSTGRES_DSN, or the local server outside CI; with CI=true a
// missing database fails), migrates it, and returns a function that opens
// a new, independent pool on it: each pool plays one node of the tool.
func newDatabase(tb testing.TB) (openPool func(testing.TB) *sql.DB) {
	tb.Helper()
	// Two pools at most (two nodes), each of up to MaxConns connections,
	// on sessions the test process keeps between tests (pgtest.DB).
	// TestOpen opens a pool with Open itself.
	dsn := pgtest.SchemaForDB(tb, "sqladapter_", 2*sqladapter.MaxConns+1)
	openPool = func(tb testing.TB) *sql.DB {
		tb.Helper()
		db := pgtest.DB(tb, dsn, sqladapter.MaxConns)
		if err := db.PingContext(context.Background()); err != nil {
			tb.Fatalf("Ping: %v", err)
		}
		return db
	}
	if err := sqladapter.Migrate(context.Background(), openPool(tb)); err != nil {
		tb.Fatalf("Migrate: %v", err)
	}
	return openPool
}

// mustNew returns a Store on db.
func mustNew(tb testing.TB, db *sql.DB, opts ...sqladapter.Option) *sqladapter.Store {
	tb.Helper()
	s, err := sqladapter.New(db, opts...)
	if err != nil {
		tb.Fatalf("New: %v", err)
	}
	return s
}

// clock is a settable test clock, far from time.Now: a Store that judged
// expiry with the database's now() would fail the tests that use it.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2031, 3, 4, 5, 6, 7, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// login returns a login record of a fresh state and nonce expiring at exp.
func login(exp time.Time) nonce.Login {
	l := nonce.Login{
		State:         nonce.NewValue(),
		Nonce:         nonce.NewValue(),
		Issuer:        "https://lms.example.com",
		ClientID:      "client-1",
		TargetLinkURI: "https://tool.example.com/lti/launch",
		DeploymentID:  "1:deployment",
		ExpiresAt:     exp.Truncate(time.Second),
	}
	l.Binding = l.Bind()
	return l
}
