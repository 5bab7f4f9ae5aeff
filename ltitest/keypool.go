package ltitest

import (
	"crypto/rsa"
	_ "embed"

	"github.com/ltikit/ltikit/internal/keypool"
)

// testKeysPEM holds 32 RSA-2048 private keys (PKCS #8), made once with
// `openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:2048`. They are
// public, like the certificate of net/http/httptest: they sign the tokens
// of test platforms and nothing else.
//
//go:embed testkeys.pem
var testKeysPEM []byte

// testKeys lends the built-in keys to platforms. Generating an RSA-2048
// key costs tens of milliseconds, and far more under the race detector,
// which made key generation the largest part of the CPU time of the
// tests that start many platforms. A key is lent to one platform at a
// time: no two open platforms of a process share a key, so a token of one
// never verifies against another's key set. Once every built-in key is
// lent, platforms generate their keys.
var testKeys = keypool.New("ltitest", testKeysPEM, KeyBits)

// borrowKey returns a built-in key no open platform holds, or a freshly
// generated one when all are lent. pooled tells which: only pooled keys
// go back with returnKeys.
func borrowKey() (k *signingKey, pooled bool, err error) {
	priv, err := testKeys.Borrow()
	if err != nil {
		return nil, false, err
	}
	if priv == nil {
		k, err := newSigningKey()
		return k, false, err
	}
	k, err = signingKeyOf(priv)
	if err != nil {
		testKeys.Return(priv)
		return nil, false, err
	}
	return k, true, nil
}

// returnKeys gives built-in keys back for other platforms to borrow.
func returnKeys(keys []*rsa.PrivateKey) { testKeys.Return(keys...) }
