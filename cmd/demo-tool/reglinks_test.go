package main

import (
	"context"
	"errors"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	gormpostgres "github.com/ltikit/ltikit/adapters/gorm/postgres"
	gormsqlite "github.com/ltikit/ltikit/adapters/gorm/sqlite"
)

func TestRegLinks(t *testing.T) {
	t.Parallel()
	for _, kind := range []string{"sqlite", "postgres"} {
		t.Run(kind, func(t *testing.T) {
			db1, db2 := linkDBs(t, kind)
			ctx := t.Context()
			now := time.Date(2026, 12, 4, 10, 0, 0, 0, time.UTC)
			n1, n2 := newRegLinks(db1), newRegLinks(db2)
			n1.now = func() time.Time { return now }
			n2.now = n1.now

			token, expires, err := n1.create(ctx, time.Hour, "moodle sandbox")
			if err != nil {
				t.Fatal(err)
			}
			if len(token) != linkTokenLen || !expires.Equal(now.Add(time.Hour)) {
				t.Fatalf("create = %q (len %d), expires %v", token, len(token), expires)
			}

			// Wrong, truncated and empty tokens take nothing.
			for _, bad := range []string{"", token[:linkTokenLen-1], token + "A", "AAAAAAAAAAAAAAAAAAAAAAAAAA"} {
				if err := n2.use(ctx, bad); !errors.Is(err, errNoLink) {
					t.Errorf("use(%q) = %v, want errNoLink", bad, err)
				}
			}

			if err := n2.check(ctx, token); err != nil {
				t.Fatalf("check of a fresh link = %v", err)
			}
			if err := n2.check(ctx, token); err != nil {
				t.Fatalf("check does not spend the link, yet a second check = %v", err)
			}

			// Many goroutines on two pools present the token at once:
			// exactly one gets it.
			var wins atomic.Int32
			var wg sync.WaitGroup
			for i := range 64 {
				wg.Go(func() {
					l := n1
					if i%2 == 1 {
						l = n2
					}
					switch err := l.use(ctx, token); {
					case err == nil:
						wins.Add(1)
					case !errors.Is(err, errNoLink):
						t.Errorf("use: %v", err)
					}
				})
			}
			wg.Wait()
			if got := wins.Load(); got != 1 {
				t.Fatalf("%d concurrent uses of one link succeeded, want exactly 1", got)
			}

			if err := n1.check(ctx, token); !errors.Is(err, errNoLink) {
				t.Fatalf("check of a used link = %v, want errNoLink", err)
			}

			// An expired link is refused, even unused.
			old, _, err := n1.create(ctx, time.Minute, "")
			if err != nil {
				t.Fatal(err)
			}
			later := now.Add(time.Minute)
			n2.now = func() time.Time { return later }
			if err := n2.check(ctx, old); !errors.Is(err, errNoLink) {
				t.Fatalf("check of an expired link = %v, want errNoLink", err)
			}
			if err := n2.use(ctx, old); !errors.Is(err, errNoLink) {
				t.Fatalf("use of an expired link = %v, want errNoLink", err)
			}

			rows, err := n1.list(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if len(rows) != 2 {
				t.Fatalf("list = %d rows, want 2", len(rows))
			}
			used := 0
			for _, r := range rows {
				if r.UsedAt != nil {
					used++
				}
			}
			if used != 1 {
				t.Fatalf("list shows %d used links, want 1", used)
			}
		})
	}
}

// linkDBs returns two pools ("nodes") on one fresh database of kind.
func linkDBs(t *testing.T, kind string) (*gorm.DB, *gorm.DB) {
	t.Helper()
	cfg := &gorm.Config{SkipDefaultTransaction: true, Logger: logger.Discard}
	var dsn string
	if kind == "postgres" {
		dsn = postgresDSN(t, 1)
	} else {
		dsn = filepath.Join(t.TempDir(), "links.db")
	}
	open := func() *gorm.DB {
		var db *gorm.DB
		var err error
		if kind == "postgres" {
			db, err = gormpostgres.Open(dsn, cfg)
		} else {
			db, err = gormsqlite.Open(dsn, cfg)
		}
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if sqlDB, err := db.DB(); err == nil {
				sqlDB.Close()
			}
		})
		return db
	}
	a, b := open(), open()
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	if err := migrateRegLinks(ctx, a); err != nil {
		t.Fatal(err)
	}
	return a, b
}
