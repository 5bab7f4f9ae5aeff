package toolkey

import "context"

// Signer signs a JWT with the tool's active key: compact JWS, RS256 by
// default, the key's kid in the header. Private key material never leaves
// the implementation, not even in errors.
type Signer interface {
	// SignJWT serialises claims as the JWT payload and signs it.
	SignJWT(ctx context.Context, claims map[string]any) (string, error)
}
