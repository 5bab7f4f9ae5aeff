package redisadapter_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/ltikit/ltikit/adapters/memory"
	redisadapter "github.com/ltikit/ltikit/adapters/redis"
	"github.com/ltikit/ltikit/deployment"
	"github.com/ltikit/ltikit/internal/redistest"
	"github.com/ltikit/ltikit/nonce"
	"github.com/ltikit/ltikit/registration"
	"github.com/ltikit/ltikit/storage"
	"github.com/ltikit/ltikit/storage/storagetest"
)

// newStore returns a Store on c under a fresh prefix whose keys are
// deleted when the test ends.
func newStore(t testing.TB, c redis.UniversalClient, opts ...redisadapter.Option) *redisadapter.Store {
	t.Helper()
	opts = append([]redisadapter.Option{redisadapter.WithPrefix(redistest.Prefix(t, c))}, opts...)
	return mustNew(t, c, opts...)
}

func mustNew(t testing.TB, c redis.UniversalClient, opts ...redisadapter.Option) *redisadapter.Store {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := redisadapter.New(ctx, c, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// harness is the storagetest harness of s: registrations and deployments
// in a memory store, states and nonces in s, combined as a host combines
// its SQL adapter with the Redis one.
func harness(s *redisadapter.Store) storagetest.Harness {
	m := memory.New()
	return storagetest.Harness{
		Adapter: storage.Combine(m, m, s, s),
		AddRegistration: func(_ context.Context, r registration.Registration) error {
			return m.AddRegistration(r)
		},
		AddDeployment: func(_ context.Context, r registration.Registration, d deployment.Deployment) error {
			return m.AddDeployment(r.Key(), d)
		},
	}
}

// login returns a login record expiring at exp, bound.
func login(exp time.Time) nonce.Login {
	l := nonce.Login{State: nonce.NewValue(), Nonce: nonce.NewValue(), Issuer: "https://lms.example.com",
		ClientID: "client-" + randomHex(4), TargetLinkURI: "https://tool.example.com/launch", DeploymentID: "d1", ExpiresAt: exp}
	l.Binding = l.Bind()
	return l
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails (Go 1.24+).
	return hex.EncodeToString(b)
}
