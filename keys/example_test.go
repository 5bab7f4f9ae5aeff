package keys_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/ltikit/ltikit/keys"
	"github.com/ltikit/ltikit/registration"
)

// A cache in front of a platform's JWKS URL: the first lookup fetches, the
// next ones are answered from memory.
func ExampleCache() {
	priv, _ := rsa.GenerateKey(rand.Reader, 2048)
	pub, _ := jwk.FromRaw(priv.PublicKey)
	_ = pub.Set(jwk.KeyIDKey, "platform-key-1")
	_ = pub.Set(jwk.AlgorithmKey, jwa.RS256)
	set := jwk.NewSet()
	_ = set.AddKey(pub)

	var fetches atomic.Int64
	platform := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fetches.Add(1)
		b, _ := set.(interface{ MarshalJSON() ([]byte, error) }).MarshalJSON()
		w.Write(b)
	}))
	defer platform.Close()

	cache := keys.NewCache(keys.WithTTL(time.Hour), keys.WithMaxBytes(64<<10))
	reg := registration.Registration{KeySetURL: platform.URL}
	for i := 0; i < 3; i++ {
		k, err := cache.Key(context.Background(), reg, "platform-key-1")
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Println(k.KeyType, k.Alg)
	}
	_, err := cache.Key(context.Background(), reg, "unknown-kid")
	fmt.Println(err)
	fmt.Println("fetches:", fetches.Load())
	// Output:
	// RSA RS256
	// RSA RS256
	// RSA RS256
	// keys: no key with that kid
	// fetches: 2
}
