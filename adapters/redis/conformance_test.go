package redisadapter_test

import (
	"testing"

	"github.com/ltikit/ltikit/internal/redistest"
	"github.com/ltikit/ltikit/nonce"
	"github.com/ltikit/ltikit/session"
	"github.com/ltikit/ltikit/session/sessiontest"
	"github.com/ltikit/ltikit/storage"
	"github.com/ltikit/ltikit/storage/storagetest"
)

// TestConformance runs the storage conformance suite with states and
// nonces in Redis, registrations and deployments in a memory store,
// joined by storage.Combine.
func TestConformance(t *testing.T) {
	s := newStore(t, redistest.Client(t))
	storagetest.Run(t, func(t *testing.T) storagetest.Harness { return harness(s) })
}

// TestSessionConformance runs the launch session suite on Redis.
func TestSessionConformance(t *testing.T) {
	s := newStore(t, redistest.Client(t))
	sessiontest.Run(t, func(t *testing.T) session.Store { return s })
}

// TestCombineCarries: combined with SQL stores the Store still carries the
// nonce, so the launch pipeline writes no nonce of its own.
func TestCombineCarries(t *testing.T) {
	s := newStore(t, redistest.Client(t))
	h := harness(s)
	if c, ok := h.Adapter.(nonce.Carrier); !ok || !c.CarriesNonce() {
		t.Fatalf("storage.Combine(…, redis, redis) is %T, not a nonce.Carrier", h.Adapter)
	}
	var _ storage.Adapter = h.Adapter
}
