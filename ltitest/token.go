package ltitest

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"strings"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
)

// TokenOption changes how [Platform.MintIDToken] signs a token. The
// defaults give what a real platform sends: header {"alg":"RS256",
// "kid":<active kid>,"typ":"JWT"} and an RS256 signature with the active
// key. The options exist for negative tests.
type TokenOption func(*tokenConfig)

type signMode int

const (
	signPlatformKey signMode = iota
	signForeignKey
	signNone
	signHMACPublicKey
	signHMACSecret
)

type headerOp struct {
	name   string
	value  any
	remove bool
}

type tokenConfig struct {
	mode    signMode
	alg     jwa.SignatureAlgorithm // "" = the key's default
	key     jwk.Key                // signForeignKey
	secret  []byte                 // signHMACSecret
	headers []headerOp
	corrupt bool
}

// SignWithAlg signs with alg instead of RS256, with the same key: e.g.
// RS512 or PS256 with the platform's RSA key (whose JWK still says RS256),
// or the algorithm for a key given to [SignWithKey]. The header's alg is
// alg. An algorithm the key cannot do makes MintIDToken fail; for HS256
// with the platform's public key use [SignHS256WithPublicKey], for "none"
// use [SignNone].
func SignWithAlg(alg jwa.SignatureAlgorithm) TokenOption {
	return func(c *tokenConfig) { c.alg = alg }
}

// SignWithKey signs with key, a private key the platform does not publish
// (RSA, EC, OKP or a symmetric key). The alg is the key's alg, else the
// usual one for its type (RS256, ES256/384/512 by curve, EdDSA, HS256),
// unless [SignWithAlg] says otherwise. The header's kid is the key's kid, or
// the platform's active kid when the key has none (a forged token that
// claims to come from the platform key); [WithKID] and [WithoutKID] change it.
func SignWithKey(key jwk.Key) TokenOption {
	return func(c *tokenConfig) { c.mode, c.key = signForeignKey, key }
}

// SignNone makes an unsecured JWT: header alg "none" and an empty
// signature (RFC 7515 Appendix A.5), i.e. "header.payload.".
func SignNone() TokenOption {
	return func(c *tokenConfig) { c.mode = signNone }
}

// SignHS256WithPublicKey makes the classic algorithm-confusion token: alg
// HS256, the active key's kid, and an HMAC-SHA256 keyed with the PEM
// ("PUBLIC KEY", PKIX) encoding of the active key's RSA public key, as a
// verifier that feeds the published key's bytes to HMAC would accept. For
// other encodings (DER, the JWK JSON, …) use [SignHMAC].
func SignHS256WithPublicKey() TokenOption {
	return func(c *tokenConfig) { c.mode = signHMACPublicKey }
}

// SignHMAC signs with HMAC (HS256 unless [SignWithAlg] picks HS384 or
// HS512) keyed with secret. The kid is the active key's unless changed.
func SignHMAC(secret []byte) TokenOption {
	s := append([]byte(nil), secret...)
	return func(c *tokenConfig) { c.mode, c.secret = signHMACSecret, s }
}

// WithoutKID leaves the kid out of the header.
func WithoutKID() TokenOption { return WithoutHeader("kid") }

// WithKID puts kid in the header instead of the signing key's kid.
func WithKID(kid string) TokenOption { return WithHeader("kid", kid) }

// WithHeader sets a JOSE header parameter to value (any JSON-marshalable
// value, a jwk.Key included), e.g. "jku", "x5u", "jwk", "x5c", "crit", or
// overrides "typ", "kid" or even "alg" (the signature is still made with
// the signing algorithm). Header options apply in order, after the defaults.
func WithHeader(name string, value any) TokenOption {
	return func(c *tokenConfig) { c.headers = append(c.headers, headerOp{name: name, value: value}) }
}

// WithoutHeader removes a header parameter, e.g. "typ".
func WithoutHeader(name string) TokenOption {
	return func(c *tokenConfig) { c.headers = append(c.headers, headerOp{name: name, remove: true}) }
}

// CorruptSignature flips one bit of the signature after signing, so the
// token is well formed but its signature does not verify. A token without
// a signature is left as it is.
func CorruptSignature() TokenOption {
	return func(c *tokenConfig) { c.corrupt = true }
}

// MintIDToken signs claims as a compact JWS with the platform's active key
// (RS256), or as the options say. claims is usually [Platform.DefaultClaims]
// with changes; it is marshaled with encoding/json as it is, without any
// check, so invalid claim sets are easy to make.
func (p *Platform) MintIDToken(claims map[string]any, opts ...TokenOption) (string, error) {
	var c tokenConfig
	for _, o := range opts {
		o(&c)
	}
	active := p.activeKey()

	header := map[string]any{"typ": "JWT", "kid": active.kid}
	var (
		alg    jwa.SignatureAlgorithm
		rawKey any
	)
	switch c.mode {
	case signPlatformKey:
		alg, rawKey = jwa.RS256, active.priv
	case signForeignKey:
		if c.key == nil {
			return "", errors.New("ltitest: SignWithKey: nil key")
		}
		var err error
		if alg, err = defaultAlg(c.key); err != nil {
			return "", err
		}
		if err := c.key.Raw(&rawKey); err != nil {
			return "", fmt.Errorf("ltitest: SignWithKey: %w", err)
		}
		if kid := c.key.KeyID(); kid != "" {
			header["kid"] = kid
		}
	case signNone:
		alg = jwa.NoSignature
	case signHMACPublicKey:
		der, err := x509.MarshalPKIXPublicKey(&active.priv.PublicKey)
		if err != nil {
			return "", fmt.Errorf("ltitest: %w", err)
		}
		alg, rawKey = jwa.HS256, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
	case signHMACSecret:
		alg, rawKey = jwa.HS256, c.secret
	}
	if c.alg != "" && c.mode != signNone {
		alg = c.alg
	}
	header["alg"] = alg.String()
	for _, h := range c.headers {
		if h.remove {
			delete(header, h.name)
		} else {
			header[h.name] = h.value
		}
	}

	hb, err := json.Marshal(header)
	if err != nil {
		return "", fmt.Errorf("ltitest: marshaling the header: %w", err)
	}
	pb, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("ltitest: marshaling the claims: %w", err)
	}
	input := b64(hb) + "." + b64(pb)
	var sig []byte
	if alg != jwa.NoSignature {
		signer, err := jws.NewSigner(alg)
		if err != nil {
			return "", fmt.Errorf("ltitest: %w", err)
		}
		if sig, err = signer.Sign([]byte(input), rawKey); err != nil {
			return "", fmt.Errorf("ltitest: signing with %s: %w", alg, err)
		}
		if c.corrupt && len(sig) > 0 {
			sig[len(sig)/2] ^= 0x01
		}
	}
	return input + "." + b64(sig), nil
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// defaultAlg picks the signing algorithm for a key given to SignWithKey.
func defaultAlg(k jwk.Key) (jwa.SignatureAlgorithm, error) {
	if a := k.Algorithm(); a != nil && a.String() != "" {
		return jwa.SignatureAlgorithm(a.String()), nil
	}
	switch k.KeyType() {
	case jwa.RSA:
		return jwa.RS256, nil
	case jwa.OKP:
		return jwa.EdDSA, nil
	case jwa.OctetSeq:
		return jwa.HS256, nil
	case jwa.EC:
		var raw any
		if err := k.Raw(&raw); err != nil {
			return "", fmt.Errorf("ltitest: SignWithKey: %w", err)
		}
		if priv, ok := raw.(*ecdsa.PrivateKey); ok {
			switch priv.Curve {
			case elliptic.P384():
				return jwa.ES384, nil
			case elliptic.P521():
				return jwa.ES512, nil
			}
		}
		return jwa.ES256, nil
	}
	return "", fmt.Errorf("ltitest: SignWithKey: unsupported key type %q", k.KeyType())
}

// DecodeUnverified decodes a compact JWS without verifying anything and
// returns its header and payload as JSON objects (numbers as json.Number).
// It is for assertions in tests, never for trusting a token.
func DecodeUnverified(token string) (header, claims map[string]any, err error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, nil, fmt.Errorf("ltitest: a compact JWS has 3 segments, got %d", len(parts))
	}
	if header, err = decodeSegment(parts[0]); err != nil {
		return nil, nil, fmt.Errorf("ltitest: header: %w", err)
	}
	if claims, err = decodeSegment(parts[1]); err != nil {
		return nil, nil, fmt.Errorf("ltitest: payload: %w", err)
	}
	return header, claims, nil
}

func decodeSegment(s string) (map[string]any, error) {
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if m == nil || dec.More() {
		return nil, errors.New("not a single JSON object")
	}
	return m, nil
}
