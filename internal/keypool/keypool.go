package keypool

import (
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"sync"
)

// Pool lends the keys of one PEM file. The file is parsed on the first
// Borrow; a key is held by one borrower until it is returned. The zero
// Pool is not usable: make one with New.
type Pool struct {
	name string // of the owning package, for errors
	pem  []byte
	bits int

	once sync.Once
	err  error
	mu   sync.Mutex
	free []*rsa.PrivateKey
}

// New returns a pool of the PKCS #8 RSA private keys in pemData, each of
// bits bits. name prefixes its errors (the package that owns the keys).
func New(name string, pemData []byte, bits int) *Pool {
	return &Pool{name: name, pem: pemData, bits: bits}
}

// Borrow returns a key that no other borrower holds, or nil when every key
// is lent. It fails when the embedded keys do not parse.
func (p *Pool) Borrow() (*rsa.PrivateKey, error) {
	p.once.Do(func() { p.free, p.err = Parse(p.name, p.pem, p.bits) })
	if p.err != nil {
		return nil, p.err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	n := len(p.free)
	if n == 0 {
		return nil, nil
	}
	k := p.free[n-1]
	p.free = p.free[:n-1]
	return k, nil
}

// Return gives borrowed keys back for other borrowers. Only keys that
// Borrow returned may be given back, each once.
func (p *Pool) Return(keys ...*rsa.PrivateKey) {
	if len(keys) == 0 {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.free = append(p.free, keys...)
}

// Parse reads the PEM blocks of data as PKCS #8 RSA private keys of bits
// bits. It fails on a block that is not one, and when there is none.
func Parse(name string, data []byte, bits int) ([]*rsa.PrivateKey, error) {
	var keys []*rsa.PrivateKey
	for {
		var b *pem.Block
		b, data = pem.Decode(data)
		if b == nil {
			break
		}
		k, err := x509.ParsePKCS8PrivateKey(b.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%s: built-in key %d: %w", name, len(keys), err)
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok || rk.N.BitLen() != bits {
			return nil, fmt.Errorf("%s: built-in key %d is not RSA-%d", name, len(keys), bits)
		}
		keys = append(keys, rk)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%s: no built-in keys", name)
	}
	return keys, nil
}
