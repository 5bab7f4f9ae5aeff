package token_test

import (
	"context"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"

	"github.com/ltikit/ltikit/ltitest"
	"github.com/ltikit/ltikit/services/token"
	"github.com/ltikit/ltikit/toolkey"
)

// A tool gets an access token from the platform's token endpoint: the
// client credentials grant with a client assertion signed by the tool's
// Keyring, which the platform verifies against the tool's JWKS.
func ExampleClient_Token() {
	ctx := context.Background()
	store, err := toolkey.NewMemoryStore(toolkey.StoreOptions{})
	if err != nil {
		log.Fatal(err)
	}
	keyring, err := toolkey.NewKeyring(store)
	if err != nil {
		log.Fatal(err)
	}
	// The tool publishes its keys; the platform is configured with the URL.
	tool := httptest.NewServer(keyring)
	defer tool.Close()
	platform, err := ltitest.NewPlatform(ltitest.Config{ToolJWKSURL: tool.URL})
	if err != nil {
		log.Fatal(err)
	}
	defer platform.Close()

	client, err := token.New(token.Config{Signer: keyring})
	if err != nil {
		log.Fatal(err)
	}
	scopes := []string{"https://purl.imsglobal.org/spec/lti-ags/scope/score"}
	tok, err := client.Token(ctx, platform.Registration(), scopes)
	if err != nil {
		log.Fatal(err)
	}
	again, err := client.Token(ctx, platform.Registration(), scopes)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println("same token:", tok == again)
	fmt.Println("token requests:", platform.TokenRequests())
	// Output:
	// same token: true
	// token requests: 1
}

// Do sends a service request with the bearer token, retrying once after a
// 401, and refuses URLs off the platform.
func ExampleClient_Do() {
	ctx := context.Background()
	store, _ := toolkey.NewMemoryStore(toolkey.StoreOptions{})
	keyring, _ := toolkey.NewKeyring(store)
	const scope = "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"

	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	defer srv.Close()
	platform, err := ltitest.NewHandler(srv.URL+"/lms", ltitest.Config{})
	if err != nil {
		log.Fatal(err)
	}
	set, _ := keyring.KeySet(ctx)
	platform.SetToolKeySet(set)
	mux.Handle("/lms/", platform)
	mux.HandleFunc("/lms/api/lineitems", func(w http.ResponseWriter, r *http.Request) {
		if !platform.ValidateBearer(r, scope) {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		io.WriteString(w, "[]")
	})

	client, _ := token.New(token.Config{Signer: keyring})
	reg := platform.Registration()
	req, _ := http.NewRequest(http.MethodGet, srv.URL+"/lms/api/lineitems", nil)
	resp, err := client.Do(ctx, reg, []string{scope}, req)
	if err != nil {
		log.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, string(body))

	req, _ = http.NewRequest(http.MethodGet, "https://elsewhere.example/api", nil)
	_, err = client.Do(ctx, reg, []string{scope}, req)
	fmt.Println(err)
	// Output:
	// 200 []
	// token: URL is not on the registration's platform; bearer token not sent: https://elsewhere.example
}
