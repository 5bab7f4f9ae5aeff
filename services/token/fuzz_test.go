package token_test

import (
	"errors"
	"strings"
	"testing"
	"unicode"

	"github.com/ltikit/ltikit/services/token"
)

// FuzzParseResponse: the token response parser never panics; it either
// returns a usable bearer token or a *RetrieveError of one known kind whose
// platform-supplied fields are bounded and printable.
func FuzzParseResponse(f *testing.F) {
	seeds := []struct {
		status int
		body   string
	}{
		{200, `{"access_token":"cef2382526db20b6d5263f207ae153c6","expires_in":3600,"scope":"a b","token_type":"Bearer"}`},
		{200, `{"access_token":"a","token_type":"bearer","expires_in":"60"}`},
		{200, `{"access_token":"a","token_type":"Bearer","expires_in":1e308}`},
		{200, `{"access_token":"a","token_type":"Bearer","expires_in":-5}`},
		{200, `{"access_token":null}`},
		{200, `[]`},
		{200, `<html>`},
		{200, ``},
		{400, `{"error":"invalid_client","error_description":"no\u0000pe\u202e"}`},
		{401, `{"error":{"nested":true}}`},
		{500, `oops`},
		{200, `{"error":"x","access_token":"y"}`},
		{200, `{"access_token":"a","token_type":"Bearer"} trailing`},
	}
	for _, s := range seeds {
		f.Add(s.status, []byte(s.body))
	}
	kinds := []error{token.ErrRejected, token.ErrMalformedResponse, token.ErrNoAccessToken, token.ErrUnsupportedTokenType}
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		r, err := token.ParseResponse(status, body)
		if err == nil {
			if r == nil || r.AccessToken == "" || !strings.EqualFold(r.TokenType, "bearer") || status < 200 || status > 299 {
				t.Fatalf("accepted %+v for status %d", r, status)
			}
			if r.HasExpiresIn && r.ExpiresIn > 366*24*3600*1e9 {
				t.Fatalf("expires_in %s not clamped", r.ExpiresIn)
			}
			return
		}
		if r != nil {
			t.Fatal("a response with an error")
		}
		var te *token.RetrieveError
		if !errors.As(err, &te) || te.Status != status {
			t.Fatalf("%T %v", err, err)
		}
		known := false
		for _, k := range kinds {
			known = known || errors.Is(err, k)
		}
		if !known {
			t.Fatalf("unknown kind: %v", err)
		}
		for _, s := range []string{te.ErrorCode, te.ErrorDescription, te.ErrorURI} {
			if len([]rune(s)) > 257 {
				t.Fatalf("field of %d runes", len([]rune(s)))
			}
			for _, c := range s {
				if unicode.IsControl(c) || unicode.In(c, unicode.Cf) {
					t.Fatalf("control character %U in %q", c, s)
				}
			}
		}
		_ = err.Error()
	})
}
