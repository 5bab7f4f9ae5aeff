package gormadapter_test

import (
	"context"
	"crypto/x509"
	"errors"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"gorm.io/gorm"

	gormadapter "github.com/ltikit/ltikit/adapters/gorm"
	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/toolkey"
	"github.com/ltikit/ltikit/toolkey/toolkeytest"
)

func newToolKeyStore(t testing.TB, db *gorm.DB, opts toolkey.StoreOptions) *gormadapter.ToolKeyStore {
	t.Helper()
	s, err := gormadapter.NewToolKeyStore(context.Background(), db, opts)
	if err != nil {
		t.Fatalf("NewToolKeyStore: %v", err)
	}
	return s
}

// TestToolKeyStoreConformance runs the toolkey conformance suite on both
// databases; every "node" is a pool of its own on the same database.
func TestToolKeyStoreConformance(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			// One migrated database per backend for the whole suite: its
			// subtests run one after another, and each starts from an
			// emptied ltikit_tool_keys (the only table a ToolKeyStore uses),
			// which is the fresh, empty store the suite asks for. A schema
			// of its own per subtest cost PostgreSQL a CREATE SCHEMA, the
			// whole migration and a DROP SCHEMA … CASCADE eleven times over.
			// The pools a subtest opens are closed by its cleanup before
			// the next subtest empties the table.
			openPool, db := migrated(t, b)
			toolkeytest.Run(t, func(t *testing.T, opts toolkey.StoreOptions) func(*testing.T) toolkey.Store {
				if err := db.Exec("DELETE FROM " + gormadapter.ToolKeysTable).Error; err != nil {
					t.Fatalf("emptying %s: %v", gormadapter.ToolKeysTable, err)
				}
				return func(t *testing.T) toolkey.Store { return newToolKeyStore(t, openPool(t), opts) }
			})
		})
	}
}

// TestToolKeyConcurrentRotationTwoPools: many Rotate calls at once from
// two pools leave exactly one active key, which both pools see, and every
// retired key stays published; repeated for several rounds.
func TestToolKeyConcurrentRotationTwoPools(t *testing.T) {
	t.Parallel()
	const (
		perPool = 4
		rounds  = 3
	)
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			openPool, db1 := migrated(t, b)
			db2 := openPool(t)
			clk := toolkeytest.NewClock()
			opts := toolkey.StoreOptions{Grace: time.Hour, Now: clk.Now, NewPrivateKey: toolkeytest.KeySource(t)}
			nodes := []*gormadapter.ToolKeyStore{newToolKeyStore(t, db1, opts), newToolKeyStore(t, db2, opts)}
			ctx := context.Background()
			for round := range rounds {
				var wg sync.WaitGroup
				errs := make([]error, 2*perPool)
				start := make(chan struct{})
				for i := range errs {
					wg.Go(func() {
						<-start
						errs[i] = nodes[i%2].Rotate(ctx, 0)
					})
				}
				close(start)
				wg.Wait()
				for i, err := range errs {
					if err != nil {
						t.Fatalf("round %d: Rotate %d: %v", round, i, err)
					}
				}
				var active int64
				if err := db1.Raw("SELECT COUNT(*) FROM ltikit_tool_keys WHERE retired_at IS NULL").Scan(&active).Error; err != nil {
					t.Fatal(err)
				}
				if active != 1 {
					t.Fatalf("round %d: %d active rows; want exactly 1", round, active)
				}
				k1, err := nodes[0].Active(ctx)
				if err != nil {
					t.Fatal(err)
				}
				k2, err := nodes[1].Active(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if k1.KID() != k2.KID() {
					t.Fatalf("round %d: pools disagree: %s vs %s", round, k1.KID(), k2.KID())
				}
				pub, err := nodes[1].Published(ctx)
				if err != nil {
					t.Fatal(err)
				}
				// Every rotation inserted one key and all are within the
				// grace period (the very first retired nothing).
				if want := (round + 1) * 2 * perPool; len(pub) != want {
					t.Fatalf("round %d: %d published keys; want %d", round, len(pub), want)
				}
			}
		})
	}
}

// TestToolKeySurvivesRestart: a new store on a new pool (a restarted
// process) signs with the same kid.
func TestToolKeySurvivesRestart(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			openPool, db := migrated(t, b)
			ctx := context.Background()
			k1, err := newToolKeyStore(t, db, toolkey.StoreOptions{NewPrivateKey: toolkeytest.KeySource(t)}).Active(ctx)
			if err != nil {
				t.Fatal(err)
			}
			ring, err := toolkey.NewKeyring(newToolKeyStore(t, openPool(t), toolkey.StoreOptions{}))
			if err != nil {
				t.Fatal(err)
			}
			k2, err := ring.ActiveKey(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if k1.KID() != k2.KID() || !k1.CreatedAt().Equal(k2.CreatedAt()) {
				t.Fatalf("after a restart: %v; want %v", k2, k1)
			}
			if _, err := ring.SignJWT(ctx, map[string]any{"iss": "x"}); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// TestToolKeyStoreErrors: a closed pool is storage_unavailable, an
// unmigrated database is ErrNotMigrated, and neither shows key material.
func TestToolKeyStoreErrors(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			openPool := b.newDatabase(t)
			if _, err := gormadapter.NewToolKeyStore(context.Background(), openPool(t), toolkey.StoreOptions{}); !errors.Is(err, gormadapter.ErrNotMigrated) {
				t.Fatalf("unmigrated: %v; want ErrNotMigrated", err)
			}
			db := openPool(t)
			if err := gormadapter.MigrateToolKeys(context.Background(), db); err != nil {
				t.Fatal(err)
			}
			if err := gormadapter.MigrateToolKeys(context.Background(), db); err != nil {
				t.Fatalf("second MigrateToolKeys: %v", err)
			}
			s := newToolKeyStore(t, db, toolkey.StoreOptions{NewPrivateKey: toolkeytest.KeySource(t)})
			k, err := s.Active(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			der, _ := k.MarshalPKCS8()
			closeDB(db)
			ctx := context.Background()
			for name, call := range map[string]func() error{
				"Active":    func() error { _, err := s.Active(ctx); return err },
				"Published": func() error { _, err := s.Published(ctx); return err },
				"Rotate":    func() error { return s.Rotate(ctx, 0) },
			} {
				err := call()
				if !errors.Is(err, lti.ErrStorageUnavailable) {
					t.Errorf("%s on a closed pool: %v; want storage_unavailable", name, err)
				}
				if err != nil && strings.Contains(err.Error(), string(der[40:60])) {
					t.Errorf("%s: error shows key material", name)
				}
			}
			cancelled, cancel := context.WithCancel(context.Background())
			cancel()
			if _, err := gormadapter.NewToolKeyStore(cancelled, openPool(t), toolkey.StoreOptions{}); !errors.Is(err, lti.ErrStorageUnavailable) {
				t.Errorf("cancelled context: %v", err)
			}
			if _, err := gormadapter.NewToolKeyStore(context.Background(), nil, toolkey.StoreOptions{}); err == nil {
				t.Error("nil db accepted")
			}
			if _, err := gormadapter.NewToolKeyStore(context.Background(), openPool(t), toolkey.StoreOptions{RSABits: 1024}); err == nil {
				t.Error("1024-bit keys accepted")
			}
		})
	}
}

// TestDocumentedToolKeysSchema keeps the tool keys SQL shown in doc.go
// identical to what Migrate runs.
func TestDocumentedToolKeysSchema(t *testing.T) {
	t.Parallel()
	src, err := os.ReadFile("doc.go")
	if err != nil {
		t.Fatal(err)
	}
	var doc strings.Builder
	for line := range strings.Lines(string(src)) {
		doc.WriteString(strings.TrimPrefix(strings.TrimPrefix(line, "//"), "\t"))
	}
	normal := func(s string) string { return strings.Join(strings.Fields(s), " ") }
	if !strings.Contains(normal(doc.String()), normal(gormadapter.PostgresToolKeysSQL)) {
		t.Error("doc.go does not show PostgresToolKeysSQL as Migrate runs it")
	}
}

func BenchmarkToolKeyActive(b *testing.B) {
	for _, be := range backends {
		b.Run(be.name, func(b *testing.B) {
			_, db := migrated(b, be)
			s := newToolKeyStore(b, db, toolkey.StoreOptions{NewPrivateKey: toolkeytest.KeySource(b)})
			ctx := context.Background()
			if _, err := s.Active(ctx); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				if _, err := s.Active(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// TestToolKeysActiveFromMigration: a table made before the active_from
// column (the schema of earlier releases) is refused until MigrateToolKeys
// adds the column; its rows then keep working: the active key signs and
// the retired one stays published, and a delayed rotation waits.
func TestToolKeysActiveFromMigration(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			ctx := context.Background()
			db := b.newDatabase(t)(t)
			text := gormadapter.PostgresToolKeysSQL
			if b.name == "sqlite" {
				text = gormadapter.SQLiteToolKeysSQL
			}
			if strings.Contains(text, "active_from") {
				t.Fatal("the table SQL already has active_from: this test needs the schema of earlier releases")
			}
			for stmt := range strings.SplitSeq(text, ";") {
				if strings.TrimSpace(stmt) != "" {
					if err := db.Exec(stmt).Error; err != nil {
						t.Fatal(err)
					}
				}
			}
			clk := toolkeytest.NewClock()
			lend := toolkeytest.KeySource(t)
			row := func(created time.Time, retired bool) string {
				rk, err := lend(toolkey.DefaultRSABits)
				if err != nil {
					t.Fatal(err)
				}
				k, err := toolkey.NewKey(rk, created)
				if err != nil {
					t.Fatal(err)
				}
				priv, _ := k.MarshalPKCS8()
				pub, err := x509.MarshalPKIXPublicKey(k.Public().Key)
				if err != nil {
					t.Fatal(err)
				}
				var ret, exp any
				if retired {
					ret, exp = created.Add(time.Hour), created.Add(48*time.Hour)
				}
				ts := func(v any) any {
					if tm, ok := v.(time.Time); ok && b.name == "sqlite" {
						return tm.UTC().Format("2006-01-02 15:04:05.000000")
					}
					return v
				}
				if err := db.Exec("INSERT INTO ltikit_tool_keys (kid, private_key, public_key, created_at, retired_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)",
					k.KID(), priv, pub, ts(created), ts(ret), ts(exp)).Error; err != nil {
					t.Fatal(err)
				}
				return k.KID()
			}
			old := row(clk.Now().Add(-2*time.Hour), true)
			cur := row(clk.Now().Add(-time.Hour), false)

			if _, err := gormadapter.NewToolKeyStore(ctx, db, toolkey.StoreOptions{}); !errors.Is(err, gormadapter.ErrNotMigrated) {
				t.Fatalf("a table without active_from: %v; want ErrNotMigrated", err)
			}
			for range 2 {
				if err := gormadapter.MigrateToolKeys(ctx, db); err != nil {
					t.Fatalf("MigrateToolKeys: %v", err)
				}
			}
			s := newToolKeyStore(t, db, toolkey.StoreOptions{Grace: time.Hour, Now: clk.Now, NewPrivateKey: lend})
			a, err := s.Active(ctx)
			if err != nil || a.KID() != cur {
				t.Fatalf("Active after the migration = %v, %v; want the existing key %s", a, err, cur)
			}
			pub, err := s.Published(ctx)
			if err != nil || len(pub) != 2 || pub[0].KID != cur || pub[1].KID != old || !pub[0].ActiveFrom.IsZero() {
				t.Fatalf("Published after the migration = %+v, %v; want [%s %s], no active-from", pub, err, cur, old)
			}
			if err := s.Rotate(ctx, time.Minute); err != nil {
				t.Fatal(err)
			}
			if a, _ := s.Active(ctx); a == nil || a.KID() != cur {
				t.Fatalf("during the wait Active = %v; want %s", a, cur)
			}
			clk.Add(time.Minute)
			if a, _ := s.Active(ctx); a == nil || a.KID() == cur || a.KID() == old {
				t.Fatalf("after the wait Active = %v; want the new key", a)
			}
		})
	}
}
