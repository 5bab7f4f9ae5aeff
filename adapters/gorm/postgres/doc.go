// Package gormpostgres opens a PostgreSQL database for the GORM adapter
// (package gormadapter, github.com/ltikit/ltikit/adapters/gorm): [Open]
// connects through gorm.io/driver/postgres and pgx and sizes the pool;
// [OpenDB] runs on a database/sql pool the host already has (its own
// pgxpool, through stdlib.OpenDBFromPool). Its import path is
// github.com/ltikit/ltikit/adapters/gorm/postgres.
//
// It is a package of its own so that only the programs that use
// PostgreSQL link its driver: gormadapter imports no database driver, and
// a tool on SQLite alone (package gormsqlite) carries neither pgx nor
// GORM's PostgreSQL dialect. Hosts that open the *gorm.DB themselves need
// neither package.
//
//	db, err := gormpostgres.Open("postgres://ltikit@db.internal:5432/ltikit?sslmode=verify-full")
//	if err != nil {
//		return err // storage_unavailable
//	}
//	a, err := gormadapter.New(ctx, db)
package gormpostgres
