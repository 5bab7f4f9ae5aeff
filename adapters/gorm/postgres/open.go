package gormpostgres

import (
	"database/sql"
	"errors"
	"fmt"
	"time"

	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/ltikit/ltikit/lti"
)

// MaxConns is the connection limit of the pool [Open] makes. Hosts that
// need another call db.DB() and set their own.
const MaxConns = 16

// defaultConfig is GORM's configuration of Open: no implicit transactions
// (each adapter operation is one statement) and no logging (the adapter
// returns every error to its caller).
func defaultConfig() *gorm.Config {
	return &gorm.Config{SkipDefaultTransaction: true, Logger: logger.Discard}
}

// Open opens a PostgreSQL database through gorm.io/driver/postgres (pgx)
// with a pool of [MaxConns] connections, for the GORM adapter. dsn is a
// libpq URL or keyword/value string. opts replace the default
// *gorm.Config when given. A database that cannot be reached is an error
// wrapping lti.ErrStorageUnavailable.
func Open(dsn string, opts ...gorm.Option) (*gorm.DB, error) {
	db, err := gorm.Open(postgres.Open(dsn), append([]gorm.Option{defaultConfig()}, opts...)...)
	if err != nil {
		return nil, unavailable(err)
	}
	sqlDB, err := db.DB()
	if err != nil {
		return nil, unavailable(err)
	}
	sqlDB.SetMaxOpenConns(MaxConns)
	sqlDB.SetMaxIdleConns(MaxConns)
	sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	sqlDB.SetConnMaxLifetime(30 * time.Minute)
	return db, nil
}

// OpenDB runs GORM, configured as [Open] configures it, on a database/sql
// pool the host already has: stdlib.OpenDBFromPool on the service's own
// pgxpool, say, or a *sql.DB opened with pgx's database/sql driver. The
// pool's limits stay the host's: OpenDB sets none of them. opts replace the
// default *gorm.Config when given. A pool whose database does not answer
// is an error wrapping lti.ErrStorageUnavailable. Closing the pool is the
// host's part, as its opening was.
func OpenDB(pool *sql.DB, opts ...gorm.Option) (*gorm.DB, error) {
	if pool == nil {
		return nil, unavailable(errors.New("the *sql.DB is nil"))
	}
	db, err := gorm.Open(postgres.New(postgres.Config{Conn: pool}), append([]gorm.Option{defaultConfig()}, opts...)...)
	if err != nil {
		return nil, unavailable(err)
	}
	return db, nil
}

// unavailable wraps a failure of the database in lti's
// storage_unavailable error, as the adapter's own failures are.
func unavailable(err error) error {
	return lti.ErrStorageUnavailable.WithCause(fmt.Errorf("gormpostgres: open: %w", err))
}
