package sqladapter_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/ltikit/ltikit/deployment"
	"github.com/ltikit/ltikit/examples/sqladapter"
	"github.com/ltikit/ltikit/registration"
	"github.com/ltikit/ltikit/storage/storagetest"
)

// TestConformance runs the shared storage suite against the Store on
// PostgreSQL: once with the real clock, and once with a clock far from
// time.Now (so expiry must be judged with the Store's clock, never the
// database's now()).
func TestConformance(t *testing.T) {
	for _, tc := range []struct {
		name string
		now  func() time.Time
	}{
		{"RealClock", nil},
		{"FakeClock", newClock().Now},
	} {
		t.Run(tc.name, func(t *testing.T) {
			db := newDatabase(t)(t)
			var opts []sqladapter.Option
			if tc.now != nil {
				opts = append(opts, sqladapter.WithClock(tc.now))
			}
			s := mustNew(t, db, opts...)
			storagetest.Run(t, func(t *testing.T) storagetest.Harness {
				return storagetest.Harness{
					Adapter:         s,
					AddRegistration: func(ctx context.Context, r registration.Registration) error { return addPlatform(ctx, s, r) },
					AddDeployment: func(ctx context.Context, r registration.Registration, d deployment.Deployment) error {
						return addInstall(ctx, s, r, d.DeploymentID)
					},
					Now: tc.now,
				}
			})
		})
	}
}

// addPlatform adds r as a Platform row, as the host's admin page would.
func addPlatform(ctx context.Context, s *sqladapter.Store, r registration.Registration) error {
	_, err := s.AddPlatform(ctx, sqladapter.Platform{
		Name: "LMS at " + r.Issuer, Issuer: r.Issuer, ClientID: r.ClientID, AuthEndpoint: r.AuthEndpoint,
		TokenEndpoint: r.TokenEndpoint, TokenAudience: r.TokenAudience, KeySetURL: r.KeySetURL,
	})
	return err
}

// addInstall adds the deployment id under r's Platform row.
func addInstall(ctx context.Context, s *sqladapter.Store, r registration.Registration, id string) error {
	found, err := s.FindRegistration(ctx, r.Issuer, r.ClientID)
	if err != nil {
		return err
	}
	p, ok := found.(*sqladapter.Platform)
	if !ok {
		return fmt.Errorf("FindRegistration returned %T, want *sqladapter.Platform", found)
	}
	_, err = s.AddInstall(ctx, p.ID, id, "Riverside High")
	return err
}
