package toolkey_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/ltikit/ltikit/toolkey"
)

// A Keyring signs with the store's active key and serves the public keys
// at the tool's JWKS URL. After a rotation the previous key stays
// published for the grace period.
func ExampleKeyring() {
	ctx := context.Background()
	store, err := toolkey.NewMemoryStore(toolkey.StoreOptions{Grace: 24 * time.Hour})
	if err != nil {
		log.Fatal(err)
	}
	keyring, err := toolkey.NewKeyring(store)
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /.well-known/jwks.json", keyring)
	srv := httptest.NewServer(mux)
	defer srv.Close()

	jwt, err := keyring.SignJWT(ctx, map[string]any{"iss": "my-client-id"})
	if err != nil {
		log.Fatal(err)
	}
	_ = jwt // e.g. a client assertion or a deep linking response
	if err := keyring.Rotate(ctx); err != nil {
		log.Fatal(err)
	}

	resp, err := http.Get(srv.URL + "/.well-known/jwks.json")
	if err != nil {
		log.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	set, err := jwk.Parse(body)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(resp.Header.Get("Content-Type"), resp.Header.Get("Cache-Control"))
	fmt.Println("published keys:", set.Len())
	// Output:
	// application/json public, max-age=60
	// published keys: 2
}
