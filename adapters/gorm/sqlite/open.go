package gormsqlite

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/libtnb/sqlite"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/ltikit/ltikit/lti"
)

const (
	// MaxConns is the connection limit of the pools Open and OpenReadOnly
	// make. SQLite has one writer at a time whatever the pool size; a small
	// pool keeps waiting writers queued in Go instead of in SQLite's busy
	// handler. Hosts that need another call db.DB() and set their own.
	MaxConns = 2
	// BusyTimeout is how long a connection waits for another writer
	// (another pool or process on the same file) before failing.
	BusyTimeout = 10 * time.Second
	// FileMode is the mode of the database file, its WAL (-wal) and its
	// shared-memory file (-shm) that [Open] creates: the database may hold
	// the tool's private signing key (gormadapter.ToolKeyStore), so only the
	// owner reads it, whatever the process umask.
	FileMode fs.FileMode = 0o600
)

// defaultConfig is GORM's configuration of the Open helpers: no implicit
// transactions (each adapter operation is one statement) and no logging
// (the adapter returns every error to its caller).
func defaultConfig() *gorm.Config {
	return &gorm.Config{SkipDefaultTransaction: true, Logger: logger.Discard}
}

// WithLogger is an option of [Open] and [OpenReadOnly]: the logger of
// their warnings (default slog.Default()), such as a database file found
// readable by group or others. GORM ignores it.
func WithLogger(l *slog.Logger) gorm.Option { return openLogger{l} }

type openLogger struct{ l *slog.Logger }

func (openLogger) Apply(*gorm.Config) error       { return nil }
func (openLogger) AfterInitialize(*gorm.DB) error { return nil }

// Open opens (creating if needed) the SQLite database file at path, set
// up for concurrent use by the GORM adapter: WAL journal, a busy timeout
// of [BusyTimeout] so writers from several pools or processes wait for
// each other instead of failing with SQLITE_BUSY, BEGIN IMMEDIATE for
// transactions, foreign keys on, synchronous=NORMAL (durable across
// crashes of the process; WAL's recommended setting) and a pool of
// [MaxConns] connections. opts replace the default *gorm.Config when
// given; [WithLogger] sets the logger of its warnings.
//
// The file may hold the tool's private key, so Open creates it with
// [FileMode] (0600) whatever the umask, and SQLite gives the -wal and -shm
// files the database file's mode. An existing file, or -wal, -shm or
// -journal file, with group or other permission bits is made 0600, with a
// warning through the logger (and a warning if that fails).
//
// A path it cannot use is a [*PathError] saying why (its directory does
// not exist, it is a directory, it or its directory is not writable)
// rather than the driver's "unable to open database file". Any other
// failure wraps lti.ErrStorageUnavailable.
func Open(path string, opts ...gorm.Option) (*gorm.DB, error) {
	if err := checkPlainPath(path); err != nil {
		return nil, err
	}
	log, gormOpts := splitOptions(opts)
	if err := checkPath(path, true); err != nil {
		return nil, err
	}
	if err := privateFiles(path, log); err != nil {
		return nil, err
	}
	dsn := fmt.Sprintf("%s?_pragma=busy_timeout(%d)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate",
		path, BusyTimeout.Milliseconds())
	db, err := openPool(dsn, gormOpts)
	if err != nil {
		// The file was usable a moment ago: the directory may refuse the
		// -wal and -shm files SQLite keeps beside it.
		if perr := checkDir(path); perr != nil {
			return nil, perr
		}
		return nil, err
	}
	// The connection gorm.Open made has switched to WAL: the -wal and -shm
	// files exist now. SQLite gives them the database file's mode; check.
	for _, p := range []string{path + "-wal", path + "-shm"} {
		tightenFile(p, log)
	}
	return db, nil
}

// OpenReadOnly opens the existing SQLite database file at path read-only
// (SQLite's mode=ro, and PRAGMA query_only): no statement can change it,
// no table is created, the file is neither created nor has its mode
// changed (a file readable by group or others draws a warning through the
// [WithLogger] logger). It is for tools that only read: listing what a
// database holds works on a file and directory the process may not write.
//
// A database in WAL mode is read through its -shm file; when neither -wal
// nor -shm exists (no process has the database open) and the directory is
// not writable, SQLite cannot create them, and the file is opened
// immutable instead (SQLite then assumes that nothing changes it while it
// is open). Where SQLite can create them, a read-only connection to a WAL
// database leaves -wal and -shm files behind when it closes (it may not
// checkpoint); the next writer removes them. Like [Open], the busy timeout
// is [BusyTimeout] and the pool [MaxConns] connections; opts replace the
// default *gorm.Config. A missing file, a directory, or a file the process
// may not read is a [*PathError].
func OpenReadOnly(path string, opts ...gorm.Option) (*gorm.DB, error) {
	if err := checkPlainPath(path); err != nil {
		return nil, err
	}
	log, gormOpts := splitOptions(opts)
	if err := checkPath(path, false); err != nil {
		return nil, err
	}
	for _, p := range []string{path, path + "-wal", path + "-shm", path + "-journal"} {
		warnOpenFile(p, log)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, unavailable(err)
	}
	// A URI filename (SQLite's "file:" form, percent-encoded) carries
	// mode=ro; the driver hands the _pragma parameters to SQLite too, which
	// ignores parameters it does not know.
	slashed := filepath.ToSlash(abs)
	if !strings.HasPrefix(slashed, "/") {
		slashed = "/" + slashed // a Windows drive: file:/C:/...
	}
	uri := "file:" + (&url.URL{Path: slashed}).EscapedPath()
	pragmas := fmt.Sprintf("&_pragma=busy_timeout(%d)&_pragma=foreign_keys(1)&_pragma=query_only(1)", BusyTimeout.Milliseconds())
	db, err := openPool(uri+"?mode=ro"+pragmas, gormOpts)
	if err == nil {
		err = readSchema(db)
		if err == nil {
			return db, nil
		}
		closePool(db)
	}
	// Immutable only when no process has the database open (no -wal or
	// -shm) and no transaction was left half done (no -journal): SQLite
	// then reads the file as it is, without locks.
	if exists(path+"-wal") || exists(path+"-shm") || exists(path+"-journal") {
		return nil, err
	}
	db, ierr := openPool(uri+"?mode=ro&immutable=1"+pragmas, gormOpts)
	if ierr == nil {
		if ierr = readSchema(db); ierr == nil {
			return db, nil
		}
		closePool(db)
	}
	return nil, err
}

// unavailable wraps a failure of the database in lti's
// storage_unavailable error, as the adapter's own failures are.
func unavailable(err error) error {
	return lti.ErrStorageUnavailable.WithCause(fmt.Errorf("gormsqlite: open: %w", err))
}

// checkPlainPath refuses what Open does not take: a URI, a query,
// :memory:.
func checkPlainPath(path string) error {
	if path == "" || strings.ContainsAny(path, "?#") || path == ":memory:" || strings.HasPrefix(path, "file:") {
		return errors.New("gormsqlite: Open wants a plain file path (no URI, no ?, not :memory:)")
	}
	return nil
}

// splitOptions separates the logger of the Open helpers from GORM's
// options, the default configuration first.
func splitOptions(opts []gorm.Option) (*slog.Logger, []gorm.Option) {
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
	return log, gormOpts
}

// openPool opens dsn and sizes its pool.
func openPool(dsn string, gormOpts []gorm.Option) (*gorm.DB, error) {
	db, err := gorm.Open(sqlite.Open(dsn), gormOpts...)
	if err != nil {
		return nil, unavailable(err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, unavailable(err)
	}
	sqlDB.SetMaxOpenConns(MaxConns)
	sqlDB.SetMaxIdleConns(MaxConns)
	sqlDB.SetConnMaxIdleTime(0)
	sqlDB.SetConnMaxLifetime(0)
	return db, nil
}

func closePool(db *gorm.DB) {
	if sqlDB, err := db.DB(); err == nil {
		sqlDB.Close()
	}
}

// readSchema reads the schema: the first read of a database, where a WAL
// database whose -shm file cannot be made fails.
func readSchema(db *gorm.DB) error {
	var n int64
	if err := db.Raw("SELECT count(*) FROM sqlite_master").Row().Scan(&n); err != nil {
		return unavailable(err)
	}
	return nil
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}
