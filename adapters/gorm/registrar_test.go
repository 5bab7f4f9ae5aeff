package gormadapter_test

import (
	"context"
	"errors"
	"testing"

	"gorm.io/gorm"

	gormadapter "github.com/ltikit/ltikit/adapters/gorm"
	"github.com/ltikit/ltikit/deployment"
	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/registration"
	"github.com/ltikit/ltikit/storage"
	"github.com/ltikit/ltikit/storage/storagetest"
)

// writableHostModels are hostModels with the constructors that let the
// adapter create Platform and Install rows.
var writableHostModels = func() gormadapter.Models[Platform, *Install] {
	m := hostModels
	m.NewRegistration = func(r registration.Registration) Platform {
		return Platform{
			TenantID: 1, DisplayName: "created for " + r.Issuer, Iss: r.Issuer, OAuthClient: r.ClientID,
			LoginURL: r.AuthEndpoint, TokenURL: r.TokenEndpoint, TokenAud: r.TokenAudience, JWKSURL: r.KeySetURL,
			KeySet: gormadapter.KeySet{Set: r.KeySet},
		}
	}
	m.NewDeployment = func(p Platform, id string) *Install {
		return &Install{PlatformID: p.ID, LTIDeploy: id, CourseLabel: "created"}
	}
	return m
}()

// TestRegistrarConformance runs the Registrar suite on PostgreSQL and a
// SQLite file, with the default models and with a host's own models, each
// with a second adapter on a pool of its own (a second process) for the
// races.
func TestRegistrarConformance(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Run("DefaultModels", func(t *testing.T) {
				openPool, db := migrated(t, b)
				a, other := mustNew(t, db), mustNew(t, openPool(t))
				storagetest.RunRegistrar(t, func(t *testing.T) storagetest.RegistrarHarness {
					return storagetest.RegistrarHarness{Adapter: a, Registrar: a, Other: other}
				})
			})
			t.Run("HostModels", func(t *testing.T) {
				openPool := b.newDatabase(t)
				db := openPool(t)
				migrateHost(t, db)
				a := mustNewWithModels(t, db, writableHostModels)
				other := mustNewWithModels(t, openPool(t), writableHostModels)
				storagetest.RunRegistrar(t, func(t *testing.T) storagetest.RegistrarHarness {
					return storagetest.RegistrarHarness{Adapter: a, Registrar: a, Other: other}
				})
			})
		})
	}
}

func mustNewWithModels(t testing.TB, db *gorm.DB, m gormadapter.Models[Platform, *Install]) *gormadapter.Adapter {
	t.Helper()
	a, err := gormadapter.NewWithModels(context.Background(), db, m)
	if err != nil {
		t.Fatalf("NewWithModels: %v", err)
	}
	return a
}

// Host models without NewRegistration and NewDeployment: the creates are
// errors.ErrUnsupported and write nothing; listing and deleting work
// through the configured columns.
func TestRegistrarHostModelsReadOnly(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ctx := t.Context()
			db := b.newDatabase(t)(t)
			migrateHost(t, db)
			a := mustNewWithModels(t, db, hostModels)
			reg := registration.Registration{Issuer: "https://canvas.example", ClientID: "10000000000001",
				AuthEndpoint: "https://canvas.example/auth", KeySetURL: "https://canvas.example/jwks"}

			if err := a.CreateRegistration(ctx, reg); !errors.Is(err, errors.ErrUnsupported) {
				t.Errorf("CreateRegistration = %v, want errors.ErrUnsupported", err)
			}
			if _, err := a.FindRegistration(ctx, reg.Issuer, reg.ClientID); !errors.Is(err, registration.ErrNotFound) {
				t.Errorf("FindRegistration after an unsupported create = %v, want ErrNotFound", err)
			}
			if err := addPlatform(ctx, db, reg); err != nil {
				t.Fatal(err)
			}
			if err := a.CreateDeployment(ctx, reg.Key(), "d1"); !errors.Is(err, errors.ErrUnsupported) {
				t.Errorf("CreateDeployment = %v, want errors.ErrUnsupported", err)
			}
			var p Platform
			if err := db.Where("iss = ?", reg.Issuer).Take(&p).Error; err != nil {
				t.Fatal(err)
			}
			for _, id := range []string{"d2", "d1"} {
				if err := db.Create(&Install{PlatformID: p.ID, LTIDeploy: id}).Error; err != nil {
					t.Fatal(err)
				}
			}
			entries, err := a.Registrations(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(entries) != 1 || entries[0].Registration.Key() != reg.Key() || len(entries[0].Deployments) != 2 ||
				entries[0].Deployments[0] != "d1" || entries[0].Deployments[1] != "d2" {
				t.Errorf("Registrations = %+v", entries)
			}
			if err := a.DeleteDeployment(ctx, reg.Key(), "d2"); err != nil {
				t.Errorf("DeleteDeployment: %v", err)
			}
			if err := a.DeleteRegistration(ctx, reg.Key()); err != nil {
				t.Errorf("DeleteRegistration: %v", err)
			}
			var n int64
			if err := db.Model(&Install{}).Count(&n).Error; err != nil || n != 0 {
				t.Errorf("%d installs left after DeleteRegistration (%v), want 0", n, err)
			}
			if entries, err := a.Registrations(ctx); err != nil || len(entries) != 0 {
				t.Errorf("Registrations after delete = %+v, %v; want none", entries, err)
			}
		})
	}
}

// A NewRegistration that does not give the registration back (here: no
// static key set column) or builds another key fails the create, as the
// host's mistake and not storage_unavailable, and writes nothing.
func TestRegistrarHostModelMistakes(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ctx := t.Context()
			db := b.newDatabase(t)(t)
			migrateHost(t, db)
			reg := registration.Registration{Issuer: "https://canvas.example", ClientID: "c1",
				AuthEndpoint: "https://canvas.example/auth", KeySetURL: "https://canvas.example/jwks"}
			tests := []struct {
				name   string
				modify func(m *gormadapter.Models[Platform, *Install])
				ids    []string
			}{
				{"OtherKey", func(m *gormadapter.Models[Platform, *Install]) {
					next := m.NewRegistration
					m.NewRegistration = func(r registration.Registration) Platform {
						p := next(r)
						p.OAuthClient += "-other"
						return p
					}
				}, nil},
				{"DropsField", func(m *gormadapter.Models[Platform, *Install]) {
					next := m.NewRegistration
					m.NewRegistration = func(r registration.Registration) Platform {
						p := next(r)
						p.TokenURL = "https://canvas.example/token"
						return p
					}
				}, nil},
				{"OtherDeployment", func(m *gormadapter.Models[Platform, *Install]) {
					m.NewDeployment = func(p Platform, id string) *Install { return &Install{PlatformID: p.ID, LTIDeploy: id + "x"} }
				}, []string{"d1"}},
				{"NilDeployment", func(m *gormadapter.Models[Platform, *Install]) {
					m.NewDeployment = func(Platform, string) *Install { return nil }
				}, []string{"d1"}},
			}
			for _, tc := range tests {
				t.Run(tc.name, func(t *testing.T) {
					m := writableHostModels
					tc.modify(&m)
					a := mustNewWithModels(t, db, m)
					err := a.CreateRegistration(ctx, reg, tc.ids...)
					if err == nil || errors.Is(err, lti.ErrStorageUnavailable) || errors.Is(err, storage.ErrExists) {
						t.Errorf("CreateRegistration = %v; want the host's mistake", err)
					}
					if entries, err := a.Registrations(ctx); err != nil || len(entries) != 0 {
						t.Errorf("Registrations after a failed create = %+v, %v; want none", entries, err)
					}
				})
			}
		})
	}
}

// The adapter reads the constraint violations of both databases itself,
// whether or not the *gorm.DB translates errors.
func TestConstraintViolations(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		for _, translate := range []bool{false, true} {
			name := b.name
			if translate {
				name += "/TranslateError"
			}
			t.Run(name, func(t *testing.T) {
				ctx := t.Context()
				_, db := migrated(t, b)
				a := mustNew(t, db)
				if translate {
					db = db.Session(&gorm.Session{})
					db.Config.TranslateError = true
				}
				row := gormadapter.NewRegistration(registration.Registration{Issuer: "https://lms.example", ClientID: "c",
					AuthEndpoint: "https://lms.example/auth", KeySetURL: "https://lms.example/jwks"})
				if err := db.WithContext(ctx).Create(row).Error; err != nil {
					t.Fatal(err)
				}
				dup := *row
				dup.ID = 0
				err := db.WithContext(ctx).Create(&dup).Error
				if err == nil || !gormadapter.IsUniqueViolation(a, err) {
					t.Errorf("duplicate (issuer, client_id): IsUniqueViolation(%v) = false", err)
				}
				if gormadapter.IsForeignKeyViolation(a, err) {
					t.Errorf("duplicate (issuer, client_id): IsForeignKeyViolation(%v) = true", err)
				}
				dep := gormadapter.Deployment{RegistrationID: row.ID, DeploymentID: "d"}
				if err := db.WithContext(ctx).Create(&dep).Error; err != nil {
					t.Fatal(err)
				}
				err = db.WithContext(ctx).Create(&gormadapter.Deployment{RegistrationID: row.ID, DeploymentID: "d"}).Error
				if err == nil || !gormadapter.IsUniqueViolation(a, err) {
					t.Errorf("duplicate deployment: IsUniqueViolation(%v) = false", err)
				}
				err = db.WithContext(ctx).Create(&gormadapter.Deployment{RegistrationID: row.ID + 1000, DeploymentID: "d"}).Error
				if err == nil || !gormadapter.IsForeignKeyViolation(a, err) || gormadapter.IsUniqueViolation(a, err) {
					t.Errorf("deployment of no registration: IsForeignKeyViolation(%v) = false", err)
				}
				if gormadapter.IsUniqueViolation(a, errors.New("other")) || gormadapter.IsUniqueViolation(a, nil) {
					t.Error("IsUniqueViolation of another error = true")
				}
			})
		}
	}
}

// A database that fails is storage_unavailable for every Registrar method,
// never a refusal.
func TestRegistrarUnavailable(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ctx := t.Context()
			openPool, _ := migrated(t, b)
			db := openPool(t)
			a := mustNew(t, db)
			reg := registration.Registration{Issuer: "https://lms.example", ClientID: "c",
				AuthEndpoint: "https://lms.example/auth", KeySetURL: "https://lms.example/jwks"}
			if err := a.CreateRegistration(ctx, reg, "d1"); err != nil {
				t.Fatal(err)
			}
			closeDB(db)
			calls := map[string]func() error{
				"CreateRegistration": func() error { return a.CreateRegistration(ctx, reg) },
				"CreateDeployment":   func() error { return a.CreateDeployment(ctx, reg.Key(), "d2") },
				"DeleteDeployment":   func() error { return a.DeleteDeployment(ctx, reg.Key(), "d1") },
				"DeleteRegistration": func() error { return a.DeleteRegistration(ctx, reg.Key()) },
				"Registrations":      func() error { _, err := a.Registrations(ctx); return err },
			}
			for name, call := range calls {
				err := call()
				if !errors.Is(err, lti.ErrStorageUnavailable) {
					t.Errorf("%s on a closed pool = %v, want storage_unavailable", name, err)
				}
				if errors.Is(err, storage.ErrExists) || errors.Is(err, registration.ErrNotFound) || errors.Is(err, deployment.ErrNotFound) {
					t.Errorf("%s on a closed pool = %v, a refusal", name, err)
				}
			}
		})
	}
}

// Input PostgreSQL's text cannot hold is refused before the database, as
// invalid input or not found, never storage_unavailable.
func TestRegistrarUnusableText(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ctx := t.Context()
			_, db := migrated(t, b)
			a := mustNew(t, db)
			reg := registration.Registration{Issuer: "https://lms.example", ClientID: "c",
				AuthEndpoint: "https://lms.example/auth", KeySetURL: "https://lms.example/jwks"}
			if err := a.CreateRegistration(ctx, reg, "d1"); err != nil {
				t.Fatal(err)
			}
			bad := reg
			bad.ClientID = "c\x00"
			if err := a.CreateRegistration(ctx, bad); err == nil || errors.Is(err, lti.ErrStorageUnavailable) {
				t.Errorf("CreateRegistration with NUL = %v, want invalid input", err)
			}
			bad.ClientID = "c\xff"
			if err := a.CreateRegistration(ctx, bad); err == nil || errors.Is(err, lti.ErrStorageUnavailable) {
				t.Errorf("CreateRegistration with invalid UTF-8 = %v, want invalid input", err)
			}
			for _, id := range []string{"d\x00", "d\xff"} {
				if err := a.CreateDeployment(ctx, reg.Key(), id); err == nil || errors.Is(err, lti.ErrStorageUnavailable) {
					t.Errorf("CreateDeployment(%q) = %v, want invalid input", id, err)
				}
				if err := a.DeleteDeployment(ctx, reg.Key(), id); !errors.Is(err, deployment.ErrNotFound) {
					t.Errorf("DeleteDeployment(%q) = %v, want deployment.ErrNotFound", id, err)
				}
			}
			badKey := registration.Key{Issuer: reg.Issuer, ClientID: "c\x00"}
			if err := a.CreateDeployment(ctx, badKey, "d2"); !errors.Is(err, registration.ErrNotFound) {
				t.Errorf("CreateDeployment under a NUL key = %v, want registration.ErrNotFound", err)
			}
			if err := a.DeleteRegistration(ctx, badKey); !errors.Is(err, registration.ErrNotFound) {
				t.Errorf("DeleteRegistration of a NUL key = %v, want registration.ErrNotFound", err)
			}
			if err := a.DeleteDeployment(ctx, badKey, "d1"); !errors.Is(err, registration.ErrNotFound) {
				t.Errorf("DeleteDeployment under a NUL key = %v, want registration.ErrNotFound", err)
			}
		})
	}
}
