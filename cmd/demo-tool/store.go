package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"path/filepath"
	"strings"

	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	gormadapter "github.com/ltikit/ltikit/adapters/gorm"
	gormpostgres "github.com/ltikit/ltikit/adapters/gorm/postgres"
	gormsqlite "github.com/ltikit/ltikit/adapters/gorm/sqlite"
	"github.com/ltikit/ltikit/deployment"
	"github.com/ltikit/ltikit/registration"
	"github.com/ltikit/ltikit/session"
	"github.com/ltikit/ltikit/storage"
	"github.com/ltikit/ltikit/toolkey"
)

// backend is what demo-tool needs from its database: the launch
// pipeline's storage, plus the administration of platforms and
// deployments (storage.Registrar).
type backend interface {
	storage.Adapter
	// Store keeps the launch sessions (table ltikit_launch_sessions).
	session.Store
	// Registrar adds, lists and removes registrations and deployments:
	// the CLI's platform, deployment, export and import commands, and
	// the sandbox registering itself.
	storage.Registrar
	// ToolKeys is the store of the tool's own signing keys, in the same
	// database: every node and every restart signs with, and publishes, the
	// same keys.
	ToolKeys() toolkey.Store
	// recordsDB is the database of the single-use marks (answered deep
	// linking requests; see records.go), its table created.
	recordsDB() *gorm.DB
	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	// Close stops background work and closes the database.
	Close() error
}

// dbKind tells a PostgreSQL URL from an SQLite path.
func dbKind(dsn string) (string, error) { return dbKindOf("--db", dsn) }

// dbKindOf is dbKind naming the flag or environment variable the value
// came from (what: "--db" or "LTIKIT_DB") in its errors.
func dbKindOf(what, dsn string) (string, error) {
	lower := strings.ToLower(dsn)
	switch {
	case dsn == "":
		return "", usagef("%s is empty", what)
	case strings.HasPrefix(lower, "postgres://"), strings.HasPrefix(lower, "postgresql://"):
		return "postgres", nil
	case strings.Contains(dsn, "://"):
		return "", usagef("%s: only postgres:// URLs and SQLite file paths are supported", show(what, redactDSN(dsn)))
	case dsn == ":memory:" || strings.HasPrefix(lower, "file:") || strings.ContainsAny(dsn, "?#"):
		return "", usagef("%s: an SQLite database is given as a plain file path", show(what, dsn))
	}
	return "sqlite", nil
}

// redactDSN hides the password of a database URL, for messages and logs.
func redactDSN(dsn string) string {
	u, err := url.Parse(dsn)
	if err != nil || u.Scheme == "" {
		return dsn
	}
	if q := u.Query(); q.Has("password") {
		// libpq takes the password as a parameter too.
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.Redacted()
}

// describeDB is the database as shown to the user.
func describeDB(dsn string) string {
	kind, err := dbKind(dsn)
	if err != nil {
		return redactDSN(dsn)
	}
	if kind == "sqlite" {
		return "SQLite file " + dsn
	}
	return "PostgreSQL " + redactDSN(dsn)
}

// gormBackend keeps everything in one GORM database through the ltikit
// GORM adapter, with its default registration and deployment models.
type gormBackend struct {
	*gormadapter.Adapter
	db       *gorm.DB
	toolKeys *gormadapter.ToolKeyStore
}

var _ backend = (*gormBackend)(nil)

// openBackend opens the database dsn names and creates the tables if
// needed. It purges nothing: serve runs the purge (purge.go), one node at a
// time.
func openBackend(ctx context.Context, dsn string, log *slog.Logger) (*gormBackend, error) {
	return openStore(ctx, dsn, log, storeOptions{})
}

// storeOptions are how openStore opens the database.
type storeOptions struct {
	// readOnly opens the database for reading only: an SQLite file
	// read-only (gormsqlite.OpenReadOnly: it must exist, and may be
	// a file and directory the process cannot write), and no table is
	// created on either database. The commands that only read use it.
	readOnly bool
}

// errNoTables is the failure of a read-only command on a database without
// the tool's tables.
var errNoTables = errors.New("the database has no demo-tool tables (or tables of an older demo-tool): run 'demo-tool serve' or a command that writes, such as 'platform add', once to create them")

// openStore opens the database dsn names, as opts say.
func openStore(ctx context.Context, dsn string, log *slog.Logger, opts storeOptions) (*gormBackend, error) {
	kind, err := dbKind(dsn)
	if err != nil {
		return nil, err
	}
	// The Open helpers' defaults, plus translated errors so a unique
	// violation is gorm.ErrDuplicatedKey on both databases.
	cfg := &gorm.Config{SkipDefaultTransaction: true, Logger: logger.Discard, TranslateError: true}
	var db *gorm.DB
	switch {
	case kind == "postgres":
		db, err = gormpostgres.Open(dsn, cfg)
	case opts.readOnly:
		db, err = gormsqlite.OpenReadOnly(dsn, cfg, gormsqlite.WithLogger(log))
	default:
		db, err = gormsqlite.Open(dsn, cfg, gormsqlite.WithLogger(log))
	}
	if err != nil {
		return nil, openError(dsn, err)
	}
	b := &gormBackend{db: db}
	if !opts.readOnly {
		for _, migrate := range []func(context.Context, *gorm.DB) error{gormadapter.Migrate, migrateRecords, migrateRegLinks} {
			if err := migrate(ctx, db); err != nil {
				b.closeDB()
				return nil, fmt.Errorf("creating the tables in %s: %w", redactDSN(dsn), err)
			}
		}
	}
	b.Adapter, err = gormadapter.New(ctx, db, gormadapter.WithLogger(log))
	if err == nil {
		// The tool's signing keys (ltikit_tool_keys, created by Migrate);
		// the first key is made on first use, by whichever node comes
		// first.
		b.toolKeys, err = gormadapter.NewToolKeyStore(ctx, db, toolkey.StoreOptions{})
	}
	if err != nil {
		b.closeDB()
		if opts.readOnly && errors.Is(err, gormadapter.ErrNotMigrated) {
			return nil, fmt.Errorf("database %s: %w", redactDSN(dsn), errNoTables)
		}
		return nil, fmt.Errorf("database %s: %w", redactDSN(dsn), err)
	}
	return b, nil
}

// openError says why the database could not be opened: for an SQLite path,
// what is wrong with it, in words.
func openError(dsn string, err error) error {
	var pe *gormsqlite.PathError
	if !errors.As(err, &pe) {
		return fmt.Errorf("opening the database %s: %w", redactDSN(dsn), err)
	}
	reason := ""
	if pe.Err != nil {
		reason = " (" + osReason(pe.Err) + ")"
	}
	var why string
	switch pe.Problem {
	case gormsqlite.DirMissing:
		why = fmt.Sprintf("its directory %s does not exist; create it, or give another path", pe.Subject)
	case gormsqlite.NotADirectory:
		why = fmt.Sprintf("%s is a file, not a directory", pe.Subject)
	case gormsqlite.IsDirectory:
		why = "it is a directory; give the path of a database file inside it, e.g. " + filepath.Join(dsn, defaultDB)
	case gormsqlite.NotRegular:
		why = "it is not a regular file"
	case gormsqlite.NotWritable:
		if pe.Subject != pe.Path {
			why = fmt.Sprintf("the directory %s is not writable%s: SQLite creates the database and its -wal and -shm files there", pe.Subject, reason)
		} else {
			why = "the file is not writable" + reason + "; the commands that only read, such as 'platform list', work on a read-only file"
		}
	case gormsqlite.NotReadable:
		why = "the file is not readable" + reason
	case gormsqlite.FileMissing:
		return &explained{msg: fmt.Sprintf("no SQLite database %s: the file does not exist (is --db or LTIKIT_DB right?); 'demo-tool serve' or a command that writes, such as 'platform add', creates it", dsn), err: err}
	default:
		why = "the file cannot be created or opened there" + reason
	}
	return &explained{msg: fmt.Sprintf("cannot use the SQLite database %s: %s", dsn, why), err: err}
}

// explained is an error told in the CLI's own words, wrapping the error it
// explains so errors.Is and errors.As still find it.
type explained struct {
	msg string
	err error
}

func (e *explained) Error() string { return e.msg }
func (e *explained) Unwrap() error { return e.err }

// osReason is the operating system's reason, without the path.
func osReason(err error) string {
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return pe.Err.Error()
	}
	return err.Error()
}

func (b *gormBackend) closeDB() error {
	sqlDB, err := b.db.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}

// Close implements backend.
func (b *gormBackend) Close() error { return b.closeDB() }

// ToolKeys implements backend.
func (b *gormBackend) ToolKeys() toolkey.Store { return b.toolKeys }

func (b *gormBackend) recordsDB() *gorm.DB { return b.db }

// Ping implements backend.
func (b *gormBackend) Ping(ctx context.Context) error {
	sqlDB, err := b.db.DB()
	if err != nil {
		return err
	}
	return sqlDB.PingContext(ctx)
}

// ensurePlatform adds reg and the deployment unless they are stored
// already: the sandbox's registration on every start.
func ensurePlatform(ctx context.Context, b storage.Registrar, reg registration.Registration, dep deployment.Deployment) error {
	err := b.CreateRegistration(ctx, reg, dep.DeploymentID)
	if !errors.Is(err, storage.ErrExists) {
		return err
	}
	err = b.CreateDeployment(ctx, reg.Key(), dep.DeploymentID)
	if errors.Is(err, storage.ErrExists) {
		return nil
	}
	return err
}
