package redisadapter_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	redisadapter "github.com/ltikit/ltikit/adapters/redis"
	"github.com/ltikit/ltikit/internal/redistest"
	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/nonce"
	"github.com/ltikit/ltikit/session"
)

// Race parameters: two clients, each with a connection pool of its own
// (two processes), 200 goroutines each, 20 rounds on fresh keys.
const (
	raceClients    = 2
	racePerClient  = 200
	raceRounds     = 20
	raceGoroutines = raceClients * racePerClient
)

// twoNodes returns two Stores on one key prefix, each on a client of its
// own: two tool processes sharing one Redis.
func twoNodes(t *testing.T) [raceClients]*redisadapter.Store {
	t.Helper()
	a := redistest.Client(t)
	prefix := redistest.Prefix(t, a)
	var nodes [raceClients]*redisadapter.Store
	nodes[0] = mustNew(t, a, redisadapter.WithPrefix(prefix))
	for i := 1; i < raceClients; i++ {
		nodes[i] = mustNew(t, redistest.Client(t), redisadapter.WithPrefix(prefix))
	}
	return nodes
}

// race runs call from raceGoroutines goroutines, half on each node,
// released at once, and returns their errors.
func race(nodes [raceClients]*redisadapter.Store, call func(s *redisadapter.Store, i int) error) []error {
	var wg sync.WaitGroup
	start := make(chan struct{})
	errs := make([]error, raceGoroutines)
	for i := range raceGoroutines {
		s := nodes[i%raceClients]
		wg.Go(func() {
			<-start
			errs[i] = call(s, i)
		})
	}
	close(start)
	wg.Wait()
	return errs
}

// TestRace: for states, nonces and session creates, 400 concurrent callers
// on two clients get exactly one winner per key, in every round; the
// others are refused with the errors the contracts name.
func TestRace(t *testing.T) {
	ctx := context.Background()
	tests := []struct {
		name string
		// round sets up one key and returns the racing call and a check
		// of a losing call's error.
		round func(t *testing.T, nodes [raceClients]*redisadapter.Store) (call func(*redisadapter.Store, int) error, loser func(error) bool, after func())
	}{
		{"TakeState", func(t *testing.T, nodes [raceClients]*redisadapter.Store) (func(*redisadapter.Store, int) error, func(error) bool, func()) {
			want := login(time.Now().Add(time.Hour))
			if err := nodes[0].PutState(ctx, want); err != nil {
				t.Fatal(err)
			}
			var mu sync.Mutex
			var got []nonce.Login
			return func(s *redisadapter.Store, _ int) error {
					l, err := s.TakeState(ctx, want.State)
					if err == nil {
						mu.Lock()
						got = append(got, l)
						mu.Unlock()
					} else if l != (nonce.Login{}) {
						return fmt.Errorf("refused TakeState returned a Login: %v", err)
					}
					return err
				}, func(err error) bool { return errors.Is(err, nonce.ErrNotFound) || errors.Is(err, nonce.ErrConsumed) },
				func() {
					for _, l := range got {
						if l.State != want.State || l.Nonce != want.Nonce || l.Binding != l.Bind() {
							t.Errorf("the winner got %+v, want %+v", l, want)
						}
					}
				}
		}},
		{"ConsumeNonce", func(t *testing.T, nodes [raceClients]*redisadapter.Store) (func(*redisadapter.Store, int) error, func(error) bool, func()) {
			n := nonce.Nonce{Value: nonce.NewValue(), Issuer: "https://lms.example.com", ClientID: "c", ExpiresAt: time.Now().Add(time.Hour)}
			if err := nodes[1].PutNonce(ctx, n); err != nil {
				t.Fatal(err)
			}
			return func(s *redisadapter.Store, _ int) error {
					return s.ConsumeNonce(ctx, n.Value, n.Issuer, n.ClientID)
				}, func(err error) bool { return errors.Is(err, nonce.ErrConsumed) },
				func() {
					if err := nodes[0].ConsumeNonce(ctx, n.Value, n.Issuer, n.ClientID); !errors.Is(err, nonce.ErrConsumed) {
						t.Errorf("ConsumeNonce after the race = %v, want nonce.ErrConsumed", err)
					}
				}
		}},
		{"PutState", func(t *testing.T, nodes [raceClients]*redisadapter.Store) (func(*redisadapter.Store, int) error, func(error) bool, func()) {
			state := nonce.NewValue()
			exp := time.Now().Add(time.Hour)
			return func(s *redisadapter.Store, i int) error {
					l := login(exp)
					l.State, l.DeploymentID = state, fmt.Sprint(i)
					l.Binding = l.Bind()
					return s.PutState(ctx, l)
				}, func(err error) bool {
					return errors.Is(err, redisadapter.ErrDuplicate) && errors.Is(err, lti.ErrStorageUnavailable)
				}, func() {
					l, err := nodes[0].TakeState(ctx, state)
					if err != nil || l.Binding != l.Bind() {
						t.Errorf("TakeState after the race: %+v, %v; want the winner's record", l, err)
					}
				}
		}},
		{"PutSession", func(t *testing.T, nodes [raceClients]*redisadapter.Store) (func(*redisadapter.Store, int) error, func(error) bool, func()) {
			id := session.IDOf(nonce.NewValue())
			now := time.Now().Truncate(time.Second)
			var mu sync.Mutex
			var winner []byte
			return func(s *redisadapter.Store, i int) error {
					claims := fmt.Appendf(nil, `{"writer":%d}`, i)
					err := s.PutSession(ctx, session.Record{ID: id, Issuer: "https://lms.example.com", ClientID: "c",
						DeploymentID: "d", Claims: claims, CSRF: "x", CreatedAt: now, IdleExpiresAt: now.Add(time.Hour), ExpiresAt: now.Add(2 * time.Hour)})
					if err == nil {
						mu.Lock()
						winner = claims
						mu.Unlock()
					}
					return err
				}, func(err error) bool {
					return errors.Is(err, redisadapter.ErrDuplicate) && errors.Is(err, lti.ErrStorageUnavailable)
				}, func() {
					r, err := nodes[1].GetSession(ctx, id)
					if err != nil || !bytes.Equal(r.Claims, winner) {
						t.Errorf("GetSession after the race: claims %s, %v; want the winner's %s", r.Claims, err, winner)
					}
				}
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			nodes := twoNodes(t)
			for round := range raceRounds {
				call, loser, after := tc.round(t, nodes)
				errs := race(nodes, call)
				wins := 0
				for _, err := range errs {
					switch {
					case err == nil:
						wins++
					case !loser(err):
						t.Errorf("round %d: a losing call failed with %v", round, err)
					}
				}
				if wins != 1 {
					t.Fatalf("round %d: %d of %d concurrent calls on %d clients won; want exactly 1", round, wins, raceGoroutines, raceClients)
				}
				after()
			}
		})
	}
}
