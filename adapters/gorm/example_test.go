package gormadapter_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"time"

	gormadapter "github.com/ltikit/ltikit/adapters/gorm"
	gormsqlite "github.com/ltikit/ltikit/adapters/gorm/sqlite"
	"github.com/ltikit/ltikit/deployment"
	"github.com/ltikit/ltikit/nonce"
	"github.com/ltikit/ltikit/registration"
)

// A host with no platform table of its own uses the package's models:
// Migrate creates all four tables, and New finds registrations in them.
func ExampleNew() {
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

	// Register a platform and one deployment, with plain GORM.
	reg := gormadapter.NewRegistration(registration.Registration{
		Issuer:       "https://canvas.instructure.com",
		ClientID:     "10000000000042",
		AuthEndpoint: "https://sso.canvaslms.com/api/lti/authorize_redirect",
		KeySetURL:    "https://sso.canvaslms.com/api/lti/security/jwks",
	})
	if err := db.Create(reg).Error; err != nil {
		log.Fatal(err)
	}
	if err := db.Create(&gormadapter.Deployment{RegistrationID: reg.ID, DeploymentID: "42:8865aa05"}).Error; err != nil {
		log.Fatal(err)
	}

	a, err := gormadapter.New(ctx, db)
	if err != nil {
		log.Fatal(err)
	}
	stop := a.StartSweeper(time.Minute)
	defer stop()

	found, err := a.FindRegistration(ctx, "https://canvas.instructure.com", "")
	if err != nil {
		log.Fatal(err)
	}
	dep, err := a.FindDeployment(ctx, found, "42:8865aa05")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Printf("registration row %d, deployment %s\n", found.(*gormadapter.Registration).ID, dep.LTIDeployment().DeploymentID)

	// Login initiation stores the state (carrying the nonce); the launch
	// takes it, once.
	l := nonce.Login{State: "state-1", Nonce: "nonce-1", Issuer: reg.Issuer, ClientID: reg.ClientID,
		TargetLinkURI: "https://tool.example/launch", ExpiresAt: time.Now().Add(5 * time.Minute)}
	l.Binding = l.Bind()
	if err := a.PutState(ctx, l); err != nil {
		log.Fatal(err)
	}
	taken, err := a.TakeState(ctx, "state-1")
	fmt.Println("taken:", taken.Nonce, err)
	_, err = a.TakeState(ctx, "state-1")
	fmt.Println("again:", errors.Is(err, nonce.ErrConsumed))
	// Output:
	// registration row 1, deployment 42:8865aa05
	// taken: nonce-1 <nil>
	// again: true
}

// Tenant is a host's existing platform model, with its own table, column
// names and fields.
type Tenant struct {
	ID        uint   `gorm:"primaryKey"`
	Name      string // the host's own field
	Issuer    string `gorm:"column:lms_issuer;uniqueIndex:tenant_lms"`
	OAuthID   string `gorm:"column:lms_client_id;uniqueIndex:tenant_lms"`
	LoginURL  string
	JWKSURL   string `gorm:"column:jwks_url"`
	SeatLimit int    // another one
}

// LTIRegistration maps the host's columns for the library.
func (t *Tenant) LTIRegistration() registration.Registration {
	return registration.Registration{Issuer: t.Issuer, ClientID: t.OAuthID, AuthEndpoint: t.LoginURL, KeySetURL: t.JWKSURL}
}

// TenantCourse is the host's deployment model.
type TenantCourse struct {
	ID           uint   `gorm:"primaryKey"`
	TenantID     uint   `gorm:"uniqueIndex:tenant_course"`
	DeploymentID string `gorm:"column:lti_deployment_id;uniqueIndex:tenant_course"`
	Title        string
}

// LTIDeployment maps the host's columns for the library.
func (c *TenantCourse) LTIDeployment() deployment.Deployment {
	return deployment.Deployment{DeploymentID: c.DeploymentID}
}

// A host that already has its own models hands them to the adapter with the
// columns to look up by, and gets its own structs back.
func ExampleNewWithModels() {
	dir, err := os.MkdirTemp("", "ltikit-example")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(dir)
	ctx := context.Background()

	db, err := gormsqlite.Open(filepath.Join(dir, "host.db"))
	if err != nil {
		log.Fatal(err)
	}
	if sqlDB, err := db.DB(); err == nil {
		defer sqlDB.Close()
	}
	// The host migrates its own tables; the adapter only adds its two.
	if err := db.AutoMigrate(&Tenant{}, &TenantCourse{}); err != nil {
		log.Fatal(err)
	}
	if err := gormadapter.MigrateLoginTables(ctx, db); err != nil {
		log.Fatal(err)
	}
	t := Tenant{Name: "Northwind University", Issuer: "https://moodle.northwind.edu", OAuthID: "tool-7",
		LoginURL: "https://moodle.northwind.edu/mod/lti/auth.php", JWKSURL: "https://moodle.northwind.edu/mod/lti/certs.php", SeatLimit: 500}
	if err := db.Create(&t).Error; err != nil {
		log.Fatal(err)
	}
	if err := db.Create(&TenantCourse{TenantID: t.ID, DeploymentID: "3", Title: "Chemistry II"}).Error; err != nil {
		log.Fatal(err)
	}

	a, err := gormadapter.NewWithModels(ctx, db, gormadapter.Models[*Tenant, *TenantCourse]{
		IssuerColumn:       "lms_issuer",
		ClientIDColumn:     "lms_client_id",
		RegistrationColumn: "tenant_id",
		DeploymentIDColumn: "lti_deployment_id",
		RegistrationKey:    func(t *Tenant) any { return t.ID },
	})
	if err != nil {
		log.Fatal(err)
	}
	reg, err := a.FindRegistration(ctx, "https://moodle.northwind.edu", "tool-7")
	if err != nil {
		log.Fatal(err)
	}
	tenant := reg.(*Tenant)
	dep, err := a.FindDeployment(ctx, reg, "3")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(tenant.Name, tenant.SeatLimit, dep.(*TenantCourse).Title)
	// Output: Northwind University 500 Chemistry II
}

// Expired states and nonces are deleted in batches; launches never wait
// for it.
func ExampleAdapter_PurgeExpired() {
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
	now := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	a, err := gormadapter.New(ctx, db, gormadapter.WithClock(func() time.Time { return now }))
	if err != nil {
		log.Fatal(err)
	}
	for i, exp := range []time.Time{now.Add(-time.Hour), now.Add(-time.Second), now.Add(time.Hour)} {
		n := nonce.Nonce{Value: fmt.Sprint("n", i), Issuer: "https://lms.example", ClientID: "c", ExpiresAt: exp}
		if err := a.PutNonce(ctx, n); err != nil {
			log.Fatal(err)
		}
	}
	deleted, err := a.PurgeExpired(ctx)
	fmt.Println(deleted, err)
	// Output: 2 <nil>
}
