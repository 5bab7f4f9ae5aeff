package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	gormpostgres "github.com/ltikit/ltikit/adapters/gorm/postgres"
	"github.com/ltikit/ltikit/internal/pgtest"
	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/ltitest"
)

// postgresDSN returns the DSN of a throwaway PostgreSQL schema for the
// test (see internal/pgtest: under CI=true a missing database fails).
func postgresDSN(t *testing.T) string {
	t.Helper()
	return pgtest.Schema(t, "example_echogorm_", gormpostgres.MaxConns+1)
}

// TestLaunchShowsTheInstallsSchool runs a full launch, login and launch
// endpoints, against the example on PostgreSQL: the page shows the School
// of the tool's own Install row for the launch's deployment.
func TestLaunchShowsTheInstallsSchool(t *testing.T) {
	ctx := t.Context()
	db, err := gormpostgres.Open(postgresDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	if sqlDB, err := db.DB(); err == nil {
		t.Cleanup(func() { sqlDB.Close() })
	}

	mux := http.NewServeMux()
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	platform, err := ltitest.NewPlatform(ltitest.Config{
		ToolLoginURL:     srv.URL + "/lti/login",
		ToolRedirectURIs: []string{srv.URL + "/lti/launch"},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(platform.Close)

	e, stop, err := newServer(ctx, db, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(stop)
	mux.Handle("/", e)

	// The tool's own rows: the platform, and two installs of it with their
	// schools, as an administrator of the tool would add them.
	reg := platform.Registration()
	p := Platform{Name: "District Moodle", Issuer: reg.Issuer, ClientID: reg.ClientID,
		AuthURL: reg.AuthEndpoint, JWKSURL: reg.KeySetURL, TokenURL: reg.TokenEndpoint}
	if err := addPlatform(ctx, db, p, Install{DeploymentID: platform.DeploymentID(), School: "Riverside High"}); err != nil {
		t.Fatal(err)
	}
	if err := addPlatform(ctx, db, p, Install{DeploymentID: "course-2", School: "Hillcrest Middle"}); err != nil {
		t.Fatal(err)
	}
	// Adding the same install again keeps the row.
	if err := addPlatform(ctx, db, p, Install{DeploymentID: "course-2", School: "renamed"}); err != nil {
		t.Fatal(err)
	}
	var n int64
	if err := db.Model(&Install{}).Count(&n).Error; err != nil || n != 2 {
		t.Fatalf("installs: %d, %v; want 2", n, err)
	}

	tests := []struct {
		name       string
		opts       []ltitest.LaunchOption
		wantStatus int
		want       []string
	}{
		{"default deployment", []ltitest.LaunchOption{ltitest.WithUser("u-1", "Ada Lovelace", "ada@example.edu")},
			http.StatusOK, []string{"Welcome, Ada Lovelace", "School: <strong>Riverside High</strong>", "Platform: District Moodle"}},
		{"second install", []ltitest.LaunchOption{ltitest.AsLearner(), ltitest.WithDeploymentID("course-2")},
			http.StatusOK, []string{"School: <strong>Hillcrest Middle</strong>", "deployment <code>course-2</code>"}},
		{"not installed", []ltitest.LaunchOption{ltitest.WithDeploymentID("course-3")},
			lti.CodeUnknownDeployment.Status(), []string{"unknown_deployment"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp, err := platform.Launch(t.Context(), ltitest.NewBrowser(), tt.opts...)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			if resp.StatusCode != tt.wantStatus {
				t.Fatalf("status %d, want %d; body:\n%s", resp.StatusCode, tt.wantStatus, body)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(body), w) {
					t.Errorf("page lacks %q; body:\n%s", w, body)
				}
			}
		})
	}
}
