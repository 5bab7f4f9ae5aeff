package sqladapter_test

import (
	"errors"
	"testing"

	"github.com/ltikit/ltikit/deployment"
	"github.com/ltikit/ltikit/examples/sqladapter"
	"github.com/ltikit/ltikit/nonce"
	"github.com/ltikit/ltikit/registration"
)

// TestUnstorableInputIsNotFound: the issuer, client_id, deployment_id,
// state and nonce of a launch come from the request. Values PostgreSQL
// could never have stored (not UTF-8, with a NUL, empty) are refused as
// not found, as any unknown value is, rather than sent to the database,
// whose error would make a forged request report the tool unavailable.
func TestUnstorableInputIsNotFound(t *testing.T) {
	ctx := t.Context()
	s := mustNew(t, newDatabase(t)(t))
	p, err := s.AddPlatform(ctx, sqladapter.Platform{Issuer: "https://lms.example.com", ClientID: "client-1",
		AuthEndpoint: "https://lms.example.com/auth", KeySetURL: "https://lms.example.com/jwks"})
	if err != nil {
		t.Fatal(err)
	}
	for _, v := range []struct{ name, value string }{
		{"InvalidUTF8", "https://lms.example.com\xff"},
		{"NUL", "https://lms.example.com\x00"},
	} {
		t.Run(v.name, func(t *testing.T) {
			if _, err := s.FindRegistration(ctx, v.value, "client-1"); !errors.Is(err, registration.ErrNotFound) {
				t.Errorf("FindRegistration(issuer) = %v, want registration.ErrNotFound", err)
			}
			if _, err := s.FindRegistration(ctx, p.Issuer, v.value); !errors.Is(err, registration.ErrNotFound) {
				t.Errorf("FindRegistration(client_id) = %v, want registration.ErrNotFound", err)
			}
			if _, err := s.FindDeployment(ctx, p, v.value); !errors.Is(err, deployment.ErrNotFound) {
				t.Errorf("FindDeployment = %v, want deployment.ErrNotFound", err)
			}
			if _, err := s.TakeState(ctx, v.value); !errors.Is(err, nonce.ErrNotFound) {
				t.Errorf("TakeState = %v, want nonce.ErrNotFound", err)
			}
			if err := s.ConsumeNonce(ctx, v.value, p.Issuer, p.ClientID); !errors.Is(err, nonce.ErrNotFound) {
				t.Errorf("ConsumeNonce = %v, want nonce.ErrNotFound", err)
			}
		})
	}
}
