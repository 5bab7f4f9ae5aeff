package ltitest

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"

	"github.com/ltikit/ltikit/toolkey/toolkeytest"
)

// toolKey is a tool signing key for the token endpoint tests.
type toolKey struct {
	priv jwk.Key
	set  jwk.Set
	kid  string
}

func newToolKey(t *testing.T) *toolKey {
	t.Helper()
	// A tool key lent by toolkeytest.KeySource (never a platform's key:
	// ltitest lends its own) instead of generated: RSA key generation was
	// the largest part of this file's CPU under the race detector.
	rk, err := toolkeytest.KeySource(t)(KeyBits)
	if err != nil {
		t.Fatal(err)
	}
	k, err := signingKeyOf(rk)
	if err != nil {
		t.Fatal(err)
	}
	priv, err := jwk.FromRaw(k.priv)
	if err != nil {
		t.Fatal(err)
	}
	_ = priv.Set(jwk.KeyIDKey, "tool-"+k.kid)
	pub, err := k.publicJWK()
	if err != nil {
		t.Fatal(err)
	}
	_ = pub.Set(jwk.KeyIDKey, "tool-"+k.kid)
	set := jwk.NewSet()
	_ = set.AddKey(pub)
	return &toolKey{priv: priv, set: set, kid: "tool-" + k.kid}
}

// assertionClaims are valid client assertion claims for p.
func assertionClaims(p *Platform, now time.Time) map[string]any {
	return map[string]any{
		"iss": p.ClientID(),
		"sub": p.ClientID(),
		"aud": p.TokenEndpoint(),
		"jti": randomHex(16),
		"iat": now.Unix(),
		"exp": now.Add(5 * time.Minute).Unix(),
	}
}

func postToken(t *testing.T, p *Platform, form url.Values) (int, map[string]any) {
	t.Helper()
	resp, err := http.PostForm(p.TokenEndpoint(), form)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "application/json" || resp.Header.Get("Cache-Control") != "no-store" {
		t.Fatalf("Content-Type %q, Cache-Control %q", ct, resp.Header.Get("Cache-Control"))
	}
	var m map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&m); err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, m
}

func tokenForm(assertion string) url.Values {
	return url.Values{
		"grant_type":            {"client_credentials"},
		"client_assertion_type": {clientAssertionType},
		"client_assertion":      {assertion},
		"scope":                 {"https://purl.imsglobal.org/spec/lti-ags/scope/score https://purl.imsglobal.org/spec/lti-ags/scope/lineitem"},
	}
}

// TestTokenEndpointChecks is docs/security.md, case 45 from the platform side:
// the endpoint refuses every assertion a real platform must refuse, with
// an RFC 6749 §5.2 answer, and issues a token for a good one.
func TestTokenEndpointChecks(t *testing.T) {
	p := newPlatform(t)
	tk := newToolKey(t)
	other := newToolKey(t)
	p.SetToolKeySet(tk.set)
	now := time.Now()
	sign := func(claims map[string]any, opts ...TokenOption) string {
		t.Helper()
		tok, err := p.MintIDToken(claims, append([]TokenOption{SignWithKey(tk.priv)}, opts...)...)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	with := func(name string, v any) map[string]any {
		c := assertionClaims(p, now)
		if v == nil {
			delete(c, name)
		} else {
			c[name] = v
		}
		return c
	}
	replayed := sign(assertionClaims(p, now))
	if status, m := postToken(t, p, tokenForm(replayed)); status != http.StatusOK {
		t.Fatalf("first use: %d %v", status, m)
	}
	tests := []struct {
		name      string
		form      url.Values
		wantCode  string
		wantParam string
	}{
		{"valid", tokenForm(sign(assertionClaims(p, now))), "", ""},
		{"aud array with the token URL", tokenForm(sign(with("aud", []string{p.TokenEndpoint(), "x"}))), "", ""},
		{"no grant_type", func() url.Values { f := tokenForm(sign(assertionClaims(p, now))); f.Del("grant_type"); return f }(), "invalid_request", "grant_type"},
		{"authorization_code grant", func() url.Values {
			f := tokenForm(sign(assertionClaims(p, now)))
			f.Set("grant_type", "authorization_code")
			return f
		}(), "unsupported_grant_type", "grant_type"},
		{"wrong assertion type", func() url.Values {
			f := tokenForm(sign(assertionClaims(p, now)))
			f.Set("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:saml2-bearer")
			return f
		}(), "invalid_request", "client_assertion_type"},
		{"no assertion", tokenForm(""), "invalid_request", "client_assertion"},
		{"garbage assertion", tokenForm("a.b.c"), "invalid_client", "client_assertion"},
		{"iss is not the client_id", tokenForm(sign(with("iss", "someone"))), "invalid_client", "iss"},
		{"sub is not the client_id", tokenForm(sign(with("sub", "someone"))), "invalid_client", "sub"},
		{"aud is the issuer", tokenForm(sign(with("aud", p.Issuer()))), "invalid_client", "aud"},
		{"no aud", tokenForm(sign(with("aud", nil))), "invalid_client", "aud"},
		{"expired", tokenForm(sign(with("exp", now.Add(-2*time.Minute).Unix()))), "invalid_client", "exp"},
		{"exp an hour ahead", tokenForm(sign(with("exp", now.Add(time.Hour).Unix()))), "invalid_client", "exp"},
		{"no exp", tokenForm(sign(with("exp", nil))), "invalid_client", "exp"},
		{"iat in the future", tokenForm(sign(with("iat", now.Add(5*time.Minute).Unix()))), "invalid_client", "iat"},
		{"no jti", tokenForm(sign(with("jti", nil))), "invalid_client", "jti"},
		{"replayed jti", tokenForm(replayed), "invalid_client", "jti"},
		{"HS256", tokenForm(sign(assertionClaims(p, now), SignHMAC([]byte("0123456789abcdef0123456789abcdef")), WithKID(tk.kid))), "invalid_client", "client_assertion"},
		{"alg none", tokenForm(sign(assertionClaims(p, now), SignNone(), WithKID(tk.kid))), "invalid_client", "client_assertion"},
		{"RS512", tokenForm(sign(assertionClaims(p, now), SignWithAlg(jwa.RS512))), "invalid_client", "client_assertion"},
		{"no kid", tokenForm(sign(assertionClaims(p, now), WithoutKID())), "invalid_client", "client_assertion"},
		{"unknown kid", tokenForm(sign(assertionClaims(p, now), WithKID("nope"))), "invalid_client", "client_assertion"},
		{"another key under the tool's kid", func() url.Values {
			tok, err := p.MintIDToken(assertionClaims(p, now), SignWithKey(other.priv), WithKID(tk.kid))
			if err != nil {
				t.Fatal(err)
			}
			return tokenForm(tok)
		}(), "invalid_client", "client_assertion"},
		{"corrupt signature", tokenForm(sign(assertionClaims(p, now), CorruptSignature())), "invalid_client", "client_assertion"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := p.TokenRequests()
			status, m := postToken(t, p, tc.form)
			if p.TokenRequests() != before+1 {
				t.Fatal("the request was not counted")
			}
			if tc.wantCode == "" {
				if status != http.StatusOK || m["token_type"] != "Bearer" || m["expires_in"] != 3600.0 || m["access_token"] == "" {
					t.Fatalf("%d %v", status, m)
				}
				req := httptest.NewRequest(http.MethodGet, "/", nil)
				req.Header.Set("Authorization", "Bearer "+m["access_token"].(string))
				if !p.ValidateBearer(req, "https://purl.imsglobal.org/spec/lti-ags/scope/score") || !p.ValidateBearer(req, "") {
					t.Fatal("the issued token does not validate")
				}
				if p.ValidateBearer(req, "https://purl.imsglobal.org/spec/lti-nrps/scope/contextmembership.readonly") {
					t.Fatal("the token validates for a scope not granted")
				}
				return
			}
			if status != http.StatusBadRequest || m["error"] != tc.wantCode || m["parameter"] != tc.wantParam || m["access_token"] != nil {
				t.Fatalf("%d %v; want 400 %s on %s", status, m, tc.wantCode, tc.wantParam)
			}
		})
	}
	if log := p.TokenLog(); len(log) != len(tests)+1 || log[0].AccessToken == "" || log[3].Error == "" {
		t.Fatalf("token log of %d records", len(log))
	}
}

// TestTokenEndpointFetchesToolJWKS: without a static set, the endpoint
// verifies against Config.ToolJWKSURL, and refuses when it is unusable.
func TestTokenEndpointFetchesToolJWKS(t *testing.T) {
	tk := newToolKey(t)
	var broken atomic.Bool
	tool := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if broken.Load() {
			http.Error(w, "down", http.StatusInternalServerError)
			return
		}
		_ = json.NewEncoder(w).Encode(tk.set)
	}))
	defer tool.Close()
	p, err := NewPlatform(Config{ToolJWKSURL: tool.URL})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	mint := func() string {
		tok, err := p.MintIDToken(assertionClaims(p, time.Now()), SignWithKey(tk.priv))
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	if status, m := postToken(t, p, tokenForm(mint())); status != http.StatusOK {
		t.Fatalf("%d %v", status, m)
	}
	broken.Store(true)
	if status, m := postToken(t, p, tokenForm(mint())); status != http.StatusBadRequest || m["error"] != "invalid_client" {
		t.Fatalf("%d %v", status, m)
	}
	if _, err := NewPlatform(Config{ToolJWKSURL: "/relative"}); err == nil {
		t.Fatal("a relative tool JWKS URL was accepted")
	}
}

// TestTokenLifecycle: lifetime, expiry by the platform's clock,
// revocation, failure injection and minted tokens.
func TestTokenLifecycle(t *testing.T) {
	p := newPlatform(t)
	tk := newToolKey(t)
	p.SetToolKeySet(tk.set)
	now := time.Now()
	p.SetTokenClock(func() time.Time { return now })
	p.SetTokenLifetime(2 * time.Minute)
	tok, _ := p.MintIDToken(assertionClaims(p, now), SignWithKey(tk.priv))
	status, m := postToken(t, p, tokenForm(tok))
	if status != http.StatusOK || m["expires_in"] != 120.0 {
		t.Fatalf("%d %v", status, m)
	}
	req := httptest.NewRequest(http.MethodGet, "/", nil)
	req.Header.Set("Authorization", "bearer "+m["access_token"].(string))
	if !p.ValidateBearer(req, "") {
		t.Fatal("fresh token refused")
	}
	if scopes, ok := p.GrantedScopes(req); !ok || len(scopes) != 2 {
		t.Fatalf("granted %v, %v", scopes, ok)
	}
	now = now.Add(2 * time.Minute)
	if p.ValidateBearer(req, "") {
		t.Fatal("expired token accepted")
	}

	minted := p.MintAccessToken("s1")
	req.Header.Set("Authorization", "Bearer "+minted)
	if !p.ValidateBearer(req, "s1") || p.ValidateBearer(req, "s2") {
		t.Fatal("minted token scopes")
	}
	p.RevokeTokens()
	if p.ValidateBearer(req, "s1") {
		t.Fatal("revoked token accepted")
	}
	for _, h := range []string{"", "Bearer", "Basic " + minted, "Bearer  "} {
		req.Header.Set("Authorization", h)
		if p.ValidateBearer(req, "") {
			t.Fatalf("Authorization %q accepted", h)
		}
	}

	p.SetTokenFailure(http.StatusBadGateway, "<html>gateway</html>")
	resp, err := http.PostForm(p.TokenEndpoint(), tokenForm(tok))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadGateway || string(body) != "<html>gateway</html>" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/plain") {
		t.Fatalf("%d %q", resp.StatusCode, body)
	}
	p.SetTokenFailure(0, "")
	resp, err = http.Get(p.TokenEndpoint())
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("GET: %d", resp.StatusCode)
	}
	p.SetTokenLifetime(0)
	tok, _ = p.MintIDToken(assertionClaims(p, now), SignWithKey(tk.priv))
	if status, m := postToken(t, p, tokenForm(tok)); status != http.StatusOK || m["expires_in"] != 0.0 {
		t.Fatalf("lifetime 0: %d %v", status, m)
	}
}
