package ltitest_test

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"

	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/ltitest"
)

// A tiny tool, written inline, launched by the test platform. Its login
// handler redirects the browser to the platform's auth endpoint with a
// state cookie; its launch handler checks the cookie, verifies the
// id_token against the platform's key set and greets the user.
func ExamplePlatform_Launch() {
	var (
		platform *ltitest.Platform
		mu       sync.Mutex
		nonces   = map[string]string{} // state -> nonce
	)
	mux := http.NewServeMux()
	tool := httptest.NewServer(mux)
	defer tool.Close()

	mux.HandleFunc("POST /login", func(w http.ResponseWriter, r *http.Request) {
		if r.FormValue("iss") != platform.Issuer() {
			http.Error(w, "unknown platform", http.StatusBadRequest)
			return
		}
		state, nonce := rand.Text(), rand.Text()
		mu.Lock()
		nonces[state] = nonce
		mu.Unlock()
		http.SetCookie(w, &http.Cookie{Name: "state", Value: state, HttpOnly: true, Secure: true, SameSite: http.SameSiteNoneMode})
		q := url.Values{
			"scope": {"openid"}, "response_type": {"id_token"}, "response_mode": {"form_post"}, "prompt": {"none"},
			"client_id": {platform.ClientID()}, "redirect_uri": {tool.URL + "/launch"},
			"login_hint": {r.FormValue("login_hint")}, "lti_message_hint": {r.FormValue("lti_message_hint")},
			"state": {state}, "nonce": {nonce},
		}
		http.Redirect(w, r, platform.Registration().AuthEndpoint+"?"+q.Encode(), http.StatusFound)
	})
	mux.HandleFunc("POST /launch", func(w http.ResponseWriter, r *http.Request) {
		cookie, err := r.Cookie("state")
		if err != nil || cookie.Value != r.FormValue("state") {
			http.Error(w, "invalid state", http.StatusUnauthorized)
			return
		}
		mu.Lock()
		nonce := nonces[cookie.Value]
		delete(nonces, cookie.Value)
		mu.Unlock()
		keys, err := jwk.Fetch(r.Context(), platform.Registration().KeySetURL)
		if err != nil {
			http.Error(w, "key set unavailable", http.StatusServiceUnavailable)
			return
		}
		payload, err := jws.Verify([]byte(r.FormValue("id_token")), jws.WithKeySet(keys))
		if err != nil {
			http.Error(w, "invalid signature", http.StatusUnauthorized)
			return
		}
		claims, err := lti.DecodeClaims(payload)
		if err != nil || claims.Nonce != nonce || nonce == "" {
			http.Error(w, "invalid claims", http.StatusUnauthorized)
			return
		}
		fmt.Fprintf(w, "Hello, %s (%s)", claims.Name, claims.MessageType)
	})

	platform, err := ltitest.NewPlatform(ltitest.Config{
		ToolLoginURL:     tool.URL + "/login",
		ToolRedirectURIs: []string{tool.URL + "/launch"},
	})
	if err != nil {
		log.Fatal(err)
	}
	defer platform.Close()

	ctx := context.Background()
	for _, opts := range [][]ltitest.LaunchOption{
		{ltitest.AsLearner()},
		{ltitest.WithTokenOptions(ltitest.SignNone())},
		{ltitest.WithClaim("nonce", "replayed")},
	} {
		resp, err := platform.Launch(ctx, ltitest.NewBrowser(), opts...)
		if err != nil {
			log.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		fmt.Printf("%d %s\n", resp.StatusCode, strings.TrimSpace(string(body)))
	}
	// Output:
	// 200 Hello, Stu Dent (LtiResourceLinkRequest)
	// 401 invalid signature
	// 401 invalid claims
}

// Minting tokens directly, for tests of an id_token validator that skip the
// login flow.
func ExamplePlatform_MintIDToken() {
	platform, err := ltitest.NewPlatform(ltitest.Config{ToolRedirectURIs: []string{"https://tool.example/launch"}})
	if err != nil {
		log.Fatal(err)
	}
	defer platform.Close()

	claims := platform.DefaultClaims("nonce-123")
	claims[lti.ClaimRoles] = []string{ltitest.RoleLearner}
	token, err := platform.MintIDToken(claims)
	if err != nil {
		log.Fatal(err)
	}
	payload, err := jws.Verify([]byte(token), jws.WithKeySet(platform.PublicKeySet()))
	if err != nil {
		log.Fatal(err)
	}
	var got map[string]any
	_ = json.Unmarshal(payload, &got)
	fmt.Println(got["nonce"], got[lti.ClaimRoles], got["aud"])

	// The classic algorithm-confusion token must not verify.
	forged, err := platform.MintIDToken(claims, ltitest.SignHS256WithPublicKey())
	if err != nil {
		log.Fatal(err)
	}
	header, _, _ := ltitest.DecodeUnverified(forged)
	_, err = jws.Verify([]byte(forged), jws.WithKeySet(platform.PublicKeySet()))
	fmt.Println(header["alg"], err != nil)
	// Output:
	// nonce-123 [http://purl.imsglobal.org/vocab/lis/v2/membership#Learner] ltitest-client
	// HS256 true
}
