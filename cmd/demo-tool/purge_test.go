package main

import (
	"context"
	"database/sql"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"

	"github.com/ltikit/ltikit/internal/telemetry"
	"github.com/ltikit/ltikit/nonce"
)

// openPurgeNode opens dsn as one node of the tool does: its own pool.
func openPurgeNode(t *testing.T, dsn string) *gormBackend {
	t.Helper()
	b, err := openBackend(t.Context(), dsn, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

// lockDBOf is the pool startPurge takes b's advisory lock on.
func lockDBOf(t *testing.T, b *gormBackend) *sql.DB {
	t.Helper()
	sqlDB, err := b.db.DB()
	if err != nil {
		t.Fatal(err)
	}
	return sqlDB
}

// putExpired writes n login states through b that expired an hour ago.
func putExpired(t *testing.T, b *gormBackend, tag string, n int) {
	t.Helper()
	if err := writeExpired(b, tag, n); err != nil {
		t.Fatal(err)
	}
}

// writeExpired is putExpired for any goroutine.
func writeExpired(b *gormBackend, tag string, n int) error {
	for i := range n {
		l := nonce.Login{State: fmt.Sprintf("%s-%d", tag, i), Nonce: fmt.Sprintf("n-%s-%d", tag, i), Issuer: "https://lms.example",
			ClientID: "c", TargetLinkURI: "https://tool.example/lti/launch", ExpiresAt: time.Now().Add(-time.Hour)}
		l.Binding = l.Bind()
		if err := b.PutState(context.Background(), l); err != nil {
			return err
		}
	}
	return nil
}

// countStates counts the login state rows left.
func countStates(t *testing.T, b *gormBackend) int64 {
	t.Helper()
	var n int64
	if err := b.db.Raw("SELECT count(*) FROM ltikit_login_states").Scan(&n).Error; err != nil {
		t.Fatal(err)
	}
	return n
}

// watchedStore is a node's store that counts the purges running at once
// across nodes (in) and may hold each purge until released.
type watchedStore struct {
	purgeStore
	in, max *atomic.Int32
	entered chan<- struct{} // nil: do not hold
	release <-chan struct{}
}

func (w *watchedStore) PurgeExpired(ctx context.Context) (int64, error) {
	now := w.in.Add(1)
	defer w.in.Add(-1)
	for {
		m := w.max.Load()
		if now <= m || w.max.CompareAndSwap(m, now) {
			break
		}
	}
	if w.entered != nil {
		w.entered <- struct{}{}
		<-w.release
	}
	return w.purgeStore.PurgeExpired(ctx)
}

// purgeCounts reads the purge's counters from reader: runs by result, and
// rows.
func purgeCounts(t *testing.T, reader *sdkmetric.ManualReader) (runs map[string]int64, rows int64) {
	t.Helper()
	var rm metricdata.ResourceMetrics
	if err := reader.Collect(context.Background(), &rm); err != nil {
		t.Fatal(err)
	}
	runs = map[string]int64{}
	for _, sm := range rm.ScopeMetrics {
		for _, m := range sm.Metrics {
			sum, ok := m.Data.(metricdata.Sum[int64])
			if !ok {
				continue
			}
			for _, dp := range sum.DataPoints {
				switch m.Name {
				case metricPurgeRuns:
					v, _ := dp.Attributes.Value(telemetry.KeyResult)
					runs[v.AsString()] += dp.Value
				case metricPurgeRows:
					rows += dp.Value
				}
			}
		}
	}
	return runs, rows
}

// TestPurgeOneNodeAtATime runs two nodes (two pools, so two PostgreSQL
// sessions, as two processes) on one PostgreSQL schema: while node A
// purges, node B's round is skipped, and B purges once A is done; a node
// on another schema of the same database is not held up by A's lock.
func TestPurgeOneNodeAtATime(t *testing.T) {
	t.Parallel()
	dsn := postgresDSN(t, 3) // a, b and other
	a, b := openPurgeNode(t, dsn), openPurgeNode(t, dsn)
	other := openPurgeNode(t, postgresDSN(t, 0)) // another schema
	putExpired(t, a, "a", 25)
	putExpired(t, other, "o", 3)

	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	log := slog.New(slog.DiscardHandler)
	var in, maxIn atomic.Int32
	entered, release := make(chan struct{}), make(chan struct{})
	pa := newPurger(&watchedStore{purgeStore: a.Adapter, in: &in, max: &maxIn, entered: entered, release: release}, lockDBOf(t, a), log, mp)
	pb := newPurger(&watchedStore{purgeStore: b.Adapter, in: &in, max: &maxIn}, lockDBOf(t, b), log, mp)
	po := newPurger(other.Adapter, lockDBOf(t, other), log, nil)

	type outcome struct {
		result string
		n      int64
		err    error
	}
	doneA := make(chan outcome, 1)
	go func() {
		r, n, err := pa.round(t.Context())
		doneA <- outcome{r, n, err}
	}()
	<-entered // A holds the lock and is purging
	if r, n, err := pb.round(t.Context()); r != purgeSkipped || n != 0 || err != nil {
		t.Errorf("node B's round while A purges: %s, %d rows, %v; want skipped", r, n, err)
	}
	if r, n, err := po.round(t.Context()); r != purgeOK || n != 3 || err != nil {
		t.Errorf("a node on another schema while A purges: %s, %d rows, %v; want ok, 3", r, n, err)
	}
	close(release)
	if o := <-doneA; o.result != purgeOK || o.n != 25 || o.err != nil {
		t.Errorf("node A's round: %s, %d rows, %v; want ok, 25", o.result, o.n, o.err)
	}
	// The lock went with A's transaction: B's next round purges.
	putExpired(t, b, "b", 4)
	if r, n, err := pb.round(t.Context()); r != purgeOK || n != 4 || err != nil {
		t.Errorf("node B's round after A's: %s, %d rows, %v; want ok, 4", r, n, err)
	}
	if left := countStates(t, a); left != 0 {
		t.Errorf("%d expired states left", left)
	}
	if maxIn.Load() != 1 {
		t.Errorf("%d purges ran at once on one schema, want 1", maxIn.Load())
	}
	runs, rows := purgeCounts(t, reader)
	if runs[purgeOK] != 2 || runs[purgeSkipped] != 1 || runs[purgeError] != 0 || rows != 29 {
		t.Errorf("metrics: runs %v, rows %d; want 2 ok, 1 skipped, 29 rows", runs, rows)
	}
}

// TestPurgeRace runs rounds on many nodes at once (each its own pool)
// on one schema while they write expired states: never two purges at
// once, no round fails, and every expired row is deleted exactly once.
func TestPurgeRace(t *testing.T) {
	t.Parallel()
	const nodes, rounds, perRound = 6, 8, 5
	// Six pools, each with one purge at a time and a few inserts: at most
	// 9 connections at once when measured, within one node's reservation.
	dsn := postgresDSN(t, 1)
	var in, maxIn atomic.Int32
	reader := sdkmetric.NewManualReader()
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader))
	log := slog.New(slog.DiscardHandler)
	purgers := make([]*purger, nodes)
	backends := make([]*gormBackend, nodes)
	for i := range nodes {
		backends[i] = openPurgeNode(t, dsn)
		purgers[i] = newPurger(&watchedStore{purgeStore: backends[i].Adapter, in: &in, max: &maxIn}, lockDBOf(t, backends[i]), log, mp)
	}
	var wg sync.WaitGroup
	var deleted atomic.Int64
	for i := range nodes {
		wg.Go(func() {
			for r := range rounds {
				if err := writeExpired(backends[i], fmt.Sprintf("n%d-r%d", i, r), perRound); err != nil {
					t.Error(err)
					return
				}
				result, n, err := purgers[i].round(t.Context())
				if err != nil || result == purgeError {
					t.Errorf("node %d round %d: %s, %v", i, r, result, err)
				}
				deleted.Add(n)
			}
		})
	}
	wg.Wait()
	// A last round takes what was written during the others' purges.
	_, n, err := purgers[0].round(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	deleted.Add(n)
	if want := int64(nodes * rounds * perRound); deleted.Load() != want {
		t.Errorf("%d rows deleted, want %d", deleted.Load(), want)
	}
	if maxIn.Load() != 1 {
		t.Errorf("%d purges ran at once, want 1", maxIn.Load())
	}
	runs, rows := purgeCounts(t, reader)
	t.Logf("%d rounds on %d nodes: %v", nodes*rounds+1, nodes, runs)
	if runs[purgeOK]+runs[purgeSkipped] != nodes*rounds+1 || rows != deleted.Load() {
		t.Errorf("metrics: runs %v, rows %d; want %d rounds ok or skipped, %d rows", runs, rows, nodes*rounds+1, deleted.Load())
	}
}

// TestPurgeSQLite: on SQLite, one host's file, a round takes no lock.
func TestPurgeSQLite(t *testing.T) {
	t.Parallel()
	b := openPurgeNode(t, filepath.Join(t.TempDir(), "purge.db"))
	putExpired(t, b, "s", 7)
	reader := sdkmetric.NewManualReader()
	p := newPurger(b.Adapter, nil, slog.New(slog.DiscardHandler), sdkmetric.NewMeterProvider(sdkmetric.WithReader(reader)))
	if r, n, err := p.round(t.Context()); r != purgeOK || n != 7 || err != nil {
		t.Fatalf("round: %s, %d rows, %v; want ok, 7", r, n, err)
	}
	if left := countStates(t, b); left != 0 {
		t.Errorf("%d expired states left", left)
	}
	runs, rows := purgeCounts(t, reader)
	if runs[purgeOK] != 1 || rows != 7 {
		t.Errorf("metrics: runs %v, rows %d", runs, rows)
	}
}
