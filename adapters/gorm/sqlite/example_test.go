package gormsqlite_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"

	gormadapter "github.com/ltikit/ltikit/adapters/gorm"
	gormsqlite "github.com/ltikit/ltikit/adapters/gorm/sqlite"
	"github.com/ltikit/ltikit/registration"
)

// Open creates the database file (0600) and sets it up for the adapter;
// the program links no PostgreSQL driver.
func ExampleOpen() {
	dir, err := os.MkdirTemp("", "ltikit-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()

	db, err := gormsqlite.Open(filepath.Join(dir, "lti.db"))
	if err != nil {
		log.Fatal(err)
	}
	if sqlDB, err := db.DB(); err == nil {
		defer sqlDB.Close()
	}
	if err := gormadapter.Migrate(ctx, db); err != nil {
		log.Fatal(err)
	}
	a, err := gormadapter.New(ctx, db)
	if err != nil {
		log.Fatal(err)
	}
	err = a.CreateRegistration(ctx, registration.Registration{Issuer: "https://lms.example", ClientID: "tool-1",
		AuthEndpoint: "https://lms.example/auth", KeySetURL: "https://lms.example/jwks"}, "deployment-1")
	fmt.Println(err)
	fi, err := os.Stat(filepath.Join(dir, "lti.db"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("%#o\n", fi.Mode().Perm())
	// Output:
	// <nil>
	// 0600
}

// A path Open cannot use is a *PathError that says what is wrong.
func ExampleOpen_pathError() {
	dir, err := os.MkdirTemp("", "ltikit-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)

	_, err = gormsqlite.Open(filepath.Join(dir, "missing", "lti.db"))
	var pe *gormsqlite.PathError
	if errors.As(err, &pe) {
		fmt.Println(pe.Problem, pe.Subject == filepath.Join(dir, "missing"))
	}
	// Output: directory_missing true
}

// OpenReadOnly lists what a database holds without writing to it.
func ExampleOpenReadOnly() {
	dir, err := os.MkdirTemp("", "ltikit-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()
	path := filepath.Join(dir, "lti.db")

	// A tool that writes made the database earlier.
	db, err := gormsqlite.Open(path)
	if err != nil {
		log.Fatal(err)
	}
	if err := gormadapter.Migrate(ctx, db); err != nil {
		log.Fatal(err)
	}
	if sqlDB, err := db.DB(); err == nil {
		sqlDB.Close()
	}

	ro, err := gormsqlite.OpenReadOnly(path)
	if err != nil {
		log.Fatal(err)
	}
	if sqlDB, err := ro.DB(); err == nil {
		defer sqlDB.Close()
	}
	a, err := gormadapter.New(ctx, ro)
	if err != nil {
		log.Fatal(err)
	}
	regs, err := a.Registrations(ctx)
	fmt.Println(len(regs), err)
	// Output: 0 <nil>
}
