package lti_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"

	"github.com/ltikit/ltikit/lti"
)

// The documented differences between DecodeClaims on JSON v2 and the
// hand-written scanner it replaced (lti.ScannerDecodeClaims, kept in
// claimsjson_ref_test.go), which reproduced encoding/json v1. On any
// payload both accept, the claims are identical. Otherwise JSON v2 is the
// stricter one, for these reasons only, each checked here without JSON v2:
//
//   - a member name repeated in any object of the payload: refused
//     (invalid_token). RFC 7519 §4: the claim names of a JWT MUST be unique
//     and a parser MAY reject duplicates; RFC 8259 §4 leaves the meaning of
//     duplicates to the implementation, and RFC 7515 §4 says the same of
//     JOSE headers. The scanner kept the last value, re-decoding into the
//     same field, so an earlier array showed through a later one's null
//     elements and a null left an earlier string in place.
//   - invalid UTF-8 anywhere: refused. RFC 8259 §8.1 requires UTF-8, and
//     RFC 7519 §7.2 step 10 a claims set that is UTF-8 JSON; the scanner
//     replaced bad bytes with U+FFFD, so two different byte strings could
//     decode to one claim value.
//   - an unpaired surrogate escape (\ud800 alone): refused. RFC 8259 §8.2
//     leaves such strings unpredictable; the scanner made them U+FFFD.
//   - nesting deeper than 10000 levels counted from the payload's top:
//     refused (RFC 8259 §9 lets a parser limit nesting); the scanner
//     counted 10000 from each claim's value.
//   - member names inside claim objects match exactly: "ID", "Id" or
//     "\u017fcope" (ſ folding to s) are not "id" and "scope" but unknown
//     members, ignored, as JWT claim names are case-sensitive (RFC 7519
//     §4). This is the one difference that can go either way: a payload
//     the scanner decoded through a folded name now leaves that field
//     empty, and one it refused for a folded member of the wrong type is
//     now accepted with the member ignored. The differential compares with
//     the scanner's folding turned off, so it sees this difference only in
//     TestDecodeClaimsDifferences.

// refusalReasons returns the documented reasons, found in payload, for
// which DecodeClaims may refuse a payload the scanner accepted. It reads
// the payload with encoding/json v1 and by hand, never with JSON v2.
func refusalReasons(payload []byte) []string {
	var reasons []string
	if hasDuplicateNames(payload) {
		reasons = append(reasons, "duplicate member name")
	}
	if !utf8.Valid(payload) {
		reasons = append(reasons, "invalid UTF-8")
	}
	surrogate, depth := scanStringsAndDepth(payload)
	if surrogate {
		reasons = append(reasons, "unpaired surrogate escape")
	}
	if depth > 10000 {
		reasons = append(reasons, "nesting deeper than 10000")
	}
	return reasons
}

// hasDuplicateNames reports whether an object of the JSON text b has a
// member name twice, after unescaping, by encoding/json v1's token stream
// (which allows duplicates). Malformed JSON reports what was read before
// the error.
func hasDuplicateNames(b []byte) bool {
	dec := json.NewDecoder(bytes.NewReader(b))
	type frame struct {
		names    map[string]bool // nil: an array
		wantName bool
	}
	var stack []frame
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		top := len(stack) - 1
		if d, ok := tok.(json.Delim); ok {
			switch d {
			case '{':
				stack = append(stack, frame{names: map[string]bool{}, wantName: true})
			case '[':
				stack = append(stack, frame{})
			default:
				stack = stack[:top]
				if top > 0 && stack[top-1].names != nil {
					stack[top-1].wantName = true
				}
			}
			continue
		}
		if top < 0 || stack[top].names == nil {
			continue
		}
		if stack[top].wantName {
			name := tok.(string)
			if stack[top].names[name] {
				return true
			}
			stack[top].names[name] = true
			stack[top].wantName = false
			continue
		}
		stack[top].wantName = true // a scalar value ended
	}
}

// scanStringsAndDepth walks the JSON text b by hand: it reports whether a
// string holds a \u escape of a surrogate that is not half of a pair, and
// the deepest nesting of objects and arrays.
func scanStringsAndDepth(b []byte) (unpaired bool, maxDepth int) {
	depth := 0
	hex := func(i int) (rune, bool) { // the \uXXXX at b[i]
		if i+6 > len(b) || b[i] != '\\' || b[i+1] != 'u' {
			return 0, false
		}
		var r rune
		for _, c := range b[i+2 : i+6] {
			switch {
			case '0' <= c && c <= '9':
				r = r<<4 | rune(c-'0')
			case 'a' <= c && c <= 'f':
				r = r<<4 | rune(c-'a'+10)
			case 'A' <= c && c <= 'F':
				r = r<<4 | rune(c-'A'+10)
			default:
				return 0, false
			}
		}
		return r, true
	}
	for i := 0; i < len(b); i++ {
		switch b[i] {
		case '{', '[':
			depth++
			maxDepth = max(maxDepth, depth)
		case '}', ']':
			depth--
		case '"':
			for i++; i < len(b) && b[i] != '"'; i++ {
				if b[i] != '\\' {
					continue
				}
				r, ok := hex(i)
				if !ok {
					i++ // a one-character escape
					continue
				}
				i += 5
				switch {
				case 0xD800 <= r && r < 0xDC00:
					if lo, ok := hex(i + 1); ok && 0xDC00 <= lo && lo < 0xE000 {
						i += 6
					} else {
						unpaired = true
					}
				case 0xDC00 <= r && r < 0xE000:
					unpaired = true
				}
			}
		}
	}
	return unpaired, maxDepth
}

// referenceSeeds are payloads where encoding/json v1, and the scanner that
// reproduced it, have rules of their own, and payloads on which JSON v2
// differs for a documented reason.
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
	`{"iss":"x","\u0069ss":"y"}`,
	`{"v":{"b":1,"b":2},"iss":"x"}`,
	`{"v":[{"b":1},{"b":2}],"w":{"":1}}`,
	`{"https://purl.imsglobal.org/spec/lti/claim/custom":{"k":"\udc00"}}`,
	`{"https://purl.imsglobal.org/spec/lti/claim/custom":{"k":"\\ud800"}}`,
	`{"https://purl.imsglobal.org/spec/lti/claim/resource_link":{"ID":5,"id":"1"}}`,
	`{"https://purl.imsglobal.org/spec/lti/claim/resource_link":{"ID":"2"}}`,
	`{"aud":42,"aud":"x"}`,
	`{"aud":42,"x":"\xff"}`,
	`{"x":` + strings.Repeat("[", 9999) + strings.Repeat("]", 9999) + `}`,
	`{"x":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}`,
}

// FuzzDecodeClaimsReference holds DecodeClaims (JSON v2) to the scanner it
// replaced, with the scanner's case folding off: on every payload both
// accept, the claims are identical; on every payload only one accepts, the
// scanner is the one accepting and refusalReasons finds a documented
// reason; when both refuse, the codes are the same, or DecodeClaims says
// invalid_token for a documented reason. (The scanner had been held to
// encoding/json v1's decoder by this test before, and matched it.)
func FuzzDecodeClaimsReference(f *testing.F) {
	for _, name := range moodleTokens {
		_, payload := loadMoodle(f, name)
		f.Add(payload)
	}
	for _, payload := range platformPayloads(f) {
		f.Add(payload)
	}
	for _, tc := range decodeCases {
		f.Add([]byte(tc.payload))
	}
	for _, s := range referenceSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, payload []byte) {
		checkAgainstScanner(t, payload)
	})
}

// platformPayloads are the id_token payloads captured from, or written
// after, the other platforms (testdata/<lms>/idtoken_*.json).
func platformPayloads(tb testing.TB) [][]byte {
	tb.Helper()
	files, err := filepath.Glob("../testdata/*/idtoken_*.json")
	if err != nil {
		tb.Fatal(err)
	}
	var out [][]byte
	for _, f := range files {
		if strings.Contains(f, "moodle") {
			continue // captures with the token inside, see loadMoodle
		}
		b, err := os.ReadFile(f)
		if err != nil {
			tb.Fatal(err)
		}
		out = append(out, b)
	}
	if len(out) == 0 {
		tb.Fatal("no platform payloads under ../testdata")
	}
	return out
}

// checkAgainstScanner is one differential check; it returns the reasons
// the outcomes differ (none when they agree).
func checkAgainstScanner(t *testing.T, payload []byte) []string {
	t.Helper()
	got, gerr := lti.DecodeClaims(payload)
	want, werr := lti.ScannerDecodeClaims(payload, false)
	if gerr != nil && got != nil {
		t.Fatalf("DecodeClaims(%q) returned claims with error %v", payload, gerr)
	}
	var gcode, wcode lti.Code
	if gerr != nil {
		var e *lti.Error
		if !errors.As(gerr, &e) {
			t.Fatalf("DecodeClaims(%q): error %v is not an *lti.Error", payload, gerr)
		}
		gcode = e.Code()
	}
	if werr != nil {
		var e *lti.Error
		errors.As(werr, &e)
		wcode = e.Code()
	}
	switch {
	case gerr == nil && werr == nil:
		if diff := cmp.Diff(want, got); diff != "" {
			t.Fatalf("DecodeClaims(%q) differs from the scanner (-scanner +got):\n%s", payload, diff)
		}
		return nil
	case gerr == nil:
		t.Fatalf("DecodeClaims(%q) accepted what the scanner refuses: %v", payload, werr)
	case gcode == wcode:
		return nil
	}
	// The outcomes differ: DecodeClaims must be the one refusing the
	// payload as malformed, for a documented reason.
	reasons := refusalReasons(payload)
	if gcode != lti.CodeInvalidToken || len(reasons) == 0 {
		t.Fatalf("DecodeClaims(%q) = %v; the scanner says %v (%v) and no documented reason applies",
			payload, gerr, wcode, werr)
	}
	return reasons
}

// TestDecodeClaimsReference runs the seeds of FuzzDecodeClaimsReference.
func TestDecodeClaimsReference(t *testing.T) {
	for _, s := range referenceSeeds {
		checkAgainstScanner(t, []byte(s))
	}
	for _, name := range moodleTokens {
		_, payload := loadMoodle(t, name)
		if r := checkAgainstScanner(t, payload); r != nil {
			t.Errorf("%s: outcomes differ: %v", name, r)
		}
	}
	for _, payload := range platformPayloads(t) {
		if r := checkAgainstScanner(t, payload); r != nil {
			t.Errorf("%.60s…: outcomes differ: %v", payload, r)
		}
	}
}

// TestDecodeClaimsDifferences spells out each documented difference with
// the scanner: what the scanner (with encoding/json v1's folding) did, and
// what DecodeClaims does.
func TestDecodeClaimsDifferences(t *testing.T) {
	const (
		ctx = `"https://purl.imsglobal.org/spec/lti/claim/context"`
		ags = `"https://purl.imsglobal.org/spec/lti-ags/claim/endpoint"`
		rl  = `"https://purl.imsglobal.org/spec/lti/claim/resource_link"`
	)
	for _, tc := range []struct {
		name, payload string
		scanner       func(t *testing.T, c *lti.Claims, err error) // the scanner's outcome
		reason        string                                       // refusalReasons' reason; "" for a folding difference
		check         func(t *testing.T, c *lti.Claims)            // DecodeClaims' result, when it accepts
	}{
		{
			name: "duplicate claim", payload: `{"aud":"first","aud":"last"}`, reason: "duplicate member name",
			scanner: func(t *testing.T, c *lti.Claims, err error) {
				if err != nil || c.Audience[0] != "last" {
					t.Errorf("scanner: %+v, %v; want the last aud", c, err)
				}
			},
		},
		{
			name:    "duplicate name written with an escape",
			payload: `{"iss":"a","\u0069ss":"b"}`, reason: "duplicate member name",
		},
		{
			name: "an earlier array shows through a later one's nulls", reason: "duplicate member name",
			payload: `{` + ctx + `:{"type":["a","b","c"],"type":["x",null,null]}}`,
			scanner: func(t *testing.T, c *lti.Claims, err error) {
				if err != nil || !cmp.Equal(c.Context.Type, []string{"x", "b", "c"}) {
					t.Errorf("scanner: %+v, %v; want [x b c]", c, err)
				}
			},
		},
		{
			name: "a null keeps an earlier string", reason: "duplicate member name",
			payload: `{` + ctx + `:{"label":"l","label":null}}`,
		},
		{
			name: "duplicate name in a vendor claim", reason: "duplicate member name",
			payload: `{"iss":"x","https://example.com/claim":{"a":1,"a":2}}`,
		},
		{
			name: "duplicate name in custom", reason: "duplicate member name",
			payload: `{"https://purl.imsglobal.org/spec/lti/claim/custom":{"a":1,"a":2}}`,
		},
		{
			name: "invalid UTF-8", reason: "invalid UTF-8",
			payload: "{\"iss\":\"bad \xff\"}",
			scanner: func(t *testing.T, c *lti.Claims, err error) {
				if err != nil || c.Issuer != "bad \ufffd" {
					t.Errorf("scanner: %+v, %v; want U+FFFD", c, err)
				}
			},
		},
		{
			name: "invalid UTF-8 in a name", reason: "invalid UTF-8",
			payload: "{\"\xff\":1}",
		},
		{
			name: "unpaired surrogate escape", reason: "unpaired surrogate escape",
			payload: `{"sub":"\ud800"}`,
		},
		{
			name: "10000 levels inside a claim", reason: "nesting deeper than 10000",
			payload: `{"x":` + strings.Repeat("[", 10000) + strings.Repeat("]", 10000) + `}`,
		},
		{
			name: "an upper-case member is unknown", payload: `{` + rl + `:{"ID":"1"}}`,
			scanner: func(t *testing.T, c *lti.Claims, err error) {
				if err != nil || c.ResourceLink.ID != "1" {
					t.Errorf("scanner: %+v, %v; want ID 1", c, err)
				}
			},
			check: func(t *testing.T, c *lti.Claims) {
				if c.ResourceLink == nil || c.ResourceLink.ID != "" {
					t.Errorf("ResourceLink = %+v, want an empty one", c.ResourceLink)
				}
			},
		},
		{
			name: "U+017F is not s", payload: `{` + ags + `:{"\u017fcope":["a"]}}`,
			check: func(t *testing.T, c *lti.Claims) {
				if c.AGS == nil || c.AGS.Scope != nil {
					t.Errorf("AGS = %+v, want no scope", c.AGS)
				}
			},
		},
		{
			name: "an unknown member's type does not matter", payload: `{` + rl + `:{"ID":5,"id":"1"}}`,
			scanner: func(t *testing.T, c *lti.Claims, err error) {
				if !errors.Is(err, lti.ErrInvalidClaims) {
					t.Errorf("scanner: %+v, %v; want invalid_claims", c, err)
				}
			},
			check: func(t *testing.T, c *lti.Claims) {
				if c.ResourceLink == nil || c.ResourceLink.ID != "1" {
					t.Errorf("ResourceLink = %+v, want id 1", c.ResourceLink)
				}
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			payload := []byte(tc.payload)
			sc, serr := lti.ScannerDecodeClaims(payload, true)
			if tc.reason != "" && serr != nil {
				t.Errorf("the scanner refused it too: %v", serr)
			}
			if tc.scanner != nil {
				tc.scanner(t, sc, serr)
			}
			c, err := lti.DecodeClaims(payload)
			if tc.reason != "" {
				if !errors.Is(err, lti.ErrInvalidToken) || c != nil {
					t.Fatalf("DecodeClaims = %+v, %v; want invalid_token", c, err)
				}
				if r := checkAgainstScanner(t, payload); !strings.Contains(strings.Join(r, ","), tc.reason) {
					t.Errorf("reasons %v, want %q", r, tc.reason)
				}
				return
			}
			if err != nil {
				t.Fatalf("DecodeClaims: %v", err)
			}
			tc.check(t, c)
			checkAgainstScanner(t, payload) // equal to the scanner without folding
		})
	}
}
