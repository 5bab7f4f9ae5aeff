package ltitest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jwk"
	"github.com/lestrrat-go/jwx/v2/jws"
	"github.com/ltikit/ltikit/lti"
)

func newPlatform(t *testing.T) *Platform {
	t.Helper()
	p, err := NewPlatform(Config{ToolRedirectURIs: []string{"https://tool.example/launch"}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Close)
	return p
}

func TestDefaultClaimsDecode(t *testing.T) {
	p := newPlatform(t)
	tok, err := p.MintIDToken(p.DefaultClaims("nonce-1"))
	if err != nil {
		t.Fatal(err)
	}
	payload, err := jws.Verify([]byte(tok), jws.WithKeySet(p.PublicKeySet()))
	if err != nil {
		t.Fatalf("the default token does not verify: %v", err)
	}
	// aud is a plain string, like Moodle's.
	var raw map[string]any
	if err := json.Unmarshal(payload, &raw); err != nil {
		t.Fatal(err)
	}
	if _, ok := raw["aud"].(string); !ok {
		t.Fatalf("aud = %#v, want a string", raw["aud"])
	}
	if _, ok := raw[ClaimExt].(map[string]any); !ok {
		t.Fatalf("no ext claim: %v", raw)
	}

	c, err := lti.DecodeClaims(payload)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	switch {
	case c.Issuer != p.Issuer():
		t.Errorf("iss = %q", c.Issuer)
	case !reflect.DeepEqual(c.Audience, lti.Audience{DefaultClientID}):
		t.Errorf("aud = %v", c.Audience)
	case c.Subject == nil || *c.Subject != DefaultInstructor.Sub:
		t.Errorf("sub = %v", c.Subject)
	case c.Nonce != "nonce-1":
		t.Errorf("nonce = %q", c.Nonce)
	case c.IssuedAt.Time().After(now) || now.Sub(c.IssuedAt.Time()) > time.Minute:
		t.Errorf("iat = %v", c.IssuedAt.Time())
	case c.ExpiresAt.Seconds-c.IssuedAt.Seconds != int64(TokenLifetime/time.Second):
		t.Errorf("exp - iat = %d", c.ExpiresAt.Seconds-c.IssuedAt.Seconds)
	case c.MessageType != lti.MessageResourceLink || c.Version != lti.Version:
		t.Errorf("message type %q version %q", c.MessageType, c.Version)
	case c.DeploymentID != DefaultDeploymentID:
		t.Errorf("deployment_id = %q", c.DeploymentID)
	case c.TargetLinkURI != "https://tool.example/launch":
		t.Errorf("target_link_uri = %q", c.TargetLinkURI)
	case c.ResourceLink == nil || c.ResourceLink.ID != DefaultResourceLinkID || c.ResourceLink.Title == "":
		t.Errorf("resource_link = %+v", c.ResourceLink)
	case c.Roles == nil || !reflect.DeepEqual(*c.Roles, []string{RoleInstructor}):
		t.Errorf("roles = %v", c.Roles)
	case c.Context == nil || c.Context.ID != DefaultContextID:
		t.Errorf("context = %+v", c.Context)
	case c.ToolPlatform == nil || c.ToolPlatform.GUID == "":
		t.Errorf("tool_platform = %+v", c.ToolPlatform)
	case c.LaunchPresentation == nil || c.LaunchPresentation.ReturnURL == "":
		t.Errorf("launch_presentation = %+v", c.LaunchPresentation)
	case c.Custom["course_ctx"] != "42":
		t.Errorf("custom = %v", c.Custom)
	case c.Name != DefaultInstructor.Name || c.Email != DefaultInstructor.Email || c.GivenName != "Tea" || c.FamilyName != "Cher":
		t.Errorf("name %q %q %q email %q", c.Name, c.GivenName, c.FamilyName, c.Email)
	}
}

func mustKey(t *testing.T, raw any, kid string) jwk.Key {
	t.Helper()
	k, err := jwk.FromRaw(raw)
	if err != nil {
		t.Fatal(err)
	}
	if kid != "" {
		if err := k.Set(jwk.KeyIDKey, kid); err != nil {
			t.Fatal(err)
		}
	}
	return k
}

func TestMintIDTokenVariants(t *testing.T) {
	p := newPlatform(t)
	active := p.ActiveKID()
	priv, _ := p.PrivateKey(active)
	pubDER, _ := x509.MarshalPKIXPublicKey(&priv.PublicKey)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})

	foreignRSA, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	foreignEC, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	verifiesWithPlatform := func(tok string) bool {
		_, err := jws.Verify([]byte(tok), jws.WithKeySet(p.PublicKeySet()))
		return err == nil
	}
	hmacOK := func(tok string, secret []byte) bool {
		i := strings.LastIndex(tok, ".")
		m := hmac.New(sha256.New, secret)
		m.Write([]byte(tok[:i]))
		return base64.RawURLEncoding.EncodeToString(m.Sum(nil)) == tok[i+1:]
	}

	tests := []struct {
		name   string
		opts   []TokenOption
		header map[string]any // expected header (exactly)
		check  func(t *testing.T, tok string)
	}{
		{
			name:   "default",
			header: map[string]any{"alg": "RS256", "kid": active, "typ": "JWT"},
			check: func(t *testing.T, tok string) {
				if !verifiesWithPlatform(tok) {
					t.Error("does not verify")
				}
			},
		},
		{
			name:   "RS512 with the platform key",
			opts:   []TokenOption{SignWithAlg(jwa.RS512)},
			header: map[string]any{"alg": "RS512", "kid": active, "typ": "JWT"},
			check: func(t *testing.T, tok string) {
				if _, err := jws.Verify([]byte(tok), jws.WithKey(jwa.RS512, &priv.PublicKey)); err != nil {
					t.Errorf("RS512 signature: %v", err)
				}
			},
		},
		{
			name:   "PS256 with the platform key",
			opts:   []TokenOption{SignWithAlg(jwa.PS256)},
			header: map[string]any{"alg": "PS256", "kid": active, "typ": "JWT"},
			check: func(t *testing.T, tok string) {
				if _, err := jws.Verify([]byte(tok), jws.WithKey(jwa.PS256, &priv.PublicKey)); err != nil {
					t.Errorf("PS256 signature: %v", err)
				}
			},
		},
		{
			name:   "foreign RSA key with its own kid",
			opts:   []TokenOption{SignWithKey(mustKey(t, foreignRSA, "attacker"))},
			header: map[string]any{"alg": "RS256", "kid": "attacker", "typ": "JWT"},
			check: func(t *testing.T, tok string) {
				if verifiesWithPlatform(tok) {
					t.Error("a foreign signature verifies with the platform keys")
				}
				if _, err := jws.Verify([]byte(tok), jws.WithKey(jwa.RS256, &foreignRSA.PublicKey)); err != nil {
					t.Errorf("foreign signature: %v", err)
				}
			},
		},
		{
			name:   "foreign RSA key claiming the platform kid",
			opts:   []TokenOption{SignWithKey(mustKey(t, foreignRSA, ""))},
			header: map[string]any{"alg": "RS256", "kid": active, "typ": "JWT"},
			check: func(t *testing.T, tok string) {
				if verifiesWithPlatform(tok) {
					t.Error("a foreign signature verifies with the platform keys")
				}
			},
		},
		{
			name:   "foreign EC key",
			opts:   []TokenOption{SignWithKey(mustKey(t, foreignEC, "")), WithKID("ec-1")},
			header: map[string]any{"alg": "ES384", "kid": "ec-1", "typ": "JWT"},
			check: func(t *testing.T, tok string) {
				if _, err := jws.Verify([]byte(tok), jws.WithKey(jwa.ES384, &foreignEC.PublicKey)); err != nil {
					t.Errorf("ES384 signature: %v", err)
				}
			},
		},
		{
			name:   "alg none",
			opts:   []TokenOption{SignNone()},
			header: map[string]any{"alg": "none", "kid": active, "typ": "JWT"},
			check: func(t *testing.T, tok string) {
				if !strings.HasSuffix(tok, ".") || strings.Count(tok, ".") != 2 {
					t.Errorf("an unsecured JWT ends with an empty signature: %s", tok)
				}
				if verifiesWithPlatform(tok) {
					t.Error("alg none verifies")
				}
			},
		},
		{
			name:   "HS256 keyed with the public key PEM",
			opts:   []TokenOption{SignHS256WithPublicKey()},
			header: map[string]any{"alg": "HS256", "kid": active, "typ": "JWT"},
			check: func(t *testing.T, tok string) {
				if !hmacOK(tok, pubPEM) {
					t.Error("the HMAC is not keyed with the public key PEM")
				}
				if verifiesWithPlatform(tok) {
					t.Error("algorithm confusion verifies with jwx")
				}
			},
		},
		{
			name:   "HS256 keyed with the public key DER",
			opts:   []TokenOption{SignHMAC(pubDER)},
			header: map[string]any{"alg": "HS256", "kid": active, "typ": "JWT"},
			check: func(t *testing.T, tok string) {
				if !hmacOK(tok, pubDER) {
					t.Error("the HMAC is not keyed with the public key DER")
				}
			},
		},
		{
			name:   "without kid",
			opts:   []TokenOption{WithoutKID()},
			header: map[string]any{"alg": "RS256", "typ": "JWT"},
		},
		{
			name:   "other kid",
			opts:   []TokenOption{WithKID("nope")},
			header: map[string]any{"alg": "RS256", "kid": "nope", "typ": "JWT"},
			check: func(t *testing.T, tok string) {
				if verifiesWithPlatform(tok) {
					t.Error("an unknown kid verifies")
				}
			},
		},
		{
			name: "dangerous header parameters",
			opts: []TokenOption{
				WithHeader("jku", "https://attacker.example/jwks"),
				WithHeader("x5u", "https://attacker.example/cert.pem"),
				WithHeader("jwk", map[string]any{"kty": "RSA", "n": "AQAB", "e": "AQAB"}),
				WithHeader("crit", []string{"exp"}),
				WithoutHeader("typ"),
			},
			header: map[string]any{
				"alg": "RS256", "kid": active,
				"jku":  "https://attacker.example/jwks",
				"x5u":  "https://attacker.example/cert.pem",
				"jwk":  map[string]any{"kty": "RSA", "n": "AQAB", "e": "AQAB"},
				"crit": []any{"exp"},
			},
		},
		{
			name:   "header alg differs from the signing alg",
			opts:   []TokenOption{WithHeader("alg", "RS512")},
			header: map[string]any{"alg": "RS512", "kid": active, "typ": "JWT"},
		},
		{
			name:   "corrupt signature",
			opts:   []TokenOption{CorruptSignature()},
			header: map[string]any{"alg": "RS256", "kid": active, "typ": "JWT"},
			check: func(t *testing.T, tok string) {
				if verifiesWithPlatform(tok) {
					t.Error("a corrupt signature verifies")
				}
				if _, _, err := DecodeUnverified(tok); err != nil {
					t.Errorf("a corrupt signature makes a malformed token: %v", err)
				}
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := p.MintIDToken(p.DefaultClaims("n"), tc.opts...)
			if err != nil {
				t.Fatal(err)
			}
			h, c, err := DecodeUnverified(tok)
			if err != nil {
				t.Fatal(err)
			}
			// Compare through JSON, so json.Number and []any match.
			got, _ := json.Marshal(h)
			want, _ := json.Marshal(tc.header)
			if string(got) != string(want) {
				t.Errorf("header = %s, want %s", got, want)
			}
			if c["nonce"] != "n" || c["iss"] != p.Issuer() {
				t.Errorf("claims = %v", c)
			}
			if tc.check != nil {
				tc.check(t, tok)
			}
		})
	}
}

func TestMintIDTokenErrors(t *testing.T) {
	p := newPlatform(t)
	pubOnly, _ := p.PublicKeySet().Key(0)
	for name, opts := range map[string][]TokenOption{
		"EC alg with an RSA key":       {SignWithAlg(jwa.ES256)},
		"HMAC alg with an RSA key":     {SignWithAlg(jwa.HS256)},
		"public key only":              {SignWithKey(pubOnly)},
		"nil key":                      {SignWithKey(nil)},
		"unmarshalable header":         {WithHeader("x", func() {})},
		"unknown signature algorithm":  {SignWithAlg("XS999")},
		"empty secret":                 {SignHMAC(nil)},
		"HMAC with an EC alg override": {SignHMAC([]byte("k")), SignWithAlg(jwa.ES256)},
	} {
		if tok, err := p.MintIDToken(p.DefaultClaims("n"), opts...); err == nil {
			t.Errorf("%s: no error, token %s", name, tok)
		}
	}
	if _, err := p.MintIDToken(map[string]any{"x": func() {}}); err == nil {
		t.Error("unmarshalable claims: no error")
	}
}

func TestDecodeUnverified(t *testing.T) {
	for _, tok := range []string{"", "a.b", "a.b.c.d", "!!.e30.", "e30.!!.", "bnVsbA.e30.", "e30.W10."} {
		if _, _, err := DecodeUnverified(tok); err == nil {
			t.Errorf("%q: no error", tok)
		}
	}
	h, c, err := DecodeUnverified("e30.eyJuIjoxfQ.")
	if err != nil || len(h) != 0 || c["n"] != json.Number("1") {
		t.Errorf("got %v %v %v", h, c, err)
	}
}
