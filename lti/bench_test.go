package lti_test

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/ltikit/ltikit/lti"
)

// BenchmarkDecodeClaims decodes the payload of a real Moodle id_token.
func BenchmarkDecodeClaims(b *testing.B) {
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
	b.SetBytes(int64(len(payload)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := lti.DecodeClaims(payload); err != nil {
			b.Fatal(err)
		}
	}
}
