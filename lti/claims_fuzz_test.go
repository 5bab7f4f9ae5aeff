package lti_test

import (
	"encoding/json"
	"errors"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/ltikit/ltikit/lti"
)

// FuzzDecodeClaims feeds DecodeClaims arbitrary payloads (an id_token payload
// is untrusted input until its signature is checked, and may reach the
// decoder first). DecodeClaims must never panic and must fail only with an
// invalid_token or invalid_claims *lti.Error; whatever it accepts must
// marshal, and the marshalled claims must decode back to the same value.
func FuzzDecodeClaims(f *testing.F) {
	for _, name := range moodleTokens {
		_, payload := loadMoodle(f, name)
		f.Add(payload)
	}
	for _, tc := range decodeCases {
		f.Add([]byte(tc.payload))
	}

	// Marshalling drops empty omitempty values (a Context.Type of [] comes
	// back as nil); that loses nothing a caller can observe.
	equateEmpty := cmpopts.EquateEmpty()

	f.Fuzz(func(t *testing.T, payload []byte) {
		c, err := lti.DecodeClaims(payload)
		if err != nil {
			if c != nil {
				t.Fatalf("claims %+v returned with error %v", c, err)
			}
			var e *lti.Error
			if !errors.As(err, &e) || (e.Code() != lti.CodeInvalidToken && e.Code() != lti.CodeInvalidClaims) {
				t.Fatalf("error %v (%T): want invalid_token or invalid_claims", err, err)
			}
			return
		}

		// The role helpers accept anything a platform can send.
		roles := c.RoleSet()
		_ = roles.IsInstructor() || roles.IsLearner() || roles.IsAdmin() ||
			roles.IsTeachingAssistant() || roles.IsContentDeveloper() || roles.IsMentor()
		for _, r := range roles {
			_ = roles.Has(r)
		}

		b, err := json.Marshal(c)
		if err != nil {
			t.Fatalf("json.Marshal of decoded claims: %v", err)
		}
		back, err := lti.DecodeClaims(b)
		if err != nil {
			t.Fatalf("re-decoding %s: %v", b, err)
		}
		if diff := cmp.Diff(c, back, equateEmpty); diff != "" {
			t.Fatalf("round trip changed the claims (-first +second):\n%s", diff)
		}
	})
}
