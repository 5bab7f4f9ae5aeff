package token

import (
	"context"

	"github.com/ltikit/ltikit/registration"
)

// Source provides access tokens for service calls.
type Source interface {
	// Token returns a bearer token for reg granting scopes, from the cache
	// when one is still valid.
	Token(ctx context.Context, reg registration.Registration, scopes []string) (string, error)
	// Invalidate drops token from the cache, after a service answered 401
	// to it, so the next Token call fetches a new one.
	Invalidate(reg registration.Registration, scopes []string, token string)
}
