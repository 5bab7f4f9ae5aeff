package gormpostgres_test

import (
	"context"
	"log"

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
