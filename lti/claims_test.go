package lti_test

import (
	"bytes"
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"flag"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/ltikit/ltikit/lti"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// moodleDir holds id_tokens captured from a real Moodle 4.5.6 acting as an
// LTI 1.3 platform (copied from shared/platforms/moodle-4.5).
const moodleDir = "../testdata/moodle-4.5"

// moodleTokens are the captures, by file name without ".json".
var moodleTokens = []string{
	"idtoken_admin_resource_link",
	"idtoken_student_resource_link",
	"idtoken_teacher_deep_linking_request",
	"idtoken_teacher_resource_link",
}

// moodleFixture is one capture: the decoded header and claims as the capture
// tool printed them, and the compact id_token as Moodle posted it.
type moodleFixture struct {
	Header     map[string]string `json:"header"`
	Claims     json.RawMessage   `json:"claims"`
	RawIDToken string            `json:"raw_id_token"`
}

// loadMoodle reads a capture and returns it with the base64url-decoded
// payload of its raw id_token.
func loadMoodle(tb testing.TB, name string) (moodleFixture, []byte) {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join(moodleDir, name+".json"))
	if err != nil {
		tb.Fatal(err)
	}
	var fx moodleFixture
	if err := json.Unmarshal(b, &fx); err != nil {
		tb.Fatalf("%s: %v", name, err)
	}
	parts := strings.Split(fx.RawIDToken, ".")
	if len(parts) != 3 {
		tb.Fatalf("%s: raw_id_token has %d segments, want 3", name, len(parts))
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		tb.Fatalf("%s: payload: %v", name, err)
	}
	return fx, payload
}

// moodleLaunch returns the claims that every capture shares: the same
// Moodle site, course, tool registration and activity.
func moodleLaunch() lti.Claims {
	return lti.Claims{
		Issuer:        "http://127.0.0.1:8080",
		Audience:      lti.Audience{"NVUt06xzbCFEXfk"},
		MessageType:   lti.MessageResourceLink,
		Version:       lti.Version,
		DeploymentID:  "1",
		TargetLinkURI: "http://127.0.0.1:9000/launch",
		ResourceLink:  &lti.ResourceLink{ID: "1", Title: "Stub activity", Description: "Test lti 1"},
		Context: &lti.Context{
			ID: "2", Label: "lti101", Title: "LTI Test Course",
			Type: []string{"CourseSection"}, // Moodle sends the simple name, not the vocabulary URI
		},
		ToolPlatform: &lti.ToolPlatform{
			GUID: "127.0.0.1", Description: "Peer Moodle", Name: "peer",
			ProductFamilyCode: "moodle", Version: "2024100706",
		},
		LIS: &lti.LIS{PersonSourcedID: "", CourseSectionSourcedID: ""},
		Custom: map[string]any{
			"context_memberships_url": "http://127.0.0.1:8080/mod/lti/services.php/CourseSection/2/bindings/1/memberships",
			"context_setting_url":     "http://127.0.0.1:8080/mod/lti/services.php/CourseSection/2/bindings/tool/1/custom",
			"course_ctx":              "2", // a string, not a number
			"link_setting_url":        "http://127.0.0.1:8080/mod/lti/services.php/links/{link_id}/custom",
			"stub_param":              "hello",
			"system_setting_url":      "http://127.0.0.1:8080/mod/lti/services.php/tool/1/custom",
		},
		AGS: &lti.AGSEndpoint{
			Scope: []string{
				"https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
				"https://purl.imsglobal.org/spec/lti-ags/scope/lineitem.readonly",
				"https://purl.imsglobal.org/spec/lti-ags/scope/result.readonly",
				"https://purl.imsglobal.org/spec/lti-ags/scope/score",
			},
			LineItems: "http://127.0.0.1:8080/mod/lti/services.php/2/lineitems?type_id=1",
			LineItem:  "http://127.0.0.1:8080/mod/lti/services.php/2/lineitems/2/lineitem?type_id=1",
		},
		NRPS: &lti.NRPSEndpoint{
			ContextMembershipsURL: "http://127.0.0.1:8080/mod/lti/services.php/CourseSection/2/bindings/1/memberships",
			ServiceVersions:       []string{"1.0", "2.0"},
		},
	}
}

func date(s int64) lti.NumericDate { return lti.NumericDate{Seconds: s, Set: true} }

func returnURL(sesskey string) *lti.LaunchPresentation {
	return &lti.LaunchPresentation{
		DocumentTarget: "window",
		Locale:         "en",
		ReturnURL:      "http://127.0.0.1:8080/mod/lti/return.php?course=2&launch_container=4&instanceid=1&sesskey=" + sesskey,
	}
}

// moodleWant is the fully typed decoding expected for each capture.
func moodleWant(name string) lti.Claims {
	c := moodleLaunch()
	switch name {
	case "idtoken_admin_resource_link":
		c.Subject = new("2")
		c.Name, c.GivenName, c.FamilyName, c.Email = "Admin User", "Admin", "User", "admin@example.com"
		c.Nonce = "fd5b0f7614851f10090daadcc08bd901"
		c.IssuedAt, c.ExpiresAt = date(1795323216), date(1795323276)
		c.Roles = &[]string{lti.RoleInstitutionAdministrator, lti.RoleContextInstructor, lti.RoleSystemAdministrator}
		c.LaunchPresentation = returnURL("ja3rUZoacR")
	case "idtoken_student_resource_link":
		c.Audience = lti.Audience{"vipJ1zTUp7MTlNF"} // a second tool registration
		c.Subject = new("3")
		c.Name, c.GivenName, c.FamilyName, c.Email = "Stu Dent", "Stu", "Dent", "student1@example.com"
		c.Nonce = "af9c2da465d96a636e6a0957d7bd7e7e"
		c.IssuedAt, c.ExpiresAt = date(1795324723), date(1795324783)
		c.Roles = &[]string{lti.RoleContextLearner}
		c.LaunchPresentation = returnURL("T5RszewEwS")
	case "idtoken_teacher_resource_link":
		c.Subject = new("4")
		c.Name, c.GivenName, c.FamilyName, c.Email = "Tea Cher", "Tea", "Cher", "teacher1@example.com"
		c.Nonce = "4aa035d5c53c841bf40b8b62e634740d"
		c.IssuedAt, c.ExpiresAt = date(1795323215), date(1795323275)
		c.Roles = &[]string{lti.RoleContextInstructor}
		c.LaunchPresentation = returnURL("kRN8XMfpMU")
	case "idtoken_teacher_deep_linking_request":
		c.MessageType = lti.MessageDeepLinking
		c.Subject = new("4")
		c.Name, c.GivenName, c.FamilyName, c.Email = "Tea Cher", "Tea", "Cher", "teacher1@example.com"
		c.Nonce = "5ee83787a216e5dff5532e9918d583a3"
		c.IssuedAt, c.ExpiresAt = date(1795323177), date(1795323237)
		c.Roles = &[]string{lti.RoleContextInstructor}
		c.ResourceLink = nil
		c.LaunchPresentation = &lti.LaunchPresentation{Locale: "en"}
		c.AGS.LineItem = "" // no line item yet: the link is being created
		delete(c.Custom, "link_setting_url")
		c.DeepLinking = &lti.DeepLinkingSettings{
			DeepLinkReturnURL:                 "http://127.0.0.1:8080/mod/lti/contentitem_return.php?course=2&id=1&sesskey=24857jlapE",
			AcceptTypes:                       []string{"ltiResourceLink"},
			AcceptPresentationDocumentTargets: []string{"frame", "iframe", "window"},
			AcceptMultiple:                    new(true),
			AutoCreate:                        new(false),
			AcceptCopyAdvice:                  new(false),
			Title:                             "DLtest",
			Text:                              "hello",
		}
	default:
		panic("no expectation for " + name)
	}
	return c
}

// TestDecodeClaimsMoodle decodes real Moodle id_token payloads. These are
// decoding tests only: the signatures are not checked here (see
// TestMoodleFixtureSignatures for which captures can be checked at all).
func TestDecodeClaimsMoodle(t *testing.T) {
	roleTests := map[string]struct{ instructor, learner, admin bool }{
		"idtoken_admin_resource_link":          {instructor: true, admin: true},
		"idtoken_student_resource_link":        {learner: true},
		"idtoken_teacher_resource_link":        {instructor: true},
		"idtoken_teacher_deep_linking_request": {instructor: true},
	}
	for _, name := range moodleTokens {
		t.Run(name, func(t *testing.T) {
			fx, payload := loadMoodle(t, name)
			got, err := lti.DecodeClaims(payload)
			if err != nil {
				t.Fatalf("DecodeClaims: %v", err)
			}
			want := moodleWant(name)
			if diff := cmp.Diff(&want, got); diff != "" {
				t.Errorf("DecodeClaims mismatch (-want +got):\n%s", diff)
			}

			// Moodle quirks the typed values cannot show on their own.
			var raw map[string]any
			if err := json.Unmarshal(payload, &raw); err != nil {
				t.Fatal(err)
			}
			if _, ok := raw["aud"].(string); !ok {
				t.Errorf("raw aud = %#v, want a plain string", raw["aud"])
			}
			if _, ok := raw["azp"]; ok || got.AuthorizedParty != "" {
				t.Errorf("azp present (%q), Moodle sends none", got.AuthorizedParty)
			}
			if got.ExpiresAt.Seconds != got.IssuedAt.Seconds+60 {
				t.Errorf("exp = %d, want iat+60 = %d", got.ExpiresAt.Seconds, got.IssuedAt.Seconds+60)
			}
			wantLIS := map[string]any{"person_sourcedid": "", "course_section_sourcedid": ""}
			if diff := cmp.Diff(wantLIS, raw[lti.ClaimLIS]); diff != "" {
				t.Errorf("raw lis claim (-want +got):\n%s", diff)
			}
			// Untyped claims ride along; DecodeClaims ignores them.
			untyped := []string{"https://purl.imsglobal.org/spec/lti/claim/ext"}
			if got.MessageType == lti.MessageResourceLink {
				untyped = append(untyped, "https://purl.imsglobal.org/spec/lti-bo/claim/basicoutcome")
			}
			for _, claim := range untyped {
				if _, ok := raw[claim]; !ok {
					t.Errorf("raw payload lacks %s", claim)
				}
			}

			// The capture's printed claims are the token's payload.
			var printed map[string]any
			if err := json.Unmarshal(fx.Claims, &printed); err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(printed, raw); diff != "" {
				t.Errorf("fixture claims differ from raw_id_token payload (-claims +payload):\n%s", diff)
			}

			roles := got.RoleSet()
			wantRoles := roleTests[name]
			if g := roles.IsInstructor(); g != wantRoles.instructor {
				t.Errorf("IsInstructor = %v, want %v", g, wantRoles.instructor)
			}
			if g := roles.IsLearner(); g != wantRoles.learner {
				t.Errorf("IsLearner = %v, want %v", g, wantRoles.learner)
			}
			if g := roles.IsAdmin(); g != wantRoles.admin {
				t.Errorf("IsAdmin = %v, want %v", g, wantRoles.admin)
			}
			if roles.IsTeachingAssistant() || roles.IsMentor() || roles.IsContentDeveloper() {
				t.Errorf("roles %q: unexpected TA, mentor or content developer", roles)
			}

			checkGolden(t, filepath.Join(moodleDir, "golden", name+".claims.json"), got)
		})
	}
}

// checkGolden compares c, encoded as indented JSON, with the golden file,
// or rewrites the file under -update. It also checks that the golden JSON
// decodes back to c.
func checkGolden(t *testing.T, path string, c *lti.Claims) {
	t.Helper()
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // keep the & of URLs readable
	enc.SetIndent("", "  ")
	if err := enc.Encode(c); err != nil {
		t.Fatalf("marshal: %v", err)
	}
	got := buf.Bytes()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./lti -run TestDecodeClaimsMoodle -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s differs (-golden +got); rerun with -update if the change is intended:\n%s",
			path, cmp.Diff(string(want), string(got)))
	}
	back, err := lti.DecodeClaims(want)
	if err != nil {
		t.Fatalf("golden file does not decode: %v", err)
	}
	if diff := cmp.Diff(c, back); diff != "" {
		t.Errorf("golden file decodes differently (-decoded +golden):\n%s", diff)
	}
}

// TestMoodleFixtureSignatures records which captures the captured key set can
// verify. The saved certs.php answer lists one key, kid 2a509bd38c69f16c6e4b,
// the key of the student launch (the latest capture, about 25 minutes after
// the others). The other three tokens carry kid 48cedde9e9bfdd9c1309, which
// the saved key set lacks, so they serve as decoding fixtures only.
func TestMoodleFixtureSignatures(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(moodleDir, "moodle_certs_jwks.json"))
	if err != nil {
		t.Fatal(err)
	}
	var set struct {
		Keys []struct{ Kty, Alg, Kid, N, E string }
	}
	if err := json.Unmarshal(b, &set); err != nil {
		t.Fatal(err)
	}
	keys := map[string]*rsa.PublicKey{}
	for _, k := range set.Keys {
		n, err1 := base64.RawURLEncoding.DecodeString(k.N)
		e, err2 := base64.RawURLEncoding.DecodeString(k.E)
		if err := errors.Join(err1, err2); err != nil || k.Kty != "RSA" {
			t.Fatalf("key %s: kty %s: %v", k.Kid, k.Kty, err)
		}
		keys[k.Kid] = &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(new(big.Int).SetBytes(e).Int64())}
	}

	verifiable := map[string]bool{"idtoken_student_resource_link": true}
	for _, name := range moodleTokens {
		t.Run(name, func(t *testing.T) {
			fx, _ := loadMoodle(t, name)
			if fx.Header["alg"] != "RS256" {
				t.Fatalf("alg = %q, want RS256", fx.Header["alg"])
			}
			key, ok := keys[fx.Header["kid"]]
			if ok != verifiable[name] {
				t.Fatalf("kid %q in the captured key set = %v, want %v", fx.Header["kid"], ok, verifiable[name])
			}
			if !ok {
				return
			}
			i := strings.LastIndexByte(fx.RawIDToken, '.')
			sig, err := base64.RawURLEncoding.DecodeString(fx.RawIDToken[i+1:])
			if err != nil {
				t.Fatal(err)
			}
			sum := sha256.Sum256([]byte(fx.RawIDToken[:i]))
			if err := rsa.VerifyPKCS1v15(key, crypto.SHA256, sum[:], sig); err != nil {
				t.Errorf("signature: %v", err)
			}
		})
	}
}

// decodeCase is one DecodeClaims edge case. The fuzz test reuses the
// payloads as seeds.
type decodeCase struct {
	name    string
	payload string
	wantErr *lti.Error // nil: the payload decodes
	check   func(t *testing.T, c *lti.Claims)
}

var decodeCases = []decodeCase{
	// aud
	{name: "aud string", payload: `{"aud":"tool"}`, check: wantAud(lti.Audience{"tool"})},
	{name: "aud array", payload: `{"aud":["tool","other"]}`, check: wantAud(lti.Audience{"tool", "other"})},
	{name: "aud empty array", payload: `{"aud":[]}`, check: wantAud(lti.Audience{})},
	{name: "aud missing", payload: `{}`, check: wantAud(nil)},
	{name: "aud null", payload: `{"aud":null}`, check: wantAud(nil)},
	{name: "aud number", payload: `{"aud":42}`, wantErr: lti.ErrInvalidClaims},
	{name: "aud array with a number", payload: `{"aud":["tool",42]}`, wantErr: lti.ErrInvalidClaims},
	{name: "aud object", payload: `{"aud":{"tool":true}}`, wantErr: lti.ErrInvalidClaims},

	// exp (iat shares the type)
	{name: "exp integer", payload: `{"exp":1795323275}`, check: wantExp(date(1795323275))},
	{name: "exp float", payload: `{"exp":1795323275.5}`, check: wantExp(date(1795323275))},
	{name: "exp exponent", payload: `{"exp":1.7953232755e9}`, check: wantExp(date(1795323275))},
	{name: "exp zero", payload: `{"exp":0}`, check: wantExp(date(0))},
	{name: "exp missing", payload: `{}`, check: wantExp(lti.NumericDate{})},
	{name: "exp negative", payload: `{"exp":-1}`, wantErr: lti.ErrInvalidClaims},
	{name: "exp string", payload: `{"exp":"1795323275"}`, wantErr: lti.ErrInvalidClaims},
	{name: "exp null", payload: `{"exp":null}`, wantErr: lti.ErrInvalidClaims},
	{name: "exp bool", payload: `{"exp":true}`, wantErr: lti.ErrInvalidClaims},
	{name: "exp beyond range", payload: `{"exp":1e300}`, wantErr: lti.ErrInvalidClaims},
	{name: "exp overflow", payload: `{"exp":1e999}`, wantErr: lti.ErrInvalidClaims},
	{name: "iat string", payload: `{"iat":"now"}`, wantErr: lti.ErrInvalidClaims},
	// nbf (RFC 7519 §4.1.5) shares the type too.
	{name: "nbf integer", payload: `{"nbf":1795323275}`, check: wantNbf(date(1795323275))},
	{name: "nbf float", payload: `{"nbf":1795323275.9}`, check: wantNbf(date(1795323275))},
	{name: "nbf missing", payload: `{"exp":1795323275}`, check: wantNbf(lti.NumericDate{})},
	{name: "nbf repeated", payload: `{"nbf":1,"nbf":2}`, wantErr: lti.ErrInvalidToken}, // RFC 7519 §4
	{name: "nbf string", payload: `{"nbf":"1795323275"}`, wantErr: lti.ErrInvalidClaims},
	{name: "nbf null", payload: `{"nbf":null}`, wantErr: lti.ErrInvalidClaims},
	{name: "nbf negative", payload: `{"nbf":-5}`, wantErr: lti.ErrInvalidClaims},
	{name: "nbf object", payload: `{"nbf":{}}`, wantErr: lti.ErrInvalidClaims},

	// roles
	{name: "roles missing", payload: `{}`, check: wantRoles(nil)},
	{name: "roles null", payload: `{"https://purl.imsglobal.org/spec/lti/claim/roles":null}`, check: wantRoles(nil)},
	{name: "roles empty", payload: `{"https://purl.imsglobal.org/spec/lti/claim/roles":[]}`, check: wantRoles(&[]string{})},
	{
		name:    "roles empty, short and unknown are kept",
		payload: `{"https://purl.imsglobal.org/spec/lti/claim/roles":["","Learner","urn:unknown"]}`,
		check:   wantRoles(&[]string{"", "Learner", "urn:unknown"}),
	},
	{name: "roles string", payload: `{"https://purl.imsglobal.org/spec/lti/claim/roles":"Learner"}`, wantErr: lti.ErrInvalidClaims},
	{name: "roles numbers", payload: `{"https://purl.imsglobal.org/spec/lti/claim/roles":[1]}`, wantErr: lti.ErrInvalidClaims},

	// sub
	{name: "sub missing", payload: `{}`, check: wantSub(nil)},
	{name: "sub empty", payload: `{"sub":""}`, check: wantSub(new(""))},
	{name: "sub set", payload: `{"sub":"4"}`, check: wantSub(new("4"))},
	{name: "sub number", payload: `{"sub":4}`, wantErr: lti.ErrInvalidClaims},

	// custom
	{
		name: "custom keeps JSON types",
		payload: `{"https://purl.imsglobal.org/spec/lti/claim/custom":{` +
			`"s":"2","i":2,"f":2.50,"big":12345678901234567890123,"neg":-0.1e-3,"t":true,"f0":false,"nil":null,` +
			`"obj":{"k":[1,"a",null,{"x":1.0}]},"arr":[]}}`,
		check: wantCustom(map[string]any{
			"s": "2", "i": json.Number("2"), "f": json.Number("2.50"),
			"big": json.Number("12345678901234567890123"), "neg": json.Number("-0.1e-3"),
			"t": true, "f0": false, "nil": nil,
			"obj": map[string]any{"k": []any{json.Number("1"), "a", nil, map[string]any{"x": json.Number("1.0")}}},
			"arr": []any{},
		}),
	},
	{name: "custom missing", payload: `{}`, check: wantCustom(nil)},
	{name: "custom array", payload: `{"https://purl.imsglobal.org/spec/lti/claim/custom":["a"]}`, wantErr: lti.ErrInvalidClaims},

	// other typed claims with the wrong JSON type
	{name: "resource_link string", payload: `{"https://purl.imsglobal.org/spec/lti/claim/resource_link":"1"}`, wantErr: lti.ErrInvalidClaims},
	{name: "deployment_id number", payload: `{"https://purl.imsglobal.org/spec/lti/claim/deployment_id":1}`, wantErr: lti.ErrInvalidClaims},
	{name: "launch_presentation height a string is kept", payload: `{"https://purl.imsglobal.org/spec/lti/claim/launch_presentation":{"height":"100%","width":640}}`,
		check: func(t *testing.T, c *lti.Claims) {
			if c.LaunchPresentation.Height != "100%" || c.LaunchPresentation.Width != "640" {
				t.Errorf("dimensions %q %q", c.LaunchPresentation.Height, c.LaunchPresentation.Width)
			}
		}},
	{name: "launch_presentation height an object", payload: `{"https://purl.imsglobal.org/spec/lti/claim/launch_presentation":{"height":{}}}`, wantErr: lti.ErrInvalidClaims},
	{name: "sub null", payload: `{"sub":null}`, wantErr: lti.ErrInvalidClaims},
	{name: "accept_multiple string", payload: `{"https://purl.imsglobal.org/spec/lti-dl/claim/deep_linking_settings":{"accept_multiple":"yes"}}`, wantErr: lti.ErrInvalidClaims},

	// not one JSON object
	{name: "array", payload: `[{"iss":"x"}]`, wantErr: lti.ErrInvalidToken},
	{name: "null", payload: `null`, wantErr: lti.ErrInvalidToken},
	{name: "string", payload: `"iss"`, wantErr: lti.ErrInvalidToken},
	{name: "number", payload: `1`, wantErr: lti.ErrInvalidToken},
	{name: "empty", payload: ``, wantErr: lti.ErrInvalidToken},
	{name: "whitespace", payload: " \n", wantErr: lti.ErrInvalidToken},
	{name: "truncated", payload: `{"iss":"x"`, wantErr: lti.ErrInvalidToken},
	{name: "trailing garbage", payload: `{"iss":"x"} garbage`, wantErr: lti.ErrInvalidToken},
	{name: "trailing brace", payload: `{"iss":"x"}}`, wantErr: lti.ErrInvalidToken},
	{name: "trailing bracket", payload: `{"iss":"x"}]`, wantErr: lti.ErrInvalidToken},
	{name: "two objects", payload: `{"iss":"x"}{"iss":"y"}`, wantErr: lti.ErrInvalidToken},
	{name: "invalid JSON inside an unknown claim", payload: `{"iss":"x","v":[1,]}`, wantErr: lti.ErrInvalidToken},
	{name: "trailing whitespace", payload: "{\"iss\":\"x\"}\r\n\t ", check: wantIss("x")},

	// names
	{
		name:    "vendor claims are ignored",
		payload: `{"iss":"x","https://www.instructure.com/placement":"course_navigation","https://purl.imsglobal.org/spec/lti/claim/ext":{"lms":"moodle-2"},"v":[1,{"a":null}]}`,
		check:   wantIss("x"),
	},
	{name: "claim names are case-sensitive", payload: `{"aud":"tool","AUD":"other","Iss":"y"}`, check: wantAud(lti.Audience{"tool"})},
	{name: "upper-case name alone is unknown", payload: `{"ISS":"x"}`, check: wantIss("")},
	{name: "duplicate name is refused", payload: `{"aud":"first","aud":"last"}`, wantErr: lti.ErrInvalidToken}, // RFC 7519 §4
	{name: "names in claim objects are case-sensitive", payload: `{"https://purl.imsglobal.org/spec/lti/claim/resource_link":{"ID":1,"id":"x"}}`,
		check: func(t *testing.T, c *lti.Claims) {
			if c.ResourceLink == nil || c.ResourceLink.ID != "x" {
				t.Errorf("ResourceLink = %+v, want id x", c.ResourceLink)
			}
		}},
	{name: "invalid UTF-8", payload: "{\"iss\":\"\xff\"}", wantErr: lti.ErrInvalidToken},
}

func wantAud(want lti.Audience) func(*testing.T, *lti.Claims) {
	return func(t *testing.T, c *lti.Claims) {
		if diff := cmp.Diff(want, c.Audience); diff != "" {
			t.Errorf("Audience (-want +got):\n%s", diff)
		}
	}
}

func wantExp(want lti.NumericDate) func(*testing.T, *lti.Claims) {
	return func(t *testing.T, c *lti.Claims) {
		if c.ExpiresAt != want {
			t.Errorf("ExpiresAt = %+v, want %+v", c.ExpiresAt, want)
		}
	}
}

func wantNbf(want lti.NumericDate) func(*testing.T, *lti.Claims) {
	return func(t *testing.T, c *lti.Claims) {
		if c.NotBefore != want {
			t.Errorf("NotBefore = %+v, want %+v", c.NotBefore, want)
		}
	}
}

func wantRoles(want *[]string) func(*testing.T, *lti.Claims) {
	return func(t *testing.T, c *lti.Claims) {
		if diff := cmp.Diff(want, c.Roles); diff != "" {
			t.Errorf("Roles (-want +got):\n%s", diff)
		}
		var wantSet lti.Roles
		if want != nil {
			wantSet = *want
		}
		if diff := cmp.Diff(wantSet, c.RoleSet()); diff != "" {
			t.Errorf("RoleSet (-want +got):\n%s", diff)
		}
	}
}

func wantSub(want *string) func(*testing.T, *lti.Claims) {
	return func(t *testing.T, c *lti.Claims) {
		if diff := cmp.Diff(want, c.Subject); diff != "" {
			t.Errorf("Subject (-want +got):\n%s", diff)
		}
	}
}

func wantCustom(want map[string]any) func(*testing.T, *lti.Claims) {
	return func(t *testing.T, c *lti.Claims) {
		if diff := cmp.Diff(want, c.Custom); diff != "" {
			t.Errorf("Custom (-want +got):\n%s", diff)
		}
	}
}

func wantIss(want string) func(*testing.T, *lti.Claims) {
	return func(t *testing.T, c *lti.Claims) {
		if c.Issuer != want {
			t.Errorf("Issuer = %q, want %q", c.Issuer, want)
		}
	}
}

func TestDecodeClaimsEdgeCases(t *testing.T) {
	for _, tc := range decodeCases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := lti.DecodeClaims([]byte(tc.payload))
			if tc.wantErr != nil {
				if !errors.Is(err, tc.wantErr) {
					t.Fatalf("DecodeClaims(%s) = %+v, %v; want a %s error", tc.payload, c, err, tc.wantErr.Code())
				}
				if c != nil {
					t.Errorf("claims = %+v, want nil with an error", c)
				}
				var e *lti.Error
				if !errors.As(err, &e) || e.Status() != 401 || errors.Unwrap(err) == nil {
					t.Errorf("error %v: want an *lti.Error with status 401 and a cause", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("DecodeClaims(%s): %v", tc.payload, err)
			}
			tc.check(t, c)
		})
	}
}

func TestRoleSetNil(t *testing.T) {
	var c *lti.Claims
	if r := c.RoleSet(); r != nil || r.IsLearner() {
		t.Errorf("nil Claims: RoleSet = %q", r)
	}
	if r := (&lti.Claims{}).RoleSet(); r != nil {
		t.Errorf("no roles claim: RoleSet = %q, want nil", r)
	}
}

func TestNumericDateJSON(t *testing.T) {
	b, err := json.Marshal(struct {
		Set    lti.NumericDate `json:"set,omitzero"`
		Zero   lti.NumericDate `json:"zero,omitzero"`
		Absent lti.NumericDate `json:"absent,omitzero"`
	}{Set: date(1795323275), Zero: date(0)})
	if err != nil {
		t.Fatal(err)
	}
	if want := `{"set":1795323275,"zero":0}`; string(b) != want {
		t.Errorf("marshal = %s, want %s", b, want)
	}
	if got, want := date(1795323275).Time().Unix(), int64(1795323275); got != want {
		t.Errorf("Time().Unix() = %d, want %d", got, want)
	}
}
