package gormadapter

import (
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"time"

	"github.com/glebarez/sqlite"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/ltikit/ltikit/lti"
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
//
// A path it cannot use is a [*SQLitePathError] saying why (its directory
// does not exist, it is a directory, it or its directory is not
// writable) rather than the driver's "unable to open database file".
func OpenSQLite(path string, opts ...gorm.Option) (*gorm.DB, error) {
	if err := checkPlainPath(path); err != nil {
		return nil, err
	}
	log, gormOpts := splitOpenOptions(opts)
	if err := checkSQLitePath(path, true); err != nil {
		return nil, err
	}
	if err := privateSQLiteFiles(path, log); err != nil {
		return nil, err
	}
	dsn := fmt.Sprintf("%s?_pragma=busy_timeout(%d)&_pragma=journal_mode(WAL)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)&_txlock=immediate",
		path, SQLiteBusyTimeout.Milliseconds())
	db, err := openSQLitePool(dsn, gormOpts)
	if err != nil {
		// The file was usable a moment ago: the directory may refuse the
		// -wal and -shm files SQLite keeps beside it.
		if perr := checkSQLiteDir(path); perr != nil {
			return nil, perr
		}
		return nil, err
	}
	// The connection gorm.Open made has switched to WAL: the -wal and -shm
	// files exist now. SQLite gives them the database file's mode; check.
	for _, p := range []string{path + "-wal", path + "-shm"} {
		tightenSQLiteFile(p, log)
	}
	return db, nil
}

// OpenSQLiteReadOnly opens the existing SQLite database file at path
// read-only (SQLite's mode=ro, and PRAGMA query_only): no statement can
// change it, no table is created, the file is neither created nor has its
// mode changed (a file readable by group or others draws a warning
// through the [OpenLogger] logger). It is for tools that only read:
// listing what a database holds works on a file and directory the process
// may not write.
//
// A database in WAL mode is read through its -shm file; when neither
// -wal nor -shm exists (no process has the database open) and the
// directory is not writable, SQLite cannot create them, and the file is
// opened immutable instead (SQLite then assumes that nothing changes it
// while it is open). Where SQLite can create them, a read-only connection
// to a WAL database leaves -wal and -shm files behind when it closes (it
// may not checkpoint); the next writer removes them. Like [OpenSQLite], the busy timeout is
// SQLiteBusyTimeout and the pool SQLiteMaxConns connections; opts replace
// the default *gorm.Config. A missing file, a directory, or a file the
// process may not read is a [*SQLitePathError].
func OpenSQLiteReadOnly(path string, opts ...gorm.Option) (*gorm.DB, error) {
	if err := checkPlainPath(path); err != nil {
		return nil, err
	}
	log, gormOpts := splitOpenOptions(opts)
	if err := checkSQLitePath(path, false); err != nil {
		return nil, err
	}
	for _, p := range []string{path, path + "-wal", path + "-shm", path + "-journal"} {
		warnOpenSQLiteFile(p, log)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, unavailable("open sqlite", err)
	}
	// A URI filename (SQLite's "file:" form, percent-encoded) carries
	// mode=ro; the driver hands the _pragma parameters to SQLite too, which
	// ignores parameters it does not know.
	slashed := filepath.ToSlash(abs)
	if !strings.HasPrefix(slashed, "/") {
		slashed = "/" + slashed // a Windows drive: file:/C:/...
	}
	uri := "file:" + (&url.URL{Path: slashed}).EscapedPath()
	pragmas := fmt.Sprintf("&_pragma=busy_timeout(%d)&_pragma=foreign_keys(1)&_pragma=query_only(1)", SQLiteBusyTimeout.Milliseconds())
	db, err := openSQLitePool(uri+"?mode=ro"+pragmas, gormOpts)
	if err == nil {
		err = readSchema(db)
		if err == nil {
			return db, nil
		}
		closeSQLitePool(db)
	}
	// Immutable only when no process has the database open (no -wal or
	// -shm) and no transaction was left half done (no -journal): SQLite
	// then reads the file as it is, without locks.
	if exists(path+"-wal") || exists(path+"-shm") || exists(path+"-journal") {
		return nil, err
	}
	db, ierr := openSQLitePool(uri+"?mode=ro&immutable=1"+pragmas, gormOpts)
	if ierr == nil {
		if ierr = readSchema(db); ierr == nil {
			return db, nil
		}
		closeSQLitePool(db)
	}
	return nil, err
}

// checkPlainPath refuses what OpenSQLite does not take: a URI, a query,
// :memory:.
func checkPlainPath(path string) error {
	if path == "" || strings.ContainsAny(path, "?#") || path == ":memory:" || strings.HasPrefix(path, "file:") {
		return errors.New("gormadapter: OpenSQLite wants a plain file path (no URI, no ?, not :memory:)")
	}
	return nil
}

// splitOpenOptions separates the logger of the Open helpers from GORM's
// options, the default configuration first.
func splitOpenOptions(opts []gorm.Option) (*slog.Logger, []gorm.Option) {
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

// openSQLitePool opens dsn and sizes its pool.
func openSQLitePool(dsn string, gormOpts []gorm.Option) (*gorm.DB, error) {
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
	return db, nil
}

func closeSQLitePool(db *gorm.DB) {
	if sqlDB, err := db.DB(); err == nil {
		sqlDB.Close()
	}
}

// readSchema reads the schema: the first read of a database, where a WAL
// database whose -shm file cannot be made fails.
func readSchema(db *gorm.DB) error {
	var n int64
	if err := db.Raw("SELECT count(*) FROM sqlite_master").Row().Scan(&n); err != nil {
		return unavailable("open sqlite", err)
	}
	return nil
}

func exists(p string) bool {
	_, err := os.Lstat(p)
	return err == nil
}

// SQLitePathProblem says what is wrong with an SQLite database path.
type SQLitePathProblem string

// The problems of a [SQLitePathError].
const (
	// SQLiteDirMissing: the directory that would hold the file does not
	// exist (SQLite does not create directories).
	SQLiteDirMissing SQLitePathProblem = "directory_missing"
	// SQLiteNotADirectory: a component of the path before the file name is
	// a file, not a directory.
	SQLiteNotADirectory SQLitePathProblem = "not_a_directory"
	// SQLiteIsDirectory: the path names a directory.
	SQLiteIsDirectory SQLitePathProblem = "is_a_directory"
	// SQLiteNotRegular: the path names a device, a pipe or a socket.
	SQLiteNotRegular SQLitePathProblem = "not_a_regular_file"
	// SQLiteNotWritable: the file, or the directory that holds it (and its
	// -wal and -shm files), may not be written by the process.
	SQLiteNotWritable SQLitePathProblem = "not_writable"
	// SQLiteNotReadable: the process may not read the file.
	SQLiteNotReadable SQLitePathProblem = "not_readable"
	// SQLiteFileMissing: a read-only open of a file that does not exist.
	SQLiteFileMissing SQLitePathProblem = "file_missing"
	// SQLiteUnusable: the operating system refused the path for another
	// reason (see Err).
	SQLiteUnusable SQLitePathProblem = "unusable"
)

// ErrSQLitePath is matched (errors.Is) by every [*SQLitePathError]; its
// code is storage_unavailable.
var ErrSQLitePath = lti.NewSentinel(lti.CodeStorageUnavailable, "gormadapter: unusable SQLite database path")

// SQLitePathError is the error of [OpenSQLite] and [OpenSQLiteReadOnly] for
// a path they cannot use, with what is wrong.
type SQLitePathError struct {
	// Path is the database path as given.
	Path string
	// Problem is what is wrong, a stable value.
	Problem SQLitePathProblem
	// Subject is the path the problem is about: Path itself, or the
	// directory (or the file in its place) that causes it.
	Subject string
	// Err is the operating system's error, when there is one.
	Err error
}

// Error says what is wrong in words, naming the paths.
func (e *SQLitePathError) Error() string {
	var msg string
	switch e.Problem {
	case SQLiteDirMissing:
		msg = fmt.Sprintf("the directory %s does not exist (SQLite creates the file, not its directory)", e.Subject)
	case SQLiteNotADirectory:
		msg = fmt.Sprintf("%s is a file, not a directory", e.Subject)
	case SQLiteIsDirectory:
		msg = "it is a directory; give the path of a database file"
	case SQLiteNotRegular:
		msg = "it is not a regular file"
	case SQLiteNotWritable:
		if e.Subject != e.Path {
			msg = fmt.Sprintf("the directory %s is not writable (SQLite keeps its -wal and -shm files beside the database)", e.Subject)
		} else {
			msg = "the file is not writable"
		}
	case SQLiteNotReadable:
		msg = "the file is not readable"
	case SQLiteFileMissing:
		msg = "the file does not exist"
	default:
		msg = "the path cannot be used"
	}
	if e.Err != nil && e.Problem != SQLiteDirMissing && e.Problem != SQLiteFileMissing && e.Problem != SQLiteIsDirectory {
		msg += ": " + errText(e.Err)
	}
	return fmt.Sprintf("gormadapter: SQLite database %s: %s", e.Path, msg)
}

// errText is the operating system's reason without the path it repeats.
func errText(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

// Code is storage_unavailable, as ErrSQLitePath's: it implements lti.Coded.
func (e *SQLitePathError) Code() lti.Code { return lti.CodeStorageUnavailable }

// Unwrap returns ErrSQLitePath and the operating system's error.
func (e *SQLitePathError) Unwrap() []error {
	if e.Err == nil {
		return []error{ErrSQLitePath}
	}
	return []error{ErrSQLitePath, e.Err}
}

// checkSQLitePath finds what makes path unusable as a database file, to
// read and, with write, to write (creating it if missing).
func checkSQLitePath(path string, write bool) error {
	fail := func(p SQLitePathProblem, subject string, err error) error {
		return &SQLitePathError{Path: path, Problem: p, Subject: subject, Err: err}
	}
	fi, err := os.Stat(path)
	switch {
	case err == nil:
	case errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR):
		// Find the deepest ancestor that exists: a file there is the
		// problem, or else the missing directory.
		dir := filepath.Dir(path)
		for p := dir; ; p = filepath.Dir(p) {
			if afi, aerr := os.Stat(p); aerr == nil {
				if !afi.IsDir() {
					return fail(SQLiteNotADirectory, p, nil)
				}
				break
			}
			if filepath.Dir(p) == p {
				break
			}
		}
		if dfi, derr := os.Stat(dir); derr != nil {
			return fail(SQLiteDirMissing, dir, derr)
		} else if !dfi.IsDir() {
			return fail(SQLiteNotADirectory, dir, nil)
		}
		if !write {
			return fail(SQLiteFileMissing, path, err)
		}
		return nil // created by privateSQLiteFiles, which reports a refusal
	default:
		return fail(SQLiteUnusable, path, err)
	}
	switch {
	case fi.IsDir():
		return fail(SQLiteIsDirectory, path, nil)
	case !fi.Mode().IsRegular():
		return fail(SQLiteNotRegular, path, nil)
	}
	flag, problem := os.O_RDONLY, SQLiteNotReadable
	if write {
		flag, problem = os.O_RDWR, SQLiteNotWritable
	}
	f, err := os.OpenFile(path, flag, 0)
	if err != nil {
		if isPermission(err) {
			if write {
				// Say unreadable when it is.
				rf, rerr := os.Open(path)
				if rerr != nil {
					return fail(SQLiteNotReadable, path, rerr)
				}
				rf.Close()
			}
			return fail(problem, path, err)
		}
		return fail(SQLiteUnusable, path, err)
	}
	f.Close()
	return nil
}

// checkSQLiteDir reports a directory that refuses new files when the
// database has no -wal file yet, which SQLite must create there. It tries
// a temporary file, as permission bits do not tell (root, ACLs,
// read-only mounts).
func checkSQLiteDir(path string) error {
	if exists(path + "-wal") {
		return nil
	}
	dir := filepath.Dir(path)
	f, err := os.CreateTemp(dir, ".ltikit-probe-*")
	if err != nil {
		if isPermission(err) {
			return &SQLitePathError{Path: path, Problem: SQLiteNotWritable, Subject: dir, Err: err}
		}
		return nil
	}
	f.Close()
	os.Remove(f.Name())
	return nil
}

// isPermission reports a refusal by permissions or a read-only file system.
func isPermission(err error) bool {
	return errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.EROFS)
}

// privateSQLiteFiles creates the database file at path with SQLiteFileMode
// if it does not exist, and otherwise tightens it and the files SQLite
// keeps beside it. A refused creation is a *SQLitePathError.
func privateSQLiteFiles(path string, log *slog.Logger) error {
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE|os.O_EXCL, SQLiteFileMode)
	switch {
	case err == nil:
		// The umask may have cleared bits of the mode, never added any;
		// Chmod makes it exactly 0600 all the same.
		if err := f.Chmod(SQLiteFileMode); err != nil {
			log.Warn("gormadapter: setting the mode of the new SQLite database file failed", "path", path, "error", err)
		}
		f.Close()
	case errors.Is(err, fs.ErrExist):
	case isPermission(err):
		return &SQLitePathError{Path: path, Problem: SQLiteNotWritable, Subject: filepath.Dir(path), Err: err}
	default:
		return &SQLitePathError{Path: path, Problem: SQLiteUnusable, Subject: path, Err: err}
	}
	for _, p := range []string{path, path + "-wal", path + "-shm", path + "-journal"} {
		tightenSQLiteFile(p, log)
	}
	return nil
}

// warnOpenSQLiteFile warns, without changing anything, when the file at p
// is readable by group or others: the read-only open's counterpart of
// tightenSQLiteFile.
func warnOpenSQLiteFile(p string, log *slog.Logger) {
	if runtime.GOOS == "windows" {
		return
	}
	fi, err := os.Stat(p)
	if err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm()&0o077 == 0 {
		return
	}
	log.Warn("gormadapter: the SQLite file is readable by group or others (left as is: opened read-only); it may hold the tool's private key",
		"path", p, "mode", fmt.Sprintf("%#o", fi.Mode().Perm()))
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
