package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"strings"

	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	gormadapter "github.com/ltikit/ltikit/adapters/gorm"
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
func dbKind(dsn string) (string, error) {
	lower := strings.ToLower(dsn)
	switch {
	case dsn == "":
		return "", usagef("--db is empty")
	case strings.HasPrefix(lower, "postgres://"), strings.HasPrefix(lower, "postgresql://"):
		return "postgres", nil
	case strings.Contains(dsn, "://"):
		return "", usagef("--db %q: only postgres:// URLs and SQLite file paths are supported", redactDSN(dsn))
	case dsn == ":memory:" || strings.HasPrefix(lower, "file:") || strings.ContainsAny(dsn, "?#"):
		return "", usagef("--db %q: an SQLite database is given as a plain file path", dsn)
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
	db        *gorm.DB
	toolKeys  *gormadapter.ToolKeyStore
	stopSweep func()
}

var _ backend = (*gormBackend)(nil)

// openBackend opens the database dsn names, creates the tables if needed,
// and, with sweep, starts purging expired states in the background.
func openBackend(ctx context.Context, dsn string, log *slog.Logger, sweep bool) (*gormBackend, error) {
	kind, err := dbKind(dsn)
	if err != nil {
		return nil, err
	}
	// The Open helpers' defaults, plus translated errors so a unique
	// violation is gorm.ErrDuplicatedKey on both databases.
	cfg := &gorm.Config{SkipDefaultTransaction: true, Logger: logger.Discard, TranslateError: true}
	var db *gorm.DB
	if kind == "postgres" {
		db, err = gormadapter.OpenPostgres(dsn, cfg)
	} else {
		db, err = gormadapter.OpenSQLite(dsn, cfg, gormadapter.OpenLogger(log))
	}
	if err != nil {
		return nil, fmt.Errorf("opening the database %s: %w", redactDSN(dsn), err)
	}
	b := &gormBackend{db: db, stopSweep: func() {}}
	if err := gormadapter.Migrate(ctx, db); err != nil {
		b.closeDB()
		return nil, fmt.Errorf("creating the tables in %s: %w", redactDSN(dsn), err)
	}
	if err := migrateRecords(ctx, db); err != nil {
		b.closeDB()
		return nil, fmt.Errorf("creating the tables in %s: %w", redactDSN(dsn), err)
	}
	if err := migrateRegLinks(ctx, db); err != nil {
		b.closeDB()
		return nil, fmt.Errorf("creating the tables in %s: %w", redactDSN(dsn), err)
	}
	b.Adapter, err = gormadapter.New(ctx, db, gormadapter.WithLogger(log))
	if err != nil {
		b.closeDB()
		return nil, fmt.Errorf("database %s: %w", redactDSN(dsn), err)
	}
	// The tool's signing keys (ltikit_tool_keys, created by Migrate); the
	// first key is made on first use, by whichever node comes first.
	b.toolKeys, err = gormadapter.NewToolKeyStore(ctx, db, toolkey.StoreOptions{})
	if err != nil {
		b.closeDB()
		return nil, fmt.Errorf("database %s: %w", redactDSN(dsn), err)
	}
	if sweep {
		b.stopSweep = b.StartSweeper(0)
	}
	return b, nil
}

func (b *gormBackend) closeDB() error {
	sqlDB, err := b.db.DB()
	if err != nil {
		return err
	}
	return sqlDB.Close()
}

// Close implements backend.
func (b *gormBackend) Close() error {
	b.stopSweep()
	return b.closeDB()
}

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
