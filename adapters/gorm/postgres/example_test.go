package gormpostgres_test

import (
	"context"
	"log"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	gormadapter "github.com/ltikit/ltikit/adapters/gorm"
	gormpostgres "github.com/ltikit/ltikit/adapters/gorm/postgres"
)

// Open takes a libpq URL or keyword/value DSN; the adapter runs on the
// pool it returns.
func ExampleOpen() {
	ctx := context.Background()
	db, err := gormpostgres.Open("postgres://ltikit@db.internal:5432/ltikit?sslmode=verify-full")
	if err != nil {
		log.Fatal(err) // storage_unavailable: the database does not answer
	}
	if err := gormadapter.Migrate(ctx, db); err != nil {
		log.Fatal(err)
	}
	a, err := gormadapter.New(ctx, db)
	if err != nil {
		log.Fatal(err)
	}
	_ = a
}

// A service that already has a pgxpool gives the adapter a database/sql
// view of it: the tool's queries and the service's share one pool, sized
// as the service sizes it.
func ExampleOpenDB() {
	ctx := context.Background()
	pool, err := pgxpool.New(ctx, "postgres://ltikit@db.internal:5432/ltikit?sslmode=verify-full")
	if err != nil {
		log.Fatal(err)
	}
	defer pool.Close()
	sqlDB := stdlib.OpenDBFromPool(pool)
	defer sqlDB.Close()
	db, err := gormpostgres.OpenDB(sqlDB)
	if err != nil {
		log.Fatal(err) // storage_unavailable: the database does not answer
	}
	a, err := gormadapter.New(ctx, db)
	if err != nil {
		log.Fatal(err)
	}
	_ = a
}
