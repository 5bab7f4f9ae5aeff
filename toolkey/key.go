package toolkey

import (
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"errors"
	"fmt"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
)

// Key sizes.
const (
	// DefaultRSABits is the size of generated keys.
	DefaultRSABits = 2048
	// MinRSABits is the smallest RSA key accepted (1EdTech Security
	// Framework §6.1 and RFC 7518 §3.3 ask for 2048 bits or more).
	MinRSABits = 2048
	// MaxRSABits is the largest RSA key accepted.
	MaxRSABits = 8192
)

// Key is one of the tool's signing keys: an RSA private key, its kid and
// when it was made. The private key never leaves the package except as
// PKCS #8 through [Key.MarshalPKCS8], for stores that persist it: printing
// a Key with fmt (any verb), String, GoString or encoding/json shows the
// kid, never key material.
type Key struct {
	kid     string
	priv    *rsa.PrivateKey
	created time.Time
}

// NewKey wraps priv, made at created. The kid is the key's RFC 7638 JWK
// thumbprint (SHA-256, base64url), so every node derives the same kid from
// the same key. Keys under [MinRSABits] or over [MaxRSABits] and keys that
// fail rsa.PrivateKey.Validate are refused.
func NewKey(priv *rsa.PrivateKey, created time.Time) (*Key, error) {
	if priv == nil {
		return nil, errors.New("toolkey: nil private key")
	}
	if bits := priv.N.BitLen(); bits < MinRSABits || bits > MaxRSABits {
		return nil, fmt.Errorf("toolkey: RSA key of %d bits; want %d to %d", bits, MinRSABits, MaxRSABits)
	}
	if err := priv.Validate(); err != nil {
		// The cause says which check failed, never the key's numbers.
		return nil, fmt.Errorf("toolkey: invalid RSA key: %w", err)
	}
	priv.Precompute()
	kid, err := Thumbprint(&priv.PublicKey)
	if err != nil {
		return nil, err
	}
	return &Key{kid: kid, priv: priv, created: created.UTC()}, nil
}

// GenerateKey makes a new RSA key of bits bits (0 means [DefaultRSABits])
// with crypto/rand, made at created.
func GenerateKey(bits int, created time.Time) (*Key, error) {
	if bits == 0 {
		bits = DefaultRSABits
	}
	if bits < MinRSABits || bits > MaxRSABits {
		return nil, fmt.Errorf("toolkey: RSA key size %d; want %d to %d", bits, MinRSABits, MaxRSABits)
	}
	priv, err := rsa.GenerateKey(rand.Reader, bits)
	if err != nil {
		return nil, fmt.Errorf("toolkey: generating an RSA key: %w", err)
	}
	return NewKey(priv, created)
}

// ParseKey reads a PKCS #8 DER private key (as [Key.MarshalPKCS8] writes
// it), made at created. Only RSA keys are accepted.
func ParseKey(pkcs8 []byte, created time.Time) (*Key, error) {
	k, err := x509.ParsePKCS8PrivateKey(pkcs8)
	if err != nil {
		// x509's message names the structure that failed, not its bytes.
		return nil, fmt.Errorf("toolkey: parsing a PKCS #8 key: %w", err)
	}
	priv, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("toolkey: PKCS #8 key is %T; want an RSA key", k)
	}
	return NewKey(priv, created)
}

// Thumbprint returns the RFC 7638 JWK thumbprint (SHA-256, base64url
// without padding) of an RSA or EC public key: the kid ltikit gives a key.
func Thumbprint(pub crypto.PublicKey) (string, error) {
	j, err := jwk.FromRaw(pub)
	if err != nil {
		return "", fmt.Errorf("toolkey: %w", err)
	}
	if _, ok := j.(jwk.RSAPublicKey); !ok {
		if _, ok := j.(jwk.ECDSAPublicKey); !ok {
			return "", errors.New("toolkey: thumbprint of a key that is not a public RSA or EC key")
		}
	}
	sum, err := j.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", fmt.Errorf("toolkey: thumbprint: %w", err)
	}
	return base64.RawURLEncoding.EncodeToString(sum), nil
}

// KID returns the key's kid, its RFC 7638 thumbprint.
func (k *Key) KID() string { return k.kid }

// CreatedAt returns when the key was made.
func (k *Key) CreatedAt() time.Time { return k.created }

// Bits returns the size of the key's modulus.
func (k *Key) Bits() int { return k.priv.N.BitLen() }

// Public returns the key's public half, with no expiry.
func (k *Key) Public() PublicKey {
	return PublicKey{KID: k.kid, Key: &k.priv.PublicKey, CreatedAt: k.created}
}

// MarshalPKCS8 returns the private key as PKCS #8 DER, for stores that
// persist keys. The bytes are secret: never log them.
func (k *Key) MarshalPKCS8() ([]byte, error) {
	b, err := x509.MarshalPKCS8PrivateKey(k.priv)
	if err != nil {
		return nil, fmt.Errorf("toolkey: %w", err)
	}
	return b, nil
}

// String describes the key without key material.
func (k *Key) String() string {
	if k == nil {
		return "toolkey.Key(nil)"
	}
	bits := 0
	if k.priv != nil {
		bits = k.priv.N.BitLen()
	}
	return fmt.Sprintf("toolkey.Key{kid:%q, RSA-%d, created:%s, private:[redacted]}", k.kid, bits, k.created.Format(time.RFC3339))
}

// GoString is String, so %#v shows no key material either.
func (k *Key) GoString() string { return k.String() }

// Format implements fmt.Formatter so that every verb (%v, %+v, %#v, %d,
// %x, …) prints [Key.String] and none reaches the private key's fields.
// It has a value receiver so that a dereferenced Key is covered too.
func (k Key) Format(f fmt.State, verb rune) { _, _ = f.Write([]byte(k.String())) }

// MarshalJSON writes the description as a JSON string: a Key put into a
// structured log line by mistake shows no key material.
func (k *Key) MarshalJSON() ([]byte, error) {
	return fmt.Appendf(nil, "%q", k.String()), nil
}

// MarshalText is like MarshalJSON for text encoders (e.g. slog's text
// handler).
func (k *Key) MarshalText() ([]byte, error) { return []byte(k.String()), nil }

// PublicKey is a published verification key.
type PublicKey struct {
	// KID is the key's kid.
	KID string
	// Key is the public key, an *rsa.PublicKey.
	Key crypto.PublicKey
	// CreatedAt is when the key was made.
	CreatedAt time.Time
	// ActiveFrom is when the key starts signing: after CreatedAt for a key
	// of a rotation that waits until every node and platform has fetched
	// it (see [Store.Rotate]). Zero for a key that signed from its
	// creation.
	ActiveFrom time.Time
	// RetiredAt is when the key stops signing, which is ahead while a
	// rotated-in key waits for its ActiveFrom; zero for the newest key.
	RetiredAt time.Time
	// ExpiresAt is when a retired key stops being published: RetiredAt
	// plus the grace period; zero for the newest key.
	ExpiresAt time.Time
}

// SignsAt reports whether the key is the one that signs at t: t is not
// before ActiveFrom and before RetiredAt.
func (p PublicKey) SignsAt(t time.Time) bool {
	return !t.Before(p.ActiveFrom) && (p.RetiredAt.IsZero() || t.Before(p.RetiredAt))
}

// JWK returns the key as a public JWK with kid, alg RS256 and use sig.
func (p PublicKey) JWK() (jwk.Key, error) {
	j, err := jwk.FromRaw(p.Key)
	if err != nil {
		return nil, fmt.Errorf("toolkey: %w", err)
	}
	pub, err := j.PublicKey()
	if err != nil {
		return nil, fmt.Errorf("toolkey: %w", err)
	}
	if _, ok := pub.(jwk.RSAPublicKey); !ok {
		return nil, errors.New("toolkey: published key is not an RSA public key")
	}
	for _, kv := range [...]struct {
		k string
		v any
	}{{jwk.KeyIDKey, p.KID}, {jwk.AlgorithmKey, jwa.RS256}, {jwk.KeyUsageKey, jwk.ForSignature}} {
		if err := pub.Set(kv.k, kv.v); err != nil {
			return nil, fmt.Errorf("toolkey: %w", err)
		}
	}
	return pub, nil
}
