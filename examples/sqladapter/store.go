package sqladapter

import (
	"context"
	"database/sql"
	_ "embed"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/nonce"
	"github.com/ltikit/ltikit/storage"
)

// SchemaSQL is the example's schema (schema.sql): idempotent CREATE … IF
// NOT EXISTS statements for PostgreSQL, for [Migrate] or the host's own
// migrations.
//
//go:embed schema.sql
var SchemaSQL string

// ErrDuplicate is the cause of a PutState or PutNonce whose value is
// already stored: the put changes nothing and fails, wrapped in
// lti.ErrStorageUnavailable (a fresh 256-bit value never collides, so a
// duplicate is a fault, not a verdict on a request).
var ErrDuplicate = errors.New("sqladapter: value already stored")

// Pool settings of [Open], the same as adapters/gorm/postgres's Open.
const (
	// MaxConns is the connection limit Open sets.
	MaxConns = 16
	// ConnMaxIdleTime and ConnMaxLifetime recycle connections, so a
	// database restarted or failed over is reconnected to.
	ConnMaxIdleTime = 5 * time.Minute
	// ConnMaxLifetime: see ConnMaxIdleTime.
	ConnMaxLifetime = 30 * time.Minute
)

// Store is the adapter: registrations and deployments in the host's
// tables (platforms, installs), login states and nonces in its own. It is
// safe for concurrent use, and across processes sharing the database.
type Store struct {
	db  *sql.DB
	now func() time.Time
}

// The interfaces the Store implements, checked at compile time.
var (
	_ storage.Adapter = (*Store)(nil)
	_ nonce.Carrier   = (*Store)(nil)
)

// Option configures a Store.
type Option func(*Store)

// WithClock sets the clock expiry is judged with (default time.Now): give
// every node the same one. Tests pass a fake clock.
func WithClock(now func() time.Time) Option {
	return func(s *Store) {
		if now != nil {
			s.now = now
		}
	}
}

// New returns a Store on db, a pool on a database that [Migrate] (or the
// host's migrations) set up. It does no I/O; a database that is down fails
// the first call, as storage_unavailable.
func New(db *sql.DB, opts ...Option) (*Store, error) {
	if db == nil {
		return nil, errors.New("sqladapter: nil *sql.DB")
	}
	s := &Store{db: db, now: time.Now}
	for _, o := range opts {
		o(s)
	}
	return s, nil
}

// Open opens a pool on the PostgreSQL database of dsn (a libpq URL or
// keyword/value string) through pgx's database/sql driver, with the pool
// settings above, and checks that the database answers. A dsn that does
// not parse is a plain error; a database that does not answer wraps
// lti.ErrStorageUnavailable.
//
// pgx prepares each statement once per connection and caches it
// (QueryExecModeCacheStatement, its default), so the statements of this
// package are parsed and planned once, not on every call.
func Open(ctx context.Context, dsn string) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("sqladapter: open: %w", err)
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(MaxConns)
	db.SetMaxIdleConns(MaxConns)
	db.SetConnMaxIdleTime(ConnMaxIdleTime)
	db.SetConnMaxLifetime(ConnMaxLifetime)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, unavailable("open", err)
	}
	return db, nil
}

// migrateLockKey is the advisory lock Migrate holds ("sqladp" in ASCII),
// so nodes that start together do not race to create the same table.
const migrateLockKey = 0x73716c616470

// Migrate creates the example's tables and indexes ([SchemaSQL]) in one
// transaction under an advisory lock. It is idempotent and never alters or
// drops anything.
func Migrate(ctx context.Context, db *sql.DB) error {
	tx, err := db.BeginTx(ctx, nil)
	if err != nil {
		return unavailable("migrate", err)
	}
	defer tx.Rollback() // a no-op after Commit
	if _, err := tx.ExecContext(ctx, "SELECT pg_advisory_xact_lock($1)", int64(migrateLockKey)); err != nil {
		return unavailable("migrate", err)
	}
	// No arguments: pgx sends the text as one simple query, several
	// statements at once.
	if _, err := tx.ExecContext(ctx, SchemaSQL); err != nil {
		return unavailable("migrate", err)
	}
	if err := tx.Commit(); err != nil {
		return unavailable("migrate", err)
	}
	return nil
}

// unavailable wraps a database failure as storage_unavailable: the launch
// pipeline answers 503 and refuses the launch. Never map such an error to
// a refusal sentinel (nonce.ErrNotFound…): a broken database would then
// look like a forged request, and the suite's CancelledContext subtests
// would fail.
func unavailable(op string, err error) error {
	return lti.ErrStorageUnavailable.WithCause(fmt.Errorf("sqladapter: %s: %w", op, err))
}

// usable reports whether PostgreSQL could have stored s in a key column:
// TEXT refuses invalid UTF-8 and NUL. A lookup of anything else is "not
// found" without a query, rather than a database error that would report
// the tool unavailable because of a forged parameter.
func usable(s string) bool {
	return s != "" && utf8.ValidString(s) && strings.IndexByte(s, 0) < 0
}
