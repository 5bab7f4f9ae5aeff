package keypool

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"strings"
	"sync"
	"testing"
)

// pemOf encodes keys as PKCS #8 PEM blocks.
func pemOf(t *testing.T, keys ...*rsa.PrivateKey) []byte {
	t.Helper()
	var b strings.Builder
	for _, k := range keys {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		if err := pem.Encode(&b, &pem.Block{Type: "PRIVATE KEY", Bytes: der}); err != nil {
			t.Fatal(err)
		}
	}
	return []byte(b.String())
}

// TestParse: keys of the given size parse; a broken block, a key of
// another size and an empty file fail, naming the owner.
func TestParse(t *testing.T) {
	k1, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := Parse("p", pemOf(t, k1, k2), 1024)
	if err != nil || len(keys) != 2 || !keys[0].Equal(k1) || !keys[1].Equal(k2) {
		t.Fatalf("Parse = %d keys, %v", len(keys), err)
	}
	for name, data := range map[string][]byte{
		"not PEM":        []byte("not PEM"),
		"broken":         []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"),
		"wrong size":     pemOf(t, k1),
		"nothing at all": nil,
	} {
		bits := 1024
		if name == "wrong size" {
			bits = 2048
		}
		if _, err := Parse("owner", data, bits); err == nil || !strings.HasPrefix(err.Error(), "owner: ") {
			t.Errorf("%s: err = %v, want an error naming the owner", name, err)
		}
	}
}

// TestLentOnce: concurrent borrowers never hold the same key; once all are
// lent Borrow returns nil; returned keys are lent again; a pool whose keys
// do not parse fails every Borrow.
func TestLentOnce(t *testing.T) {
	var all []*rsa.PrivateKey
	for range 4 {
		k, err := rsa.GenerateKey(rand.Reader, 1024)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, k)
	}
	p := New("p", pemOf(t, all...), 1024)
	var (
		mu   sync.Mutex
		got  []*rsa.PrivateKey
		wg   sync.WaitGroup
		nils int
	)
	for range 8 {
		wg.Go(func() {
			k, err := p.Borrow()
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if k == nil {
				nils++
				return
			}
			got = append(got, k)
		})
	}
	wg.Wait()
	if len(got) != 4 || nils != 4 {
		t.Fatalf("%d keys lent and %d nils, want 4 and 4", len(got), nils)
	}
	for i := range got {
		for j := range i {
			if got[i].Equal(got[j]) {
				t.Fatalf("keys %d and %d are the same key", i, j)
			}
		}
	}
	p.Return(got[1], got[3])
	for _, want := range []*rsa.PrivateKey{got[3], got[1], nil} {
		k, err := p.Borrow()
		if err != nil || (want == nil) != (k == nil) || want != nil && !k.Equal(want) {
			t.Fatalf("after Return: Borrow = %v, %v", k != nil, err)
		}
	}
	bad := New("bad", []byte("x"), 1024)
	for range 2 {
		if k, err := bad.Borrow(); err == nil || k != nil {
			t.Fatalf("Borrow from unparsable keys = %v, %v", k != nil, err)
		}
	}
}
