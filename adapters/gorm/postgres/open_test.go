package gormpostgres_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"

	gormadapter "github.com/ltikit/ltikit/adapters/gorm"
	gormpostgres "github.com/ltikit/ltikit/adapters/gorm/postgres"
	"github.com/ltikit/ltikit/internal/pgtest"
	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/nonce"
)

// TestOpenDB: the adapter runs on a host's own pgxpool through
// stdlib.OpenDBFromPool, and the pool keeps the host's limits; a nil pool,
// and a pool whose server does not answer, are storage_unavailable.
func TestOpenDB(t *testing.T) {
	t.Parallel()
	const hostLimit = 3
	dsn := pgtest.Schema(t, "gormpostgres_opendb_", hostLimit+1)
	ctx := context.Background()

	t.Run("host pgxpool", func(t *testing.T) {
		cfg, err := pgxpool.ParseConfig(dsn)
		if err != nil {
			t.Fatal(err)
		}
		cfg.MaxConns = hostLimit
		pool, err := pgxpool.NewWithConfig(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		defer pool.Close()
		sqlDB := stdlib.OpenDBFromPool(pool)
		defer sqlDB.Close()
		sqlDB.SetMaxOpenConns(hostLimit)
		db, err := gormpostgres.OpenDB(sqlDB)
		if err != nil {
			t.Fatalf("OpenDB: %v", err)
		}
		if got := sqlDB.Stats().MaxOpenConnections; got != hostLimit {
			t.Errorf("OpenDB changed the pool's limit to %d, want the host's %d", got, hostLimit)
		}
		if err := gormadapter.Migrate(ctx, db); err != nil {
			t.Fatalf("Migrate: %v", err)
		}
		a, err := gormadapter.New(ctx, db)
		if err != nil {
			t.Fatalf("New: %v", err)
		}
		l := nonce.Login{
			State: nonce.NewValue(), Nonce: nonce.NewValue(),
			Issuer: "https://lms.example.com", ClientID: "client-1",
			TargetLinkURI: "https://tool.example.com/lti/launch",
			ExpiresAt:     time.Now().Add(time.Minute),
		}
		l.Binding = l.Bind()
		if err := a.PutState(ctx, l); err != nil {
			t.Fatalf("PutState: %v", err)
		}
		if _, err := a.TakeState(ctx, l.State); err != nil {
			t.Fatalf("TakeState: %v", err)
		}
		if _, err := a.TakeState(ctx, l.State); err == nil {
			t.Fatal("the state was taken twice")
		}
	})

	t.Run("nil pool", func(t *testing.T) {
		if _, err := gormpostgres.OpenDB(nil); !errors.Is(err, lti.ErrStorageUnavailable) {
			t.Fatalf("OpenDB(nil) = %v, want storage_unavailable", err)
		}
	})

	t.Run("server does not answer", func(t *testing.T) {
		cfg, err := pgx.ParseConfig(pgtest.UnreachableDSN(t, dsn))
		if err != nil {
			t.Fatal(err)
		}
		sqlDB := stdlib.OpenDB(*cfg)
		defer sqlDB.Close()
		if _, err := gormpostgres.OpenDB(sqlDB); !errors.Is(err, lti.ErrStorageUnavailable) {
			t.Fatalf("OpenDB on a closed port = %v, want storage_unavailable", err)
		}
	})
}
