package gormadapter_test

import (
	"context"
	"testing"
	"time"

	"gorm.io/gorm"

	gormadapter "github.com/ltikit/ltikit/adapters/gorm"
	"github.com/ltikit/ltikit/deployment"
	"github.com/ltikit/ltikit/registration"
	"github.com/ltikit/ltikit/storage/storagetest"
)

// TestConformance runs the shared storage suite against PostgreSQL and a
// SQLite file, with the default models and with a host's own models, each
// with a fake clock far from time.Now (so expiry must be judged with the
// adapter's clock, never the database's).
func TestConformance(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Run("DefaultModels", func(t *testing.T) {
				_, db := migrated(t, b)
				clk := newClock()
				a := mustNew(t, db, gormadapter.WithClock(clk.Now))
				storagetest.Run(t, func(t *testing.T) storagetest.Harness {
					return storagetest.Harness{
						Adapter: a,
						AddRegistration: func(ctx context.Context, r registration.Registration) error {
							return db.WithContext(ctx).Create(gormadapter.NewRegistration(r)).Error
						},
						AddDeployment: func(ctx context.Context, r registration.Registration, d deployment.Deployment) error {
							var row gormadapter.Registration
							if err := db.WithContext(ctx).Where("issuer = ? AND client_id = ?", r.Issuer, r.ClientID).Take(&row).Error; err != nil {
								return err
							}
							return db.WithContext(ctx).Create(&gormadapter.Deployment{RegistrationID: row.ID, DeploymentID: d.DeploymentID}).Error
						},
						Now: clk.Now,
					}
				})
			})
			t.Run("HostModels", func(t *testing.T) {
				db := b.newDatabase(t)(t)
				migrateHost(t, db)
				clk := newClock()
				clk.Set(time.Date(2019, 6, 7, 8, 9, 10, 0, time.UTC))
				a, err := gormadapter.NewWithModels(context.Background(), db, hostModels, gormadapter.WithClock(clk.Now))
				if err != nil {
					t.Fatal(err)
				}
				storagetest.Run(t, func(t *testing.T) storagetest.Harness {
					return storagetest.Harness{
						Adapter:         a,
						AddRegistration: func(ctx context.Context, r registration.Registration) error { return addPlatform(ctx, db, r) },
						AddDeployment: func(ctx context.Context, r registration.Registration, d deployment.Deployment) error {
							var p Platform
							if err := db.WithContext(ctx).Where("iss = ? AND oauth_client = ?", r.Issuer, r.ClientID).Take(&p).Error; err != nil {
								return err
							}
							return db.WithContext(ctx).Create(&Install{PlatformID: p.ID, LTIDeploy: d.DeploymentID}).Error
						},
						Now: clk.Now,
					}
				})
			})
		})
	}
}

func addPlatform(ctx context.Context, db *gorm.DB, r registration.Registration) error {
	return db.WithContext(ctx).Create(&Platform{
		TenantID: 1, DisplayName: r.Issuer, Iss: r.Issuer, OAuthClient: r.ClientID,
		LoginURL: r.AuthEndpoint, TokenURL: r.TokenEndpoint, TokenAud: r.TokenAudience, JWKSURL: r.KeySetURL,
	}).Error
}
