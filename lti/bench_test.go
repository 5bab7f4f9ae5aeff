package lti_test

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/ltikit/ltikit/lti"
)

// moodlePayload is the payload of a real Moodle id_token.
func moodlePayload(b *testing.B) []byte {
	raw, err := os.ReadFile("../testdata/moodle-4.5/idtoken_teacher_resource_link.json")
	if err != nil {
		b.Fatal(err)
	}
	var capture struct {
		RawIDToken string `json:"raw_id_token"`
	}
	if err := json.Unmarshal(raw, &capture); err != nil {
		b.Fatal(err)
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.Split(capture.RawIDToken, ".")[1])
	if err != nil {
		b.Fatal(err)
	}
	return payload
}

// BenchmarkClaimValue reads Moodle's "ext" vendor claim from a real
// payload, against encoding/json reading the payload into a map of raw
// values and picking the claim (what launch.Launch.Claim did before).
func BenchmarkClaimValue(b *testing.B) {
	payload := moodlePayload(b)
	const name = "https://purl.imsglobal.org/spec/lti/claim/ext"
	b.Run("ClaimValue", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, ok, err := lti.ClaimValue(payload, name); err != nil || !ok {
				b.Fatal(ok, err)
			}
		}
	})
	b.Run("encoding-json-map", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var all map[string]json.RawMessage
			if err := json.Unmarshal(payload, &all); err != nil || all[name] == nil {
				b.Fatal(err)
			}
		}
	})
}

// BenchmarkDecodeClaims decodes the payload of a real Moodle id_token.
func BenchmarkDecodeClaims(b *testing.B) {
	payload := moodlePayload(b)
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := lti.DecodeClaims(payload); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeClaimsScanner decodes the same payload with the
// hand-written scanner that DecodeClaims replaced (claimsjson_ref_test.go),
// for comparison.
func BenchmarkDecodeClaimsScanner(b *testing.B) {
	payload := moodlePayload(b)
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := lti.ScannerDecodeClaims(payload, true); err != nil {
			b.Fatal(err)
		}
	}
}
