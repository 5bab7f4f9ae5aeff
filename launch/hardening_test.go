package launch_test

import (
	"context"
	"encoding/base64"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/ltikit/ltikit/launch"
	"github.com/ltikit/ltikit/ltitest"
	"github.com/ltikit/ltikit/registration"
	"github.com/ltikit/ltikit/storage"
	"github.com/ltikit/ltikit/toolkey/toolkeytest"
)

// staticKeys wraps an adapter so the registration it finds carries a
// static key set (registration.Registration.KeySet) instead of the
// platform's key set URL, once a test has given it one.
type staticKeys struct {
	storage.Adapter
	mu  sync.Mutex
	set jwk.Set
}

func withStaticKeys(a storage.Adapter) storage.Adapter { return &staticKeys{Adapter: a} }

func (s *staticKeys) CarriesNonce() bool { return true }

func (s *staticKeys) FindRegistration(ctx context.Context, issuer, clientID string) (registration.Registerable, error) {
	r, err := s.Adapter.FindRegistration(ctx, issuer, clientID)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	set := s.set
	s.mu.Unlock()
	if set == nil {
		return r, nil
	}
	lr := r.LTIRegistration()
	lr.KeySetURL, lr.KeySet = "", set
	return lr, nil
}

// useStaticKeys gives the env's registration the platform's published keys
// plus extra (public halves) as a static key set, and returns the set.
func (e *env) useStaticKeys(extra ...jwk.Key) jwk.Set {
	e.t.Helper()
	set := e.platform.PublicKeySet()
	for _, k := range extra {
		pub, err := jwk.PublicKeyOf(k)
		if err != nil {
			e.t.Fatal(err)
		}
		if err := set.AddKey(pub); err != nil {
			e.t.Fatal(err)
		}
	}
	s := e.adapter.(*staticKeys)
	s.mu.Lock()
	s.set = set
	s.mu.Unlock()
	return set
}

// rsaJWK is a private RSA JWK of bits, with kid and alg RS256, that no
// other key of the test has. An RSA-2048 key is lent by
// toolkeytest.KeySource (none of them is a platform's: ltitest lends its
// own): generating one cost up to a second under the race detector.
func rsaJWK(t testing.TB, bits int, kid string) jwk.Key {
	pk, err := toolkeytest.KeySource(t)(bits)
	if err != nil {
		t.Fatal(err)
	}
	k, _ := jwk.FromRaw(pk)
	_ = k.Set(jwk.KeyIDKey, kid)
	_ = k.Set(jwk.AlgorithmKey, jwa.RS256)
	return k
}

// withHeaderJSON replaces the token's header with header, verbatim, and
// signs it again with the platform's active key, so only the header's
// spelling differs from a valid launch.
func (e *env) withHeaderJSON(header func(kid string) string) outcome {
	e.t.Helper()
	return e.withToken(func(tok string) string {
		kid := e.platform.ActiveKID()
		priv, ok := e.platform.PrivateKey(kid)
		if !ok {
			e.t.Fatal("no active key")
		}
		payload := strings.Split(tok, ".")[1]
		input := base64.RawURLEncoding.EncodeToString([]byte(header(kid))) + "." + payload
		signer, err := jws.NewSigner(jwa.RS256)
		if err != nil {
			e.t.Fatal(err)
		}
		sig, err := signer.Sign([]byte(input), priv)
		if err != nil {
			e.t.Fatal(err)
		}
		return input + "." + base64.RawURLEncoding.EncodeToString(sig)
	})
}

// hardeningCases are the cases of the "Hardening" audit (items 3–7).
func hardeningCases() []adversarialCase {
	type tc = adversarialCase
	weak := func(e *env) jwk.Key { return rsaJWK(e.t, 1024, "weak") }
	return []tc{
		// Item 3: RFC 7518 §3.3, RSA keys of at least 2048 bits.
		{name: "H3 static key set: a 2048-bit key of the host's own is usable", env: envOpts{wrap: withStaticKeys}, do: func(e *env) outcome {
			k := rsaJWK(e.t, 2048, "strong")
			e.useStaticKeys(k)
			return e.launch(tokOpts(ltitest.SignWithKey(k))...)
		}, want: ok},
		{name: "H3 launch signed with a published 1024-bit RSA key", env: envOpts{wrap: withStaticKeys}, do: func(e *env) outcome {
			k := weak(e)
			e.useStaticKeys(k)
			return e.launch(tokOpts(ltitest.SignWithKey(k))...)
		}, want: cSig},
		{name: "H3 1024-bit RSA key, PS256 allowed", env: envOpts{wrap: withStaticKeys, toolOpts: toolAlgs(jwa.RS256, jwa.PS256)}, do: func(e *env) outcome {
			k := weak(e)
			_ = k.Remove(jwk.AlgorithmKey)
			e.useStaticKeys(k)
			return e.launch(tokOpts(ltitest.SignWithKey(k), ltitest.SignWithAlg(jwa.PS256))...)
		}, want: cSig},

		// Item 4: nbf (RFC 7519 §4.1.5).
		{name: "H4 nbf an hour ahead", opts: claim("nbf", time.Now().Add(time.Hour).Unix()), want: cExpired},
		{name: "H4 nbf 2 minutes ahead, beyond the skew", opts: claim("nbf", time.Now().Add(2*time.Minute).Unix()), want: cExpired},
		{name: "H4 nbf 30 s ahead, within the skew", opts: claim("nbf", time.Now().Add(30*time.Second).Unix()), want: ok},
		{name: "H4 nbf a minute past", opts: claim("nbf", time.Now().Add(-time.Minute).Unix()), want: ok},
		{name: "H4 nbf a string", opts: claim("nbf", "soon"), want: cClaims},
		{name: "H4 nbf null", opts: claim("nbf", nil), want: cClaims},

		// Item 5: header names are case-sensitive, duplicates refused (RFC 7515 §4).
		{name: "H5 header KID instead of kid", do: func(e *env) outcome {
			return e.launch(tokOpts(ltitest.WithoutKID(), ltitest.WithHeader("KID", e.platform.ActiveKID()))...)
		}, want: cSig},
		{name: "H5 header ALG instead of alg", do: func(e *env) outcome {
			return e.withHeaderJSON(func(kid string) string { return `{"ALG":"RS256","kid":"` + kid + `"}` })
		}, want: cSig},
		{name: "H5 header Kid and Alg", do: func(e *env) outcome {
			return e.withHeaderJSON(func(kid string) string { return `{"Alg":"RS256","Kid":"` + kid + `"}` })
		}, want: cSig},
		{name: "H5 header re-signed as sent (harness check)", do: func(e *env) outcome {
			return e.withHeaderJSON(func(kid string) string { return `{"alg":"RS256","kid":"` + kid + `","typ":"JWT"}` })
		}, want: ok},
		{name: "H5 header name escaped, same name after unescaping", do: func(e *env) outcome {
			return e.withHeaderJSON(func(kid string) string { return `{"\u0061lg":"RS256","ki\u0064":"` + kid + `"}` })
		}, want: ok},
		{name: "H5 duplicate kid", do: func(e *env) outcome {
			return e.withHeaderJSON(func(kid string) string { return `{"alg":"RS256","kid":"` + kid + `","kid":"` + kid + `"}` })
		}, want: cToken},
		{name: "H5 duplicate alg", do: func(e *env) outcome {
			return e.withHeaderJSON(func(kid string) string { return `{"alg":"HS256","kid":"` + kid + `","alg":"RS256"}` })
		}, want: cToken},
		{name: "H5 duplicate typ", do: func(e *env) outcome {
			return e.withHeaderJSON(func(kid string) string { return `{"alg":"RS256","typ":"JWT","kid":"` + kid + `","typ":"JWT"}` })
		}, want: cToken},
		{name: "H5 duplicate kid, one escaped", do: func(e *env) outcome {
			return e.withHeaderJSON(func(kid string) string { return `{"alg":"RS256","kid":"` + kid + `","k\u0069d":"` + kid + `"}` })
		}, want: cToken},
		{name: "H5 header is JSON null", do: func(e *env) outcome {
			return e.withHeaderJSON(func(string) string { return `null` })
		}, want: cToken},

		// Item 6: key_ops (RFC 7517 §4.3).
		{name: "H6 key with key_ops [encrypt]", env: envOpts{wrap: withStaticKeys}, do: func(e *env) outcome {
			k := rsaJWK(e.t, 2048, "enc-only")
			_ = k.Set(jwk.KeyOpsKey, jwk.KeyOperationList{jwk.KeyOpEncrypt})
			e.useStaticKeys(k)
			return e.launch(tokOpts(ltitest.SignWithKey(k))...)
		}, want: cSig},
		{name: "H6 key with key_ops [verify]", env: envOpts{wrap: withStaticKeys}, do: func(e *env) outcome {
			k := rsaJWK(e.t, 2048, "verify")
			_ = k.Set(jwk.KeyOpsKey, jwk.KeyOperationList{jwk.KeyOpVerify})
			e.useStaticKeys(k)
			return e.launch(tokOpts(ltitest.SignWithKey(k))...)
		}, want: ok},

		// Item 7: a static key set changed in place.
		{name: "H7 key removed in place from a static key set", env: envOpts{wrap: withStaticKeys}, do: func(e *env) outcome {
			set := e.useStaticKeys()
			if o := e.launch(); o.code != ok {
				e.t.Fatalf("first launch refused: %+v", o)
			}
			e.launched.Store(0)
			k, found := set.LookupKeyID(e.platform.ActiveKID())
			if !found || set.RemoveKey(k) != nil {
				e.t.Fatal("cannot remove the key")
			}
			return e.launch()
		}, want: cSig},
		{name: "H7 key added in place to a static key set", env: envOpts{wrap: withStaticKeys}, do: func(e *env) outcome {
			set := e.useStaticKeys()
			if o := e.launch(); o.code != ok {
				e.t.Fatalf("first launch refused: %+v", o)
			}
			e.launched.Store(0)
			k := rsaJWK(e.t, 2048, "added")
			pub, _ := jwk.PublicKeyOf(k)
			if err := set.AddKey(pub); err != nil {
				e.t.Fatal(err)
			}
			return e.launch(tokOpts(ltitest.SignWithKey(k))...)
		}, want: ok},
	}
}

func toolAlgs(algs ...jwa.SignatureAlgorithm) []launch.Option {
	return []launch.Option{launch.WithAlgorithms(algs...)}
}
