package sqladapter_test

import (
	"context"
	"testing"
	"time"

	"github.com/ltikit/ltikit/examples/sqladapter"
	"github.com/ltikit/ltikit/internal/pgtest"
)

// TestOpen opens a pool with Open, as a tool does (the other tests borrow
// theirs from pgtest.DB): it answers, has Open's limit, and a store on it
// migrates and keeps a login state single-use.
func TestOpen(t *testing.T) {
	t.Parallel()
	dsn := pgtest.Schema(t, "sqladapter_open_", sqladapter.MaxConns+1)
	ctx := context.Background()
	db, err := sqladapter.Open(ctx, dsn)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer db.Close()
	if got := db.Stats().MaxOpenConnections; got != sqladapter.MaxConns {
		t.Errorf("MaxOpenConnections = %d, want %d", got, sqladapter.MaxConns)
	}
	if err := sqladapter.Migrate(ctx, db); err != nil {
		t.Fatalf("Migrate: %v", err)
	}
	clk := newClock()
	s := mustNew(t, db, sqladapter.WithClock(clk.Now))
	l := login(clk.Now().Add(time.Minute))
	if err := s.PutState(ctx, l); err != nil {
		t.Fatalf("PutState: %v", err)
	}
	if _, err := s.TakeState(ctx, l.State); err != nil {
		t.Fatalf("TakeState: %v", err)
	}
	if _, err := s.TakeState(ctx, l.State); err == nil {
		t.Fatal("a second TakeState of the same state succeeded")
	}
}
