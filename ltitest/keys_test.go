package ltitest

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwk"
)

// fetchJWKS GETs the platform's key set and returns the status and the
// decoded JSON body.
func fetchJWKS(t *testing.T, p *Platform) (int, map[string]any, http.Header) {
	t.Helper()
	resp, err := http.Get(p.KeySetURL())
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(body, &m); err != nil {
		t.Fatalf("JWKS body is not JSON: %v: %s", err, body)
	}
	return resp.StatusCode, m, resp.Header
}

func jwksKIDs(t *testing.T, m map[string]any) []string {
	t.Helper()
	keys, ok := m["keys"].([]any)
	if !ok {
		t.Fatalf("no keys array in %v", m)
	}
	var kids []string
	for _, k := range keys {
		obj := k.(map[string]any)
		for _, private := range []string{"d", "p", "q", "dp", "dq", "qi", "oth", "k"} {
			if _, ok := obj[private]; ok {
				t.Errorf("the key set publishes the private member %q", private)
			}
		}
		if obj["kty"] != "RSA" || obj["alg"] != "RS256" || obj["use"] != "sig" || obj["n"] == nil || obj["e"] != "AQAB" {
			t.Errorf("unexpected public key %v", obj)
		}
		kid, _ := obj["kid"].(string)
		if kid == "" {
			t.Errorf("key without kid: %v", obj)
		}
		kids = append(kids, kid)
	}
	return kids
}

func TestKeySetServesPublicKeysOnly(t *testing.T) {
	p, err := NewPlatform(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()

	status, m, h := fetchJWKS(t, p)
	if status != http.StatusOK || !strings.HasPrefix(h.Get("Content-Type"), "application/json") {
		t.Fatalf("JWKS: %d %q", status, h.Get("Content-Type"))
	}
	kids := jwksKIDs(t, m)
	if len(kids) != 1 || kids[0] != p.ActiveKID() {
		t.Fatalf("kids = %v, want [%s]", kids, p.ActiveKID())
	}
	// The served set parses with jwx and matches PublicKeySet.
	b, _ := json.Marshal(m)
	set, err := jwk.Parse(b)
	if err != nil {
		t.Fatal(err)
	}
	if set.Len() != 1 || p.PublicKeySet().Len() != 1 {
		t.Fatalf("set sizes %d, %d", set.Len(), p.PublicKeySet().Len())
	}
	k, _ := p.PublicKeySet().Key(0)
	if isPriv, _ := jwk.IsPrivateKey(k); isPriv {
		t.Fatal("PublicKeySet holds a private key")
	}
	if got := p.KeySetRequests(); got != 1 {
		t.Fatalf("KeySetRequests = %d, want 1", got)
	}
}

func TestKeyRotationKeepsOldKeys(t *testing.T) {
	p, err := NewPlatform(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	first := p.ActiveKID()
	second := p.RotateKey()
	if second == first || p.ActiveKID() != second {
		t.Fatalf("rotation: first %s, second %s, active %s", first, second, p.ActiveKID())
	}
	_, m, _ := fetchJWKS(t, p)
	if kids := jwksKIDs(t, m); len(kids) != 2 || kids[0] != first || kids[1] != second {
		t.Fatalf("kids after rotation = %v, want [%s %s]", kids, first, second)
	}

	// New tokens carry the new kid; old tokens still verify.
	tok, err := p.MintIDToken(p.DefaultClaims("n"))
	if err != nil {
		t.Fatal(err)
	}
	if h, _, _ := DecodeUnverified(tok); h["kid"] != second {
		t.Fatalf("kid = %v, want %s", h["kid"], second)
	}

	if !p.RemoveKey(first) || p.RemoveKey(first) {
		t.Fatal("RemoveKey should report true once, then false")
	}
	_, m, _ = fetchJWKS(t, p)
	if kids := jwksKIDs(t, m); len(kids) != 1 || kids[0] != second {
		t.Fatalf("kids after removal = %v, want [%s]", kids, second)
	}

	// Removing the active key unpublishes it but keeps it signing.
	p.RemoveKey(second)
	_, m, _ = fetchJWKS(t, p)
	if kids := jwksKIDs(t, m); len(kids) != 0 {
		t.Fatalf("kids = %v, want none", kids)
	}
	tok, err = p.MintIDToken(p.DefaultClaims("n"))
	if err != nil {
		t.Fatal(err)
	}
	if h, _, _ := DecodeUnverified(tok); h["kid"] != second {
		t.Fatalf("kid = %v, want the unpublished %s", h["kid"], second)
	}
	if _, ok := p.PrivateKey(second); !ok {
		t.Fatal("PrivateKey of the active key")
	}
	if got := p.KeySetRequests(); got != 3 {
		t.Fatalf("KeySetRequests = %d, want 3", got)
	}
}

func TestKeySetFailure(t *testing.T) {
	p, err := NewPlatform(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	for _, status := range []int{http.StatusInternalServerError, http.StatusNotFound, http.StatusServiceUnavailable} {
		p.SetKeySetFailure(status)
		got, m, _ := fetchJWKS(t, p)
		if got != status {
			t.Fatalf("status = %d, want %d", got, status)
		}
		if _, ok := m["keys"]; ok {
			t.Fatalf("a failing key set still serves keys: %v", m)
		}
	}
	p.SetKeySetFailure(0)
	if got, m, _ := fetchJWKS(t, p); got != http.StatusOK || len(jwksKIDs(t, m)) != 1 {
		t.Fatalf("after restore: %d %v", got, m)
	}
	if got := p.KeySetRequests(); got != 4 {
		t.Fatalf("KeySetRequests = %d, want 4 (failed fetches count)", got)
	}

	// jwx sees the failure as a fetch error.
	p.SetKeySetFailure(http.StatusInternalServerError)
	if _, err := jwk.Fetch(t.Context(), p.KeySetURL()); err == nil {
		t.Fatal("jwk.Fetch succeeded against a failing key set")
	}
	if got := p.KeySetRequests(); got != 5 {
		t.Fatalf("KeySetRequests = %d, want 5", got)
	}
}

func TestKeySetMethodNotAllowed(t *testing.T) {
	p, err := NewPlatform(Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	resp, err := http.Post(p.KeySetURL(), "text/plain", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Fatalf("POST /jwks: %d", resp.StatusCode)
	}
}
