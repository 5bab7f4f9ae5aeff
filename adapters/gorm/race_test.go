package gormadapter_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	gormadapter "github.com/ltikit/ltikit/adapters/gorm"
	"github.com/ltikit/ltikit/nonce"
)

// TestRaceTwoNodes is the multi-node single-use test: two independent
// connection pools on one database play two tool nodes, and 200 goroutines
// split across them present the same state and the same nonce at once.
// Exactly one take and one consume may succeed, every other caller must be
// refused as already used (not fail with a storage error), 20 times over.
func TestRaceTwoNodes(t *testing.T) {
	t.Parallel()
	const (
		goroutines = 200
		rounds     = 20
	)
	for _, b := range backends {
		t.Run(b.name, func(t *testing.T) {
			openPool, db1 := migrated(t, b)
			db2 := openPool(t)
			clk := newClock()
			nodes := [2]*gormadapter.Adapter{
				mustNew(t, db1, gormadapter.WithClock(clk.Now)),
				mustNew(t, db2, gormadapter.WithClock(clk.Now)),
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			for round := range rounds {
				l := login(t, clk.Now().Add(time.Minute))
				n := nonce.Nonce{Value: newValue(t), Issuer: l.Issuer, ClientID: l.ClientID, ExpiresAt: l.ExpiresAt}
				if err := nodes[round%2].PutState(ctx, l); err != nil {
					t.Fatal(err)
				}
				if err := nodes[(round+1)%2].PutNonce(ctx, n); err != nil {
					t.Fatal(err)
				}
				var (
					wg        sync.WaitGroup
					start     = make(chan struct{})
					logins    [goroutines]nonce.Login
					takeErrs  [goroutines]error
					consErrs  [goroutines]error
					takeFirst [goroutines]bool
				)
				for i := range goroutines {
					a := nodes[i%2]
					// Half the callers consume first, half take first, so
					// the two statements also race each other's traffic.
					takeFirst[i] = i%4 < 2
					wg.Go(func() {
						<-start
						if takeFirst[i] {
							logins[i], takeErrs[i] = a.TakeState(ctx, l.State)
							consErrs[i] = a.ConsumeNonce(ctx, n.Value, n.Issuer, n.ClientID)
						} else {
							consErrs[i] = a.ConsumeNonce(ctx, n.Value, n.Issuer, n.ClientID)
							logins[i], takeErrs[i] = a.TakeState(ctx, l.State)
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
						if got := logins[i]; got.State != l.State || got.Nonce != l.Nonce || got.Binding != l.Binding || !got.ExpiresAt.Equal(l.ExpiresAt) {
							t.Errorf("round %d: winner got %+v", round, logins[i])
						}
					case !errors.Is(err, nonce.ErrConsumed):
						t.Errorf("round %d: losing TakeState = %v, want ErrConsumed", round, err)
					case logins[i] != (nonce.Login{}):
						t.Errorf("round %d: losing TakeState returned a Login", round)
					}
					switch err := consErrs[i]; {
					case err == nil:
						consumes++
					case !errors.Is(err, nonce.ErrConsumed):
						t.Errorf("round %d: losing ConsumeNonce = %v, want ErrConsumed", round, err)
					}
				}
				if takes != 1 || consumes != 1 {
					t.Fatalf("round %d: %d takes and %d consumes of %d succeeded; want exactly 1 each", round, takes, consumes, goroutines)
				}
			}
		})
	}
}
