package ltitest

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"fmt"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
)

// KeyBits is the size of the RSA keys the platform generates.
const KeyBits = 2048

// signingKey is one platform key pair.
type signingKey struct {
	kid  string
	priv *rsa.PrivateKey
}

func newSigningKey() (*signingKey, error) {
	priv, err := rsa.GenerateKey(rand.Reader, KeyBits)
	if err != nil {
		return nil, fmt.Errorf("ltitest: generating an RSA key: %w", err)
	}
	return signingKeyOf(priv)
}

// signingKeyOf names priv with a kid.
func signingKeyOf(priv *rsa.PrivateKey) (*signingKey, error) {
	pub, err := jwk.FromRaw(&priv.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("ltitest: %w", err)
	}
	tp, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("ltitest: %w", err)
	}
	// A short kid like Moodle's (20 hex digits); the thumbprint keeps it unique.
	return &signingKey{kid: base64.RawURLEncoding.EncodeToString(tp)[:20], priv: priv}, nil
}

// publicJWK returns a fresh public JWK with kid, alg RS256 and use sig.
func (k *signingKey) publicJWK() (jwk.Key, error) {
	pub, err := jwk.FromRaw(&k.priv.PublicKey)
	if err != nil {
		return nil, err
	}
	for name, v := range map[string]any{
		jwk.KeyIDKey:     k.kid,
		jwk.AlgorithmKey: jwa.RS256,
		jwk.KeyUsageKey:  jwk.ForSignature,
	} {
		if err := pub.Set(name, v); err != nil {
			return nil, err
		}
	}
	return pub, nil
}

// ActiveKID returns the kid of the key that signs new tokens.
func (p *Platform) ActiveKID() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.active.kid
}

// RotateKey makes a new RSA key the active signing key: a built-in test
// key no other open platform holds, or a generated one (see
// [Config.GenerateKeys]). The previous keys stay published in the key set
// until [Platform.RemoveKey]. It returns the new key's kid.
func (p *Platform) RotateKey() (kid string) {
	k, err := p.newKey()
	if err != nil {
		// crypto/rand does not fail on supported platforms, nor do the
		// built-in keys, which a test of this package parses.
		panic(err)
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.keys = append(p.keys, k)
	p.active = k
	return k.kid
}

// RemoveKey removes the key kid from the published key set and reports
// whether it was published. Removing the active key does not change the
// signer: later tokens still carry its kid, which the key set no longer
// has (an "unknown kid" test), until [Platform.RotateKey].
func (p *Platform) RemoveKey(kid string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, k := range p.keys {
		if k.kid == kid {
			p.keys = append(p.keys[:i:i], p.keys[i+1:]...)
			return true
		}
	}
	return false
}

// SetKeySetFailure makes the JWKS endpoint answer status (with a small JSON
// error body) instead of the key set, e.g. 500 or 404; 0 restores normal
// service.
func (p *Platform) SetKeySetFailure(status int) {
	if status != 0 && (status < 100 || status > 999) {
		panic(fmt.Sprintf("ltitest: SetKeySetFailure: invalid HTTP status %d", status))
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.jwksFail = status
}

// KeySetRequests returns how many requests the JWKS endpoint has received,
// failed ones included. Tests use it to assert a tool caches the key set.
func (p *Platform) KeySetRequests() int64 { return p.jwksRequests.Load() }

// PublicKeySet returns a new set holding the public halves of the published
// keys, oldest first, each with kid, alg RS256 and use sig: exactly what the
// JWKS endpoint serves while it is not failing.
func (p *Platform) PublicKeySet() jwk.Set {
	p.mu.Lock()
	keys := append([]*signingKey(nil), p.keys...)
	p.mu.Unlock()
	set := jwk.NewSet()
	for _, k := range keys {
		pub, err := k.publicJWK()
		if err != nil {
			panic(fmt.Sprintf("ltitest: building a public JWK: %v", err))
		}
		if err := set.AddKey(pub); err != nil {
			panic(fmt.Sprintf("ltitest: building the key set: %v", err))
		}
	}
	return set
}

// PrivateKey returns the private key kid, published or not, for tests that
// need to sign something the platform's way themselves. ok is false for an
// unknown kid.
func (p *Platform) PrivateKey(kid string) (key *rsa.PrivateKey, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.active.kid == kid {
		return p.active.priv, true
	}
	for _, k := range p.keys {
		if k.kid == kid {
			return k.priv, true
		}
	}
	return nil, false
}

func (p *Platform) activeKey() *signingKey {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.active
}

// newKey returns a key for p: generated with Config.GenerateKeys, else
// borrowed from the built-in keys (and recorded, to go back on Close).
func (p *Platform) newKey() (*signingKey, error) {
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if p.generateKeys || closed {
		return newSigningKey()
	}
	k, pooled, err := borrowKey()
	if err != nil {
		return nil, err
	}
	if pooled {
		p.mu.Lock()
		p.borrowed = append(p.borrowed, k.priv)
		p.mu.Unlock()
	}
	return k, nil
}
