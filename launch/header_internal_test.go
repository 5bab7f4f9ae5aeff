package launch

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/ltikit/ltikit/lti"
)

// Hardening item 5: JOSE header parameter names are case-sensitive and a
// repeated name is refused (RFC 7515 §4).
func TestJOSEHeaderExact(t *testing.T) {
	tr, fa := true, false
	cases := []struct {
		header string
		want   joseHeader // when ok
		ok     bool
	}{
		{`{"alg":"RS256","kid":"k1","typ":"JWT"}`, joseHeader{Alg: "RS256", Kid: "k1"}, true},
		{` { "alg" : "RS256" , "kid" : "k1" } `, joseHeader{Alg: "RS256", Kid: "k1"}, true},
		{`{}`, joseHeader{}, true},
		{`{"ALG":"RS256","KID":"k1"}`, joseHeader{}, true},
		{`{"Alg":"RS256","Kid":"k1","CRIT":["x"],"B64":false}`, joseHeader{}, true},
		{`{"alg":"RS256","KID":"k1"}`, joseHeader{Alg: "RS256"}, true},
		{`{"\u0061lg":"RS256","k\u0069d":"k\u0031"}`, joseHeader{Alg: "RS256", Kid: "k1"}, true},
		{`{"alg":"RS256","kid":"k1","crit":["exp"],"b64":false}`, joseHeader{Alg: "RS256", Kid: "k1", Crit: []string{"exp"}, B64: &fa}, true},
		{`{"b64":true}`, joseHeader{B64: &tr}, true},
		{`{"kid":null,"alg":null,"crit":null,"b64":null}`, joseHeader{}, true},
		{`{"x":{"kid":"a","kid":"b"},"y":[{"alg":1},"alg"],"kid":"k"}`, joseHeader{Kid: "k"}, true},
		{`{"alg":"RS256","alg":"RS256"}`, joseHeader{}, false},
		{`{"kid":"a","kid":"b"}`, joseHeader{}, false},
		{`{"kid":"a","k\u0069d":"b"}`, joseHeader{}, false},
		{`{"typ":"JWT","x":1,"typ":"JWT"}`, joseHeader{}, false},
		{`{"a":1,"b":2,"c":3,"d":4,"e":5,"f":6,"g":7,"h":8,"i":9,"j":10,"k":11,"l":12,"m":13,"n":14,"o":15,"p":16,"q":17,"r":18,"a":19}`, joseHeader{}, false},
		{`{"KID":"a","KID":"b"}`, joseHeader{}, false},
		{`{"alg":1}`, joseHeader{}, false},
		{`{"kid":["a"]}`, joseHeader{}, false},
		{`{"crit":"exp"}`, joseHeader{}, false},
		{`{"b64":"no"}`, joseHeader{}, false},
		{`null`, joseHeader{}, false},
		{`[]`, joseHeader{}, false},
		{`"alg"`, joseHeader{}, false},
		{`{"alg":"RS256"`, joseHeader{}, false},
		{`{"alg":"RS256"}x`, joseHeader{}, false},
		{`{"alg":"RS256",}`, joseHeader{}, false},
		{``, joseHeader{}, false},
	}
	for _, c := range cases {
		raw := base64.RawURLEncoding.EncodeToString([]byte(c.header)) + ".e30.AAAA"
		tok, err := splitToken(raw)
		if !c.ok {
			if !errors.Is(err, lti.ErrInvalidToken) {
				t.Errorf("%s: got %v, want invalid_token", c.header, err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", c.header, err)
			continue
		}
		h := tok.header
		if h.Alg != c.want.Alg || h.Kid != c.want.Kid || !slices.Equal(h.Crit, c.want.Crit) ||
			(h.B64 == nil) != (c.want.B64 == nil) || (h.B64 != nil && *h.B64 != *c.want.B64) {
			t.Errorf("%s: got %+v, want %+v", c.header, h, c.want)
		}
	}
}

// A header of many names is parsed in linear time.
func TestJOSEHeaderManyNames(t *testing.T) {
	var b strings.Builder
	b.WriteString(`{"alg":"RS256"`)
	for i := range 20000 {
		b.WriteString(`,"n`)
		b.WriteString(strings.Repeat("x", i%7))
		b.WriteString(string(rune('a' + i%26)))
		b.WriteString(`":0`)
		_ = i
	}
	b.WriteString(`}`)
	raw := base64.RawURLEncoding.EncodeToString([]byte(b.String())) + ".e30.AAAA"
	if _, err := splitToken(raw); !errors.Is(err, lti.ErrInvalidToken) {
		t.Fatalf("got %v, want invalid_token (repeated names)", err)
	}
}

// FuzzJOSEHeader holds parseHeader to encoding/json with exact names: it
// never panics, fails only with invalid_token, refuses whatever is not a
// JSON object, and when it succeeds reads what a map decode reads.
func FuzzJOSEHeader(f *testing.F) {
	for _, s := range []string{`{"alg":"RS256","kid":"k1","typ":"JWT"}`, `{"KID":"a"}`, `{"kid":"a","kid":"b"}`,
		`{"crit":["exp"],"b64":false}`, `{"x":{"kid":[1,{"a":"\""}]},"alg":"\u0052S256"}`, `null`, `{"alg":1}`, `{"a":"\ud800"}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var h joseHeader
		err := parseHeader(b, &h)
		var ref map[string]json.RawMessage
		refErr := json.Unmarshal(b, &ref)
		if err != nil {
			if !errors.Is(err, lti.ErrInvalidToken) {
				t.Fatalf("error %v is not invalid_token", err)
			}
			return
		}
		if refErr != nil || ref == nil {
			t.Fatalf("%q accepted, encoding/json: %v", b, refErr)
		}
		var want joseHeader
		for name, dst := range map[string]any{"alg": &want.Alg, "kid": &want.Kid, "crit": &want.Crit, "b64": &want.B64} {
			if v, ok := ref[name]; ok {
				if err := json.Unmarshal(v, dst); err != nil {
					t.Fatalf("%q accepted, but %s: %v", b, name, err)
				}
			}
		}
		if h.Alg != want.Alg || h.Kid != want.Kid || !slices.Equal(h.Crit, want.Crit) ||
			(h.B64 == nil) != (want.B64 == nil) || (h.B64 != nil && *h.B64 != *want.B64) {
			t.Fatalf("%q: got %+v, want %+v", b, h, want)
		}
	})
}
