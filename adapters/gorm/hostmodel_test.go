package gormadapter_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"gorm.io/gorm"

	gormadapter "github.com/ltikit/ltikit/adapters/gorm"
	"github.com/ltikit/ltikit/deployment"
	"github.com/ltikit/ltikit/registration"
)

// Platform is a host's own registration model: its own table, its own
// column names, and fields the library knows nothing about.
type Platform struct {
	ID          uint   `gorm:"primaryKey"`
	TenantID    uint   `gorm:"not null;index"`
	DisplayName string `gorm:"not null"`
	Iss         string `gorm:"column:iss;not null;uniqueIndex:platform_iss_client"`
	OAuthClient string `gorm:"column:oauth_client;not null;uniqueIndex:platform_iss_client"`
	LoginURL    string `gorm:"not null"`
	TokenURL    string
	TokenAud    string
	JWKSURL     string `gorm:"column:jwks_url"`
	CreatedAt   time.Time
	Settings    string
	// KeySet is the platform's static key set, if it has one.
	KeySet gormadapter.KeySet `gorm:"column:jwks"`
}

func (Platform) TableName() string { return "platforms" }

// LTIRegistration maps the host's columns to what the library needs.
func (p Platform) LTIRegistration() registration.Registration {
	reg := registration.Registration{
		Issuer:        p.Iss,
		ClientID:      p.OAuthClient,
		AuthEndpoint:  p.LoginURL,
		TokenEndpoint: p.TokenURL,
		TokenAudience: p.TokenAud,
		KeySetURL:     p.JWKSURL,
	}
	if p.KeySet.Set != nil {
		reg.KeySet = p.KeySet.Set
	}
	return reg
}

// Install is a host's own deployment model, referencing platforms by the
// host's primary key.
type Install struct {
	ID          uint     `gorm:"primaryKey"`
	PlatformID  uint     `gorm:"not null;uniqueIndex:install_platform_deployment"`
	Platform    Platform `gorm:"constraint:OnDelete:CASCADE"`
	LTIDeploy   string   `gorm:"column:lti_deployment;not null;uniqueIndex:install_platform_deployment"`
	CourseLabel string
}

func (Install) TableName() string { return "platform_installs" }

func (i *Install) LTIDeployment() deployment.Deployment {
	return deployment.Deployment{DeploymentID: i.LTIDeploy}
}

// hostModels describes Platform and Install to the adapter. R is the value
// type Platform, D the pointer type *Install: both shapes work.
var hostModels = gormadapter.Models[Platform, *Install]{
	IssuerColumn:       "iss",
	ClientIDColumn:     "oauth_client",
	RegistrationColumn: "platform_id",
	DeploymentIDColumn: "lti_deployment",
	RegistrationKey:    func(p Platform) any { return p.ID },
}

// migrateHost creates the host's tables the host's way, and the adapter's
// login tables.
func migrateHost(t testing.TB, db *gorm.DB) {
	t.Helper()
	if err := db.AutoMigrate(&Platform{}, &Install{}); err != nil {
		t.Fatalf("AutoMigrate: %v", err)
	}
	if err := gormadapter.MigrateLoginTables(context.Background(), db); err != nil {
		t.Fatalf("MigrateLoginTables: %v", err)
	}
}

func TestHostModels(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			db := b.newDatabase(t)(t)
			if _, err := gormadapter.NewWithModels(ctx, db, hostModels); !errors.Is(err, gormadapter.ErrNotMigrated) {
				t.Fatalf("NewWithModels before the host's tables exist = %v, want ErrNotMigrated", err)
			}
			migrateHost(t, db)
			a, err := gormadapter.NewWithModels(ctx, db, hostModels)
			if err != nil {
				t.Fatalf("NewWithModels: %v", err)
			}
			// The default models' tables were never created, and are not needed.
			if db.Migrator().HasTable(gormadapter.RegistrationsTable) {
				t.Error("MigrateLoginTables created the default registrations table")
			}

			p := Platform{TenantID: 42, DisplayName: "Canvas (prod)", Iss: "https://canvas.example", OAuthClient: "10000000000001",
				LoginURL: "https://canvas.example/api/lti/authorize_redirect", JWKSURL: "https://canvas.example/api/lti/security/jwks", Settings: `{"theme":"dark"}`}
			other := p
			other.OAuthClient, other.TenantID = "10000000000002", 43
			for _, row := range []*Platform{&p, &other} {
				if err := db.Create(row).Error; err != nil {
					t.Fatal(err)
				}
			}
			inst := Install{PlatformID: p.ID, LTIDeploy: "1:abc", CourseLabel: "Physics 101"}
			if err := db.Create(&inst).Error; err != nil {
				t.Fatal(err)
			}

			got, err := a.FindRegistration(ctx, p.Iss, p.OAuthClient)
			if err != nil {
				t.Fatalf("FindRegistration: %v", err)
			}
			gp, ok := got.(Platform)
			if !ok {
				t.Fatalf("FindRegistration returned %T, want Platform", got)
			}
			if gp.ID != p.ID || gp.TenantID != 42 || gp.DisplayName != p.DisplayName || gp.Settings != p.Settings || gp.CreatedAt.IsZero() {
				t.Errorf("host fields not filled: %+v", gp)
			}
			if err := gp.LTIRegistration().Validate(); err != nil {
				t.Errorf("Validate: %v", err)
			}
			if _, err := a.FindRegistration(ctx, p.Iss, ""); !errors.Is(err, registration.ErrAmbiguous) {
				t.Errorf("two clients of one issuer without client_id = %v, want ErrAmbiguous", err)
			}

			d, err := a.FindDeployment(ctx, got, "1:abc")
			if err != nil {
				t.Fatalf("FindDeployment: %v", err)
			}
			gi, ok := d.(*Install)
			if !ok || gi.ID != inst.ID || gi.CourseLabel != "Physics 101" || gi.PlatformID != p.ID {
				t.Errorf("FindDeployment = %#v, want the host's *Install", d)
			}
			// The other platform has no such deployment.
			og, err := a.FindRegistration(ctx, other.Iss, other.OAuthClient)
			if err != nil {
				t.Fatal(err)
			}
			if og.(Platform).TenantID != 43 {
				t.Errorf("wrong platform: %+v", og)
			}
			if _, err := a.FindDeployment(ctx, og, "1:abc"); !errors.Is(err, deployment.ErrNotFound) {
				t.Errorf("deployment of another platform = %v, want ErrNotFound", err)
			}
			// A plain Registration is resolved to the host row first.
			if d, err := a.FindDeployment(ctx, p.LTIRegistration(), "1:abc"); err != nil || d.(*Install).ID != inst.ID {
				t.Errorf("FindDeployment(plain registration) = %v, %v", d, err)
			}
			// Soft-deleted-style host logic stays the host's: a deleted row is gone.
			if err := db.Delete(&Platform{}, other.ID).Error; err != nil {
				t.Fatal(err)
			}
			if _, err := a.FindRegistration(ctx, other.Iss, other.OAuthClient); !errors.Is(err, registration.ErrNotFound) {
				t.Errorf("deleted platform = %v, want ErrNotFound", err)
			}
		})
	}
}
