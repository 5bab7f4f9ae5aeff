package storage

import (
	"context"

	"github.com/ltikit/ltikit/deployment"
	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/nonce"
	"github.com/ltikit/ltikit/registration"
)

// Adapter is everything the launch pipeline persists or looks up, in one
// value: what launch.Config.Storage takes for the stores not set one by
// one.
//
// An Adapter whose state store carries the nonce (see [nonce.Carrier])
// should implement nonce.Carrier itself, so a launch costs two writes.
type Adapter interface {
	registration.Store
	deployment.Store
	nonce.StateStore
	nonce.Store
}

// Combine builds an Adapter from separate stores, e.g. registrations in the
// host's SQL database and states in another, for code that takes one
// Adapter (launch.Config takes the stores on their own and needs no
// Combine). The result implements nonce.Carrier when the state store does.
//
// A nil store fails closed: every call to it returns an error, so launches
// that need it are refused as storage_unavailable. A nil nonce store is
// fine when the state store carries the nonce.
func Combine(r registration.Store, d deployment.Store, s nonce.StateStore, n nonce.Store) Adapter {
	var m missing
	c := &combined{r: r, d: d, s: s, n: n}
	if r == nil {
		c.r = m
	}
	if d == nil {
		c.d = m
	}
	if s == nil {
		c.s = m
	}
	if n == nil {
		c.n = m
	}
	if carrier, ok := s.(nonce.Carrier); ok && carrier.CarriesNonce() {
		return carrying{c}
	}
	return c
}

type combined struct {
	r registration.Store
	d deployment.Store
	s nonce.StateStore
	n nonce.Store
}

func (c *combined) FindRegistration(ctx context.Context, issuer, clientID string) (registration.Registerable, error) {
	return c.r.FindRegistration(ctx, issuer, clientID)
}

func (c *combined) FindDeployment(ctx context.Context, reg registration.Registerable, id string) (deployment.Deployable, error) {
	return c.d.FindDeployment(ctx, reg, id)
}

func (c *combined) PutState(ctx context.Context, l nonce.Login) error { return c.s.PutState(ctx, l) }

func (c *combined) TakeState(ctx context.Context, state string) (nonce.Login, error) {
	return c.s.TakeState(ctx, state)
}

func (c *combined) PutNonce(ctx context.Context, n nonce.Nonce) error { return c.n.PutNonce(ctx, n) }

func (c *combined) ConsumeNonce(ctx context.Context, value, issuer, clientID string) error {
	return c.n.ConsumeNonce(ctx, value, issuer, clientID)
}

type carrying struct{ *combined }

func (carrying) CarriesNonce() bool { return true }

// ErrNoStore is returned by the calls of a store that Combine was given nil
// for. Its code is storage_unavailable.
var ErrNoStore = lti.NewSentinel(lti.CodeStorageUnavailable, "storage: no store configured")

type missing struct{}

func (missing) FindRegistration(context.Context, string, string) (registration.Registerable, error) {
	return nil, ErrNoStore
}

func (missing) FindDeployment(context.Context, registration.Registerable, string) (deployment.Deployable, error) {
	return nil, ErrNoStore
}

func (missing) PutState(context.Context, nonce.Login) error { return ErrNoStore }

func (missing) TakeState(context.Context, string) (nonce.Login, error) {
	return nonce.Login{}, ErrNoStore
}

func (missing) PutNonce(context.Context, nonce.Nonce) error { return ErrNoStore }

func (missing) ConsumeNonce(context.Context, string, string, string) error { return ErrNoStore }
