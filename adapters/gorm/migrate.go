package gormadapter

import (
	"context"
	_ "embed"
	"errors"
	"fmt"
	"strings"

	"gorm.io/gorm"
)

// The schema as SQL, for teams that run their own migrations. Each string
// is a sequence of idempotent statements (CREATE … IF NOT EXISTS) separated
// by semicolons; the package documentation shows the PostgreSQL ones.
var (
	// PostgresRegistrationsSQL creates ltikit_registrations and
	// ltikit_deployments on PostgreSQL (only needed with the default models).
	//
	//go:embed schema/postgres_registrations.sql
	PostgresRegistrationsSQL string
	// PostgresLoginSQL creates ltikit_nonces and ltikit_login_states on
	// PostgreSQL.
	//
	//go:embed schema/postgres_login.sql
	PostgresLoginSQL string
	// SQLiteRegistrationsSQL creates ltikit_registrations and
	// ltikit_deployments on SQLite (only needed with the default models).
	//
	//go:embed schema/sqlite_registrations.sql
	SQLiteRegistrationsSQL string
	// SQLiteLoginSQL creates ltikit_nonces and ltikit_login_states on SQLite.
	//
	//go:embed schema/sqlite_login.sql
	SQLiteLoginSQL string
)

// Migrate creates every table of the package, for hosts that use the
// default models: ltikit_registrations, ltikit_deployments, ltikit_nonces,
// ltikit_login_states, ltikit_launch_sessions and ltikit_tool_keys (see
// [MigrateToolKeys]), with their indexes. It is idempotent and safe to run from several processes
// at once (on PostgreSQL it holds an advisory lock). It never alters or
// drops anything.
func Migrate(ctx context.Context, db *gorm.DB) error {
	if err := migrate(ctx, db, true); err != nil {
		return err
	}
	return MigrateToolKeys(ctx, db)
}

// MigrateLoginTables creates only ltikit_nonces, ltikit_login_states and
// ltikit_launch_sessions, for hosts that keep registrations and deployments
// in their own models (see [NewWithModels]).
func MigrateLoginTables(ctx context.Context, db *gorm.DB) error {
	return migrate(ctx, db, false)
}

// migrateLockKey is the PostgreSQL advisory lock Migrate holds: "ltikit" in
// ASCII.
const migrateLockKey = 0x6c74696b6974

func migrate(ctx context.Context, db *gorm.DB, registrations bool) error {
	if db == nil {
		return errors.New("gormadapter: migrate: nil *gorm.DB")
	}
	if db.Dialector == nil {
		return errors.New("gormadapter: migrate: the *gorm.DB has no dialector")
	}
	if ctx == nil {
		ctx = context.Background()
	}
	var parts []string
	lock := ""
	switch name := db.Dialector.Name(); name {
	case "postgres":
		lock = fmt.Sprintf("SELECT pg_advisory_xact_lock(%d)", migrateLockKey)
		if registrations {
			parts = append(parts, PostgresRegistrationsSQL)
		}
		parts = append(parts, PostgresLoginSQL, PostgresSessionsSQL)
	case "sqlite":
		if registrations {
			parts = append(parts, SQLiteRegistrationsSQL)
		}
		parts = append(parts, SQLiteLoginSQL, SQLiteSessionsSQL)
	default:
		return fmt.Errorf("%w: %q (want postgres or sqlite)", ErrUnsupportedDialect, name)
	}
	tx := db.Session(&gorm.Session{NewDB: true}).WithContext(ctx)
	err := tx.Transaction(func(tx *gorm.DB) error {
		if lock != "" {
			if err := tx.Exec(lock).Error; err != nil {
				return err
			}
		}
		for _, stmt := range statements(parts...) {
			if err := tx.Exec(stmt).Error; err != nil {
				return fmt.Errorf("%s: %w", firstLine(stmt), err)
			}
		}
		return nil
	})
	if err != nil {
		return unavailable("migrate", err)
	}
	return nil
}

// statements splits SQL texts at semicolons (the schema has none inside
// statements).
func statements(texts ...string) []string {
	var out []string
	for _, t := range texts {
		for _, s := range strings.Split(t, ";") {
			if s = strings.TrimSpace(s); s != "" {
				out = append(out, s)
			}
		}
	}
	return out
}

func firstLine(s string) string {
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		return s[:i]
	}
	return s
}
