package storage_test

import (
	"context"
	"errors"
	"testing"

	"github.com/ltikit/ltikit/adapters/memory"
	"github.com/ltikit/ltikit/deployment"
	"github.com/ltikit/ltikit/nonce"
	"github.com/ltikit/ltikit/registration"
	"github.com/ltikit/ltikit/storage"
	"github.com/ltikit/ltikit/storage/storagetest"
)

// A combined adapter passes the conformance suite and keeps the carrier.
func TestCombine(t *testing.T) {
	storagetest.Run(t, func(t *testing.T) storagetest.Harness {
		m := memory.New()
		a := storage.Combine(m, m, m, m)
		if c, ok := a.(nonce.Carrier); !ok || !c.CarriesNonce() {
			t.Fatal("Combine dropped the carrier of the state store")
		}
		return storagetest.Harness{Adapter: a, AddRegistration: memoryAddReg(m), AddDeployment: memoryAddDep(m)}
	})
}

// A nil store fails closed.
func TestCombineNilFailsClosed(t *testing.T) {
	a := storage.Combine(nil, nil, nil, nil)
	ctx := context.Background()
	if _, err := a.FindRegistration(ctx, "i", ""); !errors.Is(err, storage.ErrNoStore) {
		t.Errorf("FindRegistration: %v", err)
	}
	if _, err := a.FindDeployment(ctx, nil, "d"); !errors.Is(err, storage.ErrNoStore) {
		t.Errorf("FindDeployment: %v", err)
	}
	if err := a.PutState(ctx, nonce.Login{}); !errors.Is(err, storage.ErrNoStore) {
		t.Errorf("PutState: %v", err)
	}
	if _, err := a.TakeState(ctx, "s"); !errors.Is(err, storage.ErrNoStore) {
		t.Errorf("TakeState: %v", err)
	}
	if err := a.PutNonce(ctx, nonce.Nonce{}); !errors.Is(err, storage.ErrNoStore) {
		t.Errorf("PutNonce: %v", err)
	}
	if err := a.ConsumeNonce(ctx, "n", "i", "c"); !errors.Is(err, storage.ErrNoStore) {
		t.Errorf("ConsumeNonce: %v", err)
	}
	if _, ok := a.(nonce.Carrier); ok {
		t.Error("a combination without a state store claims to carry the nonce")
	}
}

func memoryAddReg(m *memory.Store) func(context.Context, registration.Registration) error {
	return func(_ context.Context, r registration.Registration) error { return m.AddRegistration(r) }
}

func memoryAddDep(m *memory.Store) func(context.Context, registration.Registration, deployment.Deployment) error {
	return func(_ context.Context, r registration.Registration, d deployment.Deployment) error {
		return m.AddDeployment(r.Key(), d)
	}
}
