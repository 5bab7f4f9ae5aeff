package gormadapter

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"runtime"
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

// SQLiteFileMode is the mode of the SQLite database file, its WAL
// (-wal) and its shared-memory file (-shm) that [OpenSQLite] creates: the
// database may hold the tool's private signing key ([ToolKeyStore]), so
// only the owner reads it, whatever the process umask.
const SQLiteFileMode fs.FileMode = 0o600

// OpenLogger is an option of [OpenSQLite]: the logger of its warnings
// (default slog.Default()), such as a database file it found readable by
// group or others and made 0600. GORM ignores it.
func OpenLogger(l *slog.Logger) gorm.Option { return openLogger{l} }

type openLogger struct{ l *slog.Logger }

func (openLogger) Apply(*gorm.Config) error       { return nil }
func (openLogger) AfterInitialize(*gorm.DB) error { return nil }

// OpenSQLite opens (creating if needed) the SQLite database file at path
// through github.com/glebarez/sqlite (pure Go, no cgo), set up for
// concurrent use: WAL journal, a busy timeout of SQLiteBusyTimeout so
// writers from several pools or processes wait for each other instead of
// failing with SQLITE_BUSY, BEGIN IMMEDIATE for transactions, foreign keys
// on, synchronous=NORMAL (durable across crashes of the process; WAL's
// recommended setting) and a pool of SQLiteMaxConns connections. opts
// replace the default *gorm.Config when given; [OpenLogger] sets the
// logger of its warnings.
//
// The file may hold the tool's private key, so OpenSQLite creates it with
// [SQLiteFileMode] (0600) whatever the umask, and SQLite gives the -wal
// and -shm files the database file's mode. An existing file, or -wal,
// -shm or -journal file, with group or other permission bits is made 0600,
// with a warning through the logger (and a warning if that fails).
func OpenSQLite(path string, opts ...gorm.Option) (*gorm.DB, error) {
	if path == "" || strings.ContainsAny(path, "?#") || path == ":memory:" || strings.HasPrefix(path, "file:") {
		return nil, errors.New("gormadapter: OpenSQLite wants a plain file path (no URI, no ?, not :memory:)")
	}
	log := slog.Default()
	gormOpts := []gorm.Option{defaultConfig()}
	for _, o := range opts {
		if l, ok := o.(openLogger); ok {
			if l.l != nil {
				log = l.l
			}
			continue
		}
		gormOpts = append(gormOpts, o)
	}
	privateSQLiteFiles(path, log)
	dsn := fmt.Sprintf("%s?_pragma=busy_timeout(%d)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate",
		path, SQLiteBusyTimeout.Milliseconds())
	db, err := gorm.Open(sqlite.Open(dsn), gormOpts...)
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
	// The connection gorm.Open made has switched to WAL: the -wal and -shm
	// files exist now. SQLite gives them the database file's mode; check.
	for _, p := range []string{path + "-wal", path + "-shm"} {
		tightenSQLiteFile(p, log)
	}
	return db, nil
}

// privateSQLiteFiles creates the database file at path with SQLiteFileMode
// if it does not exist, and otherwise tightens it and the files SQLite
// keeps beside it. Errors creating the file are left to the driver to
// report.
func privateSQLiteFiles(path string, log *slog.Logger) {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, SQLiteFileMode)
	if err == nil {
		// The umask may have cleared bits of the mode, never added any;
		// Chmod makes it exactly 0600 all the same.
		if err := f.Chmod(SQLiteFileMode); err != nil {
			log.Warn("gormadapter: setting the mode of the new SQLite database file failed", "path", path, "error", err)
		}
		f.Close()
	}
	for _, p := range []string{path, path + "-wal", path + "-shm", path + "-journal"} {
		tightenSQLiteFile(p, log)
	}
}

// tightenSQLiteFile makes the file at p 0600 if group or others have any
// permission on it, with a warning. A missing file is left alone.
func tightenSQLiteFile(p string, log *slog.Logger) {
	if runtime.GOOS == "windows" {
		return // no Unix permission bits
	}
	fi, err := os.Stat(p)
	if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o077 == 0 {
		return
	}
	if err := os.Chmod(p, SQLiteFileMode); err != nil {
		log.Warn("gormadapter: the SQLite file is readable by group or others and could not be made 0600; it may hold the tool's private key",
			"path", p, "mode", fmt.Sprintf("%#o", fi.Mode().Perm()), "error", err)
		return
	}
	log.Warn("gormadapter: the SQLite file was readable by group or others; made it 0600, since it may hold the tool's private key",
		"path", p, "mode", fmt.Sprintf("%#o", fi.Mode().Perm()))
}
