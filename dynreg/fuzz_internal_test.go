package dynreg

import (
	"errors"
	"testing"
)

// FuzzParseAnswer feeds the registration answer parser arbitrary bytes: it
// must never panic, must refuse with registration_failed, and whatever it
// accepts has a bounded client_id and deployment_id.
func FuzzParseAnswer(f *testing.F) {
	f.Add([]byte(`{"client_id":"c","https://purl.imsglobal.org/spec/lti-tool-configuration":{"deployment_id":"d"}}`))
	f.Add([]byte(`{"client_id":1}`))
	f.Add([]byte(`{"client_id":""}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := parseAnswer(data)
		if err != nil {
			if !errors.Is(err, ErrRegistrationFailed) || a != nil {
				t.Fatalf("got %v, %v", a, err)
			}
			return
		}
		if a.ClientID == "" || len(a.ClientID) > 1024 || len(a.LTI.DeploymentID) > 255 {
			t.Fatalf("accepted %+v", a)
		}
	})
}
