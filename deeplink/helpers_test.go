package deeplink_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/lestrrat-go/jwx/v2/jwa"
	"github.com/lestrrat-go/jwx/v2/jws"

	"github.com/ltikit/ltikit/deeplink"
	"github.com/ltikit/ltikit/toolkey"
)

// rsaSigner is a minimal toolkey.Signer: RS256 with a fixed kid. It keeps
// the unit tests independent of toolkey's keyring; the round trip uses the
// real Keyring.
type rsaSigner struct {
	kid   string
	priv  *rsa.PrivateKey
	calls atomic.Int64
	fail  error
}

var _ toolkey.Signer = (*rsaSigner)(nil)

var (
	sharedKeyOnce sync.Once
	sharedKey     *rsa.PrivateKey
)

// newSigner returns a signer over one RSA key shared by the tests (key
// generation is slow under -race).
func newSigner(t testing.TB) *rsaSigner {
	t.Helper()
	sharedKeyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		sharedKey = k
	})
	return &rsaSigner{kid: "test-kid-1", priv: sharedKey}
}

func (s *rsaSigner) SignJWT(_ context.Context, claims map[string]any) (string, error) {
	s.calls.Add(1)
	if s.fail != nil {
		return "", s.fail
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	h := jws.NewHeaders()
	_ = h.Set(jws.KeyIDKey, s.kid)
	_ = h.Set(jws.TypeKey, "JWT")
	out, err := jws.Sign(payload, jws.WithKey(jwa.RS256, s.priv, jws.WithProtectedHeaders(h)))
	if err != nil {
		return "", errors.New("signing failed")
	}
	return string(out), nil
}

// verify checks jwt's signature with the signer's key and returns the
// header and the claims (numbers as json.Number).
func (s *rsaSigner) verify(t testing.TB, jwt string) (map[string]any, map[string]any) {
	t.Helper()
	payload, err := jws.Verify([]byte(jwt), jws.WithKey(jwa.RS256, &s.priv.PublicKey))
	if err != nil {
		t.Fatalf("the response does not verify: %v", err)
	}
	msg, err := jws.Parse([]byte(jwt))
	if err != nil {
		t.Fatal(err)
	}
	hb, err := json.Marshal(msg.Signatures()[0].ProtectedHeaders())
	if err != nil {
		t.Fatal(err)
	}
	return decodeJSON(t, hb), decodeJSON(t, payload)
}

func decodeJSON(t testing.TB, b []byte) map[string]any {
	t.Helper()
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatalf("decoding %s: %v", b, err)
	}
	return m
}

// baseRequest is a deep linking request that accepts everything.
func baseRequest() *deeplink.Request {
	return &deeplink.Request{
		ReturnURL:                         "https://lms.example.com/deep_links?course=2&sesskey=abc",
		AcceptTypes:                       []string{"ltiResourceLink", "link", "file", "html", "image"},
		AcceptPresentationDocumentTargets: []string{"iframe", "window", "embed"},
		AcceptMultiple:                    true,
		Data:                              json.RawMessage(`"opaque \"data\" <&> \u00e9"`),
		Issuer:                            "https://lms.example.com",
		ClientID:                          "client-1",
		DeploymentID:                      "dep-1",
	}
}

func newResponder(t testing.TB, s toolkey.Signer, opts ...deeplink.Option) *deeplink.Responder {
	t.Helper()
	r, err := deeplink.New(deeplink.Config{Signer: s}, opts...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// jwsPayload returns the decoded payload of a compact JWS, unverified.
func jwsPayload(t testing.TB, jwt string) []byte {
	t.Helper()
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		t.Fatalf("%q is not a compact JWS", jwt)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	return b
}
