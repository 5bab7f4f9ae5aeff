package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	gormadapter "github.com/ltikit/ltikit/adapters/gorm"
	"github.com/ltikit/ltikit/lti"
	"github.com/ltikit/ltikit/ltitest"
)

// adminPostgresDSN is the local cluster's default database, used when
// LTIKIT_TEST_POSTGRES_DSN is not set (outside CI).
const adminPostgresDSN = "postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable"

// postgresDSN returns the DSN of a throwaway schema, dropped at the end of
// the test, in LTIKIT_TEST_POSTGRES_DSN's database (or, outside CI, the
// local cluster's). Under CI=true a missing or unreachable database fails
// the test; outside CI, with no variable and no local server, it skips.
func postgresDSN(t *testing.T) string {
	t.Helper()
	ci := os.Getenv("CI") == "true"
	dsn := os.Getenv("LTIKIT_TEST_POSTGRES_DSN")
	if dsn == "" {
		if ci {
			t.Fatal("LTIKIT_TEST_POSTGRES_DSN is not set and CI=true")
		}
		dsn = adminPostgresDSN
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		if ci || os.Getenv("LTIKIT_TEST_POSTGRES_DSN") != "" {
			t.Fatalf("PostgreSQL: %v", err)
		}
		t.Skipf("PostgreSQL is not reachable (%v): set LTIKIT_TEST_POSTGRES_DSN", err)
	}
	defer conn.Close(context.Background())
	var b [6]byte
	_, _ = rand.Read(b[:])
	schema := "example_echogorm_" + hex.EncodeToString(b[:])
	if _, err := conn.Exec(ctx, "CREATE SCHEMA "+schema); err != nil {
		t.Fatalf("creating schema %s: %v", schema, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP SCHEMA "+schema+" CASCADE"); err != nil {
			t.Errorf("dropping schema %s: %v", schema, err)
		}
	})
	u, err := url.Parse(dsn)
	if err != nil {
		t.Fatalf("LTIKIT_TEST_POSTGRES_DSN is not a URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema) // every connection of the pool uses the schema
	u.RawQuery = q.Encode()
	return u.String()
}

// TestLaunchShowsTheInstallsSchool runs a full launch, login and launch
// endpoints, against the example on PostgreSQL: the page shows the School
// of the tool's own Install row for the launch's deployment.
func TestLaunchShowsTheInstallsSchool(t *testing.T) {
	ctx := t.Context()
	db, err := gormadapter.OpenPostgres(postgresDSN(t))
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
