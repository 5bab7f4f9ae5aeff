package gormadapter

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/glebarez/sqlite"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"
)

// Pool sizes of the Open helpers. Hosts that need others call
// db.DB() and set their own.
const (
	// PostgresMaxConns is the connection limit OpenPostgres sets.
	PostgresMaxConns = 16
	// SQLiteMaxConns is the connection limit OpenSQLite sets. SQLite has one
	// writer at a time whatever the pool size; a small pool keeps waiting
	// writers queued in Go instead of in SQLite's busy handler.
	SQLiteMaxConns = 2
	// SQLiteBusyTimeout is how long a SQLite connection waits for another
	// writer (another pool or process on the same file) before failing.
	SQLiteBusyTimeout = 10 * time.Second
)

// defaultConfig is GORM's configuration for the Open helpers: no implicit
// transactions (each adapter operation is one statement) and no logging
// (the adapter returns every error to its caller).
func defaultConfig() *gorm.Config {
	return &gorm.Config{SkipDefaultTransaction: true, Logger: logger.Discard}
}

// OpenPostgres opens a PostgreSQL database through gorm.io/driver/postgres
// (pgx) with a pool of PostgresMaxConns connections. dsn is a libpq URL or
// keyword/value string. opts replace the default *gorm.Config when given. A
// database that cannot be reached is an error wrapping
// lti.ErrStorageUnavailable.
func OpenPostgres(dsn string, opts ...gorm.Option) (*gorm.DB, error) {
	db, err := gorm.Open(postgres.Open(dsn), append([]gorm.Option{defaultConfig()}, opts...)...)
	if err != nil {
		return nil, unavailable("open postgres", err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, unavailable("open postgres", err)
	}
	sqlDB.SetMaxOpenConns(PostgresMaxConns)
	sqlDB.SetMaxIdleConns(PostgresMaxConns)
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	sqlDB.SetConnMaxLifetime(30 * time.Minute)
	return db, nil
}

// OpenSQLite opens (creating if needed) the SQLite database file at path
// through github.com/glebarez/sqlite (pure Go, no cgo), set up for
// concurrent use: WAL journal, a busy timeout of SQLiteBusyTimeout so
// writers from several pools or processes wait for each other instead of
// failing with SQLITE_BUSY, BEGIN IMMEDIATE for transactions, foreign keys
// on, synchronous=NORMAL (durable across crashes of the process; WAL's
// recommended setting) and a pool of SQLiteMaxConns connections. opts
// replace the default *gorm.Config when given.
func OpenSQLite(path string, opts ...gorm.Option) (*gorm.DB, error) {
	if path == "" || strings.ContainsAny(path, "?#") || path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil, errors.New("gormadapter: OpenSQLite wants a plain file path (no URI, no ?, not :memory:)")
	}
	dsn := fmt.Sprintf("%s?_pragma=busy_timeout(%d)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate",
		path, SQLiteBusyTimeout.Milliseconds())
	db, err := gorm.Open(sqlite.Open(dsn), append([]gorm.Option{defaultConfig()}, opts...)...)
	if err != nil {
		return nil, unavailable("open sqlite", err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, unavailable("open sqlite", err)
	}
	sqlDB.SetMaxOpenConns(SQLiteMaxConns)
	sqlDB.SetMaxIdleConns(SQLiteMaxConns)
	sqlDB.SetConnMaxIdleTime(0)
	sqlDB.SetConnMaxLifetime(0)
	return db, nil
}
