package gormadapter_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	gormadapter "github.com/ltikit/ltikit/adapters/gorm"
	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/session"
	"github.com/ltikit/ltikit/session/sessiontest"
)

// TestSessionConformance runs the session store suite against PostgreSQL
// and a SQLite file, with a fake clock far from time.Now (so expiry must be
// judged with the adapter's clock, never the database's), and with the
// host's own models (the sessions table comes with MigrateLoginTables).
func TestSessionConformance(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			t.Run("DefaultModels", func(t *testing.T) {
				_, db := migrated(t, b)
				clk := newClock()
				a := mustNew(t, db, gormadapter.WithClock(clk.Now))
				sessiontest.Run(t, func(t *testing.T) session.Store { return a }, sessiontest.WithClock(clk.Now))
			})
			t.Run("HostModels", func(t *testing.T) {
				db := b.newDatabase(t)(t)
				migrateHost(t, db)
				a, err := gormadapter.NewWithModels(context.Background(), db, hostModels)
				if err != nil {
					t.Fatal(err)
				}
				sessiontest.Run(t, func(t *testing.T) session.Store { return a })
			})
		})
	}
}

func sessionRecord(now time.Time, idle, abs time.Duration) session.Record {
	return session.Record{
		ID: session.IDOf(randomHex(16)), Issuer: "https://lms.example", ClientID: "c", DeploymentID: "d", Subject: "s",
		Claims: []byte(`{"iss":"https://lms.example"}`), CSRF: randomHex(16),
		CreatedAt: now, IdleExpiresAt: now.Add(idle), ExpiresAt: now.Add(abs),
	}
}

// TestPurgeExpiredSessions: PurgeExpired and the sweeper delete sessions
// past either expiry, and only those.
func TestPurgeExpiredSessions(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			_, db := migrated(t, b)
			clk := newClock()
			a := mustNew(t, db, gormadapter.WithClock(clk.Now))
			ctx := context.Background()
			now := clk.Now()
			idleGone := sessionRecord(now, -time.Second, time.Hour)
			bothGone := sessionRecord(now, -time.Hour, -time.Minute)
			atNow := sessionRecord(now, 0, time.Hour)
			live := sessionRecord(now, time.Minute, time.Hour)
			for _, r := range []session.Record{idleGone, bothGone, atNow, live} {
				if err := a.PutSession(ctx, r); err != nil {
					t.Fatal(err)
				}
			}
			if _, err := a.GetSession(ctx, idleGone.ID); !errors.Is(err, session.ErrExpired) {
				t.Errorf("GetSession of an unpurged expired session = %v, want ErrExpired", err)
			}
			if n, err := a.PurgeExpired(ctx); n != 3 || err != nil {
				t.Fatalf("PurgeExpired = %d, %v; want 3, nil", n, err)
			}
			for _, r := range []session.Record{idleGone, bothGone, atNow} {
				if _, err := a.GetSession(ctx, r.ID); !errors.Is(err, session.ErrNotFound) {
					t.Errorf("GetSession of a purged session = %v, want ErrNotFound", err)
				}
			}
			if err := a.TouchSession(ctx, live.ID, now.Add(30*time.Minute)); err != nil {
				t.Fatal(err)
			}
			clk.Add(10 * time.Minute)
			if n, err := a.PurgeExpired(ctx); n != 0 || err != nil {
				t.Errorf("PurgeExpired after a touch = %d, %v; want 0, nil", n, err)
			}
			clk.Add(time.Hour)
			stop := a.StartSweeper(10 * time.Millisecond)
			defer stop()
			deadline := time.Now().Add(10 * time.Second)
			for {
				var count int64
				if err := db.Table(gormadapter.LaunchSessionsTable).Count(&count).Error; err != nil {
					t.Fatal(err)
				}
				if count == 0 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the sweeper left %d sessions", count)
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
}

// TestSessionRevokedAcrossPools: two independent pools on one database play
// two tool nodes. Goroutines on both read and touch one session while it is
// deleted (revoked) through the first pool; every call that starts after
// the delete returned, on either pool, must be refused as ErrNotFound, and
// none may fail with a storage error. 20 rounds.
func TestSessionRevokedAcrossPools(t *testing.T) {
	t.Parallel()
	const (
		goroutines = 32
		rounds     = 20
	)
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			openPool, db1 := migrated(t, b)
			db2 := openPool(t)
			nodes := [2]*gormadapter.Adapter{mustNew(t, db1), mustNew(t, db2)}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			for round := range rounds {
				now := time.Now()
				r := sessionRecord(now, time.Minute, time.Hour)
				if err := nodes[round%2].PutSession(ctx, r); err != nil {
					t.Fatal(err)
				}
				var (
					wg      sync.WaitGroup
					revoked atomic.Bool
					before  atomic.Int64 // successful calls before the delete
					running atomic.Int64 // callers that have not returned
					start   = make(chan struct{})
				)
				bad := make(chan string, goroutines+1)
				for i := range goroutines {
					// Three of four callers on the pool that does not delete.
					node := nodes[1]
					if i%4 == 0 {
						node = nodes[0]
					}
					running.Add(1)
					wg.Go(func() {
						defer running.Add(-1)
						<-start
						for n, post := 0, 0; post < 3; n++ {
							after := revoked.Load()
							var err error
							if n%2 == 0 {
								_, err = node.GetSession(ctx, r.ID)
							} else {
								err = node.TouchSession(ctx, r.ID, time.Now().Add(time.Duration(2+n)*time.Second+time.Minute))
							}
							switch {
							case after && !errors.Is(err, session.ErrNotFound):
								bad <- fmt.Sprintf("call started after the revocation: %v, want ErrNotFound", err)
								return
							case err != nil && !errors.Is(err, session.ErrNotFound):
								bad <- fmt.Sprintf("call during the revocation: %v", err)
								return
							case err == nil:
								before.Add(1)
							}
							if after {
								post++
							}
						}
					})
				}
				wg.Go(func() {
					<-start
					for before.Load() < goroutines && running.Load() > 0 {
						time.Sleep(200 * time.Microsecond)
					}
					if err := nodes[0].DeleteSession(ctx, r.ID); err != nil {
						bad <- fmt.Sprintf("DeleteSession: %v", err)
					}
					revoked.Store(true)
				})
				close(start)
				wg.Wait()
				close(bad)
				for msg := range bad {
					t.Fatalf("round %d: %s", round, msg)
				}
			}
		})
	}
}

// TestSessionStoreFailures: on a closed pool every session method fails as
// storage_unavailable, never as a refused session.
func TestSessionStoreFailures(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			_, db := migrated(t, b)
			a := mustNew(t, db)
			ctx := context.Background()
			r := sessionRecord(time.Now(), time.Hour, 2*time.Hour)
			if err := a.PutSession(ctx, r); err != nil {
				t.Fatal(err)
			}
			closeDB(db)
			check := func(op string, err error) {
				t.Helper()
				if !errors.Is(err, lti.ErrStorageUnavailable) || errors.Is(err, session.ErrNotFound) || errors.Is(err, session.ErrExpired) {
					t.Errorf("%s on a closed pool = %v; want storage_unavailable only", op, err)
				}
			}
			check("PutSession", a.PutSession(ctx, sessionRecord(time.Now(), time.Hour, 2*time.Hour)))
			got, err := a.GetSession(ctx, r.ID)
			check("GetSession", err)
			if got.ID != "" {
				t.Error("GetSession on a closed pool returned a record")
			}
			check("TouchSession", a.TouchSession(ctx, r.ID, time.Now().Add(90*time.Minute)))
			check("DeleteSession", a.DeleteSession(ctx, r.ID))
			dup := a.PutSession(ctx, r)
			check("PutSession of a stored id", dup)
		})
	}
}

// TestSessionsTableRequired: an adapter needs the sessions table, which
// both migrations create.
func TestSessionsTableRequired(t *testing.T) {
	t.Parallel()
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			_, db := migrated(t, b)
			if err := db.Exec("DROP TABLE " + gormadapter.LaunchSessionsTable).Error; err != nil {
				t.Fatal(err)
			}
			if _, err := gormadapter.New(context.Background(), db); !errors.Is(err, gormadapter.ErrNotMigrated) {
				t.Fatalf("New without the sessions table = %v, want ErrNotMigrated", err)
			}
			if err := gormadapter.MigrateLoginTables(context.Background(), db); err != nil {
				t.Fatal(err)
			}
			if _, err := gormadapter.New(context.Background(), db); err != nil {
				t.Fatalf("New after MigrateLoginTables: %v", err)
			}
		})
	}
}
