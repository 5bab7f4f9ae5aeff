package launch

import (
	"errors"
	"strings"
	"testing"

	"github.com/ltikit/ltikit/lti"
)

// Case 13: a verified payload that is not a JSON object is invalid_token;
// one whose claims have the wrong types is invalid_claims.
func TestDecodePayload(t *testing.T) {
	cases := []struct {
		payload string
		want    *lti.Error
	}{
		{"not json", lti.ErrInvalidToken},
		{"[1,2]", lti.ErrInvalidToken},
		{"null", lti.ErrInvalidToken},
		{`{"iss": "x"`, lti.ErrInvalidToken},
		{`{"iss": "x"} {}`, lti.ErrInvalidToken},
		{`{"iss": 5}`, lti.ErrInvalidClaims},
		{`{"aud": {"a": 1}}`, lti.ErrInvalidClaims},
		{`{"iss": "x", "aud": "y"}`, nil},
	}
	for _, c := range cases {
		_, err := decodePayload([]byte(c.payload))
		if c.want == nil {
			if err != nil {
				t.Errorf("%q: %v", c.payload, err)
			}
			continue
		}
		if !errors.Is(err, c.want) {
			t.Errorf("%q: got %v, want %s", c.payload, err, c.want.Code())
		}
	}
}

// Case 12: the compact serialization is split strictly.
func TestSplitToken(t *testing.T) {
	for _, raw := range []string{"", ".", "..", "a.b", "a.b.c.d", "e30..", "!!!.e30.AA", "e30.!!!.AA", "e30.e30.!!!",
		strings.Repeat(".", 1000)} {
		if _, err := splitToken(raw); !errors.Is(err, lti.ErrInvalidToken) {
			t.Errorf("%q: got %v, want invalid_token", raw, err)
		}
	}
	if _, err := splitToken("eyJhbGciOiJSUzI1NiJ9.e30.AAAA"); err != nil {
		t.Errorf("well-formed token: %v", err)
	}
}

// FuzzSplitToken: the JWS splitter never panics and either fails with
// invalid_token or returns parts that reassemble to the signing input.
func FuzzSplitToken(f *testing.F) {
	f.Add("eyJhbGciOiJSUzI1NiJ9.e30.AAAA")
	f.Add("a.b.c")
	f.Add("..")
	f.Add("eyJhbGciOiJub25lIn0.e30.")
	f.Fuzz(func(t *testing.T, raw string) {
		tok, err := splitToken(raw)
		if err != nil {
			if !errors.Is(err, lti.ErrInvalidToken) {
				t.Fatalf("error %v is not invalid_token", err)
			}
			return
		}
		if !strings.HasPrefix(raw, string(tok.signingInput)+".") {
			t.Fatalf("signing input %q is not a prefix of %q", tok.signingInput, raw)
		}
	})
}

// FuzzStateParts feeds arbitrary states and cookie values to the parsers
// of untrusted platform storage input: a state's target, a cookie's
// secret and issue time. None may panic; a target read back is bounded; a
// secret is 43 characters; a state the tool mints gives its target back.
func FuzzStateParts(f *testing.F) {
	f.Add("abc", "0.x")
	f.Add("abc.X3BhcmVudA", "tpi75w."+strings.Repeat("s", 43))
	f.Add(".", ".")
	f.Add("x.%%%", "zzzzzzzzzzzzzzzzzzzz."+strings.Repeat("s", 43))
	f.Add("x."+strings.Repeat("A", 400), "-1.")
	f.Fuzz(func(t *testing.T, state, cookie string) {
		if target, ok := stateTarget(state); ok && (target == "" || len(target) > maxStorageTarget) {
			t.Fatalf("stateTarget(%q) = %q", state, target)
		}
		if secret, ok := cookieSecret(cookie); ok && len(secret) != secretLen {
			t.Fatalf("cookieSecret(%q) = %q", cookie, secret)
		}
		_ = cookieIssued(cookie)
		if usableTarget(state) {
			minted := newState(state)
			if got, ok := stateTarget(minted); !ok || got != state {
				t.Fatalf("newState(%q) = %q reads back as %q, %v", state, minted, got, ok)
			}
			if stateKey(minted, cookie) == stateKey(minted, cookie+"x") {
				t.Fatal("two secrets share a key")
			}
		}
	})
}
