package memory

import (
	"errors"
	"testing"

	"github.com/ltikit/ltikit/deployment"
	"github.com/ltikit/ltikit/registration"
	"github.com/ltikit/ltikit/storage"
	"github.com/ltikit/ltikit/storage/storagetest"
)

func TestRegistrarConformance(t *testing.T) {
	storagetest.RunRegistrar(t, func(t *testing.T) storagetest.RegistrarHarness {
		s := New()
		return storagetest.RegistrarHarness{Adapter: s, Registrar: s}
	})
}

// Duplicates of registrations and deployments match both ErrDuplicate and
// storage.ErrExists, whichever way they were added; duplicate states and
// nonces match ErrDuplicate only.
func TestDuplicateErrors(t *testing.T) {
	ctx := t.Context()
	reg := testReg("https://lms.example.com", "c")
	tests := []struct {
		name       string
		call       func(s *Store) error
		wantExists bool
	}{
		{"AddRegistration", func(s *Store) error { return s.AddRegistration(reg) }, true},
		{"CreateRegistration", func(s *Store) error { return s.CreateRegistration(ctx, reg) }, true},
		{"AddDeployment", func(s *Store) error {
			return s.AddDeployment(reg.Key(), deployment.Deployment{DeploymentID: "d"})
		}, true},
		{"CreateDeployment", func(s *Store) error { return s.CreateDeployment(ctx, reg.Key(), "d") }, true},
		{"PutNonce", func(s *Store) error { return s.PutNonce(ctx, nonceOf("nv", t0.Add(1e12))) }, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := New()
			if err := s.CreateRegistration(ctx, reg, "d"); err != nil {
				t.Fatal(err)
			}
			if err := s.PutNonce(ctx, nonceOf("nv", t0.Add(1e12))); err != nil {
				t.Fatal(err)
			}
			err := tc.call(s)
			if !errors.Is(err, ErrDuplicate) {
				t.Errorf("error = %v, want ErrDuplicate", err)
			}
			if errors.Is(err, storage.ErrExists) != tc.wantExists {
				t.Errorf("error = %v; storage.ErrExists = %t, want %t", err, !tc.wantExists, tc.wantExists)
			}
		})
	}
}

// The Registrar sees host values added with AddRegistration and
// AddDeployment, lists them by their LTIRegistration and deletes them.
func TestRegistrarHostValues(t *testing.T) {
	s := New()
	ctx := t.Context()
	host := &hostReg{ID: 1, Reg: testReg("https://lms.example.com", "c")}
	if err := s.AddRegistration(host); err != nil {
		t.Fatal(err)
	}
	if err := s.AddDeployment(host.Reg.Key(), &hostDep{ID: 2, Slug: "d"}); err != nil {
		t.Fatal(err)
	}
	entries, err := s.Registrations(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 || entries[0].Registration.Key() != host.Reg.Key() || len(entries[0].Deployments) != 1 || entries[0].Deployments[0] != "d" {
		t.Fatalf("Registrations = %+v", entries)
	}
	if err := s.DeleteRegistration(ctx, host.Reg.Key()); err != nil {
		t.Fatal(err)
	}
	if _, err := s.FindDeployment(ctx, host, "d"); !errors.Is(err, deployment.ErrNotFound) {
		t.Errorf("FindDeployment after DeleteRegistration = %v, want deployment.ErrNotFound", err)
	}
	if _, err := s.FindRegistration(ctx, host.Reg.Issuer, ""); !errors.Is(err, registration.ErrNotFound) {
		t.Errorf("FindRegistration after DeleteRegistration = %v, want registration.ErrNotFound", err)
	}
	if entries, err := s.Registrations(ctx); err != nil || len(entries) != 0 {
		t.Errorf("Registrations after DeleteRegistration = %+v, %v; want none", entries, err)
	}
}
