package main

import (
	"context"
	"database/sql"
	"log/slog"
	"sync"
	"time"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/ltikit/ltikit/internal/telemetry"
)

// The scheduled purge of expired login states, nonces and launch sessions
// (gormadapter.Adapter.PurgeExpired). A launch never depends on it: the
// take, consume and session statements judge expiry themselves; it keeps
// the tables from growing. Every --purge-interval each node runs a round;
// on PostgreSQL a round first takes a transaction-level advisory lock,
// so that when several nodes share the database one purges at a time and
// the others skip their round. SQLite is one host's file and needs no
// lock; with --state-store Redis expires what it keeps and no purge runs.

// purgeLockClass is the first key of the purge's advisory lock
// (pg_try_advisory_xact_lock(int, int)): "LTIP" in ASCII, a number no
// other part of ltikit uses. The second key is the hash of the schema the
// connection works in, so demo tools on separate schemas of one database
// purge independently.
const purgeLockClass = 0x4c544950

// sqlTryPurgeLock takes the purge's lock for the transaction, or answers
// false at once when another session holds it. The lock is released when
// the transaction ends, whatever happens to the node: a node that dies
// mid-purge leaves no lock behind once its connection is gone.
const sqlTryPurgeLock = "SELECT pg_try_advisory_xact_lock($1, hashtext(current_schema()))"

// Results of a purge round, the values of ltikit.result on
// ltikit.demo.purge.runs.
const (
	purgeOK      = "ok"      // this node purged
	purgeSkipped = "skipped" // another node holds the lock: it purges
	purgeError   = "error"   // the lock or the purge failed
)

// Metric names of the purge (docs/observability.md, "The demo tool").
const (
	metricPurgeRuns     = "ltikit.demo.purge.runs"
	metricPurgeRows     = "ltikit.demo.purge.rows"
	metricPurgeDuration = "ltikit.demo.purge.duration"
)

// demoScope is the instrumentation scope of the demo tool's own metrics.
const demoScope = "github.com/ltikit/ltikit/cmd/demo-tool"

// purgeStore deletes expired rows: the GORM adapter.
type purgeStore interface {
	PurgeExpired(ctx context.Context) (int64, error)
}

// purger runs the purge rounds of one node.
type purger struct {
	store purgeStore
	// lockDB is the PostgreSQL pool the advisory lock is taken on; nil
	// purges without a lock (SQLite).
	lockDB *sql.DB
	log    *slog.Logger
	runs   metric.Int64Counter
	rows   metric.Int64Counter
	dur    metric.Float64Histogram
}

// newPurger returns the purger of store; lockDB as in purger. mp records
// its metrics (nil: the global provider).
func newPurger(store purgeStore, lockDB *sql.DB, log *slog.Logger, mp metric.MeterProvider) *purger {
	m := telemetry.MeterProvider(mp).Meter(demoScope)
	return &purger{
		store: store, lockDB: lockDB, log: log,
		runs: telemetry.Counter(m, metricPurgeRuns, "{run}", "Purge rounds of expired login states, nonces and launch sessions, by result: ok, skipped (another node holds the lock), error."),
		rows: telemetry.Counter(m, metricPurgeRows, "{row}", "Expired rows deleted by the purge (login states, nonces and launch sessions together)."),
		dur:  telemetry.Histogram(m, metricPurgeDuration, "Duration of purge rounds, the lock included, by result."),
	}
}

// round runs one purge round and returns its result and the rows it
// deleted (some may have been deleted before an error).
func (p *purger) round(ctx context.Context) (result string, deleted int64, err error) {
	start := time.Now()
	defer func() {
		attrs := metric.WithAttributeSet(attribute.NewSet(telemetry.KeyResult.String(result)))
		p.runs.Add(ctx, 1, attrs)
		p.dur.Record(ctx, time.Since(start).Seconds(), attrs)
		p.rows.Add(ctx, deleted) // 0 too: the series exists from the first round
	}()
	if p.lockDB != nil {
		tx, err := p.lockDB.BeginTx(ctx, nil)
		if err != nil {
			return purgeError, 0, err
		}
		// Ending the transaction releases the lock; a rollback suffices,
		// the transaction wrote nothing.
		defer func() { _ = tx.Rollback() }()
		var locked bool
		if err := tx.QueryRowContext(ctx, sqlTryPurgeLock, purgeLockClass).Scan(&locked); err != nil {
			return purgeError, 0, err
		}
		if !locked {
			return purgeSkipped, 0, nil
		}
	}
	// The deletes run on the pool's other connections, in batches, while
	// the transaction above holds the lock.
	n, err := p.store.PurgeExpired(ctx)
	if err != nil {
		return purgeError, n, err
	}
	return purgeOK, n, nil
}

// start runs a round every interval in the background until stop, which
// cancels a round in flight, waits for it and may be called more than
// once.
func (p *purger) start(interval time.Duration) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
			result, n, err := p.round(ctx)
			switch {
			case err != nil && ctx.Err() == nil:
				p.log.Warn("purging expired login states, nonces and sessions failed", slog.Int64("deleted", n), slog.String("error", err.Error()))
			case result == purgeOK:
				p.log.Debug("purged expired login states, nonces and sessions", slog.Int64("deleted", n))
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() {
			cancel()
			<-done
		})
	}
}

// startPurge starts the scheduled purge of serve: of db's expired rows
// every cfg.PurgeInterval, under the advisory lock on PostgreSQL; none
// with --state-store, whose Redis expires states, nonces and sessions
// itself. stop ends it.
func startPurge(cfg serveConfig, db *gormBackend, log *slog.Logger, mp metric.MeterProvider) (stop func(), err error) {
	if cfg.StateStore != "" {
		return func() {}, nil
	}
	var lockDB *sql.DB
	if db.db.Dialector.Name() == "postgres" {
		if lockDB, err = db.db.DB(); err != nil {
			return nil, err
		}
	}
	return newPurger(db.Adapter, lockDB, log, mp).start(cfg.PurgeInterval), nil
}
