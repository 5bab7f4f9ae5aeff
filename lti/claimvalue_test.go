package lti_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/ltikit/ltikit/lti"
)

func TestClaimValue(t *testing.T) {
	for _, tc := range []struct {
		name, payload, claim string
		want                 string // raw value; "" with found false
		found                bool
		err                  error
	}{
		{name: "present", payload: `{"iss":"https://lms.example","aud":["a", "b"]}`, claim: "aud", want: `["a", "b"]`, found: true},
		{name: "absent", payload: `{"iss":"x"}`, claim: "aud"},
		{name: "empty object", payload: ` { } `, claim: "aud"},
		{name: "a name twice is refused", payload: `{"aud":"a","aud":"b"}`, claim: "aud", err: lti.ErrInvalidToken}, // RFC 7519 §4
		{name: "a name twice in another claim is refused", payload: `{"aud":"a","x":{"b":1,"b":2}}`, claim: "aud", err: lti.ErrInvalidToken},
		{name: "invalid UTF-8 elsewhere", payload: "{\"aud\":\"a\",\"x\":\"\xff\"}", claim: "aud", err: lti.ErrInvalidToken},
		{name: "escaped name", payload: `{"\u0061ud":"a"}`, claim: "aud", want: `"a"`, found: true},
		{name: "names are case-sensitive", payload: `{"AUD":"a"}`, claim: "aud"},
		{name: "vendor object kept verbatim", payload: `{"https://canvas.instructure.com/lti/claim": {"x": [1, 2.50, null]} }`,
			claim: "https://canvas.instructure.com/lti/claim", want: `{"x": [1, 2.50, null]}`, found: true},
		{name: "null value", payload: `{"sub":null}`, claim: "sub", want: `null`, found: true},
		{name: "malformed elsewhere", payload: `{"aud":"a","x":[1,}`, claim: "aud", err: lti.ErrInvalidToken},
		{name: "not an object", payload: `["aud"]`, claim: "aud", err: lti.ErrInvalidToken},
		{name: "null payload", payload: `null`, claim: "aud", err: lti.ErrInvalidToken},
		{name: "trailing data", payload: `{"aud":"a"} {}`, claim: "aud", err: lti.ErrInvalidToken},
		{name: "empty", payload: ``, claim: "aud", err: lti.ErrInvalidToken},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw, found, err := lti.ClaimValue([]byte(tc.payload), tc.claim)
			if tc.err != nil {
				if !errors.Is(err, tc.err) || raw != nil || found {
					t.Fatalf("ClaimValue = %q, %v, %v; want error %v", raw, found, err, tc.err)
				}
				return
			}
			if err != nil || found != tc.found || string(raw) != tc.want {
				t.Fatalf("ClaimValue = %q, %v, %v; want %q, %v", raw, found, err, tc.want, tc.found)
			}
		})
	}
}

// FuzzClaimValue holds ClaimValue to encoding/json: for every payload that
// json.Unmarshal reads into a map of raw values and ClaimValue accepts,
// each member's value is the same bytes; ClaimValue refuses such a payload
// only for a documented reason (refusalReasons: a duplicate name, invalid
// UTF-8…), and every payload encoding/json refuses ClaimValue refuses too.
func FuzzClaimValue(f *testing.F) {
	for _, s := range []string{
		`{"iss":"x","aud":["a"],"exp":1}`, `{"a":1,"a":2}`, `{"\u0061":"\ud800"}`, "{\"\xff\":1}",
		`{"x":{"y":[{"z":null}]}}`, `[]`, `null`, `{"a":1`, `{"a":1}x`, ` {"a" : "b" } `,
	} {
		f.Add([]byte(s), "a")
	}
	f.Fuzz(func(t *testing.T, payload []byte, name string) {
		var ref map[string]json.RawMessage
		refErr := json.Unmarshal(payload, &ref)
		raw, found, err := lti.ClaimValue(payload, name)
		if refErr != nil || ref == nil { // ref == nil: the payload is null
			if err == nil {
				t.Fatalf("ClaimValue accepted %q (encoding/json: %v)", payload, refErr)
			}
			return
		}
		if err != nil {
			if len(refusalReasons(payload)) == 0 {
				t.Fatalf("ClaimValue refused %q: %v", payload, err)
			}
			return
		}
		want, ok := ref[name]
		if found != ok || string(raw) != string(want) {
			t.Fatalf("ClaimValue(%q, %q) = %q, %v; encoding/json %q, %v", payload, name, raw, found, want, ok)
		}
		for k, v := range ref {
			got, found, err := lti.ClaimValue(payload, k)
			if err != nil || !found || string(got) != string(v) {
				t.Fatalf("ClaimValue(%q, %q) = %q, %v, %v; encoding/json %q", payload, k, got, found, err, v)
			}
		}
	})
}
