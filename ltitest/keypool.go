package ltitest

import (
	"crypto/rsa"
	"crypto/x509"
	_ "embed"
	"encoding/pem"
	"fmt"
	"sync"
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
var testKeys struct {
	once sync.Once
	err  error
	mu   sync.Mutex
	free []*rsa.PrivateKey
}

// borrowKey returns a built-in key no open platform holds, or a freshly
// generated one when all are lent. pooled tells which: only pooled keys
// go back with returnKeys.
func borrowKey() (k *signingKey, pooled bool, err error) {
	testKeys.once.Do(func() { testKeys.free, testKeys.err = parseTestKeys(testKeysPEM) })
	if testKeys.err != nil {
		return nil, false, testKeys.err
	}
	testKeys.mu.Lock()
	var priv *rsa.PrivateKey
	if n := len(testKeys.free); n > 0 {
		priv = testKeys.free[n-1]
		testKeys.free = testKeys.free[:n-1]
	}
	testKeys.mu.Unlock()
	if priv == nil {
		k, err := newSigningKey()
		return k, false, err
	}
	k, err = signingKeyOf(priv)
	if err != nil {
		returnKeys([]*rsa.PrivateKey{priv})
		return nil, false, err
	}
	return k, true, nil
}

// returnKeys gives built-in keys back for other platforms to borrow.
func returnKeys(keys []*rsa.PrivateKey) {
	if len(keys) == 0 {
		return
	}
	testKeys.mu.Lock()
	defer testKeys.mu.Unlock()
	testKeys.free = append(testKeys.free, keys...)
}

// parseTestKeys reads the PEM blocks of data as RSA private keys.
func parseTestKeys(data []byte) ([]*rsa.PrivateKey, error) {
	var keys []*rsa.PrivateKey
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("ltitest: built-in test key %d: %w", len(keys), err)
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok || rk.N.BitLen() != KeyBits {
			return nil, fmt.Errorf("ltitest: built-in test key %d is not RSA-%d", len(keys), KeyBits)
		}
		keys = append(keys, rk)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("ltitest: no built-in test keys")
	}
	return keys, nil
}
