package sqladapter_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/ltikit/ltikit/examples/sqladapter"
	"github.com/ltikit/ltikit/nonce"
)

// TestRaceTwoNodes: two Stores on two independent connection pools play
// two tool nodes on one database, and 200 goroutines split across them
// present the same state and the same nonce at once, 20 rounds over.
// Exactly one TakeState and one ConsumeNonce succeed per round; every
// other caller is refused (never a storage failure): a taken state is
// deleted, so its losers get nonce.ErrNotFound, and a consumed nonce is
// kept, so its losers get nonce.ErrConsumed.
func TestRaceTwoNodes(t *testing.T) {
	const (
		goroutines = 200
		rounds     = 20
	)
	openPool := newDatabase(t)
	clk := newClock()
	nodes := [2]*sqladapter.Store{
		mustNew(t, openPool(t), sqladapter.WithClock(clk.Now)),
		mustNew(t, openPool(t), sqladapter.WithClock(clk.Now)),
	}
	ctx, cancel := context.WithTimeout(t.Context(), 2*time.Minute)
	defer cancel()
	for round := range rounds {
		l := login(clk.Now().Add(time.Minute))
		n := nonce.Nonce{Value: nonce.NewValue(), Issuer: l.Issuer, ClientID: l.ClientID, ExpiresAt: l.ExpiresAt}
		if err := nodes[round%2].PutState(ctx, l); err != nil {
			t.Fatal(err)
		}
		if err := nodes[(round+1)%2].PutNonce(ctx, n); err != nil {
			t.Fatal(err)
		}
		var (
			wg       sync.WaitGroup
			start    = make(chan struct{})
			logins   [goroutines]nonce.Login
			takeErrs [goroutines]error
			consErrs [goroutines]error
		)
		for i := range goroutines {
			s := nodes[i%2]
			// Half take first and half consume first, so each statement
			// also races the other's traffic.
			takeFirst := i%4 < 2
			wg.Go(func() {
				<-start
				if takeFirst {
					logins[i], takeErrs[i] = s.TakeState(ctx, l.State)
					consErrs[i] = s.ConsumeNonce(ctx, n.Value, n.Issuer, n.ClientID)
				} else {
					consErrs[i] = s.ConsumeNonce(ctx, n.Value, n.Issuer, n.ClientID)
					logins[i], takeErrs[i] = s.TakeState(ctx, l.State)
				}
			})
		}
		close(start)
		wg.Wait()
		var takes, consumes int
		for i := range goroutines {
			switch err := takeErrs[i]; {
			case err == nil:
				takes++
				if got := logins[i]; got.Bind() != l.Binding || got.Binding != l.Binding || !got.ExpiresAt.Equal(l.ExpiresAt) {
					t.Errorf("round %d: the winner got %+v, want %+v", round, got, l)
				}
			case !errors.Is(err, nonce.ErrNotFound):
				t.Errorf("round %d: losing TakeState = %v, want nonce.ErrNotFound", round, err)
			case logins[i] != (nonce.Login{}):
				t.Errorf("round %d: a losing TakeState returned a Login", round)
			}
			switch err := consErrs[i]; {
			case err == nil:
				consumes++
			case !errors.Is(err, nonce.ErrConsumed):
				t.Errorf("round %d: losing ConsumeNonce = %v, want nonce.ErrConsumed", round, err)
			}
		}
		if takes != 1 || consumes != 1 {
			t.Fatalf("round %d: %d takes and %d consumes of %d succeeded; want exactly 1 each", round, takes, consumes, goroutines)
		}
	}
}

// TestExpiry: a row is refused as expired the moment the Store's clock
// passes its ExpiresAt, before any purge; PurgeExpired then deletes
// exactly the expired rows (taken, consumed or not) and leaves live ones.
func TestExpiry(t *testing.T) {
	ctx := t.Context()
	clk := newClock()
	s := mustNew(t, newDatabase(t)(t), sqladapter.WithClock(clk.Now))

	short, long := login(clk.Now().Add(time.Minute)), login(clk.Now().Add(time.Hour))
	consumedNonce := nonce.Nonce{Value: nonce.NewValue(), Issuer: "https://lms.example.com", ClientID: "client-1", ExpiresAt: short.ExpiresAt}
	liveNonce := consumedNonce
	liveNonce.Value = nonce.NewValue()
	expiringNonce := consumedNonce
	expiringNonce.Value = nonce.NewValue()
	for _, l := range []nonce.Login{short, long} {
		if err := s.PutState(ctx, l); err != nil {
			t.Fatal(err)
		}
	}
	for _, n := range []nonce.Nonce{consumedNonce, expiringNonce} {
		if err := s.PutNonce(ctx, n); err != nil {
			t.Fatal(err)
		}
	}
	liveNonce.ExpiresAt = long.ExpiresAt
	if err := s.PutNonce(ctx, liveNonce); err != nil {
		t.Fatal(err)
	}
	if err := s.ConsumeNonce(ctx, consumedNonce.Value, consumedNonce.Issuer, consumedNonce.ClientID); err != nil {
		t.Fatal(err)
	}

	// One second before the expiry: purged nothing, refused nothing.
	clk.Add(time.Minute - time.Second)
	if n, err := s.PurgeExpired(ctx); err != nil || n != 0 {
		t.Fatalf("PurgeExpired before any expiry = %d, %v; want 0", n, err)
	}
	// At ExpiresAt the record is no longer usable.
	clk.Add(time.Second)
	if _, err := s.TakeState(ctx, short.State); !errors.Is(err, nonce.ErrExpired) {
		t.Errorf("TakeState at its ExpiresAt = %v, want nonce.ErrExpired", err)
	}
	if err := s.ConsumeNonce(ctx, expiringNonce.Value, expiringNonce.Issuer, expiringNonce.ClientID); !errors.Is(err, nonce.ErrExpired) {
		t.Errorf("ConsumeNonce at its ExpiresAt = %v, want nonce.ErrExpired", err)
	}
	// The expired take deleted its state row; the purge takes the two
	// expired nonces (one consumed earlier, one refused as expired just
	// now) and nothing else.
	if n, err := s.PurgeExpired(ctx); err != nil || n != 2 {
		t.Errorf("PurgeExpired = %d, %v; want 2", n, err)
	}
	if err := s.ConsumeNonce(ctx, consumedNonce.Value, consumedNonce.Issuer, consumedNonce.ClientID); !errors.Is(err, nonce.ErrNotFound) {
		t.Errorf("ConsumeNonce of a purged nonce = %v, want nonce.ErrNotFound", err)
	}
	if err := s.ConsumeNonce(ctx, liveNonce.Value, liveNonce.Issuer, liveNonce.ClientID); err != nil {
		t.Errorf("ConsumeNonce of a live nonce after the purge: %v", err)
	}
	if got, err := s.TakeState(ctx, long.State); err != nil || got.Binding != long.Binding {
		t.Errorf("TakeState of a live state after the purge = %+v, %v", got, err)
	}
}
