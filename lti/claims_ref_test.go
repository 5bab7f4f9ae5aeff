package lti_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ltikit/ltikit/lti"
)

// refDecodeClaims is DecodeClaims as it was before the hand-written
// decoder (commit 2e33bd4): json.Decoder's token stream over the top-level
// object and reflection into the fields. FuzzDecodeClaimsReference holds the
// new decoder to it.
func refDecodeClaims(payload []byte) (*lti.Claims, error) {
	// One pass over the payload: the top-level object is walked token by
	// token, each known claim decoded straight into its field, each unknown
	// one skipped (the caller keeps the raw payload for those).
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	tok, err := dec.Token()
	if err != nil {
		return nil, lti.ErrInvalidToken.WithCause(err)
	}
	if d, ok := tok.(json.Delim); !ok || d != '{' {
		return nil, lti.ErrInvalidToken.WithCause(errors.New("lti: the claims are not a JSON object"))
	}
	var c lti.Claims
	v := reflect.ValueOf(&c).Elem()
	var skip json.RawMessage
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, lti.ErrInvalidToken.WithCause(err)
		}
		name, _ := tok.(string)
		i, known := refClaimFields[name]
		if !known {
			if err := dec.Decode(&skip); err != nil {
				return nil, lti.ErrInvalidToken.WithCause(err)
			}
			continue
		}
		if name == "sub" {
			// A present but null sub is neither a user nor an anonymous
			// launch (LTI 1.3 Core §5.3.6: sub, when present, is a
			// non-empty string).
			if err := dec.Decode(&skip); err != nil {
				return nil, lti.ErrInvalidToken.WithCause(err)
			}
			var sub *string
			if err := json.Unmarshal(skip, &sub); err != nil || sub == nil {
				return nil, lti.ErrInvalidClaims.WithCause(fmt.Errorf("lti: sub must be a string: %v", err))
			}
			c.Subject = sub
			continue
		}
		f := v.Field(i)
		f.SetZero() // a repeated name keeps its last value only
		if err := dec.Decode(f.Addr().Interface()); err != nil {
			var syntax *json.SyntaxError
			if errors.As(err, &syntax) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
				return nil, lti.ErrInvalidToken.WithCause(err)
			}
			return nil, lti.ErrInvalidClaims.WithCause(fmt.Errorf("lti: claim %q: %w", name, err))
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, lti.ErrInvalidToken.WithCause(err)
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, lti.ErrInvalidToken.WithCause(errors.New("lti: trailing data after the claims object"))
	}
	return &c, nil
}

// refClaimFields maps the exact JSON name of each Claims field to its index.
var refClaimFields = func() map[string]int {
	t := reflect.TypeFor[lti.Claims]()
	names := make(map[string]int, t.NumField())
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		if name != "" && name != "-" {
			names[name] = i
		}
	}
	return names
}()

// referenceSeeds are payloads where encoding/json has rules of its own
// that the hand-written decoder must follow.
var referenceSeeds = []string{
	`{"\u0069ss":"escaped name","n\u006fnce":"n"}`,
	"{\"iss\":\"bad \xff utf-8\",\"nonce\":\"\xed\xa0\x80\"}",
	`{"iss":"\ud800 lone","nonce":"\ud83d\ude00 pair","name":"\ud83d\u0041","email":"\/\b\f\n\r\t\"\\\u00e9"}`,
	`{"iss":"a","iss":null,"nonce":"n","nonce":"m"}`,
	`{"sub":"a","sub":null}`,
	`{"sub":"\u0000"}`,
	`{"https://purl.imsglobal.org/spec/lti/claim/context":{"type":["a","b","c"],"type":["x"],"TYPE":["y",null,null,null,null]}}`,
	`{"https://purl.imsglobal.org/spec/lti/claim/context":{"Id":"1","ID":"2","label":null,"label":"l","label":null}}`,
	`{"https://purl.imsglobal.org/spec/lti/claim/context":{"type":[]},"https://purl.imsglobal.org/spec/lti/claim/role_scope_mentor":[]}`,
	`{"https://purl.imsglobal.org/spec/lti/claim/context":{"type":null}}`,
	`{"https://purl.imsglobal.org/spec/lti-ags/claim/endpoint":{"\u017fcope":["a"],"LINEITEMS":"u"}}`,
	`{"https://purl.imsglobal.org/spec/lti/claim/lti1p1":{"oauth_consumer_\u212aey":"k","user_id":"u"}}`,
	`{"https://purl.imsglobal.org/spec/lti/claim/launch_presentation":{"height":null,"width":-1.5e3,"Height":"9"}}`,
	`{"https://purl.imsglobal.org/spec/lti/claim/launch_presentation":{"height":true}}`,
	`{"https://purl.imsglobal.org/spec/lti/claim/launch_presentation":{"width":[1]}}`,
	`{"https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings":{"accept_multiple":true,"accept_multiple":null,"auto_create":false,"accept_types":["a",null]}}`,
	`{"https://purl.imsglobal.org/spec/lti/claim/custom":{"a":{"b":[1,{"c":null}]},"a":2,"e":"\u00e9","":[]},"https://purl.imsglobal.org/spec/lti/claim/custom":{"z":0}}`,
	`{"https://purl.imsglobal.org/spec/lti/claim/custom":{}}`,
	`{"https://purl.imsglobal.org/spec/lti/claim/custom":null}`,
	`{"https://purl.imsglobal.org/spec/lti/claim/roles":["a"],"https://purl.imsglobal.org/spec/lti/claim/roles":null}`,
	`{"https://purl.imsglobal.org/spec/lti/claim/roles":[null,"a"]}`,
	`{"aud":["a",null],"aud":"b","aud":["c"]}`,
	`{"exp":1e3,"iat":0.5,"exp":-0}`,
	`{"exp":1099511627776,"iat":1099511627777}`,
	`{"https://purl.imsglobal.org/spec/lti/claim/resource_link":{"id":"1","x":{"deep":[[[[{}]]]]}}}`,
	`{"https://purl.imsglobal.org/spec/lti/claim/resource_link":[]}`,
	`{"https://purl.imsglobal.org/spec/lti/claim/for_user":{"user_id":"u","roles":"r"}}`,
	`{"aud":42,"iss":`,
	`{"aud":42} x`,
	`{"iss":"x",}`,
	`{"iss" "x"}`,
	`{"iss":'x'}`,
	`{"iss":"\'"}`,
	`{"iss":"\u12"}`,
	`{"exp":01}`,
	`{"exp":1.}`,
	`{"exp":1e}`,
	`{"exp":-}`,
	`{"v":tru}`,
	`{"v":nul}`,
	"{\"iss\":\"tab\there\"}",
	"\ufeff{}",
	` { } `,
	`{"a":[1,2,]}`,
	`{"a":{"b":1,}}`,
	`{"a":[}`,
	`{"a":{]}`,
}

// FuzzDecodeClaimsReference holds DecodeClaims to the encoding/json
// decoder it replaced: on every payload the reference accepts, the claims
// are identical; on valid JSON it refuses, the error code is the same; on
// malformed JSON, DecodeClaims says invalid_token (the reference could say
// invalid_claims when a type error came before the syntax error).
func FuzzDecodeClaimsReference(f *testing.F) {
	for _, name := range moodleTokens {
		_, payload := loadMoodle(f, name)
		f.Add(payload)
	}
	for _, tc := range decodeCases {
		f.Add([]byte(tc.payload))
	}
	for _, s := range referenceSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		checkAgainstReference(t, payload)
	})
}

func checkAgainstReference(t *testing.T, payload []byte) {
	t.Helper()
	got, gerr := lti.DecodeClaims(payload)
	want, werr := refDecodeClaims(payload)
	switch {
	case werr == nil:
		if gerr != nil {
			t.Fatalf("DecodeClaims(%q) = %v; the reference decodes it to %+v", payload, gerr, want)
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("DecodeClaims(%q) differs from the reference (-reference +got):\n%s", payload, diff)
		}
	case !json.Valid(payload):
		if !errors.Is(gerr, lti.ErrInvalidToken) || got != nil {
			t.Fatalf("DecodeClaims(%q) = %+v, %v; want invalid_token for malformed JSON", payload, got, gerr)
		}
	default:
		var we, ge *lti.Error
		errors.As(werr, &we)
		if !errors.As(gerr, &ge) || ge.Code != we.Code || got != nil {
			t.Fatalf("DecodeClaims(%q) = %+v, %v; the reference says %v", payload, got, gerr, werr)
		}
	}
}

// TestDecodeClaimsReference runs the seeds of FuzzDecodeClaimsReference
// with their expected outcome spelled out where encoding/json is subtle.
func TestDecodeClaimsReference(t *testing.T) {
	for _, s := range referenceSeeds {
		checkAgainstReference(t, []byte(s))
	}
	// The quirk of re-decoding into a slice: a null element keeps what the
	// earlier array left at its index.
	c, err := lti.DecodeClaims([]byte(referenceSeeds[6]))
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{"y", "b", "c", "", ""}, c.Context.Type); diff != "" {
		t.Errorf("context type (-want +got):\n%s", diff)
	}
	// Folded member names: U+017F matches s, U+212A matches k.
	c, err = lti.DecodeClaims([]byte(referenceSeeds[10]))
	if err != nil || len(c.AGS.Scope) != 1 || c.AGS.LineItems != "u" {
		t.Errorf("folded names: %+v, %v", c, err)
	}
}
